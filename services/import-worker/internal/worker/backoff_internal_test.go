package worker

import (
	"testing"
	"time"
)

// TestRetryBackoffKeepsItsShape: the NakWithDelay backoff after attempt n waits between half
// its ceiling and the ceiling, min(RetryMax, RetryBase·2ⁿ⁻¹), as it did before pkg/retry, so a
// retry never comes back at once; a slot's pull backoff is the same from 200 ms to 5 s.
func TestRetryBackoffKeepsItsShape(t *testing.T) {
	t.Parallel()
	w := &Worker{cfg: Config{RetryBase: 2 * time.Second, RetryMax: 2 * time.Minute}}
	tests := []struct {
		name  string
		delay func(n int) time.Duration
		ceils []time.Duration // the ceiling after attempts 1, 2, …
	}{
		{"retry", w.retryBackoff().Delay, []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
			32 * time.Second, 64 * time.Second, 2 * time.Minute, 2 * time.Minute}},
		{"slot", slotBackoff.Delay, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
			1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for i, ceil := range tc.ceils {
				n := i + 1
				lo, hi := ceil, time.Duration(0)
				for range 2000 {
					d := tc.delay(n)
					if d < ceil/2 || d >= ceil {
						t.Fatalf("attempt %d: delay %v outside [%v, %v)", n, d, ceil/2, ceil)
					}
					lo, hi = min(lo, d), max(hi, d)
				}
				// Jittered: the draws spread over most of the range.
				if hi-lo < ceil/4 {
					t.Errorf("attempt %d: delays %v..%v barely spread", n, lo, hi)
				}
			}
			if d := tc.delay(200); d < tc.ceils[len(tc.ceils)-1]/2 || d >= tc.ceils[len(tc.ceils)-1] {
				t.Errorf("attempt 200: delay %v not capped", d)
			}
		})
	}
}
