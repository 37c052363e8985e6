package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reader reads from Postgres the figures every replica reports alike.
type Reader interface {
	// LatestScheduledRun is the scheduled start of the latest nightly run; false before the first.
	LatestScheduledRun(ctx context.Context) (time.Time, bool, error)
	// OldestOpenJobAge is how long the oldest job not ended has existed; 0 when none.
	OldestOpenJobAge(ctx context.Context) (time.Duration, error)
}

// StoreGauges are gauges read from Postgres at a scrape: any replica, also one started a
// moment ago, reports the same values, whichever replica ran the schedule or holds the jobs.
// A read serves the scrapes of the next StoreGaugesMaxAge: the oldest job's age scans every
// open job, and several scrapers (or one scraping every second) would otherwise repeat it.
type StoreGauges struct {
	r       Reader
	logger  *slog.Logger
	timeout time.Duration
	lastRun *prometheus.Desc
	oldest  *prometheus.Desc
	// Now is the clock the reads' age is judged by; time.Now by default.
	Now func() time.Time

	mu   sync.Mutex
	read time.Time // when the values below were read; zero: never
	run  time.Time
	ran  bool
	age  time.Duration
}

// StoreGaugesMaxAge is how long a read of the store's gauges serves scrapes.
const StoreGaugesMaxAge = 5 * time.Second

var _ prometheus.Collector = (*StoreGauges)(nil)

// NewStoreGauges returns the gauges read through r; register them on the server's registry.
func NewStoreGauges(r Reader, logger *slog.Logger) *StoreGauges {
	desc := func(o prometheus.GaugeOpts) *prometheus.Desc { return prometheus.NewDesc(o.Name, o.Help, nil, nil) }
	return &StoreGauges{
		r: r, logger: logger, timeout: 5 * time.Second, Now: time.Now,
		lastRun: desc(prometheus.GaugeOpts{
			Name: "posimport_import_schedule_last_run_timestamp_seconds",
			Help: "Scheduled start (Unix time) of the latest nightly run, from Postgres; absent before the first.",
		}),
		oldest: desc(prometheus.GaugeOpts{
			Name: "posimport_import_oldest_pending_job_age_seconds",
			Help: "Age of the oldest import job not ended (pending or running), from Postgres; 0 when none.",
		}),
	}
}

// Describe implements prometheus.Collector.
func (g *StoreGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.lastRun
	ch <- g.oldest
}

// Collect implements prometheus.Collector. A gauge that cannot be read is left out of this
// scrape (and logged) rather than failing the scrape of every other metric.
func (g *StoreGauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.Now()
	if g.read.IsZero() || now.Sub(g.read) >= StoreGaugesMaxAge {
		if !g.readStore() {
			return
		}
		g.read = now
	}
	if g.ran {
		ch <- prometheus.MustNewConstMetric(g.lastRun, prometheus.GaugeValue, float64(g.run.UnixMilli())/1e3)
	}
	ch <- prometheus.MustNewConstMetric(g.oldest, prometheus.GaugeValue, g.age.Seconds())
}

// readStore reads both gauges; false, after logging which, when one cannot be read (neither
// is kept, so the next scrape reads again).
func (g *StoreGauges) readStore() bool {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	run, ran, err := g.r.LatestScheduledRun(ctx)
	if err != nil {
		g.logger.WarnContext(ctx, "metric not read", "metric", "posimport_import_schedule_last_run_timestamp_seconds", "error", err)
		return false
	}
	age, err := g.r.OldestOpenJobAge(ctx)
	if err != nil {
		g.logger.WarnContext(ctx, "metric not read", "metric", "posimport_import_oldest_pending_job_age_seconds", "error", err)
		return false
	}
	g.run, g.ran, g.age = run, ran, age
	return true
}
