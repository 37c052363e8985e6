package balanceservice_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// TestApprovalRace runs 200 rounds of a WriteDay and an ApproveDays on the same day at once, in
// random order. Each round the import either wins (WRITTEN, and the approved day holds its
// values) or loses (CORRECTION_PENDING: the day keeps the values it had and its pending
// correction holds the import's); never is a day approved whose values changed after its
// approval. The next round's write after reopening withdraws a pending correction.
func TestApprovalRace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", false, "05:00", department{id: "d1", registers: []string{"11"}})
	ctx := context.Background()
	supervisor := posimportv1.NewBalanceServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, b.keys.Token(t, authn.RoleSupervisor, "c1")))
	date := mustDate(t, "2026-11-10")
	span := &posimportv1.ReopenDaysRequest{ClientId: "c1", DepartmentId: "d1", FromDate: date.String(), UntilDate: date.String()}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)

	outcomes := map[posimportv1.WriteOutcome]int{}
	for round := range 200 {
		if _, err := supervisor.ReopenDays(ctx, span); err != nil {
			t.Fatal(err)
		}
		old := writeReq("d1", "11", date, copenhagen, dayValues(t, date, copenhagen, 2*round))
		old.JobId, old.FencingToken = "job-old", int64(round+1)
		b.mustWrite(t, old, posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)

		imp := writeReq("d1", "11", date, copenhagen, dayValues(t, date, copenhagen, 2*round+1))
		imp.JobId, imp.FencingToken = "job-new", int64(round+1)
		var (
			wg       sync.WaitGroup
			start    = make(chan struct{})
			wrote    *posimportv1.WriteDayResponse
			writeErr error
			approveN int32
			appErr   error
		)
		write := func() { defer wg.Done(); <-start; wrote, writeErr = b.balance.WriteDay(ctx, imp) }
		approve := func() {
			defer wg.Done()
			<-start
			var r *posimportv1.ApproveDaysResponse
			r, appErr = supervisor.ApproveDays(ctx, &posimportv1.ApproveDaysRequest{
				ClientId: "c1", DepartmentId: "d1", FromDate: date.String(), UntilDate: date.String(),
			})
			approveN = r.GetApproved()
		}
		wg.Add(2)
		if rng.IntN(2) == 0 {
			go write()
			go approve()
		} else {
			go approve()
			go write()
		}
		close(start)
		wg.Wait()
		if writeErr != nil || appErr != nil || approveN != 1 {
			t.Fatalf("round %d: write %v, approve %d %v", round, writeErr, approveN, appErr)
		}
		outcomes[wrote.GetOutcome()]++

		var version, approvedVersion int64
		if err := b.pool.QueryRow(ctx, `SELECT version, approved_version FROM day_status
			WHERE client_id = 'c1' AND department_id = 'd1' AND business_date = $1`, date.String()).Scan(&version, &approvedVersion); err != nil {
			t.Fatal(err)
		}
		if version != approvedVersion {
			t.Fatalf("round %d: the day's values changed after its approval (version %d, approved at %d)", round, version, approvedVersion)
		}
		want := old.GetFields()
		switch wrote.GetOutcome() {
		case posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN:
			want = imp.GetFields()
		case posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING:
			if wrote.GetCorrectionId() == "" {
				t.Fatalf("round %d: a pending correction without its id", round)
			}
		default:
			t.Fatalf("round %d: outcome %v", round, wrote.GetOutcome())
		}
		day, err := supervisor.GetDay(ctx, &posimportv1.GetDayRequest{ClientId: "c1", DepartmentId: "d1", Date: date.String()})
		if err != nil {
			t.Fatal(err)
		}
		if day.GetDay().GetStatus() != posimportv1.DayStatus_DAY_STATUS_APPROVED {
			t.Fatalf("round %d: day is %v", round, day.GetDay().GetStatus())
		}
		if pending := wrote.GetOutcome() == posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING; (day.GetDay().GetCorrectionsPending() == 1) != pending ||
			day.GetRegisters()[0].GetCorrectionId() != wrote.GetCorrectionId() {
			t.Fatalf("round %d (%v): %d corrections pending, register's %q, want %q", round, wrote.GetOutcome(),
				day.GetDay().GetCorrectionsPending(), day.GetRegisters()[0].GetCorrectionId(), wrote.GetCorrectionId())
		}
		var got []*posimportv1.FieldValues
		for _, f := range day.GetRegisters()[0].GetFields() {
			got = append(got, &posimportv1.FieldValues{FieldId: f.GetFieldId(), Hours: f.GetHours(), Total: f.GetTotal()})
		}
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Fatalf("round %d (%v): approved values (-want +got):\n%s", round, wrote.GetOutcome(), diff)
		}
	}
	t.Logf("outcomes over 200 rounds: %v", outcomes)
}
