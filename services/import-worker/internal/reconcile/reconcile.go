// Package reconcile keeps JetStream in step with Postgres, which is the source of truth for
// jobs: it publishes jobs never published (the outbox), re-publishes jobs whose message is
// gone although they are still pending or their lease ran out, and finishes the bookkeeping a
// worker may have died before doing (marking departments imported, finishing imports). Every
// step is safe with several replicas running it.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/metrics"
	"github.com/posimport/posimport/services/import-worker/internal/outbox"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/store/dbsqlc"
	"github.com/posimport/posimport/services/import-worker/internal/worker"
)

// Reconciler re-publishes lost jobs.
type Reconciler struct {
	Store   *store.Store
	Queue   *jobqueue.Queue
	Balance posimportv1.BalanceServiceClient
	Metrics *metrics.Metrics
	Logger  *slog.Logger
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
	q, pool := r.Store.Queries()
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	unpublished, err := q.JobsUnpublished(ctx, pool, dbsqlc.JobsUnpublishedParams{MinAgeSeconds: 2, MaxRows: 1000})
	keep(err)
	if len(unpublished) > 0 {
		keep(outbox.Publish(ctx, r.Store, r.Queue, unpublished))
	}
	n, err := r.republish(ctx)
	keep(err)
	if n > 0 {
		r.Logger.InfoContext(ctx, "jobs republished", "jobs", n)
	}
	keep(worker.MarkDepartments(ctx, r.Store, r.Balance, pgtype.UUID{}, r.Metrics))
	ended, err := q.ImportsUnfinishedEnded(ctx, pool)
	keep(err)
	for _, id := range ended {
		keep(worker.FinishImport(ctx, r.Store, id, r.Metrics))
	}
	return first
}

// republish publishes stale jobs whose message is no longer in the stream, each under a fresh
// Nats-Msg-Id so the duplicate window cannot swallow it.
func (r *Reconciler) republish(ctx context.Context) (int, error) {
	q, pool := r.Store.Queries()
	stale, err := q.JobsStale(ctx, pool, dbsqlc.JobsStaleParams{GraceSeconds: r.Grace.Seconds(), MaxRows: 1000})
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
		count, err := q.JobClaimRepublish(ctx, pool, dbsqlc.JobClaimRepublishParams{JobID: id, GraceSeconds: r.Grace.Seconds()})
		if errors.Is(err, pgx.ErrNoRows) {
			continue // another replica claimed it, or the job ended meanwhile
		}
		if err != nil {
			return n, err
		}
		if err := r.Queue.Publish(ctx, id, fmt.Sprintf("%s/r%d", id, count)); err != nil {
			return n, err
		}
		r.Metrics.Republished()
		n++
	}
	return n, nil
}
