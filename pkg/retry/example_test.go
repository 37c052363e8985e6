package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posimport/posimport/pkg/retry"
)

func ExampleDo() {
	errUnavailable := errors.New("503 service unavailable")
	p := retry.Policy{Op: "get Sale", MaxAttempts: 4, Backoff: retry.Backoff{Base: time.Millisecond, Max: 10 * time.Millisecond}}
	err := retry.Do(context.Background(), p, func(_ context.Context, attempt int) error {
		switch attempt {
		case 1:
			return errUnavailable // retried after the backoff
		case 2:
			return retry.After(0, errors.New("401: token refreshed")) // retried at once
		case 3:
			return retry.Permanent(errors.New("404 not found")) // not retried
		}
		return nil
	})
	fmt.Println(err)
	// Output: 404 not found
}

func ExampleDo_exhausted() {
	p := retry.Policy{Op: "get Sale", MaxAttempts: 2, Backoff: retry.Backoff{Base: time.Millisecond, Max: time.Millisecond}}
	err := retry.Do(context.Background(), p, func(context.Context, int) error {
		return errors.New("503 service unavailable")
	})
	fmt.Println(err)
	// Output: get Sale after 2 attempts: 503 service unavailable
}

func ExampleBackoff_Delay() {
	// The waits a retried import job's redelivery could get: between half and all of
	// min(5 s, 200 ms·2ⁿ⁻¹).
	b := retry.Backoff{Base: 200 * time.Millisecond, Max: 5 * time.Second, Jitter: retry.EqualJitter}
	for n := 1; n <= 6; n++ {
		d := b.Delay(n)
		ceil := min(5*time.Second, 200*time.Millisecond<<(n-1))
		fmt.Println(n, d >= ceil/2 && d < ceil)
	}
	// Output:
	// 1 true
	// 2 true
	// 3 true
	// 4 true
	// 5 true
	// 6 true
}

func ExampleParseRetryAfter() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, v := range []string{"30", "Thu, 01 Jan 2026 12:02:00 GMT", "soon"} {
		d, ok := retry.ParseRetryAfter(v, now)
		fmt.Println(d, ok)
	}
	// Output:
	// 30s true
	// 2m0s true
	// 0s false
}
