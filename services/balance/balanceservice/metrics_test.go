package balanceservice_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// TestMetrics: what the imports, the supervisors and auto-confirm do to the balance is counted
// under posimport_balance_* (register-days by write outcome, stale writes, days approved by a
// person or by auto-confirm, days reopened, auto-confirm's last good pass), and the reads'
// time in PostgreSQL is timed per read.
func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, "c1", true, "05:00", department{id: "d1", registers: []string{"11"}})
	ctx := context.Background()
	sat, sun := mustDate(t, "2026-11-28"), mustDate(t, "2026-11-29")
	values := dayValues(t, sat, copenhagen, 1)
	b.mustWrite(t, writeReq("d1", "11", sat, copenhagen, values), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)
	b.mustWrite(t, writeReq("d1", "11", sat, copenhagen, values), posimportv1.WriteOutcome_WRITE_OUTCOME_UNCHANGED)
	b.mustWrite(t, writeReq("d1", "11", sun, copenhagen, dayValues(t, sun, copenhagen, 2)), posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN)

	sup := b.keys.Token(t, authn.RoleSupervisor, "c1")
	for _, path := range []string{"days:approve", "days:reopen", "days:approve"} {
		if r := b.svc.Do(t, "POST", "/v1/clients/c1/departments/d1/"+path, sup, map[string]string{"from_date": sat.String(), "until_date": sat.String()}); r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	b.mustWrite(t, writeReq("d1", "11", sat, copenhagen, values), posimportv1.WriteOutcome_WRITE_OUTCOME_SKIPPED_APPROVED)
	pending := b.mustWrite(t, writeReq("d1", "11", sat, copenhagen, dayValues(t, sat, copenhagen, 3)), posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING)
	if _, err := posimportv1.NewBalanceServiceClient(servicetest.DialAs(t, b.svc.GRPCAddr, sup)).DismissCorrection(ctx,
		&posimportv1.DismissCorrectionRequest{ClientId: "c1", CorrectionId: pending.GetCorrectionId()}); err != nil {
		t.Fatal(err)
	}
	// The job's second attempt writes Sunday again; then the first attempt's write is stale.
	if _, err := b.balance.WriteDays(ctx, &posimportv1.WriteDaysRequest{ClientId: "c1", DepartmentId: "d1", RegisterId: "11", TimeZone: copenhagen,
		Days: []*posimportv1.DayValues{{Date: sun.String(), Fields: dayValues(t, sun, copenhagen, 2)}}, ImportId: "imp-1", JobId: "job-1", FencingToken: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.balance.WriteDay(ctx, writeReq("d1", "11", sun, copenhagen, values)); err == nil {
		t.Fatal("a stale write was accepted")
	}

	viewer := b.keys.Token(t, authn.RoleViewer, "c1")
	b.week(t, viewer, "c1", "d1", "2026-W48")
	b.day(t, viewer, "c1", "d1", sat)
	b.markImported(t, "c1", "d1", sun.String(), sun.String())
	confirmed := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC) // 06:00 in Copenhagen
	b.confirmDue(t, confirmed)

	want := map[string]float64{
		`posimport_balance_register_days_written_total{outcome="written"}`:            2,
		`posimport_balance_register_days_written_total{outcome="unchanged"}`:          2,
		`posimport_balance_register_days_written_total{outcome="skipped_approved"}`:   1,
		`posimport_balance_register_days_written_total{outcome="correction_pending"}`: 1,
		`posimport_balance_corrections_resolved_total{action="dismissed"}`:            1,
		`posimport_balance_stale_writes_total`:                                        1,
		`posimport_balance_days_approved_total{by="person"}`:                          2,
		`posimport_balance_days_approved_total{by="auto_confirm"}`:                    1,
		`posimport_balance_days_reopened_total`:                                       1,
		`posimport_balance_auto_confirm_errors_total`:                                 0,
		`posimport_balance_auto_confirm_last_success_timestamp_seconds`:               float64(confirmed.Unix()),
		`posimport_balance_read_duration_seconds{read="week"}`:                        1,
		`posimport_balance_read_duration_seconds{read="day"}`:                         1,
		// Sunday was marked imported at the clock's 2026-12-01 12:00 UTC; it ended at
		// Monday 00:00 in Copenhagen, 23:00 UTC.
		`posimport_balance_department_last_import_timestamp_seconds{client_id="c1"}{department_id="d1"}`:          float64(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).Unix()),
		`posimport_balance_department_complete_through_date_seconds{client_id="c1"}{department_id="d1"}`:          float64(time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC).Unix()),
		`posimport_balance_department_complete_through_end_timestamp_seconds{client_id="c1"}{department_id="d1"}`: float64(time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC).Unix()),
	}
	if diff := cmp.Diff(want, scrape(t, b.svc.Server.Registry(), "posimport_balance_")); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

// scrape returns the values of reg's series whose names start with prefix: a counter's or a
// gauge's value, a histogram's count of observations.
func scrape(t *testing.T, reg *prometheus.Registry, prefix string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if len(mf.GetName()) < len(prefix) || mf.GetName()[:len(prefix)] != prefix {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + `="` + l.GetValue() + `"}`
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
