package balanceservice_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/posimport/posimport/pkg/civil"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// BenchmarkWriteMonth writes one register's 31 days, as one import job does, over gRPC to the
// real service and PostgreSQL: with one WriteDays, or with one WriteDay per day. Every
// iteration writes new values (a backfill), to the same department of three registers, so
// each write also rebuilds the department's sums over the others' values. Run:
//
//	go test ./balanceservice -run '^$' -bench WriteMonth
func BenchmarkWriteMonth(b *testing.B) {
	from := civil.Date{Year: 2026, Month: 10, Day: 1}
	for _, bc := range []struct {
		name  string
		write func(t *testBundle, req *posimportv1.WriteDaysRequest) error
	}{
		{"WriteDays", func(t *testBundle, req *posimportv1.WriteDaysRequest) error {
			_, err := t.balance.WriteDays(context.Background(), req)
			return err
		}},
		{"WriteDay×31", func(t *testBundle, req *posimportv1.WriteDaysRequest) error {
			for _, d := range req.GetDays() {
				if _, err := t.balance.WriteDay(context.Background(), &posimportv1.WriteDayRequest{
					ClientId: req.GetClientId(), DepartmentId: req.GetDepartmentId(), RegisterId: req.GetRegisterId(), Date: d.GetDate(),
					TimeZone: req.GetTimeZone(), Fields: d.GetFields(), ImportId: req.GetImportId(), JobId: req.GetJobId(),
					FencingToken: req.GetFencingToken(),
				}); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			t := setup(b)
			t.configure(b, "c1", false, "05:00", department{id: "d1", registers: []string{"11", "12", "13"}})
			// Two values a register alternates between, so every write changes the day.
			reqs := map[string][2]*posimportv1.WriteDaysRequest{}
			for _, reg := range []string{"11", "12", "13"} {
				reqs[reg] = [2]*posimportv1.WriteDaysRequest{writeDaysReq(b, "d1", reg, from, 31, 1), writeDaysReq(b, "d1", reg, from, 31, 2)}
			}
			b.ResetTimer()
			for i := range b.N {
				reg := fmt.Sprint(11 + i%3)
				if err := bc.write(t, reqs[reg][(i/3)%2]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*31)/1000, "ms/day")
		})
	}
}
