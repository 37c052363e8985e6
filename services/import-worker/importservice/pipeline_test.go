package importservice_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// envInt reads a size from the environment, so the full versions of the long tests can run
// on demand (e.g. PIPELINE_DAYS=365).
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// lowScaleZones is a shop zone (with DST) whose simulated taxes keep amounts within the
// 6 decimals the balance service accepts. NOTE: the simulator's unrounded US sales taxes and
// Danish tax-inclusive prices give amounts with up to 10 decimals, which the balance refuses
// (reported to its owners); the pipeline itself keeps every decimal.
var lowScaleZones = []string{"Europe/London"}

func firstErrors(imp *posimportv1.Import, n int) []string {
	var out []string
	for _, e := range imp.GetErrors() {
		if len(out) == n {
			break
		}
		out = append(out, e.GetDepartmentId()+"/"+e.GetRegisterId()+" "+e.GetFromDate()+": "+e.GetMessage())
	}
	return out
}

func yesterday() civil.Date { return civil.Today(time.Now(), time.Local).AddDays(-1) }

// connectClient configures client c1 with every shop of the simulator's first account as a
// department, connects and enables it, and returns the departments and the last days full
// days that every zone has finished.
func connectClient(t testing.TB, e *pipelinetest.Env, days int) (deps []pipelinetest.Department, from, until civil.Date) {
	t.Helper()
	deps = e.Departments(0, false)
	e.Configure(t, "c1", deps)
	e.Connect(t, "c1", e.AccountID(0), true)
	until = yesterday().AddDays(-1)
	return deps, until.AddDays(-(days - 1)), until
}

// TestImportMatchesOracle imports a year of 5 departments × 3 registers (in zones with both
// DST changes) through the whole pipeline and compares every department, register, day, hour
// and field with the simulator's oracle.
func TestImportMatchesOracle(t *testing.T) {
	t.Parallel()
	days := envInt("PIPELINE_DAYS", 365)
	e := pipelinetest.Start(t, pipelinetest.Options{
		ShopsPerAccount: 5, RegistersPerShop: 3, SalesPerDay: envInt("PIPELINE_SALES_PER_DAY", 6), Days: days + 2,
		TimeScale: 50, Seed: 1, Zones: lowScaleZones,
	})
	deps, from, until := connectClient(t, e, days)
	ic := e.ImportClient(t, "c1")
	start := time.Now()
	resp, err := ic.StartImport(context.Background(), &posimportv1.StartImportRequest{
		ClientId: "c1", DepartmentIds: []string{"d1", "d2", "d3", "d4", "d5"}, FromDate: from.String(), UntilDate: until.String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	imp := e.WaitImport(t, "c1", resp.GetImport().GetImportId(), 5*time.Minute)
	t.Logf("import of %d days took %v: %+v", days, time.Since(start), imp.GetProgress())
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	p := imp.GetProgress()
	if want := int64(5 * 3 * days); p.GetDaysWritten() != want {
		t.Errorf("days written = %d, want %d", p.GetDaysWritten(), want)
	}
	if len(p.GetUnmappedTypes()) != 0 {
		t.Errorf("unmapped types = %v, want none (every R-Series type has a field)", p.GetUnmappedTypes())
	}
	for _, d := range p.GetDepartments() {
		if !d.GetMarkedImported() {
			t.Errorf("department %s not marked imported", d.GetDepartmentId())
		}
	}
	if diffs := e.Mismatches(t, "c1", 0, deps, from, until, 20); len(diffs) > 0 {
		t.Errorf("balance differs from the oracle:\n%v", diffs)
	}
}
