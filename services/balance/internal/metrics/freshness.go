package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posimport/posimport/services/balance/internal/store"
)

// FreshnessReader reads every department's freshness from PostgreSQL.
type FreshnessReader interface {
	AllFreshness(ctx context.Context) ([]store.Freshness, error)
}

// Freshness are the departments' freshness gauges, read from PostgreSQL at each scrape, so
// every replica reports the same values whichever one handled MarkDaysImported:
//
//   - posimport_balance_department_complete_through_date_seconds: the last local date imported
//     completely, as the Unix time of its midnight UTC (a date, not an instant);
//   - posimport_balance_department_complete_through_end_timestamp_seconds: the instant that day
//     ended in the department's own zone (the start of the next local day): "data age" is
//     time() minus it, and the stale-data alert compares it with the nightly run;
//   - posimport_balance_department_last_import_timestamp_seconds: when an import last finished
//     days of the department.
//
// A department without a completely imported day has only the last import time.
type Freshness struct {
	r       FreshnessReader
	logger  *slog.Logger
	timeout time.Duration
	date    *prometheus.Desc
	end     *prometheus.Desc
	last    *prometheus.Desc
}

var _ prometheus.Collector = (*Freshness)(nil)

// NewFreshness returns the gauges read through r; register them on the server's registry.
func NewFreshness(r FreshnessReader, logger *slog.Logger) *Freshness {
	desc := func(o prometheus.GaugeOpts) *prometheus.Desc {
		return prometheus.NewDesc(o.Name, o.Help, []string{"client_id", "department_id"}, nil)
	}
	return &Freshness{
		r: r, logger: logger, timeout: 5 * time.Second,
		date: desc(prometheus.GaugeOpts{
			Name: "posimport_balance_department_complete_through_date_seconds",
			Help: "The last local date a department's data is complete through (marked imported, not partial), as the Unix time of its midnight UTC; from PostgreSQL.",
		}),
		end: desc(prometheus.GaugeOpts{
			Name: "posimport_balance_department_complete_through_end_timestamp_seconds",
			Help: "Unix time at which the complete-through day ended in the department's own time zone (the next local day's start); from PostgreSQL.",
		}),
		last: desc(prometheus.GaugeOpts{
			Name: "posimport_balance_department_last_import_timestamp_seconds",
			Help: "Unix time an import last finished days of the department (MarkDaysImported); from PostgreSQL.",
		}),
	}
}

// Describe implements prometheus.Collector.
func (f *Freshness) Describe(ch chan<- *prometheus.Desc) {
	ch <- f.date
	ch <- f.end
	ch <- f.last
}

// Collect implements prometheus.Collector. A failed read is logged and leaves the gauges out
// of this scrape (absent, rather than a wrong value).
func (f *Freshness) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	all, err := f.r.AllFreshness(ctx)
	if err != nil {
		f.logger.WarnContext(ctx, "metric not read", "metric", "posimport_balance_department_*", "error", err)
		return
	}
	for _, d := range all {
		ch <- prometheus.MustNewConstMetric(f.last, prometheus.GaugeValue, seconds(d.LastImport), d.ClientID, d.DepartmentID)
		if !d.HasComplete {
			continue
		}
		loc, err := time.LoadLocation(d.TimeZone)
		if err != nil {
			f.logger.WarnContext(ctx, "metric not read", "metric", "posimport_balance_department_complete_through_end_timestamp_seconds",
				"client_id", d.ClientID, "department_id", d.DepartmentID, "error", err)
			continue
		}
		midnightUTC := time.Date(d.CompleteThrough.Year, d.CompleteThrough.Month, d.CompleteThrough.Day, 0, 0, 0, 0, time.UTC)
		ch <- prometheus.MustNewConstMetric(f.date, prometheus.GaugeValue, seconds(midnightUTC), d.ClientID, d.DepartmentID)
		ch <- prometheus.MustNewConstMetric(f.end, prometheus.GaugeValue, seconds(d.CompleteThrough.AddDays(1).Start(loc)), d.ClientID, d.DepartmentID)
	}
}

func seconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }
