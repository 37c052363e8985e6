package pipelinetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/services/import-worker/internal/changes"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/metrics"
	"github.com/posimport/posimport/services/import-worker/internal/provider"
	"github.com/posimport/posimport/services/import-worker/internal/ratebudget"
	"github.com/posimport/posimport/services/import-worker/internal/schedule"
	"github.com/posimport/posimport/services/import-worker/internal/starter"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// RunNightly runs the nightly schedule once, now, as an import-worker's scheduler does (the
// change listing on Lightspeed Retail, the lookback on Lightspeed Restaurant, lookbackDays 0
// for the default), and returns the id of the import it started for client.
func (e *Env) RunNightly(t testing.TB, client string, lookbackDays int) string {
	t.Helper()
	return e.RunNightlyAt(t, client, lookbackDays, time.Now())
}

// RunNightlyAt is RunNightly with the run's clock at now.
func (e *Env) RunNightlyAt(t testing.TB, client string, lookbackDays int, now time.Time) string {
	t.Helper()
	ctx := context.Background()
	st := store.New(e.Pool)
	cfg := e.WorkerConfig()
	log := logging.Discard()
	rv := &changes.Revisiter{Auth: e.AuthClient(t),
		Providers: provider.Default(provider.Options{LightspeedAPIURL: e.SimURL, RestaurantAPIURL: e.SimURL}),
		Budget:    ratebudget.New(st, ratebudget.Config{Headroom: cfg.RateHeadroom, BurstWindow: cfg.LightspeedBurstWindow}, log),
		Metrics:   metrics.New(nil), LookbackDays: lookbackDays, Logger: log, Scanner: changes.Scanner{Store: st}}
	s := &starter.Starter{Store: st, Queue: jobqueue.New(e.NATS.JS, jobqueue.Config{Prefix: e.Prefix}),
		Config: e.ConfigClient(t), Auth: e.AuthClient(t), Logger: log, MaxDays: cfg.JobMaxDays, Revisiter: rv}
	// 00:00 UTC: the run is due whenever the test runs; a test's database has no run yet.
	sch := &schedule.Scheduler{Store: st, Directory: schedule.ServiceDirectory{Config: e.ConfigClient(t), Auth: e.AuthClient(t)},
		Launcher: schedule.StarterLauncher{Starter: s}, Reporter: metrics.New(nil), Logger: log,
		Zone: time.UTC, At: "00:00", Owner: "test", ClaimTTL: time.Minute}
	if ran, err := sch.Tick(ctx, now); err != nil || !ran {
		t.Fatalf("nightly run: ran %v, %v", ran, err)
	}
	var id uuid.UUID
	if err := e.Pool.QueryRow(ctx, `SELECT import_id FROM schedule_run_clients WHERE client_id = $1 AND outcome = 'STARTED'
		ORDER BY time DESC LIMIT 1`, client).Scan(&id); err != nil {
		t.Fatalf("nightly import of %s: %v", client, err)
	}
	return id.String()
}
