package retry

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// lowest and highest are the extreme draws of rand.Int64N.
func lowest(int64) int64    { return 0 }
func highest(n int64) int64 { return n - 1 }

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	full := Backoff{Base: 500 * ms, Max: 30 * time.Second}
	equal := Backoff{Base: 200 * ms, Max: 5 * time.Second, Jitter: EqualJitter}
	none := Backoff{Base: 200 * ms, Max: 5 * time.Second, Jitter: NoJitter}
	tests := []struct {
		name      string
		b         Backoff
		n         int
		low, high time.Duration // the waits at the lowest and the highest draw
	}{
		{name: "full first", b: full, n: 1, low: 1, high: 500 * ms},
		{name: "full doubles", b: full, n: 3, low: 1, high: 2 * time.Second},
		{name: "full capped", b: full, n: 7, low: 1, high: 30 * time.Second},
		{name: "full n below 1 counts as 1", b: full, n: 0, low: 1, high: 500 * ms},
		{name: "full huge n does not overflow", b: full, n: 1000, low: 1, high: 30 * time.Second},
		{name: "full n at the shift width", b: Backoff{Base: 1, Max: math.MaxInt64}, n: 64, low: 1, high: math.MaxInt64},
		{name: "full just below overflow", b: Backoff{Base: 1, Max: math.MaxInt64}, n: 63, low: 1, high: 1 << 62},
		{name: "equal first", b: equal, n: 1, low: 100 * ms, high: 200*ms - 1},
		{name: "equal capped", b: equal, n: 10, low: 2500 * ms, high: 5*time.Second - 1},
		{name: "equal odd ceiling", b: Backoff{Base: 3, Max: 3, Jitter: EqualJitter}, n: 1, low: 1, high: 2},
		{name: "none is the ceiling", b: none, n: 2, low: 400 * ms, high: 400 * ms},
		{name: "none capped", b: none, n: 6, low: 5 * time.Second, high: 5 * time.Second},
		{name: "base above max", b: Backoff{Base: time.Minute, Max: time.Second, Jitter: NoJitter}, n: 1, low: time.Second, high: time.Second},
		{name: "no base takes max", b: Backoff{Max: time.Second, Jitter: NoJitter}, n: 1, low: time.Second, high: time.Second},
		{name: "no max, no wait", b: Backoff{Base: time.Second}, n: 3, low: 0, high: 0},
		{name: "zero backoff, no wait", b: Backoff{}, n: 1, low: 0, high: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.b.delay(tc.n, lowest); got != tc.low {
				t.Errorf("lowest draw: Delay(%d) = %v, want %v", tc.n, got, tc.low)
			}
			if got := tc.b.delay(tc.n, highest); got != tc.high {
				t.Errorf("highest draw: Delay(%d) = %v, want %v", tc.n, got, tc.high)
			}
			// The real source stays within the same bounds.
			for range 200 {
				if got := tc.b.Delay(tc.n); got < tc.low || got > tc.high {
					t.Fatalf("Delay(%d) = %v, outside [%v, %v]", tc.n, got, tc.low, tc.high)
				}
			}
		})
	}
}

// TestBackoffDelaySpreads: full jitter uses the whole range below the ceiling, not a band
// around it (which is what tells it from ±factor jitter).
func TestBackoffDelaySpreads(t *testing.T) {
	t.Parallel()
	b := Backoff{Base: time.Second, Max: time.Second}
	var lowHalf, highHalf int
	for range 1000 {
		if b.Delay(1) <= 500*time.Millisecond {
			lowHalf++
		} else {
			highHalf++
		}
	}
	// Each half holds 500 ± 5σ (σ ≈ 16) of 1000 draws unless the draw is not uniform.
	if lowHalf < 420 || highHalf < 420 {
		t.Errorf("%d draws in (0, 0.5 s], %d in (0.5 s, 1 s]: not spread over the range", lowHalf, highHalf)
	}
}

func TestUniform(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d         time.Duration
		low, high time.Duration
	}{
		{d: time.Second, low: 0, high: time.Second - 1},
		{d: 1, low: 0, high: 0},
		{d: 0, low: 0, high: 0},
		{d: -time.Second, low: 0, high: 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.d), func(t *testing.T) {
			t.Parallel()
			if got := uniform(tc.d, lowest); got != tc.low {
				t.Errorf("lowest draw: Uniform(%v) = %v, want %v", tc.d, got, tc.low)
			}
			if got := uniform(tc.d, highest); got != tc.high {
				t.Errorf("highest draw: Uniform(%v) = %v, want %v", tc.d, got, tc.high)
			}
			for range 200 {
				if got := Uniform(tc.d); got < tc.low || got > tc.high {
					t.Fatalf("Uniform(%v) = %v, outside [%v, %v]", tc.d, got, tc.low, tc.high)
				}
			}
		})
	}
}
