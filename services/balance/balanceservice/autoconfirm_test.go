package balanceservice_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// markImported marks a department's days as finished by an import.
func (b *testBundle) markImported(t *testing.T, client, dept, from, until string) {
	t.Helper()
	if _, err := b.balance.MarkDaysImported(context.Background(), &posimportv1.MarkDaysImportedRequest{
		ClientId: client, DepartmentId: dept, FromDate: from, UntilDate: until, ImportId: "imp-1", TimeZone: copenhagen,
	}); err != nil {
		t.Fatal(err)
	}
}

// confirmDue makes an auto-confirm pass at the given instant.
func (b *testBundle) confirmDue(t *testing.T, at time.Time) {
	t.Helper()
	b.clock.Set(at)
	if err := b.service.ConfirmDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// statuses returns "A" (approved by a person), "C" (auto-confirmed) or "-" (open) per day of a
// week.
func (b *testBundle) statuses(t *testing.T, client, dept, week string) string {
	t.Helper()
	w := b.week(t, b.keys.Token(t, authn.RoleViewer, client), client, dept, week)
	out := ""
	for _, d := range w.GetDays() {
		switch {
		case d.GetStatus() != posimportv1.DayStatus_DAY_STATUS_APPROVED:
			out += "-"
		case d.GetApprovedBy() == "auto-confirm" && d.GetAutoConfirmed():
			out += "C"
		default:
			out += "A"
		}
	}
	return out
}

// runs returns the local dates on which auto-confirm ran for a client.
func (b *testBundle) runs(t *testing.T, client string) []string {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `SELECT local_date::text FROM auto_confirm_runs WHERE client_id = $1 ORDER BY local_date`, client)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// TestAutoConfirm drives the clock across a client's confirm time: before it nothing happens;
// at it the days up to yesterday whose import finished are approved by "auto-confirm", once,
// by one replica of two; days a person reopened, today, unfinished days and clients without
// auto-confirm stay open.
func TestAutoConfirm(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", true, "05:00", department{id: "d1"}, department{id: "d2"})
	b.configure(t, "c2", false, "05:00", department{id: "d1"})
	cph, err := time.LoadLocation(copenhagen)
	if err != nil {
		t.Fatal(err)
	}
	local := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, cph) }
	b.clock.Set(local(20, 1, 0))
	b.markImported(t, "c1", "d1", "2026-11-16", "2026-11-20")
	b.markImported(t, "c2", "d1", "2026-11-16", "2026-11-19")
	sup := posimportv1.NewBalanceServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, b.keys.Token(t, authn.RoleSupervisor, "c1")))
	ctx := context.Background()
	wed := &posimportv1.ApproveDaysRequest{ClientId: "c1", DepartmentId: "d1", FromDate: "2026-11-18", UntilDate: "2026-11-18"}
	if _, err := sup.ApproveDays(ctx, wed); err != nil {
		t.Fatal(err)
	}
	if _, err := sup.ReopenDays(ctx, (*posimportv1.ReopenDaysRequest)(wed)); err != nil {
		t.Fatal(err)
	}

	b.confirmDue(t, local(20, 4, 59))
	if got := b.statuses(t, "c1", "d1", "2026-W47"); got != "-------" || len(b.runs(t, "c1")) != 0 {
		t.Fatalf("before the confirm time: %s, runs %v", got, b.runs(t, "c1"))
	}
	b.confirmDue(t, local(20, 5, 0))
	for _, tc := range []struct{ client, dept, want string }{
		{"c1", "d1", "CC-C---"}, // Wednesday was reopened by a person; Friday is today
		{"c1", "d2", "-------"}, // no import finished
		{"c2", "d1", "-------"}, // auto-confirm off
	} {
		if got := b.statuses(t, tc.client, tc.dept, "2026-W47"); got != tc.want {
			t.Errorf("%s/%s after the confirm time: %s, want %s", tc.client, tc.dept, got, tc.want)
		}
	}

	// A person reopens an auto-confirmed day; later passes the same day and the next day's
	// run leave it open.
	if _, err := sup.ReopenDays(ctx, &posimportv1.ReopenDaysRequest{ClientId: "c1", DepartmentId: "d1", FromDate: "2026-11-17", UntilDate: "2026-11-17"}); err != nil {
		t.Fatal(err)
	}
	b.markImported(t, "c1", "d2", "2026-11-19", "2026-11-19")
	b.confirmDue(t, local(20, 9, 0))
	if got := b.statuses(t, "c1", "d2", "2026-W47"); got != "-------" {
		t.Errorf("a second pass on the same day approved: %s", got)
	}

	// The next morning two replicas pass at once: one run, each day approved once.
	b.clock.Set(local(21, 5, 1))
	replica := b.newService(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []interface{ ConfirmDue(context.Context) error }{b.service, replica} {
		wg.Go(func() { errs[i] = s.ConfirmDue(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := b.statuses(t, "c1", "d1", "2026-W47"); got != "C--CC--" {
		t.Errorf("c1/d1 the next morning: %s, want C--CC--", got)
	}
	if got := b.statuses(t, "c1", "d2", "2026-W47"); got != "---C---" {
		t.Errorf("c1/d2 the next morning: %s, want ---C---", got)
	}
	if diff := cmp.Diff([]string{"2026-11-20", "2026-11-21"}, b.runs(t, "c1")); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	var approved []int32
	rows, err := b.pool.Query(ctx, `SELECT days_approved FROM auto_confirm_runs WHERE client_id = 'c1' ORDER BY local_date`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int32
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		approved = append(approved, n)
	}
	if diff := cmp.Diff([]int32{3, 2}, approved); diff != "" {
		t.Errorf("days approved per run (-want +got):\n%s", diff)
	}
}

// TestAutoConfirmOnDSTDays: a confirm time the spring day skips runs when the gap ends; one the
// autumn day shows twice runs at its first showing only.
func TestAutoConfirmOnDSTDays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", true, "02:30", department{id: "d1"})
	utc := func(month time.Month, day, hour, minute int) time.Time {
		return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
	}

	// 29 March: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
	b.clock.Set(utc(3, 29, 0, 0))
	b.markImported(t, "c1", "d1", "2026-03-27", "2026-03-28")
	b.confirmDue(t, utc(3, 29, 0, 59)) // 01:59 CET
	if got := b.statuses(t, "c1", "d1", "2026-W13"); got != "-------" {
		t.Errorf("spring, before the gap ends: %s", got)
	}
	b.confirmDue(t, utc(3, 29, 1, 0)) // 03:00 CEST
	if got := b.statuses(t, "c1", "d1", "2026-W13"); got != "----CC-" {
		t.Errorf("spring, when the gap ends: %s, want ----CC-", got)
	}

	// 25 October: 03:00 CEST goes back to 02:00 CET; 02:30 shows at 00:30 and 01:30 UTC.
	b.clock.Set(utc(10, 25, 0, 0))
	b.markImported(t, "c1", "d1", "2026-10-23", "2026-10-23")
	b.confirmDue(t, utc(10, 25, 0, 29))
	if got := b.statuses(t, "c1", "d1", "2026-W43"); got != "-------" {
		t.Errorf("autumn, before 02:30 CEST: %s", got)
	}
	b.confirmDue(t, utc(10, 25, 0, 30))
	if got := b.statuses(t, "c1", "d1", "2026-W43"); got != "----C--" {
		t.Errorf("autumn, at 02:30 CEST: %s, want ----C--", got)
	}
	b.markImported(t, "c1", "d1", "2026-10-24", "2026-10-24")
	b.confirmDue(t, utc(10, 25, 1, 30)) // 02:30 CET, the second showing
	if got := b.statuses(t, "c1", "d1", "2026-W43"); got != "----C--" {
		t.Errorf("autumn, at 02:30 CET: %s, want ----C-- (no second run)", got)
	}
	if diff := cmp.Diff([]string{"2026-03-29", "2026-10-25"}, b.runs(t, "c1")); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}
