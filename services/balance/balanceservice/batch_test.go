package balanceservice_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/balanceservice"
)

// batchDepartments are five departments of two registers each: d1 has 11 and 12, d2 21 and
// 22, and so on.
func batchDepartments() []department {
	var out []department
	for d := 1; d <= 5; d++ {
		out = append(out, department{id: fmt.Sprintf("d%d", d), registers: []string{fmt.Sprintf("%d1", d), fmt.Sprintf("%d2", d)}})
	}
	return out
}

// jobWrite is a WriteDays request of client for job "job-<register>" with the given attempt:
// n days from from, the values varied by seed.
func jobWrite(t testing.TB, client, dept, register string, from civil.Date, n, seed int, token int64) *posimportv1.WriteDaysRequest {
	t.Helper()
	r := writeDaysReq(t, dept, register, from, n, seed)
	r.ClientId, r.JobId, r.FencingToken = client, "job-"+register, token
	return r
}

// clientRows dumps every row of a client's balance, without the client id and what differs
// between two identical histories (update times, generated ids and sequence numbers).
func clientRows(t testing.TB, b *testBundle, client string) string {
	t.Helper()
	var out strings.Builder
	for _, table := range []string{"day_status", "register_days", "register_values", "day_values", "job_fences", "corrections",
		"audit_records", "department_freshness"} {
		rows, err := b.pool.Query(context.Background(), `SELECT (to_jsonb(t) - '{client_id,update_time,correction_id,audit_id,seq}'::text[])::text
			FROM `+table+` t WHERE client_id = $1 ORDER BY 1`, client)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out.WriteString(table + " " + s + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out.String()
}

// asClient is a copy of the writes for another client.
func asClient(writes []*posimportv1.WriteDaysRequest, client string) []*posimportv1.WriteDaysRequest {
	out := make([]*posimportv1.WriteDaysRequest, len(writes))
	for i, w := range writes {
		out[i] = proto.CloneOf(w)
		out[i].ClientId = client
	}
	return out
}

// batchAndSeparately writes the writes as one WriteDaysBatch for c1 and as separate WriteDays
// calls for c2 (configured alike), and checks that the answers and the stored rows are equal.
func (b *testBundle) batchAndSeparately(t *testing.T, writes []*posimportv1.WriteDaysRequest) *posimportv1.WriteDaysBatchResponse {
	t.Helper()
	ctx := context.Background()
	batch, err := b.balance.WriteDaysBatch(ctx, &posimportv1.WriteDaysBatchRequest{Writes: asClient(writes, "c1")})
	if err != nil {
		t.Fatalf("WriteDaysBatch: %v", err)
	}
	if len(batch.GetWrites()) != len(writes) {
		t.Fatalf("WriteDaysBatch answered %d writes for %d", len(batch.GetWrites()), len(writes))
	}
	for i, w := range asClient(writes, "c2") {
		one, err := b.balance.WriteDays(ctx, w)
		if err != nil {
			t.Fatalf("WriteDays %d: %v", i, err)
		}
		if diff := cmp.Diff(one, batch.GetWrites()[i], protocmp.Transform(),
			protocmp.IgnoreFields(&posimportv1.WriteDayResponse{}, "correction_id")); diff != "" {
			t.Errorf("writes[%d] (-WriteDays +WriteDaysBatch):\n%s", i, diff)
		}
		for k, d := range one.GetDays() {
			if (d.GetCorrectionId() == "") != (batch.GetWrites()[i].GetDays()[k].GetCorrectionId() == "") {
				t.Errorf("writes[%d].days[%d]: correction id %q separately, %q in the batch", i, k, d.GetCorrectionId(),
					batch.GetWrites()[i].GetDays()[k].GetCorrectionId())
			}
		}
	}
	if diff := cmp.Diff(clientRows(t, b, "c2"), clientRows(t, b, "c1")); diff != "" {
		t.Errorf("stored rows (-WriteDays +WriteDaysBatch):\n%s", diff)
	}
	return batch
}

func batchOutcomes(resp *posimportv1.WriteDaysBatchResponse) [][]posimportv1.WriteOutcome {
	var out [][]posimportv1.WriteOutcome
	for _, w := range resp.GetWrites() {
		out = append(out, outcomes(w))
	}
	return out
}

// TestWriteDaysBatchAsWriteDays: a batch answers and stores exactly what the same writes do
// one by one with WriteDays: new days, approved days (a correction created, replaced and
// withdrawn, values equal to the approved ones skipped, an overwrite recorded in the audit),
// unchanged days and a partial day.
func TestWriteDaysBatchAsWriteDays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []string{"c1", "c2"} {
		b.configure(t, c, false, "05:00", batchDepartments()...)
	}
	ctx := context.Background()
	from := mustDate(t, "2026-11-28")
	var first []*posimportv1.WriteDaysRequest
	for d, dept := range batchDepartments() {
		for r, reg := range dept.registers {
			first = append(first, jobWrite(t, "", dept.id, reg, from, 2, 10*d+r, 1))
		}
	}
	resp := b.batchAndSeparately(t, first)
	for i, w := range resp.GetWrites() {
		for k, d := range w.GetDays() {
			if d.GetOutcome() != posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN || d.GetVersion() != 1 {
				t.Errorf("first batch writes[%d].days[%d]: %v", i, k, d)
			}
		}
	}

	// d1 and d2 are approved.
	for _, c := range []string{"c1", "c2"} {
		sup := posimportv1.NewBalanceServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, b.keys.Token(t, authn.RoleSupervisor, c)))
		for _, dept := range []string{"d1", "d2"} {
			if _, err := sup.ApproveDays(ctx, &posimportv1.ApproveDaysRequest{ClientId: c, DepartmentId: dept,
				FromDate: from.String(), UntilDate: from.AddDays(1).String()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	today := mustDate(t, "2026-12-01")
	second := []*posimportv1.WriteDaysRequest{
		jobWrite(t, "", "d1", "11", from, 2, 100, 2),              // approved, changed: corrections
		jobWrite(t, "", "d1", "12", from, 2, 1, 2),                // approved, the same values: skipped
		jobWrite(t, "", "d2", "21", from, 2, 101, 2),              // approved, overwritten: written, audited
		jobWrite(t, "", "d2", "22", from, 2, 11, 2),               // approved, the same values, overwrite: unchanged
		jobWrite(t, "", "d3", "31", from, 2, 102, 2),              // changed
		jobWrite(t, "", "d3", "32", from, 2, 21, 2),               // unchanged
		jobWrite(t, "", "d4", "41", today.AddDays(-1), 2, 103, 2), // new days, today partial
		jobWrite(t, "", "d5", "51", from, 2, 104, 2),
		jobWrite(t, "", "d5", "52", from, 2, 105, 2),
	}
	second[2].OverwriteApproved, second[3].OverwriteApproved = true, true
	second[6].Days[1].Partial = true
	second[0].Days[0].Cause = &posimportv1.WriteCause{Reason: "late sale", SaleIds: []string{"s-1"}, SaleCount: 1}
	resp = b.batchAndSeparately(t, second)
	written, unchanged := posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN, posimportv1.WriteOutcome_WRITE_OUTCOME_UNCHANGED
	skipped, pending := posimportv1.WriteOutcome_WRITE_OUTCOME_SKIPPED_APPROVED, posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING
	want := [][]posimportv1.WriteOutcome{
		{pending, pending}, {skipped, skipped}, {written, written}, {unchanged, unchanged}, {written, written},
		{unchanged, unchanged}, {written, written}, {written, written}, {written, written},
	}
	if diff := cmp.Diff(want, batchOutcomes(resp)); diff != "" {
		t.Errorf("second batch (-want +got):\n%s", diff)
	}
	if v := resp.GetWrites()[2].GetDays()[0].GetVersion(); v != 2 {
		t.Errorf("overwritten register-day's version %d, want 2", v)
	}
	if got := b.audit(t, "c1", "d2"); len(got) != 2 {
		t.Errorf("%d audit records of d2, want 2 (one per overwritten day)", len(got))
	}

	// Again: register 11's correction "after" replaced for one day, withdrawn for the other
	// (its values again equal the approved ones); register 12's day gets a correction.
	third := []*posimportv1.WriteDaysRequest{
		jobWrite(t, "", "d1", "11", from, 2, 100, 3),
		jobWrite(t, "", "d1", "12", from, 2, 200, 3),
	}
	third[0].Days[0].Fields = dayValues(t, from, copenhagen, 300)
	third[0].Days[1].Fields = dayValues(t, from.AddDays(1), copenhagen, 1)
	prev := resp
	resp = b.batchAndSeparately(t, third)
	if diff := cmp.Diff([][]posimportv1.WriteOutcome{{pending, skipped}, {pending, pending}}, batchOutcomes(resp)); diff != "" {
		t.Errorf("third batch (-want +got):\n%s", diff)
	}
	if got, was := resp.GetWrites()[0].GetDays()[0].GetCorrectionId(), prev.GetWrites()[0].GetDays()[0].GetCorrectionId(); got != was {
		t.Errorf("replaced correction %q, want the pending one %q", got, was)
	}
	if c := b.correction(t, "c1", prev.GetWrites()[0].GetDays()[1].GetCorrectionId()); c.GetState() != posimportv1.CorrectionState_CORRECTION_STATE_WITHDRAWN {
		t.Errorf("correction of the day written back to its approved values: %v, want withdrawn", c.GetState())
	}
}

// TestWriteDaysBatchRefusals: a batch with anything wrong in any write is refused whole,
// naming the write and its field, and changes nothing; only services may write.
func TestWriteDaysBatchRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", batchDepartments()...)
	b.configure(t, "c2", false, "05:00", batchDepartments()...)
	ctx := context.Background()
	from := mustDate(t, "2026-11-28")
	// Job job-31 has written with attempt 2.
	if _, err := b.balance.WriteDays(ctx, jobWrite(t, "c1", "d3", "31", from, 2, 1, 2)); err != nil {
		t.Fatal(err)
	}
	valid := func(mod func(ws []*posimportv1.WriteDaysRequest)) *posimportv1.WriteDaysBatchRequest {
		var ws []*posimportv1.WriteDaysRequest
		for d, dept := range batchDepartments() {
			for r, reg := range dept.registers {
				ws = append(ws, jobWrite(t, "c1", dept.id, reg, from, 2, 10*d+r+5, 2))
			}
		}
		mod(ws)
		return &posimportv1.WriteDaysBatchRequest{Writes: ws}
	}
	var many []*posimportv1.WriteDaysRequest
	for range 101 {
		many = append(many, jobWrite(t, "c1", "d1", "11", from, 1, 1, 1))
	}
	tests := []struct {
		name      string
		req       *posimportv1.WriteDaysBatchRequest
		wantCode  codes.Code
		wantField string
	}{
		{"no writes", &posimportv1.WriteDaysBatchRequest{}, codes.InvalidArgument, "writes"},
		{"101 writes", &posimportv1.WriteDaysBatchRequest{Writes: many}, codes.InvalidArgument, "writes"},
		{"another client", valid(func(ws []*posimportv1.WriteDaysRequest) { ws[2].ClientId = "c2" }), codes.InvalidArgument, "writes[2].client_id"},
		{"bad date in writes[3]", valid(func(ws []*posimportv1.WriteDaysRequest) { ws[3].Days[0].Date = "28-11-2026" }),
			codes.InvalidArgument, "writes[3].days[0].date"},
		{"bad hour in writes[3]", valid(func(ws []*posimportv1.WriteDaysRequest) { ws[3].Days[1].Fields[0].Hours[3] = "1e3" }),
			codes.InvalidArgument, "writes[3].days[1].fields[0].hours[3]"},
		{"days apart in writes[3]", valid(func(ws []*posimportv1.WriteDaysRequest) { ws[3].Days[1].Date = from.AddDays(2).String() }),
			codes.InvalidArgument, "writes[3].days[1].date"},
		{"no fencing token", valid(func(ws []*posimportv1.WriteDaysRequest) { ws[1].FencingToken = 0 }), codes.InvalidArgument, "writes[1].fencing_token"},
		{"a register of another department", valid(func(ws []*posimportv1.WriteDaysRequest) { ws[9].RegisterId = "11" }),
			codes.InvalidArgument, "writes[9].register_id"},
		{"no days", valid(func(ws []*posimportv1.WriteDaysRequest) { ws[4].Days = nil }), codes.InvalidArgument, "writes[4].days"},
		{"a register-day twice", valid(func(ws []*posimportv1.WriteDaysRequest) {
			ws[7] = jobWrite(t, "c1", "d1", "11", from.AddDays(1), 1, 9, 2)
		}), codes.InvalidArgument, "writes[7].days[0].date"},
		{"a job with two tokens", valid(func(ws []*posimportv1.WriteDaysRequest) { ws[5].JobId, ws[5].FencingToken = "job-11", 3 }),
			codes.InvalidArgument, "writes[5].fencing_token"},
		{"stale token in writes[4]", valid(func(ws []*posimportv1.WriteDaysRequest) { ws[4].FencingToken = 1 }), codes.Aborted, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := pgtest.Snapshot(t, b.pool, balanceservice.Schema)
			_, err := b.balance.WriteDaysBatch(ctx, tc.req)
			if status.Code(err) != tc.wantCode || apierr.FieldOf(err) != tc.wantField {
				t.Errorf("error %v (field %q), want %v naming %q", err, apierr.FieldOf(err), tc.wantCode, tc.wantField)
			}
			if tc.wantCode == codes.Aborted && apierr.ReasonOf(err) != apierr.ReasonStaleFencingToken {
				t.Errorf("stale batch: reason %q, want %s", apierr.ReasonOf(err), apierr.ReasonStaleFencingToken)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
				t.Errorf("refused batch changed the database (-before +after):\n%s", diff)
			}
		})
	}
	person := posimportv1.NewBalanceServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, b.keys.Token(t, authn.RoleSupervisor, "c1")))
	if _, err := person.WriteDaysBatch(ctx, valid(func([]*posimportv1.WriteDaysRequest) {})); status.Code(err) != codes.PermissionDenied {
		t.Errorf("person writes a batch: %v, want PermissionDenied", err)
	}
	// The valid batch itself is written.
	if _, err := b.balance.WriteDaysBatch(ctx, valid(func([]*posimportv1.WriteDaysRequest) {})); err != nil {
		t.Errorf("valid batch: %v", err)
	}
}

// TestWriteDaysBatchConcurrent: batches over the same departments in opposite orders, a single
// WriteDays and an approval of the same days, all at once, never deadlock: every call succeeds,
// round after round.
func TestWriteDaysBatchConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", batchDepartments()...)
	ctx := context.Background()
	from := mustDate(t, "2026-11-28")
	sup := posimportv1.NewBalanceServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, b.keys.Token(t, authn.RoleSupervisor, "c1")))
	for round := range 20 {
		var forward, backward []*posimportv1.WriteDaysRequest
		for d := 1; d <= 5; d++ {
			forward = append(forward, jobWrite(t, "c1", fmt.Sprintf("d%d", d), fmt.Sprintf("%d1", d), from, 2, round+d, int64(round+1)))
			backward = append(backward, jobWrite(t, "c1", fmt.Sprintf("d%d", 6-d), fmt.Sprintf("%d2", 6-d), from, 2, round+d+50, int64(round+1)))
		}
		calls := []func() error{
			func() error {
				_, err := b.balance.WriteDaysBatch(ctx, &posimportv1.WriteDaysBatchRequest{Writes: forward})
				return err
			},
			func() error {
				_, err := b.balance.WriteDaysBatch(ctx, &posimportv1.WriteDaysBatchRequest{Writes: backward})
				return err
			},
			func() error {
				w := jobWrite(t, "c1", "d3", "32", from, 2, round, int64(round+1))
				w.JobId = "job-single"
				_, err := b.balance.WriteDays(ctx, w)
				return err
			},
			func() error {
				_, err := sup.ApproveDays(ctx, &posimportv1.ApproveDaysRequest{ClientId: "c1", DepartmentId: "d2",
					FromDate: from.String(), UntilDate: from.AddDays(1).String()})
				return err
			},
		}
		errs := make([]error, len(calls))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, call := range calls {
			wg.Go(func() { <-start; errs[i] = call() })
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: call %d: %v", round, i, err)
			}
		}
		if _, err := sup.ReopenDays(ctx, &posimportv1.ReopenDaysRequest{ClientId: "c1", DepartmentId: "d2",
			FromDate: from.String(), UntilDate: from.AddDays(1).String()}); err != nil {
			t.Fatal(err)
		}
	}
}

// markReq is a MarkDaysImported request of client for a department's range.
func markReq(client, dept string, from, until civil.Date) *posimportv1.MarkDaysImportedRequest {
	return &posimportv1.MarkDaysImportedRequest{ClientId: client, DepartmentId: dept, FromDate: from.String(),
		UntilDate: until.String(), ImportId: "imp-" + dept, TimeZone: copenhagen}
}

// TestMarkDaysImportedBatch: a batch of marks answers and stores exactly what separate
// MarkDaysImported calls do (a partial day left unmarked, the freshness moved); a refused
// batch changes nothing.
func TestMarkDaysImportedBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	from, today := mustDate(t, "2026-11-28"), mustDate(t, "2026-12-01")
	for _, c := range []string{"c1", "c2"} {
		b.configure(t, c, false, "05:00", batchDepartments()...)
		ws := []*posimportv1.WriteDaysRequest{jobWrite(t, c, "d1", "11", from, 2, 1, 1), jobWrite(t, c, "d2", "21", from, 4, 2, 1)}
		ws[1].Days[3].Partial = true // today so far
		if _, err := b.balance.WriteDaysBatch(ctx, &posimportv1.WriteDaysBatchRequest{Writes: ws}); err != nil {
			t.Fatal(err)
		}
	}
	marks := func(client string) []*posimportv1.MarkDaysImportedRequest {
		return []*posimportv1.MarkDaysImportedRequest{
			markReq(client, "d2", from, today), markReq(client, "d1", from, from.AddDays(1)), markReq(client, "d4", from, today),
		}
	}
	batch, err := b.balance.MarkDaysImportedBatch(ctx, &posimportv1.MarkDaysImportedBatchRequest{Marks: marks("c1")})
	if err != nil {
		t.Fatal(err)
	}
	var separate []*posimportv1.MarkDaysImportedResponse
	for _, m := range marks("c2") {
		r, err := b.balance.MarkDaysImported(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		separate = append(separate, r)
	}
	if diff := cmp.Diff(separate, batch.GetMarks(), protocmp.Transform()); diff != "" {
		t.Errorf("marks (-MarkDaysImported +MarkDaysImportedBatch):\n%s", diff)
	}
	if m := batch.GetMarks()[0]; m.GetDays() != 3 || m.GetPartialDays() != 1 {
		t.Errorf("d2's mark: %d days, %d partial; want 3 and 1 (today so far)", m.GetDays(), m.GetPartialDays())
	}
	if diff := cmp.Diff(clientRows(t, b, "c2"), clientRows(t, b, "c1")); diff != "" {
		t.Errorf("stored rows (-MarkDaysImported +MarkDaysImportedBatch):\n%s", diff)
	}
	viewer := b.keys.Token(t, authn.RoleViewer, "c1")
	if f := b.week(t, viewer, "c1", "d2", "2026-W49").GetFreshness(); f.GetCompleteThrough() != "2026-11-30" {
		t.Errorf("d2 complete through %q, want 2026-11-30 (today is partial)", f.GetCompleteThrough())
	}

	valid := func(mod func(ms []*posimportv1.MarkDaysImportedRequest)) *posimportv1.MarkDaysImportedBatchRequest {
		ms := []*posimportv1.MarkDaysImportedRequest{markReq("c1", "d3", from, today), markReq("c1", "d5", from, today),
			markReq("c1", "d1", from, today)}
		mod(ms)
		return &posimportv1.MarkDaysImportedBatchRequest{Marks: ms}
	}
	var many []*posimportv1.MarkDaysImportedRequest
	for i := range 101 {
		many = append(many, markReq("c1", fmt.Sprintf("d%d", i), from, today))
	}
	tests := []struct {
		name      string
		req       *posimportv1.MarkDaysImportedBatchRequest
		wantCode  codes.Code
		wantField string
	}{
		{"no marks", &posimportv1.MarkDaysImportedBatchRequest{}, codes.InvalidArgument, "marks"},
		{"101 marks", &posimportv1.MarkDaysImportedBatchRequest{Marks: many}, codes.InvalidArgument, "marks"},
		{"another client", valid(func(ms []*posimportv1.MarkDaysImportedRequest) { ms[1].ClientId = "c2" }), codes.InvalidArgument, "marks[1].client_id"},
		{"until before from", valid(func(ms []*posimportv1.MarkDaysImportedRequest) { ms[2].UntilDate = from.AddDays(-1).String() }),
			codes.InvalidArgument, "marks[2].until_date"},
		{"the future", valid(func(ms []*posimportv1.MarkDaysImportedRequest) { ms[0].UntilDate = today.AddDays(1).String() }),
			codes.InvalidArgument, "marks[0].until_date"},
		{"wrong zone", valid(func(ms []*posimportv1.MarkDaysImportedRequest) { ms[1].TimeZone = "Europe/London" }),
			codes.InvalidArgument, "marks[1].time_zone"},
		{"no import", valid(func(ms []*posimportv1.MarkDaysImportedRequest) { ms[2].ImportId = "" }), codes.InvalidArgument, "marks[2].import_id"},
		{"a department twice", valid(func(ms []*posimportv1.MarkDaysImportedRequest) { ms[2].DepartmentId = "d3" }),
			codes.InvalidArgument, "marks[2].department_id"},
		{"an unknown department", valid(func(ms []*posimportv1.MarkDaysImportedRequest) { ms[1].DepartmentId = "d9" }), codes.NotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := pgtest.Snapshot(t, b.pool, balanceservice.Schema)
			_, err := b.balance.MarkDaysImportedBatch(ctx, tc.req)
			if status.Code(err) != tc.wantCode || apierr.FieldOf(err) != tc.wantField {
				t.Errorf("error %v (field %q), want %v naming %q", err, apierr.FieldOf(err), tc.wantCode, tc.wantField)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, balanceservice.Schema)); diff != "" {
				t.Errorf("refused batch changed the database (-before +after):\n%s", diff)
			}
		})
	}
}
