// Package metrics holds the balance service's Prometheus metrics, all named posimport_balance_*:
// register-days written by outcome and writes refused for a stale fencing token (what the
// import-worker's jobs did to the balance), days approved (by a person or by auto-confirm) and
// reopened, corrections applied and dismissed, auto-confirm's passes, the time the weekly
// balance and day reads spend in PostgreSQL (the RPC's whole time is
// posimport_grpc_request_duration_seconds), and each department's freshness, read from
// PostgreSQL at each scrape (Freshness).
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// Approvers, the values of the by label of posimport_balance_days_approved_total.
const (
	ByPerson      = "person"
	ByAutoConfirm = "auto_confirm"
)

// Reads, the values of the read label of posimport_balance_read_duration_seconds.
const (
	ReadWeek = "week"
	ReadDay  = "day"
)

// Corrections' ends, the values of the action label of posimport_balance_corrections_resolved_total.
const (
	CorrectionApplied   = "applied"
	CorrectionDismissed = "dismissed"
)

// Metrics are the balance service's collectors; a nil *Metrics records nothing.
type Metrics struct {
	written     *prometheus.CounterVec
	stale       prometheus.Counter
	approved    *prometheus.CounterVec
	reopened    prometheus.Counter
	confirmErrs prometheus.Counter
	confirmLast *prometheus.GaugeVec
	read        *prometheus.HistogramVec
	resolved    *prometheus.CounterVec
}

// New returns the collectors, not registered yet (Register).
func New() *Metrics {
	return &Metrics{
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posimport_balance_register_days_written_total",
			Help: "Register-days the imports wrote, by outcome (written, unchanged, skipped_approved, correction_pending, skipped_complete).",
		}, []string{"outcome"}),
		stale: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posimport_balance_stale_writes_total",
			Help: "Writes refused because a newer attempt of their job had written (a stale fencing token): a worker that lost its job's lease.",
		}),
		approved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posimport_balance_days_approved_total",
			Help: "Department-days changed from open to approved, by who approved them (person, auto_confirm).",
		}, []string{"by"}),
		reopened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posimport_balance_days_reopened_total",
			Help: "Department-days changed from approved back to open.",
		}),
		confirmErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posimport_balance_auto_confirm_errors_total",
			Help: "Auto-confirm passes that failed for at least one client (its days stay open until a later pass).",
		}),
		// A vector without labels, so that the series is absent until the first success.
		confirmLast: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "posimport_balance_auto_confirm_last_success_timestamp_seconds",
			Help: "Unix time of this replica's last auto-confirm pass that succeeded for every client; absent before the first.",
		}, nil),
		read: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "posimport_balance_read_duration_seconds",
			Help:    "Time the reads of the balance spend in PostgreSQL, by read (week, day).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"read"}),
		resolved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posimport_balance_corrections_resolved_total",
			Help: "Corrections of approved days a supervisor applied or dismissed, by action (applied, dismissed).",
		}, []string{"action"}),
	}
}

// Register registers the collectors on reg.
func (m *Metrics) Register(reg prometheus.Registerer) {
	reg.MustRegister(m.written, m.stale, m.approved, m.reopened, m.confirmErrs, m.confirmLast, m.read, m.resolved)
}

// Written counts one register-day's write.
func (m *Metrics) Written(o posimportv1.WriteOutcome) {
	if m == nil {
		return
	}
	outcome := "unknown"
	switch o {
	case posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN:
		outcome = "written"
	case posimportv1.WriteOutcome_WRITE_OUTCOME_UNCHANGED:
		outcome = "unchanged"
	case posimportv1.WriteOutcome_WRITE_OUTCOME_SKIPPED_APPROVED:
		outcome = "skipped_approved"
	case posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING:
		outcome = "correction_pending"
	case posimportv1.WriteOutcome_WRITE_OUTCOME_SKIPPED_COMPLETE:
		outcome = "skipped_complete"
	}
	m.written.WithLabelValues(outcome).Inc()
}

// Stale counts a write refused for its fencing token.
func (m *Metrics) Stale() {
	if m != nil {
		m.stale.Inc()
	}
}

// Approved counts n days approved by by (ByPerson, ByAutoConfirm).
func (m *Metrics) Approved(by string, n int64) {
	if m != nil {
		m.approved.WithLabelValues(by).Add(float64(n))
	}
}

// Reopened counts n days reopened.
func (m *Metrics) Reopened(n int64) {
	if m != nil {
		m.reopened.Add(float64(n))
	}
}

// AutoConfirmPass records a pass that ended at t with err.
func (m *Metrics) AutoConfirmPass(t time.Time, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.confirmErrs.Inc()
		return
	}
	m.confirmLast.WithLabelValues().Set(float64(t.UnixMilli()) / 1e3)
}

// Read records a read's time in PostgreSQL, since start.
func (m *Metrics) Read(read string, start time.Time) {
	if m != nil {
		m.read.WithLabelValues(read).Observe(time.Since(start).Seconds())
	}
}

// Correction counts a correction applied or dismissed (CorrectionApplied, CorrectionDismissed).
func (m *Metrics) Correction(action string) {
	if m != nil {
		m.resolved.WithLabelValues(action).Inc()
	}
}
