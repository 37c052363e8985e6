package ratebudget_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

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

// fakeClock is the budget's clock in these tests: it stands still unless a test advances it,
// so computed send times and waits do not depend on how long the statements take.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newBudget returns a budget on pool; a nil clock is the database's, as in production.
func newBudget(pool *pgxpool.Pool, clock *fakeClock) *ratebudget.Budget {
	c := cfg
	if clock != nil {
		c.Now = clock.Now
	}
	return ratebudget.New(store.New(pool), c, logging.Discard())
}

type testBundle struct {
	a, b  *ratebudget.Budget
	clock *fakeClock
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	pool := storetest.Pool(t)
	// Two budgets on one database stand for two worker processes; they share one clock, as
	// processes share the database's.
	clock := newClock()
	return &testBundle{a: newBudget(pool, clock), b: newBudget(pool, clock), clock: clock}
}

// sendTimes reserves n requests alternating between limiters and returns each one's send
// time relative to the first request's send time.
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

// near allows for the database's microsecond resolution, float rounding, and the burst
// window's spacing (1 ms / 999, stored as 1 µs) of the requests that go at once. The clock is
// fake, so no allowance is made for the time statements take.
func near(got, want time.Duration) bool {
	const tolerance = 10 * time.Microsecond
	return got >= want-tolerance && got <= want+tolerance
}

func TestReserveSharedBetweenProcesses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got := sendTimes(t, 14, b.a.For("acct:1"), b.b.For("acct:1"))
	// The first 8 go when they are reserved; from the 9th on the bucket's drip spaces them
	// exactly 100 ms apart, whichever process asks.
	for i, g := range got {
		want := time.Duration(max(i-7, 0)) * 100 * time.Millisecond
		if !near(g, want) {
			t.Errorf("request %d sends at %v, want %v (all: %v)", i, g, want, got)
		}
	}
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
		// prepare runs before the test starts, act when it starts (now).
		prepare func(l *ratebudget.Limiter)
		act     func(l *ratebudget.Limiter, now time.Time)
		want    time.Duration
	}{
		{name: "nothing known: send now", act: func(*ratebudget.Limiter, time.Time) {}, want: 0},
		{
			name: "level reported near full pushes the schedule",
			// Level 9 of 10 at 10/s: the level is 7 (= 10-2-1) again after 200 ms.
			act:  func(l *ratebudget.Limiter, _ time.Time) { l.Observe(pos.BucketState{Level: 9, Size: 10, DripRate: 10}) },
			want: 200 * time.Millisecond,
		},
		{
			name: "a lower reported level changes nothing",
			act:  func(l *ratebudget.Limiter, _ time.Time) { l.Observe(pos.BucketState{Level: 0, Size: 10, DripRate: 10}) },
			want: 0,
		},
		{
			name: "pause after a 429 holds every process",
			act:  func(l *ratebudget.Limiter, now time.Time) { l.PauseUntil(now.Add(300 * time.Millisecond)) },
			want: 300 * time.Millisecond,
		},
		{
			name: "a faster drip from the headers shortens the debt of requests reserved at the guess",
			// 8 requests at the initial 10/s hold the schedule 100 ms past the bucket's
			// tolerance (and 793 ms at 1000/s if kept as time); at the real 1000/s they are
			// 8 drips of level, which drip to 7 in 1 ms.
			prepare: func(l *ratebudget.Limiter) {
				for range 8 {
					if _, err := l.Reserve(context.Background(), 1); err != nil {
						panic(err)
					}
				}
			},
			act: func(l *ratebudget.Limiter, _ time.Time) {
				l.Observe(pos.BucketState{Level: 0, Size: 10, DripRate: 1000})
			},
			want: time.Millisecond,
		},
		{
			name: "a bigger bucket from the headers is used",
			act: func(l *ratebudget.Limiter, _ time.Time) {
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
			start := b.clock.Now()
			tc.act(b.a.For("acct"), start)
			r, err := b.b.For("acct").Reserve(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			// The send time, relative to when the test acted; the clock stood still, so the
			// wait is the same.
			if got := r.SendAt.Sub(start); !near(got, tc.want) {
				t.Errorf("send time = start + %v, want start + %v", got, tc.want)
			}
			if !near(r.Wait, tc.want) {
				t.Errorf("wait = %v, want %v", r.Wait, tc.want)
			}
		})
	}
}

// TestDatabaseClock: without Config.Now the budget keeps time on the database's clock, the one
// every process shares, as in production. The database runs on this host, so its readings lie
// between this process's readings before and after each statement, however long that takes.
func TestDatabaseClock(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	a, b := newBudget(pool, nil), newBudget(pool, nil)
	ctx := context.Background()

	before := time.Now().Truncate(time.Microsecond)
	r, err := a.For("acct").Reserve(ctx, 1)
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if r.SendAt.Before(before) || r.SendAt.After(after) || !near(r.Wait, 0) {
		t.Errorf("first request sends at %v after a wait of %v, want at once, between %v and %v",
			r.SendAt.Format(time.StampMicro), r.Wait, before.Format(time.StampMicro), after.Format(time.StampMicro))
	}

	// A pause set by one process holds the other's next request until it ends.
	pause := time.Now().Add(time.Hour)
	a.For("acct").PauseUntil(pause)
	before = time.Now()
	r, err = b.For("acct").Reserve(ctx, 1)
	after = time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if !r.SendAt.Equal(pause.Truncate(time.Microsecond)) {
		t.Errorf("request sends at %v, want at the end of the pause, %v", r.SendAt.Format(time.StampMicro), pause.Format(time.StampMicro))
	}
	if lo, hi := pause.Sub(after), pause.Sub(before); !near(r.Wait, lo) && !near(r.Wait, hi) && (r.Wait < lo || r.Wait > hi) {
		t.Errorf("wait = %v, want between %v and %v", r.Wait, lo, hi)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	// The database's clock: the assertion holds however long the statements take.
	l := newBudget(storetest.Pool(t), nil).For("acct")
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
		{"one drip above the model: the answered request itself", pos.BucketState{Level: 2.95, Size: 10, DripRate: 10}, false},
		{"more than a drip above the model", pos.BucketState{Level: 3.2, Size: 10, DripRate: 10}, true},
		{"no burst header", pos.BucketState{Level: 0, Size: 10, DripRate: 10}, false},
		{"level above the model", pos.BucketState{Level: 6, Size: 10, DripRate: 10}, true},
		{"another drip rate", pos.BucketState{Level: 0, Size: 10, DripRate: 20}, true},
		{"another bucket size", pos.BucketState{Level: 0, Size: 20, DripRate: 10}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := storetest.Pool(t)
			l := newBudget(pool, newClock()).For("acct")
			// Two requests: the model's level is 2 (the clock stands still).
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

// TestWaitRereadsThePauseAfterALongWait: a request that waited half a drip or more (the bucket
// near full, where 429s come) reads back a pause another process set while it slept and waits
// for it; one that waited only the burst spacing (the bucket far from full) goes, sparing the
// read that would double the budget's statements per request.
func TestWaitRereadsThePauseAfterALongWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// ahead is how many requests reserve before the one under test: 8 fill the bucket's
		// tolerance (a wait of one drip, 100 ms), 1 leaves only the burst spacing.
		ahead int
		want  []time.Duration
	}{
		{name: "a wait of one drip reads the pause back", ahead: 8, want: []time.Duration{100 * time.Millisecond, 900 * time.Millisecond}},
		{name: "burst spacing does not", ahead: 1, want: []time.Duration{time.Microsecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := storetest.Pool(t)
			clock := newClock()
			other := newBudget(pool, clock).For("acct")
			start := clock.Now()
			var slept []time.Duration
			c := cfg
			c.Now = clock.Now
			c.Sleep = func(_ context.Context, d time.Duration) error {
				slept = append(slept, d.Round(time.Microsecond))
				if len(slept) == 1 {
					// Another process met a 429 meanwhile: it pauses the account for a second.
					other.PauseUntil(start.Add(time.Second))
				}
				clock.Advance(d)
				return nil
			}
			l := ratebudget.New(store.New(pool), c, logging.Discard()).For("acct")
			l.Observe(pos.BucketState{Level: 0, Size: 10, DripRate: 10}) // learn the drip
			for range tc.ahead {
				if _, err := l.Reserve(context.Background(), 1); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Wait(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			ok := len(slept) == len(tc.want)
			for i := 0; ok && i < len(slept); i++ {
				ok = near(slept[i], tc.want[i])
			}
			if !ok {
				t.Errorf("sleeps %v, want %v", slept, tc.want)
			}
		})
	}
}
