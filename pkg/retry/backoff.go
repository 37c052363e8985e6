package retry

import (
	"math/rand/v2"
	"time"
)

// Jitter says how [Backoff.Delay] spreads a wait below its ceiling.
type Jitter int

const (
	// FullJitter draws the wait uniformly from (0, ceiling]: the spread that best keeps
	// clients which failed together from retrying together.
	FullJitter Jitter = iota
	// EqualJitter draws the wait from [ceiling/2, ceiling): half the ceiling at least, for a
	// retry that must not come back at once (a redelivered job).
	EqualJitter
	// NoJitter waits the ceiling itself.
	NoJitter
)

// Backoff is capped exponential backoff. The zero Jitter is FullJitter.
type Backoff struct {
	// Base is the first ceiling; Max caps every ceiling.
	Base, Max time.Duration
	Jitter    Jitter
}

// Delay returns the wait after failed attempt n (n from 1; less counts as 1): below the
// ceiling min(Max, Base·2ⁿ⁻¹) as b.Jitter says. A non-positive Base takes Max as every
// ceiling; a non-positive Max gives no wait.
func (b Backoff) Delay(n int) time.Duration {
	return b.delay(n, rand.Int64N)
}

// delay is Delay drawing from int64n, which returns a value in [0, n) for n > 0.
func (b Backoff) delay(n int, int64n func(int64) int64) time.Duration {
	ceil := b.ceiling(n)
	if ceil <= 0 {
		return 0
	}
	switch b.Jitter {
	case EqualJitter:
		half := ceil / 2
		return half + uniform(ceil-half, int64n)
	case NoJitter:
		return ceil
	default:
		return time.Duration(int64n(int64(ceil))) + 1
	}
}

// ceiling is min(Max, Base·2ⁿ⁻¹), computed without overflow.
func (b Backoff) ceiling(n int) time.Duration {
	if b.Max <= 0 {
		return 0
	}
	k := max(n, 1) - 1
	if b.Base <= 0 || k >= 63 || b.Base > b.Max>>k {
		return b.Max
	}
	return b.Base << k
}

// Uniform returns a random duration in [0, d), or 0 for d <= 0: jitter added to a fixed wait.
func Uniform(d time.Duration) time.Duration {
	return uniform(d, rand.Int64N)
}

func uniform(d time.Duration, int64n func(int64) int64) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(int64n(int64(d)))
}
