package faulttest_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/faulttest"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
	"github.com/posimport/posimport/services/import-worker/internal/worker"
)

// recoveryBound is how long after a worker's kill -9 its jobs may wait for another worker.
const recoveryBound = 30 * time.Second

// TestKilledWorkersJobRunsElsewhereWithinBound kills (SIGKILL) a worker process in the middle
// of a job, at the default lease TTL, ack wait and heartbeat, while a second worker waits: the
// second must lease the job within recoveryBound of the kill, and the import then ends exactly
// (the fault suite's verdict).
func TestKilledWorkersJobRunsElsewhereWithinBound(t *testing.T) {
	t.Parallel()
	bin := pipelinetest.BuildWorker(t)
	b := faulttest.Setup(t, bin, faulttest.Options{Shops: 1, Registers: 1, Days: 3, Seed: 31, ApprovedDays: -1,
		WorkerConfig: func(c *importservice.Config) {
			c.LeaseTTL, c.AckWait, c.HeartbeatInterval = worker.DefaultLeaseTTL, jobqueue.DefaultAckWait, 0 // the defaults
		}})
	// The job's first sales request hangs, so the worker is mid-job when it is killed.
	if err := b.Sim.InjectFault(sim.Fault{Kind: sim.FaultSlow, Endpoint: "Sale.json", Count: 1, Delay: sim.Duration(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	victim := b.StartWorker(t, "WORKER_SLOTS=1")
	id := b.StartImport(t)
	type lease struct {
		attempt int
		owner   string
	}
	current := func() lease {
		var l lease
		if err := b.Pool.QueryRow(context.Background(), "SELECT attempt, lease_owner FROM jobs WHERE import_id = $1", id).Scan(&l.attempt, &l.owner); err != nil {
			t.Fatal(err)
		}
		return l
	}
	faulttest.WaitFor(t, time.Minute, "the victim in the middle of its job", func() bool {
		l := current()
		return l.attempt == 1 && strings.HasSuffix(l.owner, ":"+strconv.Itoa(victim.PID())) && len(b.Sim.Faults()) == 0
	})
	heir := b.StartWorker(t, "WORKER_SLOTS=1")
	// The victim's one slot is busy, so a waiting pull request is the heir's.
	cons, err := jobqueue.New(b.NATS.JS, jobqueue.Config{Prefix: b.Prefix}).Consumer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	faulttest.WaitFor(t, time.Minute, "the second worker pulling", func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.NumWaiting > 0
	})

	var left time.Duration
	if err := b.Pool.QueryRow(context.Background(), "SELECT lease_until - now() FROM jobs WHERE import_id = $1", id).Scan(&left); err != nil {
		t.Fatal(err)
	}
	victim.Kill()
	killed := time.Now()
	faulttest.WaitFor(t, 2*recoveryBound, "another worker leasing the job", func() bool {
		l := current()
		return l.attempt >= 2 && strings.HasSuffix(l.owner, ":"+strconv.Itoa(heir.PID()))
	})
	resumed := time.Since(killed)
	t.Logf("kill -9 to the job's next lease: %v, with %v of the lease left at the kill (lease TTL %v, ack wait %v)",
		resumed.Round(time.Millisecond), left.Round(time.Millisecond), worker.DefaultLeaseTTL, jobqueue.DefaultAckWait)
	if resumed > recoveryBound {
		t.Errorf("the job waited %v after the kill, more than %v", resumed, recoveryBound)
	}
	b.Verdict(t, 2*time.Minute, faulttest.Expect{}, id)
}
