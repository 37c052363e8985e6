package sim

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimitOptions configure the R-Series leaky bucket and burst limiter. Zero values take the
// documented defaults.
type RateLimitOptions struct {
	// Disabled turns both limiters off (the headers are still sent).
	Disabled bool
	// BucketSize is the bucket of a one-register account (default 90); each further register
	// adds PerRegisterSize (default 10).
	BucketSize      float64
	PerRegisterSize float64
	// DripRate is the leak per second of a one-register account (default 1); each further
	// register adds PerRegisterDrip (default 0.5).
	DripRate        float64
	PerRegisterDrip float64
	// Burst is the number of requests allowed per one-second window; default 2/9 of the bucket
	// size, which gives the documented 20 for a bucket of 90.
	Burst int
	// TimeScale runs the limiters this many times faster than the simulator's clock (default
	// 1): buckets leak faster and the burst limiter allows as many more requests per second.
	// The headers report the scaled drip rate and burst limit, so that a client pacing itself
	// from them stays correct.
	TimeScale float64
}

func (o RateLimitOptions) withDefaults() RateLimitOptions {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.BucketSize, 90)
	def(&o.PerRegisterSize, 10)
	def(&o.DripRate, 1)
	def(&o.PerRegisterDrip, 0.5)
	def(&o.TimeScale, 1)
	return o
}

// bucketKey is the documented scope of a bucket: one per account and OAuth client.
type bucketKey struct {
	accountID int64
	clientID  string
}

type bucket struct {
	level  float64
	last   time.Time
	window int64
	inWin  int
}

// limiter holds every bucket.
type limiter struct {
	opts  RateLimitOptions
	clock Clock
	mu    sync.Mutex
	b     map[bucketKey]*bucket
}

func newLimiter(opts RateLimitOptions, clock Clock) *limiter {
	return &limiter{opts: opts.withDefaults(), clock: clock, b: map[bucketKey]*bucket{}}
}

// verdict is the outcome of one request against its bucket.
type verdict struct {
	level, size, drip, cost float64
	burst, burstMax         int
	// limitType is "" when allowed, else the X-LS-API-RateLimit-Type value.
	limitType  string
	retryAfter int
}

// take charges cost to the bucket of key, for an account with registers registers.
func (l *limiter) take(key bucketKey, registers int, cost float64) verdict {
	o := l.opts
	extra := float64(max(registers, 1) - 1)
	size := o.BucketSize + o.PerRegisterSize*extra
	drip := (o.DripRate + o.PerRegisterDrip*extra) * o.TimeScale
	burstMax := o.Burst
	if burstMax == 0 {
		burstMax = int(size * 2 / 9)
	}
	burstMax = int(float64(burstMax) * o.TimeScale)
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.b[key]
	if !ok {
		b = &bucket{last: now}
		l.b[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.level = math.Max(0, b.level-el*drip)
		b.last = now
	}
	// Fixed one-second windows; every request counts, refused ones too.
	win := now.Unix()
	if win != b.window {
		b.window, b.inWin = win, 0
	}
	b.inWin++
	v := verdict{level: b.level, size: size, drip: drip, cost: cost, burst: b.inWin, burstMax: burstMax}
	switch {
	case o.Disabled:
	case b.inWin > burstMax:
		v.limitType, v.retryAfter = "api-burst-limiter", 1
		return v
	case b.level >= size:
		// The first request to overflow was let through; the next ones wait until the level
		// is back below the size.
		v.limitType = "api-leaky-bucket"
		v.retryAfter = int(math.Floor((b.level-size)/drip)) + 1
		return v
	}
	b.level += cost
	v.level = b.level
	return v
}

// formatLevel writes a level the way the API does: at most two decimals, no trailing zeros.
func formatLevel(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

// setHeaders writes the X-LS-* headers with the casings of the docs; the map is written
// directly so that Go does not canonicalise them, since the real API's casing is not stable
// either and clients must match case-insensitively.
func (v verdict) setHeaders(h http.Header, info tokenInfo, ray string) {
	h["X-LS-Acct-Id"] = []string{strconv.FormatInt(info.accountID, 10)}
	h["X-LS-Oauth-Client-Id"] = []string{info.clientID}
	h["X-LS-Api-Bucket-Level"] = []string{formatLevel(v.level) + "/" + formatLevel(v.size)}
	h["X-LS-API-Burst-Level"] = []string{strconv.Itoa(v.burst) + "/" + strconv.Itoa(v.burstMax)}
	h["X-LS-Api-Drip-Rate"] = []string{formatLevel(v.drip)}
	h["X-LS-Api-Request-Cost"] = []string{formatLevel(v.cost)}
	h["Cf-Ray"] = []string{ray}
	if v.limitType != "" {
		h["X-LS-API-RateLimit-Type"] = []string{v.limitType}
		h.Set("Retry-After", strconv.Itoa(v.retryAfter))
	}
}
