package retry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Policy says how [Do] retries.
type Policy struct {
	// Op names the operation in Do's errors, e.g. "get Sale"; it may be empty.
	Op string
	// MaxAttempts is the most calls of f, the first included; 0 calls until f succeeds, fails
	// for good or ctx ends.
	MaxAttempts int
	// Backoff gives the wait after a failure not marked [Permanent] or [After]; the zero
	// Backoff retries at once.
	Backoff Backoff
	// SleepFunc waits between attempts; default [Sleep]. Tests pass one on a fake clock.
	SleepFunc func(ctx context.Context, d time.Duration) error
	// NotifyFunc, if set, is called before each wait with the failed attempt's number, the
	// wait and the attempt's error, to log the retry. A retry at once is not a wait.
	NotifyFunc func(attempt int, wait time.Duration, err error)
}

// Do calls f, with the attempt number from 1, until it returns nil, returns an error marked
// [Permanent], has been called p.MaxAttempts times, or ctx ends. Between attempts it waits
// the time an [After] error names, or else p.Backoff.Delay(attempt). See the package doc for
// the errors it returns.
func Do(ctx context.Context, p Policy, f func(ctx context.Context, attempt int) error) error {
	sleep := p.SleepFunc
	if sleep == nil {
		sleep = Sleep
	}
	for attempt := 1; ; attempt++ {
		err := f(ctx, attempt)
		if err == nil {
			return nil
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return unmark(err)
		}
		last := unmark(err)
		if p.MaxAttempts > 0 && attempt >= p.MaxAttempts {
			return fmt.Errorf("%safter %d attempts: %w", p.op(" "), attempt, last)
		}
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("%s%w (after %w)", p.op(": "), cerr, last)
		}
		wait := p.Backoff.Delay(attempt)
		var after *afterError
		if errors.As(err, &after) {
			wait = after.wait
		}
		if wait <= 0 {
			continue
		}
		if p.NotifyFunc != nil {
			p.NotifyFunc(attempt, wait, last)
		}
		if serr := sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%s%w (after %w)", p.op(": "), serr, last)
		}
	}
}

// op is Op followed by sep, or nothing for an empty Op: "get Sale after 3 attempts: …", "get
// Sale: context canceled (after …)".
func (p Policy) op(sep string) string {
	if p.Op == "" {
		return ""
	}
	return p.Op + sep
}

// Permanent marks err as not worth retrying: [Do] returns it at once, unmarked. It returns nil
// for a nil err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// After marks err as retryable after d instead of the backoff: a wait the server asked for,
// such as a 429's Retry-After. d <= 0 retries at once. It returns nil for a nil err.
func After(d time.Duration, err error) error {
	if err == nil {
		return nil
	}
	return &afterError{wait: d, err: err}
}

// The markers print and unwrap as the error they mark.
type (
	permanentError struct{ err error }
	afterError     struct {
		wait time.Duration
		err  error
	}
)

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }
func (e *afterError) Error() string     { return e.err.Error() }
func (e *afterError) Unwrap() error     { return e.err }

// unmark strips a marker that err is itself; a marker wrapped deeper prints as its error anyway.
func unmark(err error) error {
	switch m := err.(type) { //nolint:errorlint // only a marker that err itself is
	case *permanentError:
		return m.err
	case *afterError:
		return m.err
	}
	return err
}

// Warn returns a [Policy.NotifyFunc] that logs msg at warn level with args and the attempt,
// the wait and the error.
func Warn(ctx context.Context, logger *slog.Logger, msg string, args ...any) func(attempt int, wait time.Duration, err error) {
	return func(attempt int, wait time.Duration, err error) {
		logger.WarnContext(ctx, msg, append(args[:len(args):len(args)], "attempt", attempt, "wait", wait, "error", err)...)
	}
}
