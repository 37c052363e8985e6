package jsonenc_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/platform/server/servertest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/internal/jsonenc"
)

// TestSameAsProtojson: on random messages (every field set at some point, escapes, unknown
// enum numbers, extreme integers, invalid UTF-8 and timestamps), the encoders write exactly
// what protojson writes with the gateway's options, and fail where it fails.
func TestSameAsProtojson(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		sample proto.Message
		enc    server.JSONEncoder
	}{
		{"GetWeeklyBalanceResponse", &posimportv1.GetWeeklyBalanceResponse{}, jsonenc.WeeklyBalance},
		{"GetDayResponse", &posimportv1.GetDayResponse{}, jsonenc.Day},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			servertest.CheckJSONEncoder(t, tc.sample, tc.enc, 3000)
		})
	}
}

// week is a realistic answer: seven days of 24 hours, six split fields and two per-day ones.
func week() *posimportv1.GetWeeklyBalanceResponse {
	w := &posimportv1.WeeklyBalance{ClientId: "c1", DepartmentId: "1001", Week: "2026-W13", TimeZone: "Europe/Copenhagen"}
	for d := range 7 {
		day := &posimportv1.BalanceDay{Date: fmt.Sprintf("2026-03-%02d", 23+d), Status: posimportv1.DayStatus_DAY_STATUS_OPEN, RegistersImported: 3, ImportFinished: true}
		for h := range 24 {
			day.Intervals = append(day.Intervals, &posimportv1.Interval{Index: int32(h), LocalStart: fmt.Sprintf("%02d:00", h), UtcOffsetSeconds: 3600})
		}
		for f := range 8 {
			fd := &posimportv1.FieldDay{FieldId: int64(5261 + f), Name: "Gross sales", PosDataType: posimportv1.PosDataType(f + 1), SplitIntoIntervals: f < 6, Imported: true, Total: "4321.09"}
			for h := range 24 {
				if f < 6 {
					fd.Hours = append(fd.Hours, fmt.Sprintf("%d.%02d", 100+h*7, h))
				}
			}
			day.Fields = append(day.Fields, fd)
		}
		w.Days = append(w.Days, day)
	}
	for f := range 8 {
		w.Totals = append(w.Totals, &posimportv1.FieldTotal{FieldId: int64(5261 + f), Total: "30247.63", DaysImported: 7})
	}
	return &posimportv1.GetWeeklyBalanceResponse{Balance: w}
}

// BenchmarkWeeklyBalance compares the encoder with protojson on a realistic week.
func BenchmarkWeeklyBalance(b *testing.B) {
	m := week()
	for _, bc := range []struct {
		name string
		enc  server.JSONEncoder
	}{
		{"protojson", func(dst []byte, m proto.Message) ([]byte, error) {
			return server.GatewayJSONOptions().MarshalAppend(dst, m)
		}},
		{"jsonenc", jsonenc.WeeklyBalance},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				out, err := bc.enc(nil, m)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.SetBytes(int64(n))
		})
	}
}
