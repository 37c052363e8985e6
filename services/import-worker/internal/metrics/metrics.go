// Package metrics holds the import-worker's Prometheus metrics: jobs by outcome, POS requests
// and 429s per account, the nightly run's import lag and each department's data freshness, and
// the gauges every replica reads from Postgres (the latest nightly run, the oldest open job).
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posimport/posimport/pkg/civil"
)

// Metrics are the import-worker's collectors.
type Metrics struct {
	jobs        *prometheus.CounterVec
	requests    *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	lag         prometheus.Gauge
	freshness   *prometheus.GaugeVec
	reauth      prometheus.Counter
	republished prometheus.Counter
	corrections prometheus.Counter
}

// New registers the collectors on reg; a nil reg keeps them unregistered (tests).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posimport_import_jobs_total",
			Help: "Job deliveries handled, by outcome (done, skipped, failed, cancelled, retried, deferred, lease_lost, duplicate).",
		}, []string{"outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posimport_import_pos_requests_total",
			Help: "Requests sent to the POS API, by account and HTTP status (0: no response).",
		}, []string{"account", "status"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posimport_import_pos_rate_limited_total",
			Help: "POS responses that were 429 Too Many Requests, by account.",
		}, []string{"account"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posimport_import_schedule_lag_seconds",
			Help: "Time from the nightly run's scheduled start (02:00) to its import's last job ending, for the latest scheduled import that finished.",
		}),
		freshness: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "posimport_import_department_last_imported_date_seconds",
			Help: "The last local date imported for a department, as the Unix time of its midnight UTC.",
		}, []string{"client_id", "department_id"}),
		reauth: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posimport_import_schedule_needs_reauth_total",
			Help: "Clients the nightly run skipped because their POS connection needs consent again.",
		}),
		republished: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posimport_import_jobs_republished_total",
			Help: "Jobs the reconciler published again because their message was gone.",
		}),
		corrections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posimport_import_corrections_pending_total",
			Help: "Register-days an import found changed on an approved day, which the balance kept as a pending correction.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.jobs, m.requests, m.rateLimited, m.lag, m.freshness, m.reauth, m.republished, m.corrections)
	}
	return m
}

// CorrectionsPending counts register-days whose changed values the balance kept as pending
// corrections.
func (m *Metrics) CorrectionsPending(n int) { m.corrections.Add(float64(n)) }

// Job counts one handled delivery.
func (m *Metrics) Job(outcome string) { m.jobs.WithLabelValues(outcome).Inc() }

// Request counts one POS response of account.
func (m *Metrics) Request(account string, status int) {
	m.requests.WithLabelValues(account, strconv.Itoa(status)).Inc()
	if status == 429 {
		m.rateLimited.WithLabelValues(account).Inc()
	}
}

// Lag records the nightly import's lag.
func (m *Metrics) Lag(d time.Duration) { m.lag.Set(d.Seconds()) }

// Fresh records that a department's days up to until were imported.
func (m *Metrics) Fresh(client, department string, until civil.Date) {
	t := time.Date(until.Year, until.Month, until.Day, 0, 0, 0, 0, time.UTC)
	g := m.freshness.WithLabelValues(client, department)
	// Gauges only move forward: an old backfill finishing late must not hide a fresher import.
	if cur := gaugeValue(g); float64(t.Unix()) > cur {
		g.Set(float64(t.Unix()))
	}
}

// NeedsReauth counts a client the schedule skipped.
func (m *Metrics) NeedsReauth() { m.reauth.Inc() }

// Republished counts a re-publication.
func (m *Metrics) Republished() { m.republished.Inc() }
