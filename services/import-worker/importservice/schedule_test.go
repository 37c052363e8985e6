package importservice_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/metrics"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
	"github.com/posimport/posimport/services/import-worker/internal/schedule"
	"github.com/posimport/posimport/services/import-worker/internal/starter"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// TestScheduledImportsThroughServices runs two scheduler replicas against the real config and
// auth services on an injected clock across the spring DST change: each local date gets one
// scheduled import of the enabled client, covering each department's last two completed days
// in the department's own zone; the client whose integration is not enabled gets none.
func TestScheduledImportsThroughServices(t *testing.T) {
	t.Parallel()
	e := pipelinetest.Start(t, pipelinetest.Options{
		ShopsPerAccount: 3, RegistersPerShop: 1, Days: 3, Zones: oracleZones,
		WorkerConfig: func(c *importservice.Config) { c.Worker = false },
	})
	deps := e.Departments(0, false)
	for _, c := range []string{"c1", "c2", "c3"} {
		e.Configure(t, c, deps)
	}
	e.Connect(t, "c1", e.AccountID(0), true)
	e.Connect(t, "c2", e.AccountID(0), false)
	cph := mustZone(t, "Europe/Copenhagen")
	st := store.New(e.Pool)
	var replicas []*schedule.Scheduler
	for _, owner := range []string{"a", "b"} {
		s := &starter.Starter{Store: st, Queue: jobqueue.New(e.NATS.JS, jobqueue.Config{Prefix: e.Prefix}),
			Config: e.ConfigClient(t), Auth: e.AuthClient(t), Logger: logging.Discard()}
		replicas = append(replicas, &schedule.Scheduler{
			Store: st, Directory: schedule.ServiceDirectory{Config: e.ConfigClient(t), Auth: e.AuthClient(t)},
			Launcher: schedule.StarterLauncher{Starter: s}, Reporter: metrics.New(nil), Logger: logging.Discard(),
			Zone: cph, At: "02:00", Owner: owner, ClaimTTL: time.Minute,
		})
	}
	ctx := context.Background()
	for now := time.Date(2026, 3, 28, 0, 0, 0, 0, cph); now.Before(time.Date(2026, 3, 31, 0, 0, 0, 0, cph)); now = now.Add(10 * time.Minute) {
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := r.Tick(ctx, now); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	rows, err := e.Pool.Query(ctx, `SELECT i.client_id, i.created_by, (i.scheduled_for AT TIME ZONE 'Europe/Copenhagen')::date::text,
		j.department_id, min(j.from_date)::text, max(j.until_date)::text, count(*)
		FROM imports i JOIN jobs j USING (import_id) WHERE i.trigger = 2
		GROUP BY 1, 2, 3, 4 ORDER BY 3, 4`)
	if err != nil {
		t.Fatal(err)
	}
	type line struct{ Client, By, Run, Dept, From, Until string }
	var got []line
	for rows.Next() {
		var l line
		var n int
		if err := rows.Scan(&l.Client, &l.By, &l.Run, &l.Dept, &l.From, &l.Until, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, l)
	}
	// At 02:00 in Copenhagen (03:00 on 29 March, when 02:00 is skipped) Copenhagen's and
	// London's yesterday is over, and it is 20:00 or 21:00 the previous evening in New York
	// (that day is not over).
	want := []line{
		{"c1", "scheduler", "2026-03-28", "d1", "2026-03-26", "2026-03-27"},
		{"c1", "scheduler", "2026-03-28", "d2", "2026-03-25", "2026-03-26"},
		{"c1", "scheduler", "2026-03-28", "d3", "2026-03-26", "2026-03-27"},
		{"c1", "scheduler", "2026-03-29", "d1", "2026-03-27", "2026-03-28"},
		{"c1", "scheduler", "2026-03-29", "d2", "2026-03-26", "2026-03-27"},
		{"c1", "scheduler", "2026-03-29", "d3", "2026-03-27", "2026-03-28"},
		{"c1", "scheduler", "2026-03-30", "d1", "2026-03-28", "2026-03-29"},
		{"c1", "scheduler", "2026-03-30", "d2", "2026-03-27", "2026-03-28"},
		{"c1", "scheduler", "2026-03-30", "d3", "2026-03-28", "2026-03-29"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scheduled imports (-want +got):\n%s", diff)
	}
	var outcomes []string
	orows, err := e.Pool.Query(ctx, "SELECT run_date::text || ' ' || client_id || ' ' || outcome FROM schedule_run_clients WHERE run_date = '2026-03-29' ORDER BY client_id")
	if err != nil {
		t.Fatal(err)
	}
	for orows.Next() {
		var s string
		_ = orows.Scan(&s)
		outcomes = append(outcomes, s)
	}
	if diff := cmp.Diff([]string{"2026-03-29 c1 STARTED", "2026-03-29 c2 NOT_ENABLED", "2026-03-29 c3 NOT_ENABLED"}, outcomes); diff != "" {
		t.Errorf("run outcomes (-want +got):\n%s", diff)
	}
}
