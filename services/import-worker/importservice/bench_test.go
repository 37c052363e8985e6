package importservice_test

import (
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// BenchmarkEightWorkersOneAccount imports a year of 5 departments × 3 registers of one
// Lightspeed account with 8 workers (8 import-worker instances of one slot each, sharing only
// Postgres) against the simulator's real bucket settings for 15 registers (230 drips, 8/s, burst
// 51 per second), time-scaled by BENCH_TIME_SCALE. It reports the share of requests that met a
// 429, the wall time from StartImport to the import's end, and its ratio to the bound
// (requests − bucket size) / drip rate. Run:
//
//	go test ./importservice -run '^$' -bench EightWorkers -benchtime 1x
func BenchmarkEightWorkersOneAccount(b *testing.B) {
	scale := float64(envInt("BENCH_TIME_SCALE", 10))
	days := envInt("BENCH_DAYS", 365)
	for range b.N {
		b.StopTimer()
		e := pipelinetest.Start(b, pipelinetest.Options{
			ShopsPerAccount: 5, RegistersPerShop: 3, SalesPerDay: envInt("BENCH_SALES_PER_DAY", 30), Days: days + 2,
			Zones: oracleZones, Seed: 8, TimeScale: scale, NoWorker: true,
			WorkerConfig: func(c *importservice.Config) { c.WorkerSlots, c.MaxRunningPerClient = 1, 8 },
			Logs:         benchLogger(b),
		})
		e.Imports = append(e.Imports, e.StartImportWorker(b, "w0", func(c *importservice.Config) { c.API = true }))
		for i := 1; i < 8; i++ {
			e.StartImportWorker(b, fmt.Sprintf("w%d", i), nil)
		}
		deps, from, until := connectClient(b, e, days)
		e.Sim.ResetCounts()
		b.StartTimer()
		start := time.Now()
		imp := e.WaitImport(b, "c1", e.StartImport(b, "c1", deps, from, until, false), 10*time.Minute)
		wall := time.Since(start)
		b.StopTimer()
		if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
			b.Fatalf("import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
		}
		var requests, limited int64
		for _, c := range e.Sim.RequestCounts() {
			if c.Endpoint == "POST /auth/oauth/token" {
				continue // the token endpoint has no bucket
			}
			requests += c.Requests
			limited += c.RateLimited
		}
		const size, drip = 230.0, 8.0 // 90 + 14×10, 1 + 14×0.5 for 15 registers
		bound := time.Duration((float64(requests) - size) / (drip * scale) * float64(time.Second))
		b.ReportMetric(float64(requests), "requests")
		b.ReportMetric(100*float64(limited)/float64(requests), "%429")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(bound.Seconds(), "bound-s")
		b.ReportMetric(wall.Seconds()/bound.Seconds(), "ratio")
		if float64(limited) > 0.005*float64(requests) {
			b.Errorf("%d of %d requests met a 429 (more than 0.5%%)", limited, requests)
		}
	}
}

// benchLogger writes the services' logs to the file named by BENCH_LOG, if set (the workers'
// "import job finished" lines carry each job's fetch and write times).
func benchLogger(b *testing.B) *slog.Logger {
	path := os.Getenv("BENCH_LOG")
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Close() })
	return slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
