// Package retry provides what posimport's retrying code shares: a sleep that ends with its
// context, capped exponential backoff with jitter, a Retry-After parser, and a loop that calls
// an operation until it succeeds, fails for good, runs out of attempts or its context ends.
//
// The contract:
//   - [Sleep] waits d or until ctx ends, and then returns ctx.Err(); it returns at once for
//     d <= 0 or a context already ended.
//   - [Backoff.Delay] is the wait after failed attempt n (n from 1). Its ceiling is
//     min(Max, Base·2ⁿ⁻¹), without overflow for any n. [FullJitter] (the zero value) draws
//     uniformly from (0, ceiling], never zero; [EqualJitter] from [ceiling/2, ceiling), for
//     waits that must not come back at once; [NoJitter] is the ceiling itself. Delay is safe
//     for concurrent use: it keeps no state, so callers pass n. [Uniform] is jitter to add to
//     a fixed wait.
//   - [ParseRetryAfter] reads RFC 9110's Retry-After: delay-seconds or an HTTP date.
//   - [Do] calls f at least once. An error marked [Permanent] ends it at once; one marked
//     [After] is retried after the wait it names (a server's Retry-After; zero retries at
//     once); any other error is retried after the policy's backoff. Do never sleeps after the
//     last attempt. Its error is f's error for a permanent failure, and otherwise names the
//     last failure: "<op> after N attempts: <last>" when the attempts run out, "<op>: <ctx
//     error> (after <last>)" when ctx ends first; errors.Is and errors.As see both errors.
//     [Warn] makes the usual notify func: a warning before each wait.
//
// NOTE: github.com/cenkalti/backoff/v5 and github.com/sethvargo/go-retry were weighed and do
// not fit. Neither lets a test replace its sleep; cenkalti's jitter spreads ±factor around an
// interval that MaxInterval caps before the spread, so waits run past the cap, and its
// Retry-After takes whole seconds only. Both keep the attempt count inside a stateful backoff,
// whereas posimport's callers compute a wait from an attempt number they already hold (a
// JetStream delivery count, a lease's attempt).
package retry
