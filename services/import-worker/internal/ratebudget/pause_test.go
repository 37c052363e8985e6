package ratebudget_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/services/import-worker/internal/ratebudget"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

// TestWaitHonoursPauseSetWhileAsleep: a request that reserved its send time before another
// process's 429 paused the account must not be sent when it wakes, but after the pause: the
// Retry-After holds for every request not yet sent.
func TestWaitHonoursPauseSetWhileAsleep(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	a, b := ratebudget.New(store.New(pool), cfg, logging.Discard()), ratebudget.New(store.New(pool), cfg, logging.Discard())
	l := a.For("acct")
	// Eight requests go at once, then one every 100 ms: the next reservation sleeps ~300 ms.
	for range 10 {
		if _, err := l.Reserve(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	tat := func() time.Time {
		var v pgtype.Timestamptz
		if err := pool.QueryRow(context.Background(), "SELECT tat FROM rate_budgets WHERE account_key = 'acct'").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v.Time
	}
	before := tat()
	done := make(chan time.Time, 1)
	go func() {
		if err := l.Wait(context.Background(), 1); err != nil {
			t.Error(err)
		}
		done <- time.Now()
	}()
	for deadline := time.Now().Add(10 * time.Second); !tat().After(before); {
		if time.Now().After(deadline) {
			t.Fatal("Wait reserved nothing")
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	// The reservation is made and sleeping; the other process is refused now and told to
	// wait a second.
	pause := time.Now().Add(time.Second)
	b.For("acct").PauseUntil(pause)
	if sent := <-done; sent.Before(pause) {
		t.Errorf("the sleeping request went at %v, %v before the pause ended", sent.Format(time.StampMilli), pause.Sub(sent))
	}
}
