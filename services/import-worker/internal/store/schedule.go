package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/services/import-worker/internal/store/internal/dbsqlc"
)

// What a nightly run did for a client.
const (
	RunStarted     = "STARTED"
	RunNeedsReauth = "NEEDS_REAUTH"
	RunNotEnabled  = "NOT_ENABLED"
	RunFailed      = "FAILED"
)

// ClaimRun claims the nightly run of runDate for owner until ttl from now: the first replica
// claims a date; another takes over only a claim whose holder let it lapse without finishing.
// It reports whether owner holds the claim now.
func (s *Store) ClaimRun(ctx context.Context, runDate civil.Date, scheduledFor time.Time, owner string, ttl time.Duration) (bool, error) {
	_, err := s.q.ScheduleRunClaim(ctx, s.pool, dbsqlc.ScheduleRunClaimParams{
		RunDate: date(runDate), ScheduledFor: timestamp(scheduledFor), Owner: owner, TtlSeconds: seconds(ttl),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim run %s: %w", runDate, err)
	}
	return true, nil
}

// RunDone records that owner finished the nightly run of runDate.
func (s *Store) RunDone(ctx context.Context, runDate civil.Date, owner string) error {
	if err := s.q.ScheduleRunDone(ctx, s.pool, dbsqlc.ScheduleRunDoneParams{RunDate: date(runDate), Owner: owner}); err != nil {
		return fmt.Errorf("finish run %s: %w", runDate, err)
	}
	return nil
}

// RunClientDone reports whether the nightly run of runDate recorded an outcome for client.
func (s *Store) RunClientDone(ctx context.Context, runDate civil.Date, client string) (bool, error) {
	_, err := s.q.ScheduleRunClientGet(ctx, s.pool, dbsqlc.ScheduleRunClientGetParams{RunDate: date(runDate), ClientID: client})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read run client: %w", err)
	}
	return true, nil
}

// RecordRunClient records an outcome of the nightly run of runDate for client that started no
// import (RunStarted is recorded by CreateImport, with the import).
func (s *Store) RecordRunClient(ctx context.Context, runDate civil.Date, client, outcome, detail string) error {
	if err := s.q.ScheduleRunClientInsert(ctx, s.pool, dbsqlc.ScheduleRunClientInsertParams{
		RunDate: date(runDate), ClientID: client, Outcome: outcome, Detail: detail,
	}); err != nil {
		return fmt.Errorf("record run client: %w", err)
	}
	return nil
}

// Run is a nightly run's record.
type Run struct {
	Date         civil.Date
	ScheduledFor time.Time
	ClaimedBy    string
	// DoneTime is zero while the run is not finished.
	DoneTime time.Time
}

// Runs returns every nightly run, oldest first.
func (s *Store) Runs(ctx context.Context) ([]Run, error) {
	rows, err := s.q.ScheduleRunList(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	out := make([]Run, len(rows))
	for i, r := range rows {
		out[i] = Run{Date: civilDate(r.RunDate), ScheduledFor: instant(r.ScheduledFor), ClaimedBy: r.ClaimedBy, DoneTime: instant(r.DoneTime)}
	}
	return out, nil
}

// RunClient is what a nightly run did for a client.
type RunClient struct {
	ClientID, Outcome string
	// ImportID is the import started (RunStarted), else uuid.Nil.
	ImportID uuid.UUID
	Detail   string
}

// RunClients returns the outcomes of the nightly run of runDate, by client.
func (s *Store) RunClients(ctx context.Context, runDate civil.Date) ([]RunClient, error) {
	rows, err := s.q.ScheduleRunClientList(ctx, s.pool, date(runDate))
	if err != nil {
		return nil, fmt.Errorf("list run clients: %w", err)
	}
	out := make([]RunClient, len(rows))
	for i, r := range rows {
		out[i] = RunClient{ClientID: r.ClientID, Outcome: r.Outcome, Detail: r.Detail}
		if r.ImportID.Valid {
			out[i].ImportID = r.ImportID.Bytes
		}
	}
	return out, nil
}

// LatestScheduledRun returns the scheduled start of the latest nightly run; false before the
// first.
func (s *Store) LatestScheduledRun(ctx context.Context) (time.Time, bool, error) {
	t, err := s.q.ScheduleRunLatest(ctx, s.pool)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read the latest nightly run: %w", err)
	}
	return t.Time, t.Valid, nil
}
