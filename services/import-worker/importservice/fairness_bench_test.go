package importservice_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// BenchmarkFairness measures how much one client's queued work delays another's: client
// "small" (its own Lightspeed account, one shop of 2 registers) imports one week — 2 jobs —
// once with nothing else queued (idle) and once while client "big" (another account, 3 shops
// × 2 registers) has 50 one-week imports queued (300 jobs; distinct weeks, so none is merged).
// One import-worker with BENCH_SLOTS slots (default 4) and a per-client window and cap of
// BENCH_CAP (default 2): posimport's defaults. The simulator enforces Lightspeed's real rate
// limits (BENCH_TIME_SCALE, default 1) and answers each sales page after
// BENCH_POS_LATENCY_MS (default 200), a real round trip. It reports both wall times, their ratio (the target is
// ≤ 2), the big client's jobs ended meanwhile, and the deliveries the fairness cap deferred.
// Run:
//
//	go test ./importservice -run '^$' -bench Fairness -benchtime 1x
func BenchmarkFairness(b *testing.B) {
	scale := float64(envInt("BENCH_TIME_SCALE", 1))
	slots, window := envInt("BENCH_SLOTS", 4), envInt("BENCH_CAP", 2)
	latency := time.Duration(envInt("BENCH_POS_LATENCY_MS", 200)) * time.Millisecond
	const weeks = 50
	for range b.N {
		b.StopTimer()
		e := pipelinetest.Start(b, pipelinetest.Options{
			Accounts: 2, ShopsPerAccount: 3, RegistersPerShop: 2, SalesPerDay: 30, Days: (weeks+3)*7 + 2,
			Zones: oracleZones[:1], Seed: 20, TimeScale: scale, NoWorker: true, Logs: benchLogger(b),
			WorkerConfig: func(c *importservice.Config) { c.WorkerSlots, c.MaxRunningPerClient = slots, window },
		})
		e.Imports = append(e.Imports, e.StartImportWorker(b, "w0", func(c *importservice.Config) { c.API = true }))
		big := e.Departments(0, false)
		e.Configure(b, "big", big)
		e.Connect(b, "big", e.AccountID(0), true)
		small := e.Departments(1, false)[:1]
		e.Configure(b, "small", small)
		e.Connect(b, "small", e.AccountID(1), true)
		// Lightspeed's round trip: each sales page takes this long to answer.
		if err := e.Sim.InjectFault(sim.Fault{Kind: sim.FaultSlow, Endpoint: "Sale.json", Delay: sim.Duration(latency)}); err != nil {
			b.Fatal(err)
		}
		until := yesterday().AddDays(-1)
		week := func(k int) (civil.Date, civil.Date) { return until.AddDays(-7*k - 6), until.AddDays(-7 * k) }
		smallImport := func(k int) time.Duration {
			from, to := week(k)
			start := time.Now()
			imp := e.WaitImport(b, "small", e.StartImport(b, "small", small, from, to, false), 10*time.Minute)
			if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED || imp.GetProgress().GetJobsPlanned() != 2 {
				b.Fatalf("small's import ended %s with %d jobs: %v", imp.GetState(), imp.GetProgress().GetJobsPlanned(), firstErrors(imp, 3))
			}
			return time.Since(start)
		}
		smallImport(2) // warm-up: connections, the token, the budget rows
		idle := smallImport(0)

		var bigIDs []string
		for k := range weeks {
			from, to := week(k)
			bigIDs = append(bigIDs, e.StartImport(b, "big", big, from, to, false))
		}
		jobsOf := func(client, states string) int {
			var n int
			if err := e.Pool.QueryRow(context.Background(), "SELECT count(*) FROM jobs WHERE client_id = $1 AND state = ANY(string_to_array($2, ','))",
				client, states).Scan(&n); err != nil {
				b.Fatal(err)
			}
			return n
		}
		for deadline := time.Now().Add(time.Minute); jobsOf("big", "RUNNING") == 0; {
			if time.Now().After(deadline) {
				b.Fatal("big's jobs did not start")
			}
			time.Sleep(20 * time.Millisecond) // polling with a deadline
		}
		endedBefore := jobsOf("big", "DONE,SKIPPED,FAILED")
		b.StartTimer()
		loaded := smallImport(1)
		b.StopTimer()
		endedDuring := jobsOf("big", "DONE,SKIPPED,FAILED") - endedBefore
		queued := jobsOf("big", "PENDING,RUNNING")

		deferred := 0.0
		for _, l := range strings.Split(scrape(b, e.Imports[0]), "\n") {
			if v, ok := strings.CutPrefix(l, `posimport_import_jobs_total{outcome="deferred"} `); ok {
				deferred, _ = strconv.ParseFloat(v, 64)
			}
		}
		b.ReportMetric(idle.Seconds(), "idle-s")
		b.ReportMetric(loaded.Seconds(), "loaded-s")
		b.ReportMetric(loaded.Seconds()/idle.Seconds(), "ratio")
		b.ReportMetric(float64(endedDuring), "big-jobs-ended")
		b.ReportMetric(float64(queued), "big-jobs-open")
		b.ReportMetric(deferred, "deferred")
		if loaded > 2*idle {
			b.Errorf("small's 2-job import took %v with big's %d imports queued, more than twice its %v idle", loaded, weeks, idle)
		}
		if queued == 0 {
			b.Errorf("big's %d imports ended before small's did: the benchmark measured no contention", len(bigIDs))
		}
	}
}
