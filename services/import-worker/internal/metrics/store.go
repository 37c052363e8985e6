package metrics

import (
	"context"
	"log/slog"
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

// StoreGauges are gauges read from Postgres at each scrape: any replica, also one started a
// moment ago, reports the same values, whichever replica ran the schedule or holds the jobs.
type StoreGauges struct {
	r       Reader
	logger  *slog.Logger
	timeout time.Duration
	lastRun *prometheus.Desc
	oldest  *prometheus.Desc
}

var _ prometheus.Collector = (*StoreGauges)(nil)

// NewStoreGauges returns the gauges read through r; register them on the server's registry.
func NewStoreGauges(r Reader, logger *slog.Logger) *StoreGauges {
	desc := func(o prometheus.GaugeOpts) *prometheus.Desc { return prometheus.NewDesc(o.Name, o.Help, nil, nil) }
	return &StoreGauges{
		r: r, logger: logger, timeout: 5 * time.Second,
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
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	switch t, ok, err := g.r.LatestScheduledRun(ctx); {
	case err != nil:
		g.logger.WarnContext(ctx, "metric not read", "metric", "posimport_import_schedule_last_run_timestamp_seconds", "error", err)
	case ok:
		ch <- prometheus.MustNewConstMetric(g.lastRun, prometheus.GaugeValue, float64(t.UnixMilli())/1e3)
	}
	if age, err := g.r.OldestOpenJobAge(ctx); err != nil {
		g.logger.WarnContext(ctx, "metric not read", "metric", "posimport_import_oldest_pending_job_age_seconds", "error", err)
	} else {
		ch <- prometheus.MustNewConstMetric(g.oldest, prometheus.GaugeValue, age.Seconds())
	}
}
