package importservice

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/retry"
)

// TestStartupRetry: what the service needs to start is retried after 200 ms, doubling to 5 s,
// without jitter, until it succeeds or the context ends; the error then names both the context's
// end and the last failure.
func TestStartupRetry(t *testing.T) {
	t.Parallel()
	unreachable := errors.New("nats: no servers available for connection")
	ms := time.Millisecond
	tests := []struct {
		name      string
		failures  int // calls that fail before one succeeds
		cancelAt  int // the sleep (from 1) during which the context ends; 0: never
		wantWaits []time.Duration
		wantErr   string
	}{
		{name: "up at once", failures: 0},
		{
			name: "up after eight failures", failures: 8,
			wantWaits: []time.Duration{200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5 * time.Second, 5 * time.Second, 5 * time.Second},
		},
		{
			name: "shut down while waiting", failures: 100, cancelAt: 3,
			wantWaits: []time.Duration{200 * ms, 400 * ms, 800 * ms},
			wantErr:   "jetstream setup: context canceled (after nats: no servers available for connection)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := startupRetry(ctx, slog.New(slog.DiscardHandler), "jetstream setup")
			var waits []time.Duration
			p.SleepFunc = func(ctx context.Context, d time.Duration) error {
				waits = append(waits, d)
				if len(waits) == tc.cancelAt {
					cancel()
				}
				return ctx.Err()
			}
			calls := 0
			err := retry.Do(ctx, p, func(context.Context, int) error {
				calls++
				if calls <= tc.failures {
					return unreachable
				}
				return nil
			})
			if diff := cmp.Diff(tc.wantWaits, waits); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("error %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr || !errors.Is(err, context.Canceled) || !errors.Is(err, unreachable) {
				t.Errorf("error %v, want %q wrapping both", err, tc.wantErr)
			}
		})
	}
}
