package importservice_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

// oracleZones are the shops' zones in the pipeline tests, used in turn: the default client's
// zone, whose prices include 25 % VAT, a US zone with unrounded sales taxes on top (amounts
// with up to 10 decimal places, all kept) and DST changes three weeks apart from Europe's, and
// London. A test with one shop gets Copenhagen.
var oracleZones = []string{"Europe/Copenhagen", "America/New_York", "Europe/London"}

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

// TestImportMatchesOracle imports a year of 5 departments × 3 registers in Copenhagen, New
// York and London through the whole pipeline and compares every department, register, day,
// hour and field with the simulator's oracle. The range holds both DST changes of every zone
// (23- and 25-hour days, checked), and amounts with more than 6 decimal places (checked).
func TestImportMatchesOracle(t *testing.T) {
	t.Parallel()
	// 371 days: a DST change falls on a weekday-ruled date, so a year later it moves by 364 or
	// 371 days; any 371 consecutive days hold both changes of every zone.
	days := envInt("PIPELINE_DAYS", 371)
	e := pipelinetest.Start(t, pipelinetest.Options{
		ShopsPerAccount: 5, RegistersPerShop: 3, SalesPerDay: envInt("PIPELINE_SALES_PER_DAY", 6), Days: days + 2,
		TimeScale: 50, Seed: 1, Zones: oracleZones,
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
	c := e.Compare(t, "c1", 0, deps, from, until, 20)
	if len(c.Diffs) > 0 {
		t.Errorf("balance differs from the oracle:\n%v", c.Diffs)
	}
	if days < 371 {
		return // a shortened run need not reach both DST changes
	}
	for _, zone := range oracleZones {
		// Each zone's departments' registers: one spring-forward and one fall-back day each.
		registers := 0
		for _, d := range deps {
			if d.Shop.TimeZone == zone {
				registers += len(d.Registers)
			}
		}
		got := map[int]int{23: c.ClockHours[zone][23], 25: c.ClockHours[zone][25]}
		if diff := cmp.Diff(map[int]int{23: registers, 25: registers}, got); diff != "" {
			t.Errorf("%s: register-days matched by clock hours (-want +got):\n%s", zone, diff)
		}
	}
	t.Logf("matched register-days by clock hours: %v; values with up to %d decimal places", c.ClockHours, c.MaxPlaces)
	if c.MaxPlaces <= 6 {
		t.Errorf("no matched value has more than 6 decimal places (at most %d): the unrounded amounts went untested", c.MaxPlaces)
	}
}
