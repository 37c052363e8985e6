package balanceservice_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/balanceservice"
)

// TestPartialDays: today's values written by an intraday refresh are shown as partial, are
// not marked imported nor "complete through", and are never auto-confirmed; the nightly run's
// full write closes the day, after which a late intraday write changes nothing; a partial
// write never touches an approved day and never creates a correction.
func TestPartialDays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", true, "05:00", department{id: "d1", registers: []string{"11", "12", "13"}})
	ctx := context.Background()
	viewer := b.keys.Token(t, authn.RoleViewer, "c1")
	// 2026-12-01 12:00 UTC: 13:00 on Tuesday 1 December in Copenhagen.
	yesterday, today := mustDate(t, "2026-11-30"), mustDate(t, "2026-12-01")
	b.mustWrite(t, writeReq("d1", "11", yesterday, copenhagen, dayValues(t, yesterday, copenhagen, 1)), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
	b.mustWrite(t, writeReq("d1", "12", yesterday, copenhagen, dayValues(t, yesterday, copenhagen, 2)), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)

	intraday := &posimportv1.WriteDaysRequest{ClientId: "c1", DepartmentId: "d1", RegisterId: "11", TimeZone: copenhagen,
		ImportId: "imp-intraday", JobId: "job-intraday", FencingToken: 1,
		Days: []*posimportv1.DayValues{{Date: today.String(), Fields: dayValues(t, today, copenhagen, 3), Partial: true}}}
	resp, err := b.balance.WriteDays(ctx, intraday)
	if err != nil || resp.GetDays()[0].GetOutcome() != posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN {
		t.Fatalf("intraday write: %v %v", resp, err)
	}
	week := b.week(t, viewer, "c1", "d1", "2026-W49")
	if d := week.GetDays()[1]; !d.GetPartial() || d.GetDate() != today.String() || !fieldOf(d.GetFields(), 5261).GetImported() {
		t.Errorf("today in the week: %v", d)
	}
	if d := b.day(t, viewer, "c1", "d1", today); !d.GetDay().GetPartial() || !d.GetRegisters()[0].GetPartial() {
		t.Errorf("today's day view: partial %v, register 11 partial %v", d.GetDay().GetPartial(), d.GetRegisters()[0].GetPartial())
	}
	// The next refresh replaces the day so far.
	intraday.Days[0].Fields = dayValues(t, today, copenhagen, 4)
	if r, err := b.balance.WriteDays(ctx, intraday); err != nil || r.GetDays()[0].GetOutcome() != posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN || r.GetDays()[0].GetVersion() != 2 {
		t.Fatalf("second intraday write: %v %v", r, err)
	}

	// Marking yesterday and today imported marks yesterday only.
	mark, err := b.balance.MarkDaysImported(ctx, &posimportv1.MarkDaysImportedRequest{ClientId: "c1", DepartmentId: "d1",
		FromDate: yesterday.String(), UntilDate: today.String(), ImportId: "imp-1", TimeZone: copenhagen})
	if err != nil || mark.GetDays() != 1 || mark.GetPartialDays() != 1 {
		t.Fatalf("mark: %v %v", mark, err)
	}
	week = b.week(t, viewer, "c1", "d1", "2026-W49")
	if mon, tue := week.GetDays()[0], week.GetDays()[1]; !mon.GetImportFinished() || tue.GetImportFinished() {
		t.Errorf("import finished: Monday %v, Tuesday (partial) %v", mon.GetImportFinished(), tue.GetImportFinished())
	}
	if f := week.GetFreshness(); f.GetCompleteThrough() != yesterday.String() || !f.GetLastImportTime().AsTime().Equal(b.clock.Now()) {
		t.Errorf("freshness = %v, want complete through %s", f, yesterday)
	}

	// The nightly run's full write closes today; a late refresh then changes nothing.
	b.clock.Set(time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)) // 02:00 in Copenhagen
	full := writeReq("d1", "11", today, copenhagen, dayValues(t, today, copenhagen, 4))
	if r := b.mustWrite(t, full, posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN); r.GetVersion() != 3 {
		t.Errorf("closing write: %v", r)
	}
	if d := b.day(t, viewer, "c1", "d1", today); d.GetDay().GetPartial() || d.GetRegisters()[0].GetPartial() {
		t.Errorf("today after the full write: partial %v / %v", d.GetDay().GetPartial(), d.GetRegisters()[0].GetPartial())
	}
	before := pgtest.Snapshot(t, b.pool, balanceservice.Schema)
	intraday.Days[0].Fields = dayValues(t, today, copenhagen, 5)
	if r, err := b.balance.WriteDays(ctx, intraday); err != nil || r.GetDays()[0].GetOutcome() != posimportv1.WriteOutcome_WRITE_OUTCOME_SKIPPED_COMPLETE {
		t.Errorf("late intraday write: %v %v", r, err)
	}
	if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
		t.Errorf("a late intraday write changed the database (-before +after):\n%s", diff)
	}

	// A day marked imported whose third register then gets an intraday write (a register
	// added to the department late) is partial again, and never auto-confirmed.
	b.mustWrite(t, writeReq("d1", "12", today, copenhagen, dayValues(t, today, copenhagen, 6)), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
	b.markImported(t, "c1", "d1", today.String(), today.String())
	late := writeReq("d1", "12", yesterday, copenhagen, dayValues(t, yesterday, copenhagen, 7))
	late.Partial, late.JobId = true, "job-late"
	b.mustWrite(t, late, posimportv1.WriteOutcome_WRITE_OUTCOME_SKIPPED_COMPLETE)
	third := writeReq("d1", "13", today, copenhagen, dayValues(t, today, copenhagen, 7))
	third.Partial, third.JobId = true, "job-13"
	b.mustWrite(t, third, posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
	if d := b.day(t, viewer, "c1", "d1", today).GetDay(); !d.GetPartial() || !d.GetImportFinished() {
		t.Errorf("today with a partial third register: partial %v, import finished %v", d.GetPartial(), d.GetImportFinished())
	}
	b.confirmDue(t, time.Date(2026, 12, 3, 5, 0, 0, 0, time.UTC)) // 06:00 on 3 December in Copenhagen
	week = b.week(t, viewer, "c1", "d1", "2026-W49")
	if mon, tue := week.GetDays()[0], week.GetDays()[1]; mon.GetStatus() != posimportv1.DayStatus_DAY_STATUS_APPROVED ||
		tue.GetStatus() != posimportv1.DayStatus_DAY_STATUS_OPEN {
		t.Errorf("after auto-confirm: Monday %v, Tuesday (partial, marked) %v", mon.GetStatus(), tue.GetStatus())
	}

	// A partial write to an approved day: skipped, no correction, nothing changed.
	before = pgtest.Snapshot(t, b.pool, balanceservice.Schema)
	onApproved := writeReq("d1", "11", yesterday, copenhagen, dayValues(t, yesterday, copenhagen, 8))
	onApproved.Partial, onApproved.JobId = true, "job-intraday"
	if r := b.mustWrite(t, onApproved, posimportv1.WriteOutcome_WRITE_OUTCOME_SKIPPED_APPROVED); r.GetCorrectionId() != "" {
		t.Errorf("partial write on an approved day: %v", r)
	}
	if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
		t.Errorf("a partial write changed an approved day (-before +after):\n%s", diff)
	}
}

// TestFreshness: GetWeeklyBalance and GetDay show each department's complete-through date and
// last import time (also for a week without any day, and before the first import), and the
// metrics give the instant the complete-through day ended in each department's own zone.
func TestFreshness(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "cph"}, department{id: "nyc", zone: "America/New_York"},
		department{id: "syd", zone: "Australia/Sydney"}, department{id: "new"})
	ctx := context.Background()
	viewer := b.keys.Token(t, authn.RoleViewer, "c1")

	// Before any import: an empty complete-through date, no import time.
	r := b.svc.Do(t, "GET", "/v1/clients/c1/departments/new/weeks/2026-W48", viewer, nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"freshness":{"complete_through":""}`) {
		t.Errorf("week before any import: %d %s", r.Status, r.Body)
	}

	// The nightly run of Tuesday 1 December, 02:00 in Copenhagen (01:00 UTC), imports each
	// department's last completed local day: Copenhagen's and Sydney's 30 November, New York's 29.
	run := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	b.clock.Set(run.Add(20 * time.Minute))
	for _, tc := range []struct {
		dept, zone string
		through    string
	}{
		{"cph", copenhagen, "2026-11-30"},
		{"nyc", "America/New_York", "2026-11-29"},
		{"syd", "Australia/Sydney", "2026-11-30"},
	} {
		if _, err := b.balance.MarkDaysImported(ctx, &posimportv1.MarkDaysImportedRequest{ClientId: "c1", DepartmentId: tc.dept,
			FromDate: mustDate(t, tc.through).AddDays(-1).String(), UntilDate: tc.through, ImportId: "nightly", TimeZone: tc.zone}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ dept, week, date, through string }{
		{"cph", "2026-W48", "2026-11-30", "2026-11-30"},
		{"nyc", "2026-W48", "2026-11-29", "2026-11-29"},
		{"syd", "2026-W44", "2026-10-30", "2026-11-30"}, // a week with no day rows at all
	} {
		w := b.week(t, viewer, "c1", tc.dept, tc.week)
		d := b.day(t, viewer, "c1", tc.dept, mustDate(t, tc.date))
		for name, f := range map[string]*posimportv1.DepartmentFreshness{"week": w.GetFreshness(), "day": d.GetFreshness()} {
			if f.GetCompleteThrough() != tc.through || !f.GetLastImportTime().AsTime().Equal(b.clock.Now()) {
				t.Errorf("%s %s freshness = %v, want complete through %s, imported at %v", tc.dept, name, f, tc.through, b.clock.Now())
			}
		}
	}

	got := scrape(t, b.svc.Server.Registry(), "posimport_balance_department_")
	at := func(y int, m time.Month, d, h int) float64 {
		return float64(time.Date(y, m, d, h, 0, 0, 0, time.UTC).Unix())
	}
	imported := float64(run.Add(20 * time.Minute).Unix())
	want := map[string]float64{}
	for _, tc := range []struct {
		dept      string
		date, end float64
	}{
		// Copenhagen's 30 November ended at 23:00 UTC, New York's 29th at 05:00 UTC on the
		// 30th, Sydney's 30th at 13:00 UTC that day (AEDT, +11).
		{"cph", at(2026, 11, 30, 0), at(2026, 11, 30, 23)},
		{"nyc", at(2026, 11, 29, 0), at(2026, 11, 30, 5)},
		{"syd", at(2026, 11, 30, 0), at(2026, 11, 30, 13)},
	} {
		l := `{client_id="c1"}{department_id="` + tc.dept + `"}`
		want["posimport_balance_department_complete_through_date_seconds"+l] = tc.date
		want["posimport_balance_department_complete_through_end_timestamp_seconds"+l] = tc.end
		want["posimport_balance_department_last_import_timestamp_seconds"+l] = imported
		// Each department is fresh by the alert's rule: its day ended less than a day before the run.
		if !(tc.end > float64(run.Unix())-86400) {
			t.Errorf("%s: complete-through end %v is not within the day before the run", tc.dept, tc.end)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("freshness metrics (-want +got):\n%s", diff)
	}
}
