//go:build cluster

package clustertest

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/services/import-worker/internal/faulttest"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/worker"
)

// recoveryBound is how long after a worker's kill -9 its jobs may wait for another worker.
const recoveryBound = 30 * time.Second

// killWorkers kills (SIGKILL) a worker that holds jobs, again and again during the backfill,
// at the default lease TTL, ack wait and heartbeat, and measures kill to resumption: until
// every job the victim held is leased again by another worker. A new worker replaces the
// victim each time (its Deployment would). The worst must stay within recoveryBound.
func killWorkers(t *testing.T, r *run) {
	kills := r.h.size.kills
	r.startWorkers(t, 3)
	id := r.backfill(t)
	nightly := r.nightly(t)
	var took []time.Duration
	for k := range kills {
		r.running(t, id, "before kill "+strconv.Itoa(k+1))
		victim, held := r.holder(t, id)
		r.mu.Lock()
		p := r.workers[victim]
		r.mu.Unlock()
		p.Kill()
		killed := time.Now()
		faulttest.WaitFor(t, 2*recoveryBound, "the killed worker's jobs leased again", func() bool {
			for job, attempt := range held {
				var a int
				var state string
				if err := r.Pool.QueryRow(context.Background(), "SELECT attempt, state FROM jobs WHERE job_id = $1", job).Scan(&a, &state); err != nil {
					t.Fatal(err)
				}
				if a <= attempt && state == "RUNNING" {
					return false
				}
			}
			return true
		})
		d := time.Since(killed)
		took = append(took, d)
		t.Logf("kill %d: %d jobs of pid %d resumed %v after the kill", k+1, len(held), p.PID(), d.Round(100*time.Millisecond))
		np := r.StartWorker(t)
		r.mu.Lock()
		r.workers[victim] = np
		r.mu.Unlock()
	}
	slices.Sort(took)
	median := took[len(took)/2]
	if len(took)%2 == 0 {
		median = (took[len(took)/2-1] + took[len(took)/2]) / 2
	}
	t.Logf("kill -9 to resumption over %d kills (lease TTL %v, ack wait %v): median %v, worst %v",
		len(took), worker.DefaultLeaseTTL, jobqueue.DefaultAckWait, median.Round(100*time.Millisecond), took[len(took)-1].Round(100*time.Millisecond))
	if worst := took[len(took)-1]; worst > recoveryBound {
		t.Errorf("a killed worker's jobs waited %v, more than %v", worst, recoveryBound)
	}
	r.verdict(t, id, nightly)
}

// holder waits for a worker that holds running jobs of the import and returns its index and
// the jobs' attempts.
func (r *run) holder(t *testing.T, id string) (int, map[uuid.UUID]int) {
	t.Helper()
	var victim int
	held := map[uuid.UUID]int{}
	faulttest.WaitFor(t, 2*time.Minute, "a worker holding jobs", func() bool {
		r.mu.Lock()
		workers := slices.Clone(r.workers)
		r.mu.Unlock()
		for i, w := range workers {
			rows, err := r.Pool.Query(context.Background(), `SELECT job_id, attempt FROM jobs
				WHERE import_id = $1 AND state = 'RUNNING' AND lease_owner LIKE '%:' || $2::text`, id, strconv.Itoa(w.PID()))
			if err != nil {
				t.Fatal(err)
			}
			clear(held)
			for rows.Next() {
				var job uuid.UUID
				var a int
				if err := rows.Scan(&job, &a); err != nil {
					t.Fatal(err)
				}
				held[job] = a
			}
			rows.Close()
			if len(held) > 0 {
				victim = i
				return true
			}
		}
		return false
	})
	return victim, held
}
