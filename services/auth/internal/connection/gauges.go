package connection

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/store"
)

// connectionStatuses are the statuses the connections gauge always reports, 0 included.
var connectionStatuses = []posimportv1.ConnectionStatus{notConnected, connected, enabled, needsReauth, disconnected}

// connectionsGauge counts the connections per status from Postgres at each scrape, so every
// replica reports the same numbers, also right after it started.
type connectionsGauge struct {
	store   *store.Store
	log     *slog.Logger
	timeout time.Duration
	desc    *prometheus.Desc
}

var _ prometheus.Collector = (*connectionsGauge)(nil)

func newConnectionsGauge(st *store.Store, log *slog.Logger) *connectionsGauge {
	o := prometheus.GaugeOpts{
		Name: "posimport_auth_connections",
		Help: "POS connections by status (not_connected counts the clients with a consent in progress that never connected), from Postgres.",
	}
	return &connectionsGauge{store: st, log: log, timeout: 5 * time.Second, desc: prometheus.NewDesc(o.Name, o.Help, []string{"status"}, nil)}
}

// Describe implements prometheus.Collector.
func (g *connectionsGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector. When Postgres cannot be read, the gauge is left out
// of this scrape (and logged) rather than failing the scrape of every other metric.
func (g *connectionsGauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	counts, err := g.store.CountByStatus(ctx)
	if err != nil {
		g.log.WarnContext(ctx, "metric not read", "metric", "posimport_auth_connections", "error", err)
		return
	}
	for _, st := range connectionStatuses {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(counts[st]), statusLabel(st))
	}
}

// statusLabel is a status as a label value: CONNECTION_STATUS_NEEDS_REAUTH is needs_reauth.
func statusLabel(s posimportv1.ConnectionStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "CONNECTION_STATUS_"))
}

// unmappedRegistersGauge counts each client's registers no department maps, from Postgres at
// each scrape, as imports last reported them. Clients without any are not reported (0).
type unmappedRegistersGauge struct {
	store   *store.Store
	log     *slog.Logger
	timeout time.Duration
	desc    *prometheus.Desc
}

var _ prometheus.Collector = (*unmappedRegistersGauge)(nil)

func newUnmappedRegistersGauge(st *store.Store, log *slog.Logger) *unmappedRegistersGauge {
	o := prometheus.GaugeOpts{
		Name: "posimport_auth_unmapped_registers",
		Help: "Registers (devices) of a client's connected POS account that had sales or were seen by an import but belong to no department, so their sales are not imported; from Postgres. Clients without any are absent.",
	}
	return &unmappedRegistersGauge{store: st, log: log, timeout: 5 * time.Second, desc: prometheus.NewDesc(o.Name, o.Help, []string{"client_id"}, nil)}
}

// Describe implements prometheus.Collector.
func (g *unmappedRegistersGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector. When Postgres cannot be read, the gauge is left out
// of this scrape (and logged).
func (g *unmappedRegistersGauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	counts, err := g.store.UnmappedRegisters(ctx)
	if err != nil {
		g.log.WarnContext(ctx, "metric not read", "metric", "posimport_auth_unmapped_registers", "error", err)
		return
	}
	for client, n := range counts {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(n), client)
	}
}
