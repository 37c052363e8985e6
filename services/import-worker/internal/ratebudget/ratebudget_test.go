package ratebudget_test

import (
	"context"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/pos"
	"github.com/posimport/posimport/services/import-worker/internal/ratebudget"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// A bucket of 10 drips at 10/s with headroom 2 lets 8 requests of cost 1 go at once (until the
// modelled level would pass 10-2), then one every 100 ms. The burst window is made wide enough
// not to interfere.
var cfg = ratebudget.Config{Headroom: 2, BurstWindow: time.Millisecond, InitialSize: 10, InitialDrip: 10, InitialBurst: 1000}

type testBundle struct {
	a, b *ratebudget.Budget
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	pool := storetest.Pool(t)
	// Two budgets on one database stand for two worker processes.
	return &testBundle{a: ratebudget.New(store.New(pool), cfg, logging.Discard()), b: ratebudget.New(store.New(pool), cfg, logging.Discard())}
}

// sendTimes reserves n requests alternating between limiters and returns each one's send
// time on the database clock relative to the first request's send time, less the time the
// reservations themselves took (which moves the unthrottled ones).
func sendTimes(t *testing.T, n int, limiters ...*ratebudget.Limiter) []time.Duration {
	t.Helper()
	ctx := context.Background()
	var first time.Time
	out := make([]time.Duration, n)
	for i := range n {
		r, err := limiters[i%len(limiters)].Reserve(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = r.SendAt
		}
		out[i] = r.SendAt.Sub(first)
	}
	return out
}

// near allows for the time between statements on a busy machine.
func near(got, want time.Duration) bool {
	const tolerance = 60 * time.Millisecond
	return got > want-tolerance && got < want+tolerance
}

func TestReserveSharedBetweenProcesses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got := sendTimes(t, 14, b.a.For("acct:1"), b.b.For("acct:1"))
	// The first 8 go when they are reserved; from the 9th on the bucket's drip spaces them
	// exactly 100 ms apart, whichever process asks.
	for i := 1; i < 8; i++ {
		if got[i] > got[8] {
			t.Errorf("request %d sends at %v, after the first throttled one (all: %v)", i, got[i], got)
		}
	}
	for i := 9; i < len(got); i++ {
		if gap := got[i] - got[i-1]; gap != 100*time.Millisecond {
			t.Errorf("requests %d and %d are %v apart, want 100ms (all: %v)", i-1, i, gap, got)
		}
	}
	if got[13] < 500*time.Millisecond {
		t.Errorf("14 requests within %v: more than the bucket allows", got[13])
	}
	// Another account has its own bucket.
	if r, err := b.a.For("acct:2").Reserve(context.Background(), 1); err != nil || !near(r.Wait, 0) {
		t.Errorf("other account waits %v (%v)", r.Wait, err)
	}
}

func TestObserveAndPause(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// prepare runs before the clock starts, act after.
		prepare, act func(l *ratebudget.Limiter)
		want         time.Duration
	}{
		{name: "nothing known: send now", act: func(*ratebudget.Limiter) {}, want: 0},
		{
			name: "level reported near full pushes the schedule",
			// Level 9 of 10 at 10/s: the level is 7 (= 10-2-1) again after 200 ms.
			act:  func(l *ratebudget.Limiter) { l.Observe(pos.BucketState{Level: 9, Size: 10, DripRate: 10}) },
			want: 200 * time.Millisecond,
		},
		{
			name: "a lower reported level changes nothing",
			act:  func(l *ratebudget.Limiter) { l.Observe(pos.BucketState{Level: 0, Size: 10, DripRate: 10}) },
			want: 0,
		},
		{
			name: "pause after a 429 holds every process",
			act:  func(l *ratebudget.Limiter) { l.PauseUntil(time.Now().Add(300 * time.Millisecond)) },
			want: 300 * time.Millisecond,
		},
		{
			name: "a faster drip from the headers shortens the debt of requests reserved at the guess",
			// 8 requests at the initial 10/s hold the schedule 100 ms past the bucket's
			// tolerance; at the real 1000/s they are 8 ms of level.
			prepare: func(l *ratebudget.Limiter) {
				for range 8 {
					if _, err := l.Reserve(context.Background(), 1); err != nil {
						panic(err)
					}
				}
			},
			act:  func(l *ratebudget.Limiter) { l.Observe(pos.BucketState{Level: 0, Size: 10, DripRate: 1000}) },
			want: 0,
		},
		{
			name: "a bigger bucket from the headers is used",
			act: func(l *ratebudget.Limiter) {
				// Size 100 at 1/s, level 95: room for cost 1 under 98 at once.
				l.Observe(pos.BucketState{Level: 95, Size: 100, DripRate: 1})
			},
			want: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if tc.prepare != nil {
				tc.prepare(b.a.For("acct"))
			}
			start := time.Now()
			tc.act(b.a.For("acct"))
			r, err := b.b.For("acct").Reserve(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			// The send time, relative to when the test acted.
			if got := time.Since(start) + r.Wait; !near(got, tc.want) {
				t.Errorf("wait = %v, want about %v", got, tc.want)
			}
		})
	}
}

func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := b.a.For("acct")
	l.PauseUntil(time.Now().Add(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, 1); err == nil {
		t.Error("Wait returned nil while paused for an hour")
	}
}

// TestObserveWritesOnlyWhatIsNew: a response whose bucket the row already knows, at a level
// no higher than the modelled one, changes nothing in the database; a higher level or other
// settings are written.
func TestObserveWritesOnlyWhatIsNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		state   pos.BucketState
		changes bool
	}{
		{"level below the model", pos.BucketState{Level: 0.2, Size: 10, DripRate: 10, BurstMax: 1000}, false},
		{"no burst header", pos.BucketState{Level: 0, Size: 10, DripRate: 10}, false},
		{"level above the model", pos.BucketState{Level: 6, Size: 10, DripRate: 10}, true},
		{"another drip rate", pos.BucketState{Level: 0, Size: 10, DripRate: 20}, true},
		{"another bucket size", pos.BucketState{Level: 0, Size: 20, DripRate: 10}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := storetest.Pool(t)
			l := ratebudget.New(store.New(pool), cfg, logging.Discard()).For("acct")
			// Two requests: the model's level is about 2 until the drip takes it away.
			for range 2 {
				if _, err := l.Reserve(context.Background(), 1); err != nil {
					t.Fatal(err)
				}
			}
			before := pgtest.Snapshot(t, pool, store.Schema)
			l.Observe(tc.state)
			if changed := before != pgtest.Snapshot(t, pool, store.Schema); changed != tc.changes {
				t.Errorf("database changed = %v, want %v", changed, tc.changes)
			}
		})
	}
}
