// Package reconcile keeps JetStream in step with Postgres, which is the source of truth for
// jobs: it claims and publishes jobs whose client's window has room but that were never
// claimed (store.Sweep), re-publishes jobs whose message is gone although they are still
// pending or their lease ran out (a claimed job whose publication failed among them), and finishes the bookkeeping a
// worker may have died before doing (marking departments imported, finishing imports). Every
// step is safe with several replicas running it.
package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/posimport/posimport/services/import-worker/internal/completion"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/metrics"
	"github.com/posimport/posimport/services/import-worker/internal/outbox"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Reconciler re-publishes lost jobs and completes imports.
type Reconciler struct {
	Store     *store.Store
	Queue     *jobqueue.Queue
	Completer *completion.Completer
	Metrics   *metrics.Metrics
	Logger    *slog.Logger
	// Interval between passes.
	Interval time.Duration
	// Grace is how long a job may be pending after publication, or past its lease, before its
	// message is looked for.
	Grace time.Duration
}

// Run makes a pass every Interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		if err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.Logger.WarnContext(ctx, "reconcile pass", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass does one round; it returns the first error but tries every step.
func (r *Reconciler) Pass(ctx context.Context) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	claimed, err := r.Store.Sweep(ctx, 2*time.Second, 1000)
	keep(err)
	keep(outbox.Publish(ctx, r.Queue, claimed))
	n, err := r.republish(ctx)
	keep(err)
	if n > 0 {
		r.Logger.InfoContext(ctx, "jobs republished", "jobs", n)
	}
	keep(r.Completer.Sweep(ctx))
	return first
}

// republish publishes stale jobs whose message is no longer in the stream, each under a fresh
// Nats-Msg-Id so the duplicate window cannot swallow it.
func (r *Reconciler) republish(ctx context.Context) (int, error) {
	stale, err := r.Store.StaleJobs(ctx, r.Grace, 1000)
	if err != nil || len(stale) == 0 {
		return 0, err
	}
	present, err := r.Queue.Present(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range stale {
		if present[id] {
			continue
		}
		count, claimed, err := r.Store.ClaimRepublish(ctx, id, r.Grace)
		if err != nil {
			return n, err
		}
		if !claimed {
			continue // another replica claimed it, or the job ended meanwhile
		}
		if err := r.Queue.Publish(ctx, id, fmt.Sprintf("%s/r%d", id, count)); err != nil {
			return n, err
		}
		r.Metrics.Republished()
		n++
	}
	return n, nil
}
