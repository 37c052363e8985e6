package retail

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/pos"
)

// fakeClock is a clock whose sleeps advance it.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return nil
}

func TestBucketLimiter(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// prepare runs before the requests.
		prepare func(l *BucketLimiter, c *fakeClock)
		n       int
		// wantAt are the send times, as offsets from start, of the requests sampled.
		sample []int
		wantAt []time.Duration
	}{
		{
			name: "burst limit spreads the first requests", n: 40,
			sample: []int{0, 18, 19, 37, 38},
			// 19 per sliding second (one under the documented 20).
			wantAt: []time.Duration{0, 0, time.Second, time.Second, 2 * time.Second},
		},
		{
			name: "full bucket paces at the drip rate",
			prepare: func(l *BucketLimiter, c *fakeClock) {
				l.Observe(pos.BucketState{Level: 88, Size: 90, DripRate: 1, BurstMax: 20, At: c.now})
			},
			n: 3, sample: []int{0, 1, 2},
			wantAt: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second},
		},
		{
			name: "learned size and drip",
			prepare: func(l *BucketLimiter, c *fakeClock) {
				l.Observe(pos.BucketState{Level: 108, Size: 110, DripRate: 2, BurstMax: 24, At: c.now})
			},
			n: 2, sample: []int{0, 1},
			wantAt: []time.Duration{500 * time.Millisecond, time.Second},
		},
		{
			name:    "pause after a 429",
			prepare: func(l *BucketLimiter, c *fakeClock) { l.PauseUntil(c.now.Add(7 * time.Second)) },
			n:       1, sample: []int{0},
			wantAt: []time.Duration{7 * time.Second},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &fakeClock{now: start}
			l := &BucketLimiter{NowFunc: c.Now, SleepFunc: c.Sleep}
			if tc.prepare != nil {
				tc.prepare(l, c)
			}
			var at []time.Duration
			for range tc.n {
				if err := l.Wait(context.Background(), 1); err != nil {
					t.Fatal(err)
				}
				at = append(at, c.now.Sub(start))
			}
			var got []time.Duration
			for _, i := range tc.sample {
				got = append(got, at[i])
			}
			if diff := cmp.Diff(tc.wantAt, got); diff != "" {
				t.Errorf("send times (-want +got):\n%s", diff)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := &BucketLimiter{}
	l.PauseUntil(time.Now().Add(time.Hour))
	if err := l.Wait(ctx, 1); err == nil {
		t.Error("Wait with a cancelled context: want an error")
	}
}
