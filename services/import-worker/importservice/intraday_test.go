package importservice_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/platform/authn"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// intradayMinutes is the test client's refresh interval.
const intradayMinutes = 15

// TestIntradayRefresh advances an injected clock through today for a client refreshed every
// 15 minutes: before each refresh the simulator's registers sell up to the clock's time; after
// it today's hours equal the oracle (the sales so far) and the day is partial. A second
// replica's tick in the same slot starts nothing. The nightly run the next morning closes the
// day: not partial, equal to the oracle. "during a backfill" does the same while a one-year
// backfill of the same account is queued ahead of the refreshes: each refresh must finish
// within its interval, overtaking the backfill's waiting jobs.
func TestIntradayRefresh(t *testing.T) {
	t.Parallel()
	for _, backfill := range []bool{false, true} {
		name := "alone"
		if backfill {
			name = "during a backfill"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testIntraday(t, backfill)
		})
	}
}

func testIntraday(t *testing.T, backfill bool) {
	const zone = "Europe/Copenhagen"
	o := pipelinetest.Options{ShopsPerAccount: 1, RegistersPerShop: 2, SalesPerDay: 6, Days: 3, Zones: []string{zone}, Seed: 21}
	if backfill {
		// A year, at a pace that keeps the backfill running for a while.
		o.Days, o.TimeScale = 367, 50
	}
	e := pipelinetest.Start(t, o)
	deps := e.Departments(0, false)
	e.Configure(t, "c1", deps)
	sup := e.Keys.Token(t, authn.RoleSupervisor, "c1")
	if r := e.Config.Do(t, "PUT", "/v1/clients/c1/settings", sup, map[string]any{
		"multi_cash_registers": true, "pos_import_enabled": true, "pos_provider": "POS_PROVIDER_LIGHTSPEED_RETAIL",
		"time_zone": zone, "intraday_refresh_minutes": intradayMinutes,
	}); r.Status != 200 {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	e.Connect(t, "c1", e.AccountID(0), true)

	loc := mustZone(t, zone)
	today := civil.Today(time.Now(), loc)
	shop := deps[0].Shop
	acct := e.AccountID(0)
	line := []sim.LineInput{{UnitQuantity: decimal.NewFromInt(3), UnitPrice: decimal.RequireFromString("7.35")}}
	// sell records a sale every 20 minutes from one clock time to the next, alternating registers.
	sold := 0
	sell := func(from, until time.Time) {
		for at := from.Truncate(20 * time.Minute).Add(20 * time.Minute); at.Before(until); at = at.Add(20 * time.Minute) {
			reg := shop.Registers[sold%len(shop.Registers)]
			if _, err := e.Sim.AddSale(acct, sim.SaleInput{ShopID: shop.ID, RegisterID: reg.ID, CompleteTime: at, Completed: true, Lines: line}); err != nil {
				t.Fatal(err)
			}
			sold++
		}
	}

	// startBackfill queues a year's backfill of the account ahead of the next refresh, after the
	// previous one ended (the backfill outpaces a day's refreshes).
	var backfillID string
	startBackfill := func() {
		if backfillID != "" {
			if imp := e.WaitImport(t, "c1", backfillID, 10*time.Minute); imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
				t.Fatalf("backfill ended %s: %v", imp.GetState(), firstErrors(imp, 3))
			}
		}
		until := today.AddDays(-1)
		backfillID = e.StartImport(t, "c1", deps, until.AddDays(-364), until, false)
	}

	clock := today.Start(loc)
	interval := intradayMinutes * time.Minute
	for _, at := range []time.Duration{7*time.Hour + 5*time.Minute, 9*time.Hour + 20*time.Minute, 12*time.Hour + 35*time.Minute,
		16*time.Hour + 50*time.Minute, 21*time.Hour + 5*time.Minute} {
		next := today.Start(loc).Add(at)
		sell(clock, next)
		clock = next
		if backfill {
			startBackfill()
		}
		began := time.Now()
		ids := e.RunIntraday(t, "replica-1", clock)
		if len(ids) != 1 {
			t.Fatalf("refresh at %s started %d imports, want 1", clock.Format(time.TimeOnly), len(ids))
		}
		if again := e.RunIntraday(t, "replica-2", clock.Add(time.Minute)); len(again) != 0 {
			t.Fatalf("a second replica started the slot of %s again: %v", clock.Format(time.TimeOnly), again)
		}
		imp := e.WaitImport(t, "c1", ids[0], interval)
		took := time.Since(began)
		if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
			t.Fatalf("refresh at %s ended %s: %v", clock.Format(time.TimeOnly), imp.GetState(), firstErrors(imp, 3))
		}
		if took >= interval {
			t.Fatalf("refresh at %s took %v, more than its interval", clock.Format(time.TimeOnly), took)
		}
		t.Logf("refresh at %s (%d sales so far) took %v", clock.Format(time.TimeOnly), sold, took)
		if diffs := e.Mismatches(t, "c1", 0, deps, today, today, 5); len(diffs) > 0 {
			t.Fatalf("today at %s differs from the oracle: %v", clock.Format(time.TimeOnly), diffs)
		}
		day := e.Days(t, "c1", deps[0].ID, today, today)[today.String()]
		if !day.GetDay().GetPartial() {
			t.Fatalf("today at %s is not partial", clock.Format(time.TimeOnly))
		}
		for _, rd := range day.GetRegisters() {
			if !rd.GetPartial() {
				t.Fatalf("register %s today at %s is not partial", rd.GetRegisterId(), clock.Format(time.TimeOnly))
			}
		}
		if sold == 0 || day.GetDay().GetFields()[0].GetTotal() == "0" {
			t.Fatalf("today at %s: no sales seen (%d sold)", clock.Format(time.TimeOnly), sold)
		}
		if backfill {
			// The refresh overtook the backfill: every backfill job still waiting for the
			// client's window when the refresh was stored was queued after all of the refresh's
			// jobs. Without the priority they would all have been queued before them.
			var waiting, after, total int
			if err := e.Pool.QueryRow(context.Background(), `SELECT
				count(*) FILTER (WHERE published_at IS NULL OR published_at > i.create_time),
				count(*) FILTER (WHERE published_at IS NULL OR published_at > (SELECT max(published_at) FROM jobs WHERE import_id = $2)),
				count(*)
				FROM jobs j, imports i WHERE j.import_id = $1 AND i.import_id = $2`, backfillID, ids[0]).Scan(&waiting, &after, &total); err != nil {
				t.Fatal(err)
			}
			t.Logf("refresh at %s: of the backfill's %d jobs, %d were waiting when it was stored, %d queued after it",
				clock.Format(time.TimeOnly), total, waiting, after)
			if waiting < 8 {
				t.Fatalf("refresh at %s: the backfill had only %d jobs waiting; too few to tell an overtaking", clock.Format(time.TimeOnly), waiting)
			}
			// published_at is the claiming transaction's start: claims racing for the client's
			// lock may look swapped, at most one per other job of the window (3).
			if after < waiting-3 {
				t.Fatalf("refresh at %s: %d backfill jobs were waiting when it was stored, only %d were queued after it",
					clock.Format(time.TimeOnly), waiting, after)
			}
		}
	}
	sell(clock, today.AddDays(1).Start(loc))

	// The nightly run of the next morning closes today with a full write.
	nightly := e.WaitImport(t, "c1", e.RunNightlyAt(t, "c1", 0, today.AddDays(1).Start(loc).Add(2*time.Hour)), 5*time.Minute)
	if nightly.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("nightly import ended %s: %v", nightly.GetState(), firstErrors(nightly, 3))
	}
	if diffs := e.Mismatches(t, "c1", 0, deps, today, today, 5); len(diffs) > 0 {
		t.Fatalf("today after the nightly run differs from the oracle: %v", diffs)
	}
	day := e.Days(t, "c1", deps[0].ID, today, today)[today.String()]
	if day.GetDay().GetPartial() {
		t.Fatal("today is still partial after the nightly run")
	}
	for _, rd := range day.GetRegisters() {
		if rd.GetPartial() {
			t.Fatalf("register %s is still partial after the nightly run", rd.GetRegisterId())
		}
	}
	if backfill {
		if imp := e.WaitImport(t, "c1", backfillID, 10*time.Minute); imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
			t.Fatalf("backfill ended %s: %v", imp.GetState(), firstErrors(imp, 3))
		}
	}
}
