package importservice_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// TestDuplicatePublishes publishes every job three times (the same Nats-Msg-Id twice, which
// JetStream drops, and a fresh one, which it delivers) before two workers start: the result
// equals the oracle and every register-day was committed exactly once (version 1).
func TestDuplicatePublishes(t *testing.T) {
	t.Parallel()
	days := envInt("PIPELINE_DUP_DAYS", 45)
	e := pipelinetest.Start(t, pipelinetest.Options{
		ShopsPerAccount: 2, RegistersPerShop: 2, SalesPerDay: 6, Days: days + 2, Zones: oracleZones, Seed: 2, NoWorker: true,
	})
	e.Imports = append(e.Imports, e.StartImportWorker(t, "api", func(c *importservice.Config) { c.API, c.Worker = true, false }))
	deps, from, until := connectClient(t, e, days)
	id := e.StartImport(t, "c1", deps, from, until, false)
	q := jobqueue.New(e.NATS.JS, jobqueue.Config{Prefix: e.Prefix})
	rows, err := e.Pool.Query(context.Background(), "SELECT job_id FROM jobs WHERE import_id = $1", id)
	if err != nil {
		t.Fatal(err)
	}
	var jobs []uuid.UUID
	for rows.Next() {
		var j uuid.UUID
		if err := rows.Scan(&j); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	for _, j := range jobs {
		for _, msgID := range []string{j.String(), j.String() + "/dup"} {
			if err := q.Publish(context.Background(), j, msgID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := streamMessages(t, e); n != uint64(2*len(jobs)) {
		t.Errorf("stream holds %d messages, want %d (the repeated id deduplicated)", n, 2*len(jobs))
	}
	e.StartImportWorker(t, "w1", nil)
	e.StartImportWorker(t, "w2", nil)
	imp := e.WaitImport(t, "c1", id, 3*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	if diffs := e.Mismatches(t, "c1", 0, deps, from, until, 10); len(diffs) > 0 {
		t.Errorf("balance differs from the oracle:\n%v", diffs)
	}
	for _, d := range deps {
		for date, day := range e.Days(t, "c1", d.ID, from, until) {
			for _, r := range day.GetRegisters() {
				if r.GetVersion() != 1 {
					t.Errorf("%s/%s %s committed %d times", d.ID, r.GetRegisterId(), date, r.GetVersion())
				}
			}
		}
	}
}

// TestOverwriteApproved imports, approves some days, changes the simulator's data on approved
// and open days, and imports again: without the flag approved days keep their values (the
// changed one gets a pending correction) and open days follow the new data; with it every day
// equals the new oracle and no correction stays pending.
func TestOverwriteApproved(t *testing.T) {
	t.Parallel()
	const days = 10
	e := pipelinetest.Start(t, pipelinetest.Options{
		ShopsPerAccount: 1, RegistersPerShop: 2, SalesPerDay: 8, Days: days + 2, Zones: oracleZones, Seed: 3,
	})
	deps, from, until := connectClient(t, e, days)
	first := e.WaitImport(t, "c1", e.StartImport(t, "c1", deps, from, until, false), 2*time.Minute)
	if first.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("first import ended %s: %v", first.GetState(), firstErrors(first, 3))
	}
	approvedFrom, approvedUntil := from, from.AddDays(4)
	e.Approve(t, "c1", "d1", approvedFrom, approvedUntil)
	approvedBefore := e.Days(t, "c1", "d1", approvedFrom, approvedUntil)

	// New sales on an approved day and on an open day, on the first register, at local noon.
	shop := deps[0].Shop
	loc := mustZone(t, shop.TimeZone)
	for _, d := range []string{approvedFrom.AddDays(1).String(), until.String()} {
		day, _ := time.ParseInLocation(time.DateOnly, d, loc)
		if _, err := e.Sim.AddSale(e.AccountID(0), sim.SaleInput{
			ShopID: shop.ID, RegisterID: shop.Registers[0].ID, CompleteTime: day.Add(12 * time.Hour), Completed: true,
			Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(3), UnitPrice: decimal.RequireFromString("19.50")}},
		}); err != nil {
			t.Fatal(err)
		}
	}

	// The approved register-day with the new sale is not skipped: the balance keeps the
	// import's values as a pending correction, and the day's values stay as approved.
	second := e.WaitImport(t, "c1", e.StartImport(t, "c1", deps, from, until, false), 2*time.Minute)
	if p := second.GetProgress(); second.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED ||
		p.GetDaysSkippedApproved() != 5*2-1 || p.GetJobsSkipped() != 0 {
		t.Fatalf("second import: %s %v", second.GetState(), p)
	}
	approvedAfter := e.Days(t, "c1", "d1", approvedFrom, approvedUntil)
	// The department's freshness (its last import) moves with every import; the days' own
	// values and approval must not.
	ignoreCorrections := cmp.Options{
		protocmp.IgnoreFields(&posimportv1.BalanceDay{}, "corrections_pending"),
		protocmp.IgnoreFields(&posimportv1.RegisterDay{}, "correction_id"),
		protocmp.IgnoreFields(&posimportv1.GetDayResponse{}, "freshness"),
	}
	if diff := cmp.Diff(approvedBefore, approvedAfter, protocmp.Transform(), ignoreCorrections); diff != "" {
		t.Errorf("approved days changed without the overwrite flag (-before +after):\n%s", diff)
	}
	for date, day := range approvedAfter {
		if want := int32(0); date == approvedFrom.AddDays(1).String() {
			want = 1
			if day.GetDay().GetCorrectionsPending() != want || day.GetRegisters()[0].GetCorrectionId() == "" {
				t.Errorf("%s, with a new sale on its first register: %d corrections pending, register's %q", date,
					day.GetDay().GetCorrectionsPending(), day.GetRegisters()[0].GetCorrectionId())
			}
		} else if day.GetDay().GetCorrectionsPending() != want {
			t.Errorf("%s: %d corrections pending, want none", date, day.GetDay().GetCorrectionsPending())
		}
	}
	if diffs := e.Mismatches(t, "c1", 0, deps, approvedUntil.AddDays(1), until, 10); len(diffs) > 0 {
		t.Errorf("open days differ from the new oracle:\n%v", diffs)
	}
	if diffs := e.Mismatches(t, "c1", 0, deps, approvedFrom, approvedUntil, 1); len(diffs) == 0 {
		t.Error("the approved day with a new sale already equals the new oracle: the test proves nothing")
	}

	third := e.WaitImport(t, "c1", e.StartImport(t, "c1", deps, from, until, true), 2*time.Minute)
	if third.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED || third.GetProgress().GetDaysSkippedApproved() != 0 {
		t.Fatalf("overwrite import: %s %v", third.GetState(), third.GetProgress())
	}
	if diffs := e.Mismatches(t, "c1", 0, deps, from, until, 10); len(diffs) > 0 {
		t.Errorf("with overwrite, days differ from the new oracle:\n%v", diffs)
	}
	for date, day := range e.Days(t, "c1", "d1", approvedFrom, approvedUntil) {
		if day.GetDay().GetStatus() != posimportv1.DayStatus_DAY_STATUS_APPROVED || day.GetDay().GetCorrectionsPending() != 0 {
			t.Errorf("%s is %s with %d corrections pending after overwrite, want still approved and none", date,
				day.GetDay().GetStatus(), day.GetDay().GetCorrectionsPending())
		}
	}
}
