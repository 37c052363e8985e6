package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/posimport/posimport/pkg/platform/postgres"
	"github.com/posimport/posimport/services/import-worker/internal/store/internal/dbsqlc"
)

// A client's window is how many of its jobs may be published to JetStream and not ended
// (queued in the stream, or running) at once. A job is claimed for publication (published_at
// set) only when it fits: when its import is created, and when another of its client's jobs
// ends (Finish, an exhausted Lease, Cancel), in the same transaction, under the client's lock.
// The caller publishes what was claimed after the commit; a claimed job whose message never
// arrived is re-published by the reconciler once stale, like any lost message. So the stream
// never holds a client's backlog, only its window, and a client's waiting jobs sit in Postgres
// behind no other client's.
//
// Lock order: a transaction locks its job or import rows first and the client after, and while
// it holds the client's lock it touches only jobs no one else may hold (its own new ones, or
// unpublished ones, skipping locked rows), so claims never deadlock with leases or cancels.

// windowSize is the window for a query.
func (s *Store) windowSize() int32 {
	if s.window <= 0 {
		return math.MaxInt32
	}
	return int32(min(s.window, math.MaxInt32))
}

// claimNext claims the client's waiting jobs its window has room for, under the client's lock
// (taken here), in tx: those of the highest priority first (an intraday refresh, so a year's
// backfill ahead of it in the queue does not hold it back), then the oldest.
func (s *Store) claimNext(ctx context.Context, tx pgx.Tx, client string) ([]uuid.UUID, error) {
	if err := lockClient(ctx, tx, client); err != nil {
		return nil, err
	}
	n, err := s.q.JobsInWindow(ctx, tx, client)
	if err != nil {
		return nil, fmt.Errorf("count jobs in the window: %w", err)
	}
	room := s.windowSize() - n
	if room <= 0 {
		return nil, nil
	}
	rows, err := s.q.JobsClaimNext(ctx, tx, dbsqlc.JobsClaimNextParams{ClientID: client, MaxJobs: room})
	if err != nil {
		return nil, fmt.Errorf("claim next jobs: %w", err)
	}
	slices.SortFunc(rows, func(a, b dbsqlc.JobsClaimNextRow) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.Seq, b.Seq))
	})
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.JobID
	}
	return ids, nil
}

// Sweep claims, for at most limit clients whose window has room while a job of theirs has
// waited longer than minAge, their next jobs, and returns them for publication: what a claim
// missed (a wider window configured, a bug) is caught up here.
func (s *Store) Sweep(ctx context.Context, minAge time.Duration, limit int) ([]uuid.UUID, error) {
	clients, err := s.q.ClientsWaiting(ctx, s.pool, dbsqlc.ClientsWaitingParams{
		WindowSize: s.windowSize(), MinAgeSeconds: seconds(minAge), MaxRows: int32(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("list clients waiting: %w", err)
	}
	var out []uuid.UUID
	for _, c := range clients {
		err := postgres.InTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
			ids, err := s.claimNext(ctx, tx, c)
			out = append(out, ids...)
			return err
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
