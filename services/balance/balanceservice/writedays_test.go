package balanceservice_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/balanceservice"
)

// writeDaysReq is a WriteDays request of job "job-1", attempt 1, for client c1: n days from
// from, each day's values varied by seed and its position.
func writeDaysReq(t testing.TB, dept, register string, from civil.Date, n, seed int) *posimportv1.WriteDaysRequest {
	t.Helper()
	req := &posimportv1.WriteDaysRequest{ClientId: "c1", DepartmentId: dept, RegisterId: register, TimeZone: copenhagen,
		ImportId: "imp-1", JobId: "job-1", FencingToken: 1}
	for i := range n {
		d := from.AddDays(i)
		req.Days = append(req.Days, &posimportv1.DayValues{Date: d.String(), Fields: dayValues(t, d, copenhagen, seed+i)})
	}
	return req
}

func outcomes(resp *posimportv1.WriteDaysResponse) []posimportv1.WriteOutcome {
	var out []posimportv1.WriteOutcome
	for _, d := range resp.GetDays() {
		out = append(out, d.GetOutcome())
	}
	return out
}

// TestWriteDaysAsWriteDay: WriteDays leaves the balance exactly as WriteDay does day by day,
// across a DST change, with the same outcomes and write counters; writing the same days again
// changes nothing, and changing one day writes only that day.
func TestWriteDaysAsWriteDay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "d1", registers: []string{"11"}}, department{id: "d2", registers: []string{"12"}})
	ctx := context.Background()
	from := mustDate(t, "2026-10-23") // to 2026-10-27: 25 October has 25 hours in Copenhagen
	req := writeDaysReq(t, "d1", "11", from, 5, 3)
	resp, err := b.balance.WriteDays(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range req.GetDays() {
		one := writeReq("d2", "12", mustDate(t, d.GetDate()), copenhagen, d.GetFields())
		want := b.mustWrite(t, one, posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
		if diff := cmp.Diff(want, resp.GetDays()[i], protocmp.Transform()); diff != "" {
			t.Errorf("day %d (-WriteDay +WriteDays):\n%s", i, diff)
		}
	}
	viewer := b.keys.Token(t, authn.RoleViewer, "c1")
	for _, week := range []string{"2026-W43", "2026-W44"} {
		one, batch := b.week(t, viewer, "c1", "d2", week), b.week(t, viewer, "c1", "d1", week)
		if diff := cmp.Diff(one, batch, protocmp.Transform(), protocmp.IgnoreFields(&posimportv1.WeeklyBalance{}, "department_id")); diff != "" {
			t.Errorf("week %s (-WriteDay +WriteDays):\n%s", week, diff)
		}
	}

	before := pgtest.Snapshot(t, b.pool, balanceservice.Schema)
	again, err := b.balance.WriteDays(ctx, writeDaysReq(t, "d1", "11", from, 5, 3))
	if err != nil {
		t.Fatal(err)
	}
	unchanged := posimportv1.WriteOutcome_WRITE_OUTCOME_UNCHANGED
	if diff := cmp.Diff([]posimportv1.WriteOutcome{unchanged, unchanged, unchanged, unchanged, unchanged}, outcomes(again)); diff != "" {
		t.Errorf("same values again (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
		t.Errorf("an unchanged batch changed the database (-before +after):\n%s", diff)
	}

	changed := writeDaysReq(t, "d1", "11", from, 5, 3)
	changed.Days[2].Fields = dayValues(t, from.AddDays(2), copenhagen, 40)
	resp, err = b.balance.WriteDays(ctx, changed)
	if err != nil {
		t.Fatal(err)
	}
	written := posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN
	if diff := cmp.Diff([]posimportv1.WriteOutcome{unchanged, unchanged, written, unchanged, unchanged}, outcomes(resp)); diff != "" {
		t.Errorf("one day changed (-want +got):\n%s", diff)
	}
	if v := resp.GetDays()[2].GetVersion(); v != 2 {
		t.Errorf("changed day's version %d, want 2", v)
	}
}

// TestWriteDaysApprovedAndFenced: an approved day in a batch is left alone byte for byte
// while the others are written, unless the overwrite flag is set; a stale fencing token
// refuses the whole batch and changes nothing.
func TestWriteDaysApprovedAndFenced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "d1", registers: []string{"11"}})
	ctx := context.Background()
	from := mustDate(t, "2026-11-09")
	first := writeDaysReq(t, "d1", "11", from, 3, 1)
	first.FencingToken = 2
	if _, err := b.balance.WriteDays(ctx, first); err != nil {
		t.Fatal(err)
	}
	sup := b.keys.Token(t, authn.RoleSupervisor, "c1")
	approved := from.AddDays(1)
	if r := b.svc.Do(t, "POST", "/v1/clients/c1/departments/d1/days:approve", sup,
		map[string]any{"from_date": approved.String(), "until_date": approved.String()}); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	dayBefore := b.day(t, sup, "c1", "d1", approved)

	second := writeDaysReq(t, "d1", "11", from, 3, 20)
	second.FencingToken = 2
	resp, err := b.balance.WriteDays(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	written, corrected := posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN, posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING
	if diff := cmp.Diff([]posimportv1.WriteOutcome{written, corrected, written}, outcomes(resp)); diff != "" {
		t.Errorf("batch over an approved day (-want +got):\n%s", diff)
	}
	// The approved day's values are untouched; only the pending correction shows.
	dayAfter := b.day(t, sup, "c1", "d1", approved)
	if dayAfter.GetDay().GetCorrectionsPending() != 1 || dayAfter.GetRegisters()[0].GetCorrectionId() != resp.GetDays()[1].GetCorrectionId() {
		t.Errorf("approved day after the batch: %d corrections pending, register's %q", dayAfter.GetDay().GetCorrectionsPending(),
			dayAfter.GetRegisters()[0].GetCorrectionId())
	}
	if diff := cmp.Diff(dayBefore, dayAfter, protocmp.Transform(), ignoreCorrections()); diff != "" {
		t.Errorf("the approved day changed (-before +after):\n%s", diff)
	}

	before := pgtest.Snapshot(t, b.pool, balanceservice.Schema)
	stale := writeDaysReq(t, "d1", "11", from, 3, 30)
	stale.FencingToken = 1
	stale.OverwriteApproved = true
	if _, err := b.balance.WriteDays(ctx, stale); status.Code(err) != codes.Aborted || apierr.ReasonOf(err) != apierr.ReasonStaleFencingToken {
		t.Errorf("stale batch: %v (reason %q), want Aborted with reason %s", err, apierr.ReasonOf(err), apierr.ReasonStaleFencingToken)
	}
	if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
		t.Errorf("the stale batch changed the database (-before +after):\n%s", diff)
	}

	over := writeDaysReq(t, "d1", "11", from, 3, 30)
	over.FencingToken, over.OverwriteApproved = 2, true
	resp, err = b.balance.WriteDays(ctx, over)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]posimportv1.WriteOutcome{written, written, written}, outcomes(resp)); diff != "" {
		t.Errorf("overwrite (-want +got):\n%s", diff)
	}
	if st := resp.GetDays()[1].GetStatus(); st != posimportv1.DayStatus_DAY_STATUS_APPROVED {
		t.Errorf("overwritten approved day is %v, want still approved", st)
	}
}

// TestWriteDaysRefusals: a batch with anything wrong is refused whole, naming the field (the
// day's, for a day's own fields), and writes nothing; only services may write.
func TestWriteDaysRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "d1", registers: []string{"11"}})
	from := mustDate(t, "2026-11-09")
	valid := func(mod func(r *posimportv1.WriteDaysRequest)) *posimportv1.WriteDaysRequest {
		r := writeDaysReq(t, "d1", "11", from, 3, 2)
		mod(r)
		return r
	}
	tests := []struct {
		name      string
		req       *posimportv1.WriteDaysRequest
		wantCode  codes.Code
		wantField string
	}{
		{"no days", valid(func(r *posimportv1.WriteDaysRequest) { r.Days = nil }), codes.InvalidArgument, "days"},
		{"32 days", writeDaysReq(t, "d1", "11", mustDate(t, "2026-10-01"), 32, 1), codes.InvalidArgument, "days"},
		{"a gap", valid(func(r *posimportv1.WriteDaysRequest) { r.Days[2].Date = from.AddDays(3).String() }), codes.InvalidArgument, "days[2].date"},
		{"a day twice", valid(func(r *posimportv1.WriteDaysRequest) { r.Days[1].Date = from.String() }), codes.InvalidArgument, "days[1].date"},
		{"bad date", valid(func(r *posimportv1.WriteDaysRequest) { r.Days[0].Date = "9-11-2026" }), codes.InvalidArgument, "days[0].date"},
		{"bad hour in the last day", valid(func(r *posimportv1.WriteDaysRequest) { r.Days[2].Fields[0].Hours[3] = "1e3" }),
			codes.InvalidArgument, "days[2].fields[0].hours[3]"},
		{"wrong total", valid(func(r *posimportv1.WriteDaysRequest) { r.Days[1].Fields[1].Total = "0.01" }),
			codes.InvalidArgument, "days[1].fields[1].total"},
		{"unknown register", valid(func(r *posimportv1.WriteDaysRequest) { r.RegisterId = "99" }), codes.InvalidArgument, "register_id"},
		{"no fencing token", valid(func(r *posimportv1.WriteDaysRequest) { r.FencingToken = 0 }), codes.InvalidArgument, "fencing_token"},
		{"wrong zone", valid(func(r *posimportv1.WriteDaysRequest) { r.TimeZone = "Europe/London" }), codes.InvalidArgument, "time_zone"},
		{"the future", writeDaysReq(t, "d1", "11", mustDate(t, "2026-11-30"), 3, 1), codes.InvalidArgument, "days[2].date"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := pgtest.Snapshot(t, b.pool, balanceservice.Schema)
			_, err := b.balance.WriteDays(context.Background(), tc.req)
			if status.Code(err) != tc.wantCode || apierr.FieldOf(err) != tc.wantField {
				t.Errorf("error %v (field %q), want %v naming %q", err, apierr.FieldOf(err), tc.wantCode, tc.wantField)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
				t.Errorf("refused batch changed the database (-before +after):\n%s", diff)
			}
		})
	}
	// A person may not write, even a valid batch of their own client.
	person := posimportv1.NewBalanceServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, b.keys.Token(t, authn.RoleSupervisor, "c1")))
	if _, err := person.WriteDays(context.Background(), valid(func(*posimportv1.WriteDaysRequest) {})); status.Code(err) != codes.PermissionDenied {
		t.Errorf("person writes: %v, want PermissionDenied", err)
	}
}
