package importservice_test

import (
	"context"
	"math/rand/v2"
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

// TestWorkerKilledRepeatedly runs the workers as OS processes and kills one with SIGKILL ten
// times at random moments of an import, restarting it each time: the import still finishes with
// exactly the oracle's values, every job DONE and none left running.
// PIPELINE_KILL_DAYS and PIPELINE_KILLS size it (the full version: 365 and 10).
func TestWorkerKilledRepeatedly(t *testing.T) {
	t.Parallel()
	days, kills := envInt("PIPELINE_KILL_DAYS", 60), envInt("PIPELINE_KILLS", 10)
	bin := pipelinetest.BuildWorker(t)
	e := pipelinetest.Start(t, pipelinetest.Options{
		ShopsPerAccount: 5, RegistersPerShop: 3, SalesPerDay: 6, Days: days + 2, Zones: oracleZones, Seed: 4,
		OwnNATS: true, TimeScale: 5,
		WorkerConfig: func(c *importservice.Config) {
			c.Worker = false // the in-process import-worker serves the API only
			c.LeaseTTL, c.AckWait, c.MaxAttempts = 3*time.Second, 5*time.Second, 100
			c.ReconcileGrace = 3 * time.Second
		},
	})
	deps, from, until := connectClient(t, e, days)
	survivor := e.StartProcess(t, bin) // a second worker process that is never killed
	id := e.StartImport(t, "c1", deps, from, until, false)
	rng := rand.New(rand.NewPCG(4, uint64(time.Now().UnixNano())))
	victim := e.StartProcess(t, bin)
	killed := 0
	for killed < kills {
		time.Sleep(time.Duration(300+rng.IntN(1500)) * time.Millisecond) // a random moment
		if ended, _, total := jobCounts(t, e, id); ended == total {
			t.Logf("the import finished after %d kills", killed)
			break
		}
		victim.Kill()
		killed++
		victim = e.StartProcess(t, bin)
	}
	imp := e.WaitImport(t, "c1", id, 4*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("import ended %s: %v\nsurvivor:\n%s", imp.GetState(), firstErrors(imp, 3), survivor.Output())
	}
	if killed < kills {
		t.Errorf("only %d of %d kills happened during the import; make it bigger", killed, kills)
	}
	if ended, running, total := jobCounts(t, e, id); ended != total || running != 0 {
		t.Errorf("jobs: %d of %d ended, %d running", ended, total, running)
	}
	if diffs := e.Mismatches(t, "c1", 0, deps, from, until, 10); len(diffs) > 0 {
		t.Errorf("balance differs from the oracle after %d kills:\n%v", killed, diffs)
	}
	if survivor.Exited() {
		t.Errorf("the surviving worker exited:\n%s", survivor.Output())
	}
}

// TestNATSAndPostgresRestartMidImport restarts the NATS server (same store directory) and then
// crashes and restarts PostgreSQL in the middle of an import: it finishes with the oracle's values.
func TestNATSAndPostgresRestartMidImport(t *testing.T) {
	t.Parallel()
	days := envInt("PIPELINE_RESTART_DAYS", 60)
	e := pipelinetest.Start(t, pipelinetest.Options{
		ShopsPerAccount: 3, RegistersPerShop: 3, SalesPerDay: 6, Days: days + 2, Zones: oracleZones, Seed: 5,
		OwnNATS: true, OwnPostgres: true, TimeScale: 5,
		WorkerConfig: func(c *importservice.Config) {
			c.LeaseTTL, c.AckWait, c.MaxAttempts = 3*time.Second, 5*time.Second, 100
			c.ReconcileGrace = 3 * time.Second
		},
	})
	deps, from, until := connectClient(t, e, days)
	id := e.StartImport(t, "c1", deps, from, until, false)

	waitProgress := func(min int) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var written int
			err := e.Pool.QueryRow(context.Background(), "SELECT coalesce(sum(days_written), 0) FROM jobs WHERE import_id = $1", id).Scan(&written)
			if err == nil && written >= min {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no progress past %d register-days: %v", min, err)
			}
			time.Sleep(50 * time.Millisecond) // polling with a deadline
		}
	}
	total := len(deps) * 3 * days
	waitProgress(total / 5)
	e.RestartNATS(t, 2*time.Second)
	waitProgress(total / 2)
	if ended, _, all := jobCounts(t, e, id); ended == all {
		t.Fatal("the import finished before PostgreSQL could be restarted; make it bigger")
	}
	e.RestartPostgres(t, 2*time.Second)
	imp := e.WaitImport(t, "c1", id, 4*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	if diffs := e.Mismatches(t, "c1", 0, deps, from, until, 10); len(diffs) > 0 {
		t.Errorf("balance differs from the oracle after the restarts:\n%v", diffs)
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
