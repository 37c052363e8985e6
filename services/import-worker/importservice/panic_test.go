package importservice_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// panickyTransport panics inside the POS client's request for one register's sales: a bug
// deep in the provider's call chain, in the job's own goroutine.
type panickyTransport struct {
	next     http.RoundTripper
	register atomic.Value // string
}

func (p *panickyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if reg, _ := p.register.Load().(string); reg != "" && r.URL.Query().Get("registerID") == reg {
		panic("injected: decoding register " + reg)
	}
	return p.next.RoundTrip(r)
}

// TestPanicInProviderFailsOnlyItsRegister: the POS client panics on every request for one
// register's sales. That register's job fails each attempt with the panic and its stack as its
// error, and after the last attempt ends FAILED; the other registers, imported by the same
// worker process meanwhile, equal the oracle; and the process goes on importing afterwards.
func TestPanicInProviderFailsOnlyItsRegister(t *testing.T) {
	t.Parallel()
	tr := &panickyTransport{next: http.DefaultTransport}
	e := pipelinetest.Start(t, pipelinetest.Options{ShopsPerAccount: 2, RegistersPerShop: 3, SalesPerDay: 5, Days: 5,
		Zones: oracleZones, Seed: 13, POSClient: &http.Client{Transport: tr},
		WorkerConfig: func(c *importservice.Config) { c.API, c.MaxAttempts, c.WorkerSlots = true, 3, 2 }})
	deps, from, until := connectClient(t, e, 3)
	poisoned := deps[0].Registers[1]
	tr.register.Store(poisoned)

	imp := e.WaitImport(t, "c1", e.StartImport(t, "c1", deps[:1], from, until, false), 2*time.Minute)
	p := imp.GetProgress()
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_FAILED || p.GetJobsFailed() != 1 || p.GetJobsDone() != 2 {
		t.Fatalf("import = %s %v, want FAILED with 1 job failed and 2 done", imp.GetState(), p)
	}
	var attempt int
	var lastError string
	if err := e.Pool.QueryRow(context.Background(), "SELECT attempt, last_error FROM jobs WHERE import_id = $1 AND register_id = $2",
		imp.GetImportId(), poisoned).Scan(&attempt, &lastError); err != nil {
		t.Fatal(err)
	}
	if attempt != 3 || !strings.HasPrefix(lastError, "gave up after 3 attempts: panic: injected: decoding register "+poisoned+"\n") ||
		!strings.Contains(lastError, "(*panickyTransport).RoundTrip (importservice/panic_test.go:") {
		t.Errorf("poisoned job: attempt %d, error:\n%s", attempt, lastError)
	}
	retried := 0
	for _, ie := range imp.GetErrors() {
		if ie.GetRegisterId() != poisoned || !strings.Contains(ie.GetMessage(), "panic: injected") {
			t.Errorf("an error of another register, or not the panic: %v", ie)
		}
		if !ie.GetPermanent() {
			retried++
		}
	}
	if retried != 2 || len(imp.GetErrors()) != 3 {
		t.Errorf("%d errors, %d of them retried; want 3 errors: 2 retried attempts and the last", len(imp.GetErrors()), retried)
	}
	healthy := deps[0]
	healthy.Registers = []string{deps[0].Registers[0], deps[0].Registers[2]}
	if diffs := e.Mismatches(t, "c1", 0, []pipelinetest.Department{healthy}, from, until, 10); len(diffs) > 0 {
		t.Errorf("the other registers differ from the oracle:\n%v", diffs)
	}
	for date, day := range e.Days(t, "c1", deps[0].ID, from, until) {
		for _, r := range day.GetRegisters() {
			if r.GetRegisterId() == poisoned {
				t.Errorf("the panicking register has values on %s", date)
			}
		}
	}

	// The same process imports the next department.
	next := e.WaitImport(t, "c1", e.StartImport(t, "c1", deps[1:], from, until, false), 2*time.Minute)
	if next.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("the next import ended %s: %v", next.GetState(), firstErrors(next, 3))
	}
	if diffs := e.Mismatches(t, "c1", 0, deps[1:], from, until, 10); len(diffs) > 0 {
		t.Errorf("the next import differs from the oracle:\n%v", diffs)
	}
}
