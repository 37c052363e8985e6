package importservice_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// TestIdenticalImportsMerged: 50 identical StartImport calls (departments in either order)
// start one import; the 49 after the first return it and write and queue nothing. An import
// that differs in anything is its own, and once the first ended (here: cancelled) the same
// request starts a new one.
func TestIdenticalImportsMerged(t *testing.T) {
	t.Parallel()
	e := apiOnly(t)
	deps := e.Departments(0, false)
	e.Configure(t, "c1", deps)
	e.Connect(t, "c1", e.AccountID(0), true)
	ic := e.ImportClient(t, "c1")
	ctx := context.Background()
	until := civil.Today(time.Now(), mustZone(t, "Europe/Copenhagen")).AddDays(-1)
	from := until.AddDays(-6)
	req := func(departments ...string) *posimportv1.StartImportRequest {
		return &posimportv1.StartImportRequest{ClientId: "c1", DepartmentIds: departments, FromDate: from.String(), UntilDate: until.String()}
	}
	first, err := ic.StartImport(ctx, req("d1", "d2"))
	if err != nil {
		t.Fatal(err)
	}
	id := first.GetImport().GetImportId()
	before, queued := pgtestSnapshot(t, e), streamMessages(t, e)

	// Seven callers at once, seven calls each (more at once would only measure the shared
	// test PostgreSQL's connection limit).
	got := make([]string, 49)
	var wg sync.WaitGroup
	for c := range 7 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < len(got); i += 7 {
				r := req("d1", "d2")
				if i%2 == 1 {
					r = req("d2", "d1")
				}
				resp, err := ic.StartImport(ctx, r)
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = resp.GetImport().GetImportId()
			}
		}()
	}
	wg.Wait()
	if i := slices.IndexFunc(got, func(g string) bool { return g != id }); i >= 0 {
		t.Errorf("call %d returned import %s, want the running identical one %s", i+2, got[i], id)
	}
	if diff := cmp.Diff(before, pgtestSnapshot(t, e)); diff != "" {
		t.Errorf("merged calls changed the database (-before +after):\n%s", diff)
	}
	if n := streamMessages(t, e); n != queued {
		t.Errorf("merged calls queued messages: %d, before %d", n, queued)
	}

	// Not identical: another range, another set of departments, the overwrite flag.
	overwrite := req("d1", "d2")
	overwrite.OverwriteApproved = true
	shorter := req("d1", "d2")
	shorter.FromDate = from.AddDays(1).String()
	for name, r := range map[string]*posimportv1.StartImportRequest{"one department": req("d1"), "overwrite": overwrite, "shorter": shorter} {
		resp, err := ic.StartImport(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetImport().GetImportId() == id {
			t.Errorf("%s: merged into %s, want an import of its own", name, id)
		}
	}
	if _, err := ic.CancelImport(ctx, &posimportv1.CancelImportRequest{ClientId: "c1", ImportId: id}); err != nil {
		t.Fatal(err)
	}
	again, err := ic.StartImport(ctx, req("d1", "d2"))
	if err != nil {
		t.Fatal(err)
	}
	if again.GetImport().GetImportId() == id || again.GetImport().GetState() != posimportv1.ImportState_IMPORT_STATE_QUEUED {
		t.Errorf("after the first ended, the same request returned %s (%s), want a new queued import", again.GetImport().GetImportId(),
			again.GetImport().GetState())
	}
}

// TestQueuedWorkBounded: a manual import that would give its client more jobs not ended than
// JOB_MAX_QUEUED_PER_CLIENT is refused with ResourceExhausted (HTTP 429) naming the numbers,
// and writes and queues nothing; one that fits is accepted, and other clients are not
// affected.
func TestQueuedWorkBounded(t *testing.T) {
	t.Parallel()
	e := pipelinetest.Start(t, pipelinetest.Options{ShopsPerAccount: 2, RegistersPerShop: 2, Days: 3,
		WorkerConfig: func(c *importservice.Config) { c.Worker, c.MaxQueuedPerClient = false, 6 }})
	deps := e.Departments(0, false)
	for _, c := range []string{"c1", "c2"} {
		e.Configure(t, c, deps)
		e.Connect(t, c, e.AccountID(0), true)
	}
	until := civil.Today(time.Now(), mustZone(t, "Europe/Copenhagen")).AddDays(-1)
	body := func(dep string, days int) map[string]any {
		return map[string]any{"department_ids": []string{dep}, "from_date": until.AddDays(-(days - 1)).String(), "until_date": until.String()}
	}
	start := func(client string, b map[string]any) servicetest.Response {
		return e.Imports[0].Do(t, "POST", "/v1/clients/"+client+"/imports", e.Keys.Token(t, authn.RoleSupervisor, client), b)
	}
	if r := start("c1", body("d1", 40)); r.Status != http.StatusOK { // 2 registers × 2 chunks: 4 jobs
		t.Fatalf("first import: %d %s", r.Status, r.Body)
	}
	before, queued := pgtestSnapshot(t, e), streamMessages(t, e)
	r := start("c1", body("d2", 40)) // 4 more: 8 > 6
	if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Message(), "4 import jobs queued or running, and this import's 4 would pass the limit of 6") {
		t.Errorf("import over the bound: %d %s", r.Status, r.Body)
	}
	if diff := cmp.Diff(before, pgtestSnapshot(t, e)); diff != "" {
		t.Errorf("the refused import changed the database (-before +after):\n%s", diff)
	}
	if n := streamMessages(t, e); n != queued {
		t.Errorf("the refused import queued messages: %d, before %d", n, queued)
	}
	_, err := e.ImportClient(t, "c1").StartImport(context.Background(), &posimportv1.StartImportRequest{ClientId: "c1", DepartmentIds: []string{"d2"},
		FromDate: until.AddDays(-39).String(), UntilDate: until.String()})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("over gRPC: %v, want ResourceExhausted", err)
	}
	if r := start("c1", body("d2", 1)); r.Status != http.StatusOK { // 2 more: 6
		t.Errorf("an import that fits: %d %s", r.Status, r.Body)
	}
	if r := start("c2", body("d1", 40)); r.Status != http.StatusOK {
		t.Errorf("another client's import: %d %s", r.Status, r.Body)
	}
}

// TestStreamHoldsWindowsNotBacklogs: with no worker running, a client's ten imports (40 jobs)
// put only its window (JOB_MAX_RUNNING_PER_CLIENT, 4 here) into the stream, the rest waiting
// in Postgres; another client's import queued afterwards has its messages right behind them,
// not behind the first client's backlog.
func TestStreamHoldsWindowsNotBacklogs(t *testing.T) {
	t.Parallel()
	e := apiOnly(t)
	deps := e.Departments(0, false)
	for _, c := range []string{"c1", "c2"} {
		e.Configure(t, c, deps)
		e.Connect(t, c, e.AccountID(0), true)
	}
	until := civil.Today(time.Now(), mustZone(t, "Europe/Copenhagen")).AddDays(-1)
	for k := range 10 { // one day each, both departments: 4 jobs
		day := until.AddDays(-k)
		e.StartImport(t, "c1", deps, day, day, false)
	}
	e.StartImport(t, "c2", deps[:1], until, until, false) // 2 jobs
	rows, err := e.Pool.Query(context.Background(), `SELECT client_id, count(*) FILTER (WHERE published_at IS NOT NULL)::int,
		count(*)::int FROM jobs GROUP BY client_id ORDER BY client_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var c string
		var published, all int
		if err := rows.Scan(&c, &published, &all); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %d of %d published", c, published, all))
	}
	if diff := cmp.Diff([]string{"c1 4 of 40 published", "c2 2 of 2 published"}, got); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	if n := streamMessages(t, e); n != 6 {
		t.Errorf("the stream holds %d messages, want 6: c1's window and c2's import", n)
	}
}
