package ratebudget_test

import (
	"context"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/services/import-worker/internal/ratebudget"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

// TestWaitHonoursPauseSetWhileAsleep: a request that reserved its send time before another
// process's 429 paused the account must not be sent when it wakes, but after the pause: the
// Retry-After holds for every request not yet sent. The clock is fake and Wait's sleep hands
// each wait to the test, which sets the pause while the request sleeps and then moves the
// clock on by the wait.
func TestWaitHonoursPauseSetWhileAsleep(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	clock := newClock()
	type nap struct {
		d    time.Duration
		wake chan struct{}
	}
	naps := make(chan nap)
	sleepy := cfg
	sleepy.Now = clock.Now
	sleepy.Sleep = func(ctx context.Context, d time.Duration) error {
		n := nap{d: d, wake: make(chan struct{})}
		select {
		case naps <- n:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-n.wake
		return nil
	}
	a, b := ratebudget.New(store.New(pool), sleepy, logging.Discard()), newBudget(pool, clock)
	l := a.For("acct")
	// Eight requests go at once, then one every 100 ms: the next one waits 300 ms.
	for range 10 {
		if _, err := l.Reserve(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	start := clock.Now()
	done := make(chan error, 1)
	go func() { done <- l.Wait(context.Background(), 1) }()

	// While the request sleeps, the other process is refused and told to wait a second.
	pause := start.Add(time.Second)
	var waits []time.Duration
	timeout := time.After(10 * time.Second)
	for {
		select {
		case n := <-naps:
			if len(waits) == 0 {
				b.For("acct").PauseUntil(pause)
			}
			waits = append(waits, n.d)
			clock.Advance(n.d)
			close(n.wake)
			continue
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatalf("Wait has not returned; it slept %v", waits)
		}
		break
	}
	if len(waits) == 0 || !near(waits[0], 300*time.Millisecond) {
		t.Errorf("Wait slept %v, want 300ms first", waits)
	}
	if sent := clock.Now(); sent.Before(pause) {
		t.Errorf("the sleeping request went at start + %v (slept %v), %v before the pause ended", sent.Sub(start), waits, pause.Sub(sent))
	}
	if sent := clock.Now(); !near(sent.Sub(pause), 0) {
		t.Errorf("the sleeping request went at start + %v (slept %v), want when the pause ended, start + 1s", sent.Sub(start), waits)
	}
}
