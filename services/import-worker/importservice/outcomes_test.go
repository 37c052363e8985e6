package importservice_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// TestUnmappedTypesAndMetrics: a client without fields for returns and returned goods gets
// its import done with those types reported as unmapped (not silently dropped), and the
// worker's /metrics shows the jobs, the POS requests per account, the departments' freshness
// (also from a worker started afterwards) and no open job.
func TestUnmappedTypesAndMetrics(t *testing.T) {
	t.Parallel()
	days := 3
	e := pipelinetest.Start(t, pipelinetest.Options{ShopsPerAccount: 1, RegistersPerShop: 2, SalesPerDay: 5, Days: days + 2,
		Zones: oracleZones, Seed: 9, WorkerConfig: func(c *importservice.Config) { c.API = true }})
	deps, from, until := connectClient(t, e, days)
	sup := e.Keys.Token(t, authn.RoleSupervisor, "c1")
	for _, f := range []string{"5004", "5007"} {
		if r := e.Config.Do(t, "DELETE", "/v1/clients/c1/fields/"+f, sup, nil); r.Status != http.StatusOK {
			t.Fatalf("delete field %s: %d %s", f, r.Status, r.Body)
		}
	}
	imp := e.WaitImport(t, "c1", e.StartImport(t, "c1", deps, from, until, false), 2*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	want := []posimportv1.PosDataType{posimportv1.PosDataType_POS_DATA_TYPE_RETURNS, posimportv1.PosDataType_POS_DATA_TYPE_GOODS_RETURNED}
	if diff := cmp.Diff(want, imp.GetProgress().GetUnmappedTypes()); diff != "" {
		t.Errorf("unmapped types (-want +got):\n%s", diff)
	}
	body := scrape(t, e.Imports[0])
	for _, line := range []string{
		`posimport_import_jobs_total{outcome="done"} 2`,
		`posimport_import_pos_requests_total{account="lightspeed_retail:` + strconv.FormatInt(e.AccountID(0), 10) + `",status="200"}`,
		"\nposimport_import_oldest_pending_job_age_seconds 0\n",
	} {
		if !strings.Contains(body, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	if strings.Contains(body, "\nposimport_import_schedule_last_run_timestamp_seconds ") {
		t.Error("/metrics has a nightly run's time, and none ran")
	}
	freshness := `posimport_import_department_last_imported_date_seconds{client_id="c1",department_id="d1"}`
	wantFresh := float64(time.Date(until.Year, until.Month, until.Day, 0, 0, 0, 0, time.UTC).Unix())
	if fresh := metricValue(t, body, freshness); fresh != wantFresh {
		t.Errorf("freshness = %v, want %v (%s)", fresh, wantFresh, until)
	}

	// A worker started now (as after a restart) reports the freshness from Postgres before
	// it imports anything.
	restarted := e.StartImportWorker(t, "restarted", nil)
	deadline := time.Now().Add(30 * time.Second)
	for body = scrape(t, restarted); !strings.Contains(body, freshness); body = scrape(t, restarted) {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted worker reports no freshness:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
	if fresh := metricValue(t, body, freshness); fresh != wantFresh {
		t.Errorf("restarted worker's freshness = %v, want %v (%s)", fresh, wantFresh, until)
	}
}

// scrape returns a server's /metrics text.
func scrape(t testing.TB, r *servicetest.Running) string {
	t.Helper()
	resp, err := http.Get(r.HTTPBase + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// metricValue reads one sample's value from Prometheus text.
func metricValue(t *testing.T, text, series string) float64 {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("/metrics lacks %s", series)
	return 0
}

// TestDisconnectedClientFailsJobsWithReason: jobs of a client whose connection was revoked
// after the import was queued end FAILED with a reason a person can act on, once, without
// retrying in a loop.
func TestDisconnectedClientFailsJobsWithReason(t *testing.T) {
	t.Parallel()
	e := pipelinetest.Start(t, pipelinetest.Options{ShopsPerAccount: 1, RegistersPerShop: 2, SalesPerDay: 5, Days: 4,
		Zones: oracleZones, Seed: 10, NoWorker: true})
	e.Imports = append(e.Imports, e.StartImportWorker(t, "api", func(c *importservice.Config) { c.API, c.Worker = true, false }))
	deps, from, until := connectClient(t, e, 2)
	id := e.StartImport(t, "c1", deps, from, until, false)
	if r := e.Auth.Do(t, "POST", "/v1/clients/c1/connection:disconnect", e.Keys.Token(t, authn.RoleSupervisor, "c1"), map[string]any{}); r.Status != http.StatusOK {
		t.Fatalf("disconnect: %d %s", r.Status, r.Body)
	}
	e.StartImportWorker(t, "w1", nil)
	imp := e.WaitImport(t, "c1", id, time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_FAILED || imp.GetProgress().GetJobsFailed() != 2 {
		t.Fatalf("import = %s %v", imp.GetState(), imp.GetProgress())
	}
	for _, e := range imp.GetErrors() {
		if !e.GetPermanent() || !strings.Contains(e.GetMessage(), "re-authorize") || e.GetRegisterId() == "" || e.GetFromDate() != from.String() {
			t.Errorf("error = %v, want a permanent one naming the register, the dates and re-authorization", e)
		}
	}
	if len(imp.GetErrors()) != 2 {
		t.Errorf("%d errors recorded, want one per job", len(imp.GetErrors()))
	}
}

// TestDepartmentWithoutRegisters: a department without register ids is imported as one unit
// (register ""), one job per chunk, and equals the oracle over all its shop's registers.
func TestDepartmentWithoutRegisters(t *testing.T) {
	t.Parallel()
	days := 40
	e := pipelinetest.Start(t, pipelinetest.Options{ShopsPerAccount: 1, RegistersPerShop: 3, SalesPerDay: 5, Days: days + 2,
		Zones: oracleZones, Seed: 11})
	deps := e.Departments(0, true)
	e.Configure(t, "c1", deps)
	e.Connect(t, "c1", e.AccountID(0), true)
	until := yesterday().AddDays(-1)
	from := until.AddDays(-(days - 1))
	imp := e.WaitImport(t, "c1", e.StartImport(t, "c1", deps, from, until, false), 2*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED || imp.GetProgress().GetJobsPlanned() != 2 {
		t.Fatalf("import = %s %v %v", imp.GetState(), imp.GetProgress(), firstErrors(imp, 3))
	}
	// The oracle's register 0 is the whole account, which has this one shop.
	if diffs := e.Mismatches(t, "c1", 0, deps, from, until, 10); len(diffs) > 0 {
		t.Errorf("balance differs from the oracle:\n%v", diffs)
	}
}

// TestCancelStopsRunningJobs cancels an import while its first job runs: pending jobs are
// cancelled at once, the running one stops between days, and nothing is left open.
func TestCancelStopsRunningJobs(t *testing.T) {
	t.Parallel()
	days := 93
	e := pipelinetest.Start(t, pipelinetest.Options{ShopsPerAccount: 2, RegistersPerShop: 2, SalesPerDay: 5, Days: days + 2,
		Zones: oracleZones, Seed: 12, WorkerConfig: func(c *importservice.Config) { c.API, c.WorkerSlots = true, 1 }})
	deps, from, until := connectClient(t, e, days)
	id := e.StartImport(t, "c1", deps, from, until, false)
	waitRunning(t, e, id)
	if r := e.Imports[0].Do(t, "POST", "/v1/clients/c1/imports/"+id+":cancel", e.Keys.Token(t, authn.RoleSupervisor, "c1"), map[string]any{}); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	imp := e.WaitImport(t, "c1", id, time.Minute)
	p := imp.GetProgress()
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_CANCELLED || p.GetJobsPending()+p.GetJobsRunning() != 0 ||
		p.GetJobsDone() > 1 || p.GetJobsCancelled() < p.GetJobsPlanned()-1 {
		t.Errorf("after cancel: %s %v", imp.GetState(), p)
	}
}
