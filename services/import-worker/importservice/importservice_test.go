package importservice_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

func TestPolicyCoversEveryRPC(t *testing.T) {
	t.Parallel()
	if missing := importservice.Policy.Missing(posimportv1.ImportService_ServiceDesc); len(missing) > 0 {
		t.Errorf("RPCs without a rule: %v", missing)
	}
}

// apiOnly starts the pipeline with an import-worker serving the API only, so whatever is
// queued stays in the stream for the test to see.
func apiOnly(t *testing.T) *pipelinetest.Env {
	t.Helper()
	return pipelinetest.Start(t, pipelinetest.Options{
		ShopsPerAccount: 2, RegistersPerShop: 2, Days: 3,
		WorkerConfig: func(c *importservice.Config) { c.Worker = false },
		// the first import-worker serves the API: see Start
	})
}

// streamMessages counts the messages in the pipeline's job stream.
func streamMessages(t *testing.T, e *pipelinetest.Env) uint64 {
	t.Helper()
	n, err := jobqueue.New(e.NATS.JS, jobqueue.Config{Prefix: e.Prefix}).Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStartImportRefusals checks every refusal of StartImport: the status, the field named for
// bad input, and that nothing was written to Postgres or queued in JetStream.
func TestStartImportRefusals(t *testing.T) {
	t.Parallel()
	e := apiOnly(t)
	deps := e.Departments(0, false)
	e.Configure(t, "c1", deps)
	sup := e.Keys.Token(t, authn.RoleSupervisor, "c1")
	if r := e.Config.Do(t, "PUT", "/v1/clients/c1/departments/unmapped", sup, map[string]any{"name": "Not mapped"}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	e.Connect(t, "c1", e.AccountID(0), true)
	e.Configure(t, "c2", deps[:1]) // connected, not enabled
	e.Connect(t, "c2", e.AccountID(0), false)
	e.Configure(t, "c4", deps[:1]) // never connected
	e.Configure(t, "c3", deps[:1]) // connected and enabled, then POS import switched off
	e.Connect(t, "c3", e.AccountID(0), true)
	if r := e.Config.Do(t, "PUT", "/v1/clients/c3/settings", e.Keys.Token(t, authn.RoleSupervisor, "c3"),
		map[string]any{"multi_cash_registers": true, "pos_import_enabled": false, "pos_provider": "POS_PROVIDER_LIGHTSPEED_RETAIL"}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	e.Configure(t, "c5", deps[:1]) // connected to Retail, then configured for Restaurant
	e.Connect(t, "c5", e.AccountID(0), true)
	if r := e.Config.Do(t, "PUT", "/v1/clients/c5/settings", e.Keys.Token(t, authn.RoleSupervisor, "c5"),
		map[string]any{"multi_cash_registers": true, "pos_import_enabled": true, "pos_provider": "POS_PROVIDER_LIGHTSPEED_RESTAURANT"}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}

	today := civil.Today(time.Now(), mustZone(t, "Europe/Copenhagen"))
	ok := map[string]any{"department_ids": []string{"d1"}, "from_date": today.AddDays(-3).String(), "until_date": today.AddDays(-1).String()}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name       string
		client     string
		token      string
		body       any
		wantStatus int
		wantField  string
		wantText   string
	}{
		{name: "no token", client: "c1", body: ok, wantStatus: 401},
		{name: "viewer", client: "c1", token: e.Keys.Token(t, authn.RoleViewer, "c1"), body: ok, wantStatus: 403},
		{name: "integration contact", client: "c1", token: e.Keys.Token(t, authn.RoleIntegrationContact, "c1"), body: ok, wantStatus: 403},
		{name: "supervisor of another client", client: "c1", token: e.Keys.Token(t, authn.RoleSupervisor, "c9"), body: ok, wantStatus: 403},
		{name: "no departments", client: "c1", body: with("department_ids", []string{}), wantStatus: 400, wantField: "department_ids"},
		{name: "bad department id", client: "c1", body: with("department_ids", []string{"d 1"}), wantStatus: 400, wantField: "department_ids[0]"},
		{name: "department twice", client: "c1", body: with("department_ids", []string{"d1", "d1"}), wantStatus: 400, wantField: "department_ids[1]"},
		{name: "from missing", client: "c1", body: with("from_date", ""), wantStatus: 400, wantField: "from_date"},
		{name: "from malformed", client: "c1", body: with("from_date", "2026-13-01"), wantStatus: 400, wantField: "from_date"},
		{name: "until before from", client: "c1", body: with("until_date", today.AddDays(-4).String()), wantStatus: 400, wantField: "until_date"},
		{name: "more than three years", client: "c1", body: with("from_date", today.AddDays(-3*366).String()), wantStatus: 400, wantField: "until_date"},
		{name: "until in the future", client: "c1", body: with("until_date", today.AddDays(1).String()), wantStatus: 400, wantField: "until_date",
			wantText: "after today"},
		{name: "unknown department", client: "c1", body: with("department_ids", []string{"d1", "nope"}), wantStatus: 400, wantField: "department_ids[1]"},
		{name: "department not mapped", client: "c1", body: with("department_ids", []string{"unmapped"}), wantStatus: 400, wantField: "department_ids[0]",
			wantText: "not mapped"},
		{name: "integration not enabled", client: "c2", body: ok, wantStatus: 400, wantText: "not enabled"},
		{name: "never connected", client: "c4", body: ok, wantStatus: 400, wantText: "not connected"},
		{name: "POS import off", client: "c3", body: ok, wantStatus: 400, wantText: "POS import is not enabled"},
		{name: "provider switched without reconnect", client: "c5", body: ok, wantStatus: 400, wantText: "reconnect to switch provider"},
		{name: "malformed json", client: "c1", body: `{"department_ids": [`, wantStatus: 400, wantField: "body", wantText: "ends before"},
		{name: "empty body", client: "c1", body: "", wantStatus: 400, wantField: "body", wantText: "required"},
		{name: "from in year 0001", client: "c1", body: with("from_date", "0001-01-01"), wantStatus: 400, wantField: "from_date"},
		{name: "date of the wrong type", client: "c1", body: with("from_date", 20260101), wantStatus: 400, wantField: "from_date"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := pgtestSnapshot(t, e)
			token := tc.token
			if token == "" && tc.name != "no token" {
				token = e.Keys.Token(t, authn.RoleSupervisor, tc.client)
			}
			r := e.Imports[0].Do(t, "POST", "/v1/clients/"+tc.client+"/imports", token, tc.body)
			if r.Status != tc.wantStatus {
				t.Errorf("status = %d, want %d: %s", r.Status, tc.wantStatus, r.Body)
			}
			if r.Field() != tc.wantField {
				t.Errorf("field = %q, want %q: %s", r.Field(), tc.wantField, r.Body)
			}
			if !strings.Contains(r.Message(), tc.wantText) {
				t.Errorf("message %q does not say %q", r.Message(), tc.wantText)
			}
			if diff := cmp.Diff(before, pgtestSnapshot(t, e)); diff != "" {
				t.Errorf("refused request changed the database (-before +after):\n%s", diff)
			}
			if n := streamMessages(t, e); n != 0 {
				t.Errorf("refused request queued %d messages", n)
			}
		})
	}
}

func pgtestSnapshot(t *testing.T, e *pipelinetest.Env) string {
	t.Helper()
	return pgtest.Snapshot(t, e.Pool, importservice.Schema)
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestImportLifecycleAPI starts, reads, lists, watches and cancels an import over gRPC and REST
// with no worker running: the jobs are planned per register and chunk, queued one message per
// job of the client's window (the rest wait in Postgres), and cancelling ends them all.
func TestImportLifecycleAPI(t *testing.T) {
	t.Parallel()
	e := apiOnly(t)
	deps := e.Departments(0, false)
	e.Configure(t, "c1", deps)
	e.Connect(t, "c1", e.AccountID(0), true)
	ic := e.ImportClient(t, "c1")
	ctx := context.Background()
	until := civil.Today(time.Now(), mustZone(t, "Europe/Copenhagen")).AddDays(-1)
	from := until.AddDays(-39) // 40 days: two chunks per register
	resp, err := ic.StartImport(ctx, &posimportv1.StartImportRequest{ClientId: "c1", DepartmentIds: []string{"d1", "d2"},
		FromDate: from.String(), UntilDate: until.String(), OverwriteApproved: true})
	if err != nil {
		t.Fatal(err)
	}
	imp := resp.GetImport()
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_QUEUED || imp.GetProgress().GetJobsPlanned() != 2*2*2 ||
		imp.GetCreatedBy() != "user-supervisor" || !imp.GetOverwriteApproved() || imp.GetTrigger() != posimportv1.ImportTrigger_IMPORT_TRIGGER_MANUAL {
		t.Errorf("started import = %v", imp)
	}
	// One message per job of the client's window (JOB_MAX_RUNNING_PER_CLIENT, 4 here); the
	// other jobs wait in Postgres until one of the client's ends.
	var waiting int
	if err := e.Pool.QueryRow(ctx, "SELECT count(*) FROM jobs WHERE import_id = $1 AND published_at IS NULL", imp.GetImportId()).Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	if n := streamMessages(t, e); n != 4 || waiting != 4 {
		t.Errorf("%d messages queued and %d jobs waiting, want one message per job of the window (4) and the other 4 waiting", n, waiting)
	}
	// REST reads.
	sup := e.Keys.Token(t, authn.RoleSupervisor, "c1")
	if r := e.Imports[0].Do(t, "GET", "/v1/clients/c1/imports/"+imp.GetImportId(), sup, nil); r.Status != http.StatusOK ||
		!strings.Contains(string(r.Body), `"state":"IMPORT_STATE_QUEUED"`) {
		t.Errorf("REST get: %d %s", r.Status, r.Body)
	}
	if r := e.Imports[0].Do(t, "GET", "/v1/clients/c2/imports/"+imp.GetImportId(), e.Keys.Token(t, authn.RoleSupervisor, "c2"), nil); r.Status != http.StatusNotFound {
		t.Errorf("another client's import: %d %s", r.Status, r.Body)
	}
	// Viewers follow the client's imports (its data) and change nothing.
	viewer := e.Keys.Token(t, authn.RoleViewer, "c1")
	for _, path := range []string{"/v1/clients/c1/imports/" + imp.GetImportId(), "/v1/clients/c1/imports"} {
		if r := e.Imports[0].Do(t, "GET", path, viewer, nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), imp.GetImportId()) {
			t.Errorf("viewer GET %s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := e.Imports[0].Do(t, "POST", "/v1/clients/c1/imports/"+imp.GetImportId()+":cancel", viewer, map[string]any{}); r.Status != http.StatusForbidden {
		t.Errorf("viewer cancels: %d %s", r.Status, r.Body)
	}
	second, err := ic.StartImport(ctx, &posimportv1.StartImportRequest{ClientId: "c1", DepartmentIds: []string{"d1"},
		FromDate: until.String(), UntilDate: until.String()})
	if err != nil {
		t.Fatal(err)
	}
	page1, err := ic.ListImports(ctx, &posimportv1.ListImportsRequest{ClientId: "c1", PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	page2, err := ic.ListImports(ctx, &posimportv1.ListImportsRequest{ClientId: "c1", PageSize: 1, PageToken: page1.GetNextPageToken()})
	if err != nil {
		t.Fatal(err)
	}
	if len(page1.GetImports()) != 1 || page1.GetImports()[0].GetImportId() != second.GetImport().GetImportId() ||
		len(page2.GetImports()) != 1 || page2.GetImports()[0].GetImportId() != imp.GetImportId() || page2.GetNextPageToken() != "" {
		t.Errorf("list pages: %v / %v", page1, page2)
	}

	watch, err := ic.WatchImport(ctx, &posimportv1.WatchImportRequest{ClientId: "c1", ImportId: imp.GetImportId()})
	if err != nil {
		t.Fatal(err)
	}
	first, err := watch.Recv()
	if err != nil || first.GetImport().GetState() != posimportv1.ImportState_IMPORT_STATE_QUEUED {
		t.Fatalf("first watch message: %v %v", first, err)
	}
	if r := e.Imports[0].Do(t, "POST", "/v1/clients/c1/imports/"+imp.GetImportId()+":cancel", sup, map[string]any{}); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	var last *posimportv1.Import
	for {
		m, err := watch.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = m.GetImport()
	}
	if last.GetState() != posimportv1.ImportState_IMPORT_STATE_CANCELLED || last.GetProgress().GetJobsCancelled() != 8 ||
		last.GetCancelTime() == nil || last.GetFinishTime() == nil {
		t.Errorf("after cancel the watch ended with %v", last)
	}
}
