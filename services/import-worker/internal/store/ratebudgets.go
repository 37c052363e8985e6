package store

import (
	"context"
	"fmt"
	"time"

	"github.com/posimport/posimport/services/import-worker/internal/store/internal/dbsqlc"
)

// Bucket is a POS account's rate limit: its size and drip rate in drips and drips per second,
// and the most requests its burst limiter lets through in one window.
type Bucket struct {
	Size, Drip float64
	Burst      int32
}

// The rate budget's methods take the current time as now; the zero time means the database's
// clock (production: one clock for every process on every host), another a caller's clock
// (tests: a fake one, so that send times do not depend on how long statements take).

// EnsureRateBudget creates the account's budget with the bucket b, unless it exists.
func (s *Store) EnsureRateBudget(ctx context.Context, account string, b Bucket, now time.Time) error {
	if err := s.q.RateBudgetEnsure(ctx, s.pool, dbsqlc.RateBudgetEnsureParams{
		AccountKey: account, BucketSize: b.Size, DripRate: b.Drip, BurstMax: b.Burst, Now: timestamp(now),
	}); err != nil {
		return fmt.Errorf("create rate budget: %w", err)
	}
	return nil
}

// RateReservation is a request's booked send time and the account's model after booking it.
type RateReservation struct {
	// SendAt is the send time, on the budget's clock; Wait is how long from now until then.
	SendAt time.Time
	Wait   time.Duration
	// TAT is the bucket's theoretical arrival time (when its modelled level is zero again).
	TAT    time.Time
	Bucket Bucket
	// DBNow is the budget's clock (the database's, or the caller's now) at the reservation.
	DBNow time.Time
}

// ReserveRate books the send time of a request costing cost drips on the account (GCRA):
// headroom drips below the bucket size, and the burst limiter's window spread evenly.
func (s *Store) ReserveRate(ctx context.Context, account string, cost, headroom float64, burstWindow time.Duration, now time.Time) (RateReservation, error) {
	r, err := s.q.RateBudgetReserve(ctx, s.pool, dbsqlc.RateBudgetReserveParams{
		Headroom: headroom, Cost: cost, BurstWindowSeconds: seconds(burstWindow), AccountKey: account, Now: timestamp(now),
	})
	if err != nil {
		return RateReservation{}, fmt.Errorf("reserve rate budget: %w", err)
	}
	return RateReservation{
		SendAt: r.SendAt.Time, Wait: time.Duration(r.WaitSeconds * float64(time.Second)), TAT: r.Tat.Time,
		Bucket: Bucket{Size: r.BucketSize, Drip: r.DripRate, Burst: r.BurstMax}, DBNow: r.DbNow.Time,
	}, nil
}

// ObserveRate takes the account's real bucket from a response (a Burst of 0 keeps the known
// one) and pushes the schedule out when the reported level is above the modelled one.
func (s *Store) ObserveRate(ctx context.Context, account string, b Bucket, level float64, now time.Time) error {
	if err := s.q.RateBudgetObserve(ctx, s.pool, dbsqlc.RateBudgetObserveParams{
		BucketSize: b.Size, DripRate: b.Drip, BurstMax: b.Burst, Level: level, AccountKey: account, Now: timestamp(now),
	}); err != nil {
		return fmt.Errorf("observe rate budget: %w", err)
	}
	return nil
}

// PauseRate holds every request to the account until at least until.
func (s *Store) PauseRate(ctx context.Context, account string, until time.Time) error {
	if err := s.q.RateBudgetPause(ctx, s.pool, dbsqlc.RateBudgetPauseParams{Until: timestamp(until), AccountKey: account}); err != nil {
		return fmt.Errorf("pause rate budget: %w", err)
	}
	return nil
}

// RatePausedUntil returns until when the account is paused (a time in the past when it is not).
func (s *Store) RatePausedUntil(ctx context.Context, account string) (time.Time, error) {
	r, err := s.q.RateBudgetGet(ctx, s.pool, account)
	if err != nil {
		return time.Time{}, notFound(err, "read rate budget")
	}
	return r.PausedUntil.Time, nil
}
