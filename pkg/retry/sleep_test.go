package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Unix(0, 0))
	t.Cleanup(cancelExpired)
	tests := []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{name: "elapses", ctx: context.Background(), d: time.Nanosecond, want: nil},
		{name: "zero", ctx: context.Background(), d: 0, want: nil},
		{name: "negative", ctx: context.Background(), d: -time.Hour, want: nil},
		// An hour-long sleep on an ended context returns at once, with its error.
		{name: "cancelled", ctx: cancelled, d: time.Hour, want: context.Canceled},
		{name: "deadline passed", ctx: expired, d: time.Hour, want: context.DeadlineExceeded},
		{name: "cancelled, zero", ctx: cancelled, d: 0, want: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := Sleep(tc.ctx, tc.d); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("Sleep(%v) = %v, want %v", tc.d, err, tc.want)
			}
		})
	}
}

// TestSleepCancelledWhileWaiting: cancelling the context ends an hour-long sleep.
func TestSleepCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Sleep(ctx, time.Hour) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep = %v, want %v", err, context.Canceled)
	}
}
