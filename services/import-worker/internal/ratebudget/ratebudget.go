// Package ratebudget shares one Lightspeed rate budget per account between every worker
// process, in Postgres. It implements pos.Limiter with GCRA (virtual scheduling): each
// request reserves its send time with one atomic UPDATE of the account's row, which holds the
// theoretical arrival time of the bucket (tat), the earliest next send under the burst limit
// and a pause set after a 429. The bucket size (minus headroom) is the burst tolerance, the drip
// rate the emission rate; both come from the responses' headers, and a reported level above
// the modelled one pushes the schedule out. Times are the database's, so processes on
// different hosts agree; tests may set another clock (Config.Now).
package ratebudget

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/posimport/posimport/pkg/lightspeed/retail"
	"github.com/posimport/posimport/pkg/pos"
	"github.com/posimport/posimport/pkg/retry"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Config shapes the budget.
type Config struct {
	// Headroom is how many drips below the bucket size the schedule stays (other clients of
	// the account, requests in flight); default retail.DefaultHeadroom.
	Headroom float64
	// BurstWindow is the burst limiter's window (retail.BurstWindow at Lightspeed, the
	// default; shorter against a time-scaled simulator).
	BurstWindow time.Duration
	// Initial bucket until a response tells the real one: the documented one-register
	// bucket (retail.Documented*) by default.
	InitialSize  float64
	InitialDrip  float64
	InitialBurst int
	// Now is the budget's clock. Nil, as in production, takes the database's clock in every
	// statement: the one clock that every worker process on every host shares, so their
	// reservations agree however far their own clocks drift. A test sets a fake clock (shared
	// by the Budgets standing for several processes), which makes send times and waits exact
	// however long the statements take on a loaded machine.
	Now func() time.Time
	// Sleep waits d or until ctx ends (Wait's sleep); nil is retry.Sleep. A test with a fake
	// clock advances it here.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Budget hands out per-account limiters backed by the same table.
type Budget struct {
	st     *store.Store
	cfg    Config
	logger *slog.Logger
	sleep  func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	accounts map[string]*Limiter
}

// New returns a budget kept in st.
func New(st *store.Store, cfg Config, logger *slog.Logger) *Budget {
	if cfg.Headroom <= 0 {
		cfg.Headroom = retail.DefaultHeadroom
	}
	if cfg.BurstWindow <= 0 {
		cfg.BurstWindow = retail.BurstWindow
	}
	if cfg.InitialSize <= 0 {
		cfg.InitialSize = retail.DocumentedBucketSize
	}
	if cfg.InitialDrip <= 0 {
		cfg.InitialDrip = retail.DocumentedDripRate
	}
	if cfg.InitialBurst <= 0 {
		cfg.InitialBurst = retail.DocumentedBurst
	}
	sleep := cfg.Sleep
	if sleep == nil {
		sleep = retry.Sleep
	}
	return &Budget{st: st, cfg: cfg, logger: logger.With("component", "ratebudget"),
		sleep: sleep, accounts: map[string]*Limiter{}}
}

// now is the current time to pass to the store: the zero time asks for the database's clock.
func (b *Budget) now() time.Time {
	if b.cfg.Now == nil {
		return time.Time{}
	}
	return b.cfg.Now()
}

// localNow is this process's reading of the clock that the database's clock is offset from.
func (b *Budget) localNow() time.Time {
	if b.cfg.Now == nil {
		return time.Now()
	}
	return b.cfg.Now()
}

// For returns the limiter of one account; key names provider and account, e.g.
// "lightspeed_retail:100001".
func (b *Budget) For(key string) *Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.accounts[key]
	if !ok {
		l = &Limiter{b: b, key: key}
		b.accounts[key] = l
	}
	return l
}

// Limiter is one account's share of the budget; it implements pos.Limiter.
type Limiter struct {
	b   *Budget
	key string

	mu      sync.Mutex
	ensured bool

	// model is what this process last learnt of the account's row from a reservation, so
	// that Observe can skip an UPDATE that would change nothing (most responses).
	model struct {
		sync.Mutex
		known      bool
		size, drip float64
		burst      int32
		tat        time.Time     // the budget's clock (the database's in production)
		offset     time.Duration // the budget's clock minus localNow, at the reservation
	}
}

var _ pos.Limiter = (*Limiter)(nil)

// learn records the row after a reservation. The theoretical arrival time only grows while
// the bucket's settings stay; a change of settings (another Observe) may have moved it back.
func (l *Limiter) learn(r store.RateReservation) {
	m := &l.model
	m.Lock()
	defer m.Unlock()
	same := m.known && m.size == r.Bucket.Size && m.drip == r.Bucket.Drip && m.burst == r.Bucket.Burst
	if !same || r.TAT.After(m.tat) {
		m.tat = r.TAT
	}
	m.known, m.size, m.drip, m.burst = true, r.Bucket.Size, r.Bucket.Drip, r.Bucket.Burst
	m.offset = r.DBNow.Sub(l.b.localNow())
}

// covered reports whether the row already holds what s reports: the same bucket, and a level
// no higher than the modelled one (within one drip, well inside the headroom). The row's
// model is at least the one learnt here, as reservations only push it further.
func (l *Limiter) covered(s pos.BucketState) bool {
	m := &l.model
	m.Lock()
	defer m.Unlock()
	if !m.known || s.Size != m.size || s.DripRate != m.drip || (s.BurstMax > 0 && int32(s.BurstMax) != m.burst) {
		return false
	}
	level := max(m.tat.Sub(l.b.localNow().Add(m.offset)).Seconds()*m.drip, 0) // an empty bucket's level is 0
	// The reported level counts the request just answered as of its arrival, while the model
	// has drained since it booked it: up to one drip of difference is that request itself
	// (measured: most of a nightly run's responses were 0.5 to 1 drip above the model), well
	// inside the headroom.
	return s.Level <= level+1
}

// dripInterval is the time one drip takes in the learnt model; 0 while nothing is learnt.
func (l *Limiter) dripInterval() time.Duration {
	m := &l.model
	m.Lock()
	defer m.Unlock()
	if !m.known || m.drip <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / m.drip)
}

// forget drops the learnt model after the row was changed otherwise.
func (l *Limiter) forget() {
	l.model.Lock()
	defer l.model.Unlock()
	l.model.known = false
}

func (l *Limiter) ensure(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ensured {
		return nil
	}
	c := l.b.cfg
	if err := l.b.st.EnsureRateBudget(ctx, l.key, store.Bucket{Size: c.InitialSize, Drip: c.InitialDrip, Burst: int32(c.InitialBurst)}, l.b.now()); err != nil {
		return err
	}
	l.ensured = true
	return nil
}

// Reservation is a request's booked send time.
type Reservation struct {
	// SendAt is the send time on the budget's clock (the database's in production).
	SendAt time.Time
	// Wait is how long from the reservation until SendAt.
	Wait time.Duration
}

// Reserve books the send time of a request costing cost drips.
func (l *Limiter) Reserve(ctx context.Context, cost float64) (Reservation, error) {
	if err := l.ensure(ctx); err != nil {
		return Reservation{}, err
	}
	r, err := l.b.st.ReserveRate(ctx, l.key, cost, l.b.cfg.Headroom, l.b.cfg.BurstWindow, l.b.now())
	if err != nil {
		return Reservation{}, err
	}
	l.learn(r)
	return Reservation{SendAt: r.SendAt, Wait: r.Wait}, nil
}

// Wait implements pos.Limiter: it reserves a send time and sleeps until it. A 429 that
// paused the account while this request slept moves it after the pause: the send time is
// reserved again, so no request reaches the account before the Retry-After runs out.
func (l *Limiter) Wait(ctx context.Context, cost float64) error {
	for {
		r, err := l.Reserve(ctx, cost)
		if err != nil {
			return err
		}
		if r.Wait <= 0 {
			return nil
		}
		if err := l.b.sleep(ctx, r.Wait); err != nil {
			return err
		}
		if r.Wait < l.dripInterval()/2 {
			// A wait of less than half a drip is burst spacing with the bucket far from full,
			// where no 429 (and no pause) is expected: reading the pause back would double the
			// budget's statements per request for nothing. A 429 still pauses every process.
			return nil
		}
		paused, err := l.b.st.RatePausedUntil(ctx, l.key)
		if err != nil {
			return err
		}
		if !paused.After(r.SendAt) {
			return nil
		}
	}
}

// Observe implements pos.Limiter.
func (l *Limiter) Observe(s pos.BucketState) {
	if s.Size <= 0 || s.DripRate <= 0 || l.covered(s) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.ensure(ctx); err != nil {
		l.b.logger.Warn("rate budget observe", "account_key", l.key, "error", err)
		return
	}
	l.forget()
	if err := l.b.st.ObserveRate(ctx, l.key, store.Bucket{Size: s.Size, Drip: s.DripRate, Burst: int32(s.BurstMax)}, s.Level, l.b.now()); err != nil {
		l.b.logger.Warn("rate budget observe", "account_key", l.key, "error", err)
	}
}

// PauseUntil implements pos.Limiter: every process holds its requests to the account until t.
func (l *Limiter) PauseUntil(t time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.ensure(ctx); err != nil {
		l.b.logger.Warn("rate budget pause", "account_key", l.key, "error", err)
		return
	}
	if err := l.b.st.PauseRate(ctx, l.key, t); err != nil {
		l.b.logger.Warn("rate budget pause", "account_key", l.key, "error", err)
	}
}
