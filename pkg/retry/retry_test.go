package retry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDo(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	other := errors.New("other")
	ms := time.Millisecond
	// NoJitter makes the backoff's waits exact: 100 ms, 200 ms, … at most 1 s.
	exact := Backoff{Base: 100 * ms, Max: time.Second, Jitter: NoJitter}
	tests := []struct {
		name   string
		policy Policy
		// results[i] is what attempt i+1 returns; past the end, the last one.
		results []error
		// cancelInCall cancels ctx during that attempt; cancelInSleep during that sleep (from 1).
		cancelInCall, cancelInSleep int
		wantCalls                   int
		wantWaits                   []time.Duration
		wantNotified                []int
		wantErr                     string // "" for nil
		wantIs                      []error
		wantSame                    error // the very error Do must return
	}{
		{name: "success at once", policy: Policy{Backoff: exact}, results: []error{nil}, wantCalls: 1},
		{
			name: "success on the third attempt", policy: Policy{Backoff: exact, MaxAttempts: 5},
			results: []error{boom, boom, nil}, wantCalls: 3,
			wantWaits: []time.Duration{100 * ms, 200 * ms}, wantNotified: []int{1, 2},
		},
		{
			name: "permanent ends at once, unmarked", policy: Policy{Op: "get Sale", Backoff: exact, MaxAttempts: 5},
			results: []error{Permanent(boom)}, wantCalls: 1, wantErr: "boom", wantSame: boom,
		},
		{
			name: "permanent after a retry", policy: Policy{Backoff: exact},
			results: []error{boom, Permanent(other)}, wantCalls: 2,
			wantWaits: []time.Duration{100 * ms}, wantNotified: []int{1}, wantErr: "other", wantSame: other,
		},
		{
			name: "a wrapped permanent ends too", policy: Policy{Backoff: exact},
			results: []error{fmt.Errorf("read: %w", Permanent(boom))}, wantCalls: 1,
			wantErr: "read: boom", wantIs: []error{boom},
		},
		{
			name: "out of attempts: no sleep after the last", policy: Policy{Op: "get Sale", Backoff: exact, MaxAttempts: 3},
			results: []error{boom}, wantCalls: 3,
			wantWaits: []time.Duration{100 * ms, 200 * ms}, wantNotified: []int{1, 2},
			wantErr: "get Sale after 3 attempts: boom", wantIs: []error{boom},
		},
		{
			name: "out of attempts, no op", policy: Policy{Backoff: exact, MaxAttempts: 2},
			results: []error{boom}, wantCalls: 2,
			wantWaits: []time.Duration{100 * ms}, wantNotified: []int{1},
			wantErr: "after 2 attempts: boom", wantIs: []error{boom},
		},
		{
			name: "one attempt only", policy: Policy{Backoff: exact, MaxAttempts: 1},
			results: []error{boom}, wantCalls: 1, wantErr: "after 1 attempts: boom", wantIs: []error{boom},
		},
		{
			name: "after names the wait", policy: Policy{Backoff: exact},
			results: []error{After(7*time.Second, boom), nil}, wantCalls: 2,
			wantWaits: []time.Duration{7 * time.Second}, wantNotified: []int{1},
		},
		{
			name: "after zero retries at once, unannounced", policy: Policy{Backoff: exact},
			results: []error{After(0, boom), After(-time.Second, boom), nil}, wantCalls: 3,
		},
		{
			name: "after counts as an attempt", policy: Policy{Op: "get Sale", Backoff: exact, MaxAttempts: 2},
			results: []error{After(0, boom)}, wantCalls: 2,
			wantErr: "get Sale after 2 attempts: boom", wantIs: []error{boom},
		},
		{
			name: "no backoff retries at once", policy: Policy{MaxAttempts: 3},
			results: []error{boom, boom, nil}, wantCalls: 3,
		},
		{
			name: "context cancelled while waiting", policy: Policy{Op: "jetstream setup", Backoff: exact},
			results: []error{boom}, cancelInSleep: 2, wantCalls: 2,
			wantWaits: []time.Duration{100 * ms, 200 * ms}, wantNotified: []int{1, 2},
			wantErr: "jetstream setup: context canceled (after boom)", wantIs: []error{context.Canceled, boom},
		},
		{
			name: "context ended during an attempt: no wait", policy: Policy{Backoff: exact, MaxAttempts: 5},
			results: []error{After(time.Second, boom)}, cancelInCall: 1, wantCalls: 1,
			wantErr: "context canceled (after boom)", wantIs: []error{context.Canceled, boom},
		},
		{
			name: "unlimited attempts, capped backoff", policy: Policy{Backoff: exact},
			results: []error{boom, boom, boom, boom, boom, boom, boom, nil}, wantCalls: 8,
			wantWaits:    []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second, time.Second},
			wantNotified: []int{1, 2, 3, 4, 5, 6, 7},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var waits []time.Duration
			var notified []int
			p := tc.policy
			p.SleepFunc = func(ctx context.Context, d time.Duration) error {
				waits = append(waits, d)
				if len(waits) == tc.cancelInSleep {
					cancel()
				}
				return ctx.Err()
			}
			var announced []time.Duration
			p.NotifyFunc = func(attempt int, wait time.Duration, err error) {
				notified = append(notified, attempt)
				announced = append(announced, wait)
				if unmark(err) != err { // a marker itself, not one it wraps
					t.Errorf("notified a marked error %v", err)
				}
			}
			calls := 0
			err := Do(ctx, p, func(_ context.Context, attempt int) error {
				calls++
				if attempt != calls {
					t.Errorf("attempt %d on call %d", attempt, calls)
				}
				if calls == tc.cancelInCall {
					cancel()
				}
				return tc.results[min(calls, len(tc.results))-1]
			})
			if calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls, tc.wantCalls)
			}
			if diff := cmp.Diff(tc.wantWaits, waits); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(waits, announced); diff != "" {
				t.Errorf("announced waits differ from the waits (-waited +announced):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantNotified, notified); diff != "" {
				t.Errorf("notified attempts (-want +got):\n%s", diff)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Do = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Fatalf("Do = %v, want %q", err, tc.wantErr)
			}
			for _, target := range tc.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("Do = %v, not %v", err, target)
				}
			}
			if tc.wantSame != nil && err != tc.wantSame { // the very error, not one wrapping it
				t.Errorf("Do = %#v, want %#v itself", err, tc.wantSame)
			}
		})
	}
}

// TestDoSleeps: without a SleepFunc, Do waits with Sleep.
func TestDoSleeps(t *testing.T) {
	t.Parallel()
	calls := 0
	err := Do(context.Background(), Policy{Backoff: Backoff{Base: time.Nanosecond, Max: time.Nanosecond}}, func(context.Context, int) error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("Do = %v after %d calls, want nil after 3", err, calls)
	}
}

func TestMarkersOfNil(t *testing.T) {
	t.Parallel()
	if err := Permanent(nil); err != nil {
		t.Errorf("Permanent(nil) = %v", err)
	}
	if err := After(time.Second, nil); err != nil {
		t.Errorf("After(1s, nil) = %v", err)
	}
}

func TestMarkersPrintAndUnwrap(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, err := range []error{Permanent(boom), After(time.Second, boom)} {
		if err.Error() != "boom" || !errors.Is(err, boom) {
			t.Errorf("%T prints %q; Is(boom) = %v", err, err, errors.Is(err, boom))
		}
	}
}

// TestWarn: the notify func logs one warning per wait, with the caller's attributes and the
// attempt, the wait and the error; the caller's attribute slice is not written to.
func TestWarn(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	args := make([]any, 2, 8)
	args[0], args[1] = "resource", "Sale"
	notify := Warn(context.Background(), logger, "retrying lightspeed request", args...)
	notify(2, 1500*time.Millisecond, errors.New("boom"))
	notify(3, time.Second, errors.New("bang"))
	var lines []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		delete(m, "time")
		lines = append(lines, m)
	}
	want := []map[string]any{
		{"level": "WARN", "msg": "retrying lightspeed request", "resource": "Sale", "attempt": 2.0, "wait": 1.5e9, "error": "boom"},
		{"level": "WARN", "msg": "retrying lightspeed request", "resource": "Sale", "attempt": 3.0, "wait": 1e9, "error": "bang"},
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
	if got := args[:cap(args)][2]; got != nil {
		t.Errorf("Warn wrote %v into the caller's attribute slice", got)
	}
}
