package balanceservice_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

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

// BenchmarkWriteJobGroup writes a client's nightly job group, 5 departments × 2 registers × 2
// days of the 8 test fields (6 split into the day's 24 hours), over gRPC to the real service
// and PostgreSQL: as one WriteDaysBatch, or as 10 WriteDays. Every iteration writes new values,
// so every register-day is written. With DATABASE_URL set and pg_stat_statements installed in
// its database, it also reports PostgreSQL's statements, commits and execution time per
// register-job (one register's write) and logs the statements by time:
//
//	go test ./balanceservice -run '^$' -bench WriteJobGroup -benchtime 200x -v
func BenchmarkWriteJobGroup(b *testing.B) {
	from := civil.Date{Year: 2026, Month: 11, Day: 28}
	for _, bc := range []struct {
		name  string
		write func(t *testBundle, ws []*posimportv1.WriteDaysRequest) error
	}{
		{"WriteDaysBatch", func(t *testBundle, ws []*posimportv1.WriteDaysRequest) error {
			_, err := t.balance.WriteDaysBatch(context.Background(), &posimportv1.WriteDaysBatchRequest{Writes: ws})
			return err
		}},
		{"WriteDays×10", func(t *testBundle, ws []*posimportv1.WriteDaysRequest) error {
			for _, w := range ws {
				if _, err := t.balance.WriteDays(context.Background(), w); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			t := setup(b)
			t.configure(b, "c1", false, "05:00", batchDepartments()...)
			// Two sets of values the registers alternate between, so every write changes the days.
			var groups [2][]*posimportv1.WriteDaysRequest
			for v := range groups {
				for d, dept := range batchDepartments() {
					for r, reg := range dept.registers {
						groups[v] = append(groups[v], jobWrite(b, "c1", dept.id, reg, from, 2, 10*d+r+100*v, 1))
					}
				}
			}
			if err := bc.write(t, groups[1]); err != nil {
				b.Fatal(err)
			}
			stats := startStatements(b, t)
			b.ResetTimer()
			for i := range b.N {
				if err := bc.write(t, groups[i%2]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			stats.report(b, b.N*len(groups[0]))
		})
	}
}

// statements reads pg_stat_statements for a test database.
type statements struct {
	admin *pgx.Conn
	dbid  uint32
}

// startStatements resets pg_stat_statements for the bundle's database; nil without it.
func startStatements(b *testing.B, t *testBundle) *statements {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return nil
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = admin.Close(ctx) })
	s := &statements{admin: admin}
	if err := t.pool.QueryRow(ctx, `SELECT oid FROM pg_database WHERE datname = current_database()`).Scan(&s.dbid); err != nil {
		b.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `SELECT pg_stat_statements_reset(0, $1, 0)`, s.dbid); err != nil {
		b.Logf("no pg_stat_statements: %v", err)
		return nil
	}
	return s
}

// report reports the statements since the reset per register-job and logs them by time.
func (s *statements) report(b *testing.B, jobs int) {
	if s == nil {
		return
	}
	rows, err := s.admin.Query(context.Background(), `SELECT calls, total_exec_time, query FROM pg_stat_statements
		WHERE dbid = $1 AND query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC`, s.dbid)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var calls, commits int64
	var ms float64
	for rows.Next() {
		var (
			n  int64
			t  float64
			sq string
		)
		if err := rows.Scan(&n, &t, &sq); err != nil {
			b.Fatal(err)
		}
		calls, ms = calls+n, ms+t
		if strings.EqualFold(strings.TrimSpace(sq), "commit") {
			commits += n
		}
		name := strings.Join(strings.Fields(sq), " ")
		if i := strings.Index(name, "-- name: "); i >= 0 {
			name = strings.Fields(name[i+len("-- name: "):])[0]
		}
		b.Logf("%8.3f statements/job %8.3f ms/job  %.70s", float64(n)/float64(jobs), t/float64(jobs), name)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(calls)/float64(jobs), "stmts/job")
	b.ReportMetric(float64(commits)/float64(jobs), "commits/job")
	b.ReportMetric(ms/float64(jobs), "pg-ms/job")
}
