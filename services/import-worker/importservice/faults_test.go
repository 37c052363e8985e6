package importservice_test

import (
	"context"
	"testing"
	"time"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// jobCounts returns the import's jobs that ended DONE or SKIPPED, that are RUNNING, and all.
func jobCounts(t *testing.T, e *pipelinetest.Env, id string) (ended, running, total int) {
	t.Helper()
	if err := e.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE state IN ('DONE', 'SKIPPED')),
		count(*) FILTER (WHERE state = 'RUNNING'), count(*) FROM jobs WHERE import_id = $1`, id).Scan(&ended, &running, &total); err != nil {
		t.Fatal(err)
	}
	return ended, running, total
}

// waitRunning waits until one of the import's jobs runs.
func waitRunning(t *testing.T, e *pipelinetest.Env, id string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, running, _ := jobCounts(t, e, id); running > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no job started")
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// TestWorkerSIGTERMSettlesInFlightJobs stops a worker process with SIGTERM in the middle of an
// import: it exits 0 within its shutdown timeout, leaving none of its jobs leased (each
// finished or released), and another worker finishes the import with the oracle's values.
func TestWorkerSIGTERMSettlesInFlightJobs(t *testing.T) {
	t.Parallel()
	days := 60
	bin := pipelinetest.BuildWorker(t)
	e := pipelinetest.Start(t, pipelinetest.Options{
		ShopsPerAccount: 2, RegistersPerShop: 3, SalesPerDay: 6, Days: days + 2, Zones: oracleZones, Seed: 6,
		OwnNATS: true, TimeScale: 5,
		WorkerConfig: func(c *importservice.Config) { c.Worker = false; c.MaxAttempts = 100 },
	})
	deps, from, until := connectClient(t, e, days)
	w := e.StartProcess(t, bin)
	id := e.StartImport(t, "c1", deps, from, until, false)
	waitRunning(t, e, id)
	if code := w.Terminate(20 * time.Second); code != 0 {
		t.Fatalf("worker exited %d after SIGTERM:\n%s", code, w.Output())
	}
	var leased int
	if err := e.Pool.QueryRow(context.Background(), "SELECT count(*) FROM jobs WHERE import_id = $1 AND state = 'RUNNING'", id).Scan(&leased); err != nil {
		t.Fatal(err)
	}
	if leased != 0 {
		t.Errorf("%d jobs still leased by the stopped worker", leased)
	}
	e.StartProcess(t, bin)
	imp := e.WaitImport(t, "c1", id, 3*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	if diffs := e.Mismatches(t, "c1", 0, deps, from, until, 10); len(diffs) > 0 {
		t.Errorf("balance differs from the oracle:\n%v", diffs)
	}
}
