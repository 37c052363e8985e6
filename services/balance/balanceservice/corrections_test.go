package balanceservice_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/balanceservice"
)

// valueTables dumps what a day's values and approval are: register days and values, the
// department's sums and the days' approval columns (not their counts of pending corrections).
func valueTables(t testing.TB, b *testBundle) string {
	t.Helper()
	var out strings.Builder
	for _, q := range []string{
		`SELECT r::text FROM register_days r`,
		`SELECT r::text FROM register_values r`,
		`SELECT r::text FROM day_values r`,
		`SELECT (client_id, department_id, business_date, status, approved_by, approve_time, version, approved_version,
			import_finished, registers_imported, partial)::text FROM day_status`,
	} {
		rows, err := b.pool.Query(context.Background(), q+` ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out.WriteString(s + "\n")
		}
		rows.Close()
		out.WriteString("--\n")
	}
	return out.String()
}

// ignoreCorrections leaves the pending corrections out of a comparison of days.
func ignoreCorrections() cmp.Option {
	return cmp.Options{
		protocmp.IgnoreFields(&posimportv1.BalanceDay{}, "corrections_pending"),
		protocmp.IgnoreFields(&posimportv1.RegisterDay{}, "correction_id"),
	}
}

// ignoreIntervals compares a change's hour by its position only.
func ignoreIntervals() cmp.Option {
	return protocmp.IgnoreFields(&posimportv1.Interval{}, "local_start", "utc_offset_seconds")
}

// wantChanges is what differs between two sets of values of the same fields, worked out here
// without the service's code: per field its total, then the hours that differ.
func wantChanges(before, after []*posimportv1.FieldValues) []*posimportv1.ValueChange {
	var out []*posimportv1.ValueChange
	for i, b := range before {
		a := after[i]
		if b.GetTotal() != a.GetTotal() {
			out = append(out, &posimportv1.ValueChange{FieldId: b.GetFieldId(), Before: b.GetTotal(), After: a.GetTotal()})
		}
		for h := range b.GetHours() {
			if b.GetHours()[h] != a.GetHours()[h] {
				out = append(out, &posimportv1.ValueChange{FieldId: b.GetFieldId(), Interval: &posimportv1.Interval{Index: int32(h)},
					Before: b.GetHours()[h], After: a.GetHours()[h]})
			}
		}
	}
	return out
}

// registerValues are a register's values as written.
func registerValues(rd *posimportv1.RegisterDay) []*posimportv1.FieldValues {
	var out []*posimportv1.FieldValues
	for _, f := range rd.GetFields() {
		out = append(out, &posimportv1.FieldValues{FieldId: f.GetFieldId(), Hours: f.GetHours(), Total: f.GetTotal()})
	}
	return out
}

// viewerClient is a gRPC client with a viewer's token of client.
func (b *testBundle) viewerClient(t testing.TB, client string) posimportv1.BalanceServiceClient {
	t.Helper()
	return posimportv1.NewBalanceServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, b.keys.Token(t, authn.RoleViewer, client)))
}

// correction returns a client's correction by id, read by a viewer.
func (b *testBundle) correction(t testing.TB, client, id string) *posimportv1.Correction {
	t.Helper()
	resp, err := b.viewerClient(t, client).ListCorrections(context.Background(), &posimportv1.ListCorrectionsRequest{ClientId: client, PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.GetCorrections() {
		if c.GetCorrectionId() == id {
			return c
		}
	}
	t.Fatalf("correction %s not listed", id)
	return nil
}

// audit returns a department's audit records, newest first, read by a viewer.
func (b *testBundle) audit(t testing.TB, client, dept string) []*posimportv1.AuditRecord {
	t.Helper()
	resp, err := b.viewerClient(t, client).ListAuditRecords(context.Background(), &posimportv1.ListAuditRecordsRequest{ClientId: client, DepartmentId: dept})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetRecords()
}

// changed returns values with a few hours (and so the total) of the first field changed, and
// the per-day Visitors field changed.
func changed(t testing.TB, values []*posimportv1.FieldValues, hours ...int) []*posimportv1.FieldValues {
	t.Helper()
	out := make([]*posimportv1.FieldValues, len(values))
	for i, v := range values {
		out[i] = &posimportv1.FieldValues{FieldId: v.GetFieldId(), Hours: append([]string(nil), v.GetHours()...), Total: v.GetTotal()}
	}
	for _, h := range hours {
		out[0].Hours[h] = sum(t, []string{out[0].Hours[h], "10.5"}).String()
	}
	out[0].Total = sum(t, out[0].Hours).String()
	out[7].Total = sum(t, []string{out[7].Total, "3"}).String()
	return out
}

// TestCorrections follows corrections of an approved day through their life: recorded with
// the approved values as "before" and the import's as "after" and its cause, the day's values
// untouched; a redelivered import changes nothing; a newer import replaces "after" and keeps
// "before"; an import back at the approved values withdraws it; applying makes the
// register-day equal "after" and keeps the day approved; dismissing leaves the day as it was;
// both are in the audit with who, when and what.
func TestCorrections(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "d1", registers: []string{"11", "12"}})
	ctx := context.Background()
	date := mustDate(t, "2026-11-10")
	a11, a12 := dayValues(t, date, copenhagen, 1), dayValues(t, date, copenhagen, 2)
	b.mustWrite(t, writeReq("d1", "11", date, copenhagen, a11), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
	b.mustWrite(t, writeReq("d1", "12", date, copenhagen, a12), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
	sup := b.keys.Token(t, authn.RoleSupervisor, "c1")
	if r := b.svc.Do(t, "POST", "/v1/clients/c1/departments/d1/days:approve", sup, map[string]any{"from_date": date.String(), "until_date": date.String()}); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	viewer := b.keys.Token(t, authn.RoleViewer, "c1")
	values := valueTables(t, b)

	// A late sale: a correction, not a change.
	late := changed(t, a11, 12, 13)
	req := writeReq("d1", "11", date, copenhagen, late)
	req.ImportId, req.JobId = "imp-2", "job-2"
	req.Cause = &posimportv1.WriteCause{Reason: "sales changed after the day was imported", SaleIds: []string{"9001", "9002"}, SaleCount: 3}
	first := b.mustWrite(t, req, posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING)
	id := first.GetCorrectionId()
	if diff := cmp.Diff(values, valueTables(t, b)); diff != "" {
		t.Errorf("the correction changed the approved day (-before +after):\n%s", diff)
	}
	week := b.week(t, viewer, "c1", "d1", "2026-W46")
	if d := week.GetDays()[1]; d.GetCorrectionsPending() != 1 || d.GetStatus() != posimportv1.DayStatus_DAY_STATUS_APPROVED {
		t.Errorf("week's %s: %d corrections pending, %v", d.GetDate(), d.GetCorrectionsPending(), d.GetStatus())
	}
	if n := week.GetDays()[0].GetCorrectionsPending(); n != 0 {
		t.Errorf("Monday shows %d corrections", n)
	}
	day := b.day(t, viewer, "c1", "d1", date)
	if regs := day.GetRegisters(); regs[0].GetCorrectionId() != id || regs[1].GetCorrectionId() != "" || day.GetDay().GetCorrectionsPending() != 1 {
		t.Errorf("day view: registers' corrections %q, %q; day's %d", regs[0].GetCorrectionId(), regs[1].GetCorrectionId(), day.GetDay().GetCorrectionsPending())
	}

	// Listed over REST for a viewer, with every changed value, the cause and the import.
	r := b.svc.Do(t, "GET", "/v1/clients/c1/corrections?state=CORRECTION_STATE_PENDING", viewer, nil)
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var listed posimportv1.ListCorrectionsResponse
	decode(t, r.Body, &listed)
	if len(listed.GetCorrections()) != 1 {
		t.Fatalf("listed %v", listed.GetCorrections())
	}
	c := listed.GetCorrections()[0]
	want := &posimportv1.Correction{
		CorrectionId: id, ClientId: "c1", DepartmentId: "d1", Date: date.String(), RegisterId: "11", TimeZone: copenhagen,
		State: posimportv1.CorrectionState_CORRECTION_STATE_PENDING, Changes: wantChanges(a11, late), ImportId: "imp-2", JobId: "job-2",
		Cause: req.GetCause(), CreateTime: c.GetCreateTime(), UpdateTime: c.GetCreateTime(),
	}
	if diff := cmp.Diff(want, c, protocmp.Transform(), ignoreIntervals()); diff != "" {
		t.Errorf("correction (-want +got):\n%s", diff)
	}
	if len(c.GetChanges()) != 4 || c.GetChanges()[1].GetInterval().GetLocalStart() != "12:00" || c.GetChanges()[1].GetInterval().GetUtcOffsetSeconds() != 3600 {
		t.Errorf("changes = %v: want the total, 12:00 and 13:00 of field 5261 and Visitors' total", c.GetChanges())
	}

	// The same import delivered again changes nothing.
	snapshot := pgtest.Snapshot(t, b.pool, balanceservice.Schema)
	if again := b.mustWrite(t, req, posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING); again.GetCorrectionId() != id {
		t.Errorf("redelivered: correction %s, want %s", again.GetCorrectionId(), id)
	}
	if diff := cmp.Diff(snapshot, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
		t.Errorf("a redelivered import changed the database (-before +after):\n%s", diff)
	}

	// A newer import replaces "after" and the cause; "before" stays the approved values.
	b.clock.Set(b.clock.Now().Add(3600e9))
	newer := changed(t, a11, 12, 14, 20)
	req2 := writeReq("d1", "11", date, copenhagen, newer)
	req2.ImportId, req2.JobId = "imp-3", "job-3"
	if r := b.mustWrite(t, req2, posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING); r.GetCorrectionId() != id {
		t.Errorf("newer import: correction %s, want %s (one pending per register-day)", r.GetCorrectionId(), id)
	}
	c = b.correction(t, "c1", id)
	if diff := cmp.Diff(wantChanges(a11, newer), c.GetChanges(), protocmp.Transform(), ignoreIntervals()); diff != "" {
		t.Errorf("replaced correction's changes (-want +got):\n%s", diff)
	}
	if c.GetImportId() != "imp-3" || c.GetCause().GetReason() != "" || !c.GetUpdateTime().AsTime().Equal(b.clock.Now()) ||
		c.GetCreateTime().AsTime().Equal(c.GetUpdateTime().AsTime()) {
		t.Errorf("replaced correction: %v", c)
	}

	// Back at the approved values: withdrawn, nothing else changes.
	if r := b.mustWrite(t, writeReq("d1", "11", date, copenhagen, a11), posimportv1.WriteOutcome_WRITE_OUTCOME_SKIPPED_APPROVED); r.GetCorrectionId() != "" {
		t.Errorf("back at the approved values: %v", r)
	}
	if c := b.correction(t, "c1", id); c.GetState() != posimportv1.CorrectionState_CORRECTION_STATE_WITHDRAWN || c.GetResolveTime() == nil {
		t.Errorf("withdrawn correction: %v", c)
	}
	if n := b.day(t, viewer, "c1", "d1", date).GetDay().GetCorrectionsPending(); n != 0 {
		t.Errorf("%d corrections pending after the withdrawal", n)
	}
	if diff := cmp.Diff(values, valueTables(t, b)); diff != "" {
		t.Errorf("the withdrawal changed the approved day (-before +after):\n%s", diff)
	}

	// Applied: the register-day equals "after" and the day stays approved, approving them.
	applyReq := b.mustWrite(t, req, posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING)
	toApply := applyReq.GetCorrectionId()
	if toApply == id {
		t.Fatal("a withdrawn correction came back: want a new one")
	}
	b.clock.Set(b.clock.Now().Add(60e9))
	r = b.svc.Do(t, "POST", "/v1/clients/c1/corrections/"+toApply+":apply", sup, map[string]any{})
	if r.Status != 200 {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	var applied posimportv1.ApplyCorrectionResponse
	decode(t, r.Body, &applied)
	if ac := applied.GetCorrection(); ac.GetState() != posimportv1.CorrectionState_CORRECTION_STATE_APPLIED || ac.GetResolvedBy() != "user-supervisor" ||
		!ac.GetResolveTime().AsTime().Equal(b.clock.Now()) {
		t.Errorf("applied: %v", ac)
	}
	day = b.day(t, viewer, "c1", "d1", date)
	if diff := cmp.Diff(late, registerValues(day.GetRegisters()[0]), protocmp.Transform()); diff != "" {
		t.Errorf("register 11 after apply (-after +got):\n%s", diff)
	}
	if diff := cmp.Diff(a12, registerValues(day.GetRegisters()[1]), protocmp.Transform()); diff != "" {
		t.Errorf("register 12 after apply (-before +got):\n%s", diff)
	}
	if got := fieldOf(day.GetDay().GetFields(), 5261).GetTotal(); !sum(t, []string{got}).Equal(sum(t, []string{late[0].Total, a12[0].Total})) {
		t.Errorf("department's gross after apply = %s, want %s + %s", got, late[0].Total, a12[0].Total)
	}
	if d := day.GetDay(); d.GetStatus() != posimportv1.DayStatus_DAY_STATUS_APPROVED || d.GetApprovedBy() != "user-supervisor" || d.GetCorrectionsPending() != 0 {
		t.Errorf("day after apply: %v by %s, %d pending", d.GetStatus(), d.GetApprovedBy(), d.GetCorrectionsPending())
	}
	var version, approvedVersion int64
	if err := b.pool.QueryRow(ctx, `SELECT version, approved_version FROM day_status WHERE client_id = 'c1' AND department_id = 'd1' AND business_date = $1`,
		date.String()).Scan(&version, &approvedVersion); err != nil || version != approvedVersion {
		t.Errorf("after apply: version %d, approved version %d (%v): the approval covers the applied values", version, approvedVersion, err)
	}
	// The same import again now finds the day equal to it.
	b.mustWrite(t, req, posimportv1.WriteOutcome_WRITE_OUTCOME_SKIPPED_APPROVED)

	// Dismissed by a regional supervisor over gRPC: register 12 keeps its values.
	late12 := changed(t, a12, 3)
	dismissReq := b.mustWrite(t, writeReq("d1", "12", date, copenhagen, late12), posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING)
	values = valueTables(t, b)
	regional := posimportv1.NewBalanceServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, b.keys.Token(t, authn.RoleRegionalSupervisor, "c1")))
	dismissed, err := regional.DismissCorrection(ctx, &posimportv1.DismissCorrectionRequest{ClientId: "c1", CorrectionId: dismissReq.GetCorrectionId()})
	if err != nil {
		t.Fatal(err)
	}
	if dc := dismissed.GetCorrection(); dc.GetState() != posimportv1.CorrectionState_CORRECTION_STATE_DISMISSED || dc.GetResolvedBy() != "user-regional_supervisor" {
		t.Errorf("dismissed: %v", dc)
	}
	if diff := cmp.Diff(values, valueTables(t, b)); diff != "" {
		t.Errorf("dismissing changed the day (-before +after):\n%s", diff)
	}

	// The audit, newest first: who, when, what.
	audit := b.audit(t, "c1", "d1")
	if len(audit) != 2 {
		t.Fatalf("audit = %v", audit)
	}
	wantAudit := []*posimportv1.AuditRecord{
		{Action: posimportv1.AuditAction_AUDIT_ACTION_CORRECTION_DISMISSED, Actor: "user-regional_supervisor", DepartmentId: "d1",
			Date: date.String(), RegisterId: "12", TimeZone: copenhagen, Changes: wantChanges(a12, late12),
			CorrectionId: dismissReq.GetCorrectionId(), ImportId: "imp-1", JobId: "job-1"},
		{Action: posimportv1.AuditAction_AUDIT_ACTION_CORRECTION_APPLIED, Actor: "user-supervisor", DepartmentId: "d1",
			Date: date.String(), RegisterId: "11", TimeZone: copenhagen, Changes: wantChanges(a11, late),
			CorrectionId: toApply, ImportId: "imp-2", JobId: "job-2"},
	}
	for i, a := range audit {
		if a.GetAuditId() == "" || !a.GetRecordTime().AsTime().Equal(b.clock.Now()) {
			t.Errorf("audit record %d: id %q at %v", i, a.GetAuditId(), a.GetRecordTime())
		}
	}
	if diff := cmp.Diff(wantAudit, audit, protocmp.Transform(), ignoreIntervals(),
		protocmp.IgnoreFields(&posimportv1.AuditRecord{}, "audit_id", "record_time")); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	// Over REST too, for a viewer; every amount in canonical form.
	r = b.svc.Do(t, "GET", "/v1/clients/c1/audit?department_id=d1", viewer, nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"AUDIT_ACTION_CORRECTION_APPLIED"`) {
		t.Errorf("audit over REST: %d %s", r.Status, r.Body)
	}
	checkCanonical(t, r.Body)
	checkCanonical(t, b.svc.Do(t, "GET", "/v1/clients/c1/corrections", viewer, nil).Body)
}

// checkCanonical fails the test for any amount of a REST answer (hours, totals, before, after)
// that is not in canonical form.
func checkCanonical(t *testing.T, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, m := range x {
				if s, ok := m.(string); ok && (k == "before" || k == "after") {
					n++
					if s != "" && !canonicalAmount.MatchString(s) {
						t.Errorf("amount %s %q is not canonical", k, s)
					}
					continue
				}
				walk(m)
			}
		case []any:
			for _, m := range x {
				walk(m)
			}
		}
	}
	walk(v)
	walkAmounts(v, func(a string) {
		n++
		if a != "" && !canonicalAmount.MatchString(a) {
			t.Errorf("amount %q is not canonical", a)
		}
	})
	if n == 0 {
		t.Errorf("no amounts in %s", body)
	}
}

// TestCorrectionAmountsCanonical: amounts written with trailing zeros are answered in their
// canonical form in a correction's changes.
func TestCorrectionAmountsCanonical(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "d1"})
	date := mustDate(t, "2026-11-10")
	hours := func(first string) []string {
		h := make([]string, 24)
		for i := range h {
			h[i] = "0.00"
		}
		h[0] = first
		return h
	}
	b.mustWrite(t, writeReq("d1", "", date, copenhagen, []*posimportv1.FieldValues{{FieldId: 5261, Hours: hours("1.50"), Total: "1.50"}}),
		posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
	sup := b.keys.Token(t, authn.RoleSupervisor, "c1")
	if r := b.svc.Do(t, "POST", "/v1/clients/c1/departments/d1/days:approve", sup, map[string]any{"from_date": date.String(), "until_date": date.String()}); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	w := b.mustWrite(t, writeReq("d1", "", date, copenhagen, []*posimportv1.FieldValues{{FieldId: 5261, Hours: hours("2.250"), Total: "2.2500"}}),
		posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING)
	want := []*posimportv1.ValueChange{
		{FieldId: 5261, Before: "1.5", After: "2.25"},
		{FieldId: 5261, Interval: &posimportv1.Interval{Index: 0}, Before: "1.5", After: "2.25"},
	}
	if diff := cmp.Diff(want, b.correction(t, "c1", w.GetCorrectionId()).GetChanges(), protocmp.Transform(), ignoreIntervals()); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

// TestCorrectionRefusals: applying and dismissing are for supervisors of the client, listing
// for its readers; an unknown id, another client's correction and one no longer pending are
// refused with their codes, and nothing changes.
func TestCorrectionRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "d1", registers: []string{"11", "12", "13"}})
	b.configure(t, "c2", false, "05:00", department{id: "x1"})
	ctx := context.Background()
	date := mustDate(t, "2026-11-10")
	sup := b.keys.Token(t, authn.RoleSupervisor, "c1")
	for _, reg := range []string{"11", "12", "13"} {
		b.mustWrite(t, writeReq("d1", reg, date, copenhagen, dayValues(t, date, copenhagen, 1)), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
	}
	if r := b.svc.Do(t, "POST", "/v1/clients/c1/departments/d1/days:approve", sup, map[string]any{"from_date": date.String(), "until_date": date.String()}); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	pending := func(reg string, seed int) string {
		return b.mustWrite(t, writeReq("d1", reg, date, copenhagen, dayValues(t, date, copenhagen, seed)),
			posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING).GetCorrectionId()
	}
	open, applied, dismissed := pending("11", 2), pending("12", 3), pending("13", 4)
	if r := b.svc.Do(t, "POST", "/v1/clients/c1/corrections/"+applied+":apply", sup, map[string]any{}); r.Status != 200 {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	if r := b.svc.Do(t, "POST", "/v1/clients/c1/corrections/"+dismissed+":dismiss", sup, map[string]any{}); r.Status != 200 {
		t.Fatalf("dismiss: %d %s", r.Status, r.Body)
	}
	withdrawn := pending("11", 5) // replaces open's after; then back to the approved values:
	if withdrawn != open {
		t.Fatalf("a second pending correction of one register-day: %s and %s", open, withdrawn)
	}
	b.mustWrite(t, writeReq("d1", "11", date, copenhagen, dayValues(t, date, copenhagen, 1)), posimportv1.WriteOutcome_WRITE_OUTCOME_SKIPPED_APPROVED)
	open = pending("11", 6)

	viewer := b.keys.Token(t, authn.RoleViewer, "c1")
	contact := b.keys.Token(t, authn.RoleIntegrationContact, "c1")
	sup2 := b.keys.Token(t, authn.RoleSupervisor, "c2")
	const unknown = "00000000-0000-4000-8000-000000000000"
	path := func(client, id, action string) string {
		return "/v1/clients/" + client + "/corrections/" + id + ":" + action
	}
	for _, tc := range []struct {
		name, method, path, token string
		wantStatus                int
		wantCode                  float64
		wantField                 string
	}{
		{"viewer applies", "POST", path("c1", open, "apply"), viewer, 403, 7, ""},
		{"viewer dismisses", "POST", path("c1", open, "dismiss"), viewer, 403, 7, ""},
		{"integration contact applies", "POST", path("c1", open, "apply"), contact, 403, 7, ""},
		{"no token", "POST", path("c1", open, "apply"), "", 401, 16, ""},
		{"supervisor of another client, its path", "POST", path("c1", open, "apply"), sup2, 403, 7, ""},
		{"another client's correction under one's own client", "POST", path("c2", open, "apply"), sup2, 404, 5, ""},
		{"another client's correction, dismissed", "POST", path("c2", open, "dismiss"), sup2, 404, 5, ""},
		{"unknown id", "POST", path("c1", unknown, "apply"), sup, 404, 5, ""},
		{"malformed id", "POST", path("c1", "not-a-uuid", "apply"), sup, 400, 3, "correction_id"},
		{"applied already, applied", "POST", path("c1", applied, "apply"), sup, 400, 9, ""},
		{"applied already, dismissed", "POST", path("c1", applied, "dismiss"), sup, 400, 9, ""},
		{"dismissed already, applied", "POST", path("c1", dismissed, "apply"), sup, 400, 9, ""},
		{"withdrawn, applied", "POST", path("c1", withdrawn, "apply"), sup, 400, 9, ""},
		{"list of another client", "GET", "/v1/clients/c2/corrections", viewer, 403, 7, ""},
		{"audit of another client", "GET", "/v1/clients/c2/audit", viewer, 403, 7, ""},
		{"list with an unknown state", "GET", "/v1/clients/c1/corrections?state=9", viewer, 400, 3, "state"},
		{"list with a bad page token", "GET", "/v1/clients/c1/corrections?page_token=abc", viewer, 400, 3, "page_token"},
		{"list with a huge page", "GET", "/v1/clients/c1/corrections?page_size=501", viewer, 400, 3, "page_size"},
		{"audit with a bad department", "GET", "/v1/clients/c1/audit?department_id=a%20b", viewer, 400, 3, "department_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := pgtest.Snapshot(t, b.pool, balanceservice.Schema)
			var body any
			if tc.method == "POST" {
				body = map[string]any{}
			}
			r := b.svc.Do(t, tc.method, tc.path, tc.token, body)
			if r.Status != tc.wantStatus {
				t.Errorf("status = %d, want %d: %s", r.Status, tc.wantStatus, r.Body)
			}
			var st map[string]any
			r.JSON(t, &st)
			if st["code"] != tc.wantCode {
				t.Errorf("code = %v, want %v: %s", st["code"], tc.wantCode, r.Body)
			}
			if r.Field() != tc.wantField {
				t.Errorf("field = %q, want %q: %s", r.Field(), tc.wantField, r.Body)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
				t.Errorf("refused request changed the database (-before +after):\n%s", diff)
			}
		})
	}

	// The import-worker may write but not decide corrections.
	before := pgtest.Snapshot(t, b.pool, balanceservice.Schema)
	if _, err := b.balance.ApplyCorrection(ctx, &posimportv1.ApplyCorrectionRequest{ClientId: "c1", CorrectionId: open}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the import-worker applies: %v", err)
	}
	if _, err := b.balance.ListCorrections(ctx, &posimportv1.ListCorrectionsRequest{ClientId: "c1"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the import-worker lists: %v", err)
	}
	if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
		t.Errorf("refused request changed the database (-before +after):\n%s", diff)
	}

	// Viewers list; pages follow each other without repeats, newest first.
	seen := map[string]bool{}
	token := ""
	for page := 0; ; page++ {
		resp, err := b.viewerClient(t, "c1").ListCorrections(ctx, &posimportv1.ListCorrectionsRequest{ClientId: "c1", PageSize: 1, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.GetCorrections() {
			if seen[c.GetCorrectionId()] {
				t.Errorf("page %d repeats %s", page, c.GetCorrectionId())
			}
			seen[c.GetCorrectionId()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) != 4 || !seen[open] || !seen[applied] || !seen[dismissed] || !seen[withdrawn] {
		t.Errorf("listed %v", seen)
	}
	resp, err := b.viewerClient(t, "c2").ListCorrections(ctx, &posimportv1.ListCorrectionsRequest{ClientId: "c2"})
	if err != nil || len(resp.GetCorrections()) != 0 {
		t.Errorf("c2 lists %v (%v)", resp.GetCorrections(), err)
	}
}

// TestWriteCauseRefusals: a write's cause and its creator are bounded, and a partial write
// never overwrites; refused writes change nothing.
func TestWriteCauseRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "d1", registers: []string{"11"}})
	ctx := context.Background()
	date := mustDate(t, "2026-11-10")
	many := make([]string, 51)
	for i := range many {
		many[i] = "s"
	}
	for _, tc := range []struct {
		name      string
		mod       func(r *posimportv1.WriteDaysRequest)
		wantField string
	}{
		{"long reason", func(r *posimportv1.WriteDaysRequest) {
			r.Days[0].Cause = &posimportv1.WriteCause{Reason: strings.Repeat("x", 201)}
		}, "days[0].cause.reason"},
		{"51 sale ids", func(r *posimportv1.WriteDaysRequest) {
			r.Days[1].Cause = &posimportv1.WriteCause{SaleIds: many, SaleCount: 51}
		}, "days[1].cause.sale_ids"},
		{"empty sale id", func(r *posimportv1.WriteDaysRequest) {
			r.Days[0].Cause = &posimportv1.WriteCause{SaleIds: []string{"1", ""}, SaleCount: 2}
		}, "days[0].cause.sale_ids[1]"},
		{"count below the ids", func(r *posimportv1.WriteDaysRequest) {
			r.Days[0].Cause = &posimportv1.WriteCause{SaleIds: []string{"1", "2"}, SaleCount: 1}
		}, "days[0].cause.sale_count"},
		{"partial overwrite", func(r *posimportv1.WriteDaysRequest) { r.Days[1].Partial, r.OverwriteApproved = true, true }, "days[1].partial"},
		{"long creator", func(r *posimportv1.WriteDaysRequest) { r.ImportCreatedBy = strings.Repeat("u", 201) }, "import_created_by"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := pgtest.Snapshot(t, b.pool, balanceservice.Schema)
			req := writeDaysReq(t, "d1", "11", date, 2, 1)
			tc.mod(req)
			_, err := b.balance.WriteDays(ctx, req)
			if status.Code(err) != codes.InvalidArgument || apierr.FieldOf(err) != tc.wantField {
				t.Errorf("got %v (field %q), want InvalidArgument naming %s", err, apierr.FieldOf(err), tc.wantField)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
				t.Errorf("refused write changed the database (-before +after):\n%s", diff)
			}
		})
	}
	partial := writeReq("d1", "11", date, copenhagen, dayValues(t, date, copenhagen, 1))
	partial.Partial, partial.OverwriteApproved = true, true
	before := pgtest.Snapshot(t, b.pool, balanceservice.Schema)
	if _, err := b.balance.WriteDay(ctx, partial); status.Code(err) != codes.InvalidArgument || apierr.FieldOf(err) != "partial" {
		t.Errorf("partial overwrite: %v", err)
	}
	if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
		t.Errorf("refused write changed the database (-before +after):\n%s", diff)
	}
}

// TestCorrectionOfDayNeverImported: a day approved before any import (a closed shop, say) that
// an import then finds sales for gets a correction whose "before" is "no value"; the day view
// shows it on its register, which has no values yet; applying it writes the values.
func TestCorrectionOfDayNeverImported(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "d1", registers: []string{"11"}})
	date := mustDate(t, "2026-11-10")
	sup := b.keys.Token(t, authn.RoleSupervisor, "c1")
	if r := b.svc.Do(t, "POST", "/v1/clients/c1/departments/d1/days:approve", sup, map[string]any{"from_date": date.String(), "until_date": date.String()}); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	values := dayValues(t, date, copenhagen, 1)
	w := b.mustWrite(t, writeReq("d1", "11", date, copenhagen, values), posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING)
	day := b.day(t, b.keys.Token(t, authn.RoleViewer, "c1"), "c1", "d1", date)
	if regs := day.GetRegisters(); len(regs) != 1 || regs[0].GetRegisterId() != "11" || regs[0].GetCorrectionId() != w.GetCorrectionId() ||
		len(regs[0].GetFields()) != 0 || day.GetDay().GetRegistersImported() != 0 {
		t.Errorf("day view: %v", day)
	}
	for _, ch := range b.correction(t, "c1", w.GetCorrectionId()).GetChanges() {
		if ch.GetBefore() != "" || ch.GetAfter() == "" {
			t.Errorf("change of a day never imported: %v", ch)
		}
	}
	if r := b.svc.Do(t, "POST", "/v1/clients/c1/corrections/"+w.GetCorrectionId()+":apply", sup, map[string]any{}); r.Status != 200 {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	day = b.day(t, sup, "c1", "d1", date)
	if diff := cmp.Diff(values, registerValues(day.GetRegisters()[0]), protocmp.Transform()); diff != "" || day.GetDay().GetRegistersImported() != 1 {
		t.Errorf("after apply, %d registers imported (-want +got):\n%s", day.GetDay().GetRegistersImported(), diff)
	}
}
