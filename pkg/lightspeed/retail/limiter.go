package retail

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posimport/posimport/pkg/pos"
	"github.com/posimport/posimport/pkg/retry"
)

// ParseBucketState reads the X-LS-* headers; header names match case-insensitively, as the
// API's casing varies. ok is false when the bucket level is missing or malformed.
func ParseBucketState(h http.Header, at time.Time) (s pos.BucketState, ok bool) {
	s.At = at
	if lvl, size, found := strings.Cut(headerValue(h, "X-LS-API-Bucket-Level"), "/"); found {
		l, err1 := strconv.ParseFloat(strings.TrimSpace(lvl), 64)
		z, err2 := strconv.ParseFloat(strings.TrimSpace(size), 64)
		ok = err1 == nil && err2 == nil && finite(l) && finite(z) && l >= 0 && z > 0
		if ok {
			s.Level, s.Size = l, z
		}
	}
	if d, err := strconv.ParseFloat(strings.TrimSpace(headerValue(h, "X-LS-API-Drip-Rate")), 64); err == nil && finite(d) && d > 0 {
		s.DripRate = d
	}
	if n, m, found := strings.Cut(headerValue(h, "X-LS-API-Burst-Level"), "/"); found {
		b, err1 := strconv.Atoi(strings.TrimSpace(n))
		bm, err2 := strconv.Atoi(strings.TrimSpace(m))
		if err1 == nil && err2 == nil && bm > 0 {
			s.Burst, s.BurstMax = b, bm
		}
	}
	return s, ok
}

// headerValue is h.Get, falling back to a case-insensitive scan for a header map that was
// built by hand with non-canonical keys (net/http canonicalises the ones it parses).
func headerValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// The documented rate limit of a one-register account, which a limiter assumes until a
// response tells the real one, and the pacing every limiter of posimport shares.
const (
	// DocumentedBucketSize, DocumentedDripRate (drips per second) and DocumentedBurst are the
	// one-register bucket: 90, 1/s, burst 20.
	DocumentedBucketSize = 90
	DocumentedDripRate   = 1
	DocumentedBurst      = 20
	// BurstWindow is the burst limiter's window.
	BurstWindow = time.Second
	// DefaultHeadroom is how many drips below the bucket size a limiter keeps, for requests of
	// other clients of the account landing between ours.
	DefaultHeadroom = 2
)

// BucketLimiter is the in-process [pos.Limiter]: a model of the server's leaky bucket, corrected by
// every response's headers, plus a sliding one-second window under the burst limit. Until a
// response reports otherwise it assumes the documented one-register bucket.
// It is safe for concurrent use.
type BucketLimiter struct {
	// Headroom is how many drips below the bucket size it keeps; 0 is DefaultHeadroom.
	Headroom float64
	// NowFunc and SleepFunc replace the clock in tests.
	NowFunc   func() time.Time
	SleepFunc func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	level  float64
	at     time.Time
	size   float64
	drip   float64
	burst  int
	sent   []time.Time // send times within the last second, oldest first
	paused time.Time
}

// NewBucketLimiter returns a BucketLimiter on the real clock.
func NewBucketLimiter() *BucketLimiter { return &BucketLimiter{} }

func (l *BucketLimiter) now() time.Time {
	if l.NowFunc != nil {
		return l.NowFunc()
	}
	return time.Now()
}

// leak brings the modelled level to now; the caller holds l.mu.
func (l *BucketLimiter) leak(now time.Time) {
	if l.size == 0 { // the documented one-register bucket, until a response tells
		l.size, l.drip, l.burst = DocumentedBucketSize, DocumentedDripRate, DocumentedBurst
	}
	if !l.at.IsZero() {
		if el := now.Sub(l.at).Seconds(); el > 0 {
			l.level = math.Max(0, l.level-el*l.drip)
		}
	}
	l.at = now
}

// Wait implements [pos.Limiter].
func (l *BucketLimiter) Wait(ctx context.Context, cost float64) error {
	for {
		l.mu.Lock()
		now := l.now()
		l.leak(now)
		var wait time.Duration
		if d := l.paused.Sub(now); d > 0 {
			wait = d
		}
		headroom := l.Headroom
		if headroom == 0 {
			headroom = DefaultHeadroom
		}
		if over := l.level + cost - (l.size - headroom); over > 0 {
			wait = max(wait, time.Duration(math.Ceil(over/l.drip*1e9)))
		}
		cut := 0
		for cut < len(l.sent) && !l.sent[cut].After(now.Add(-BurstWindow)) {
			cut++
		}
		l.sent = l.sent[cut:]
		// One below the burst limit: the server counts in fixed windows on its own clock.
		if limit := max(l.burst-1, 1); len(l.sent) >= limit {
			wait = max(wait, l.sent[len(l.sent)-limit].Add(BurstWindow).Sub(now))
		}
		if wait <= 0 {
			l.level += cost
			l.sent = append(l.sent, now)
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		if err := l.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func (l *BucketLimiter) sleep(ctx context.Context, d time.Duration) error {
	if l.SleepFunc != nil {
		return l.SleepFunc(ctx, d)
	}
	return retry.Sleep(ctx, d)
}

// Observe implements [pos.Limiter]. The reported level replaces the model's when higher: it counts
// requests the model cannot see, while a lower one may predate requests still in flight.
func (l *BucketLimiter) Observe(s pos.BucketState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.leak(l.now())
	if s.Size > 0 {
		l.size = s.Size
		l.level = math.Max(l.level, s.Level)
	}
	if s.DripRate > 0 {
		l.drip = s.DripRate
	}
	if s.BurstMax > 0 {
		l.burst = s.BurstMax
	}
}

// PauseUntil implements [pos.Limiter].
func (l *BucketLimiter) PauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.paused) {
		l.paused = t
	}
}
