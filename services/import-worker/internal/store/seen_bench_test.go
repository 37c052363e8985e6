package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

// BenchmarkRecordSalesSeen records a client's night as the nightly run does, 720 sales over
// 10 registers × 2 days in one call: "first" a new account each call (a client's first night),
// "nightly" the steady state, 100 accounts' nights one after the other, the older day of each
// recorded the night before, unchanged. Where the server has pg_stat_statements loaded,
// pg-ns/op is PostgreSQL's execution time of the statements that record sales seen, per call.
//
//	go test ./internal/store -run '^$' -bench RecordSalesSeen -benchtime 2000x -count 3
func BenchmarkRecordSalesSeen(b *testing.B) {
	for _, bc := range []struct {
		name string
		// call gives the i-th call's account and night.
		call func(i int) (account string, night int)
	}{
		{"first", func(i int) (string, int) { return fmt.Sprintf("lightspeed_retail:%d", i), 0 }},
		{"nightly", func(i int) (string, int) { return fmt.Sprintf("lightspeed_retail:%d", i%100), i / 100 }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pool := storetest.Pool(b)
			st := store.New(pool)
			ctx := context.Background()
			_, err := pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA public")
			statements := err == nil
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				account, n := bc.call(i)
				if err := st.RecordSalesSeen(ctx, account, night(n)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportStatements(b, pool, statements)
		})
	}
}

// night is what a nightly run records on its night n: 10 registers' days n and n+1 of 36
// sales each; a register-day's sales are the same whichever night reads it.
func night(n int) []store.SeenDay {
	d1 := civil.Date{Year: 2026, Month: 4, Day: 1}
	days := make([]store.SeenDay, 0, 20)
	for r := range 10 {
		for d := n; d < n+2; d++ {
			day := store.SeenDay{LocationID: "1", RegisterID: fmt.Sprint(r), Date: d1.AddDays(d)}
			start := day.Date.Start(time.UTC).Add(8 * time.Hour)
			for s := range 36 {
				day.Sales = append(day.Sales, store.SaleSeen{SaleID: fmt.Sprint(100000 + d*360 + s*10 + r), LocationID: "1", RegisterID: day.RegisterID,
					CompletedAt: start.Add(time.Duration(s) * 20 * time.Minute)})
			}
			days = append(days, day)
		}
	}
	return days
}

// reportStatements reports PostgreSQL's execution time of the statements recording sales
// seen, per call, where the server has pg_stat_statements loaded.
func reportStatements(b *testing.B, pool *pgxpool.Pool, statements bool) {
	if !statements {
		return
	}
	var ms, wal float64
	if err := pool.QueryRow(context.Background(), `SELECT coalesce(sum(total_exec_time), 0), coalesce(sum(wal_bytes), 0) FROM public.pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE '%INSERT INTO sales_seen%'`).Scan(&ms, &wal); err == nil {
		b.ReportMetric(ms*1e6/float64(b.N), "pg-ns/op")
		b.ReportMetric(wal/float64(b.N), "wal-B/op")
	}
}
