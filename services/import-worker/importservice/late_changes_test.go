package importservice_test

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/platform/authn"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// lateWorld is an imported quarter on which the simulator's world then moved.
type lateWorld struct {
	e           *pipelinetest.Env
	deps        []pipelinetest.Department
	from, until civil.Date
	// changed are the register-days the changes touched ("d1/123 2026-01-02").
	changed []string
	// newRegister is the register added to the first shop, with its sales.
	newRegister   sim.Register
	newSales      int
	newGrossTotal decimal.Decimal
}

// startLateWorld imports a quarter of two shops × two registers (Copenhagen and New York),
// approves it when approve is set, and then changes the simulator's data the ways Lightspeed
// moves after an import: a sale synced 10 days late, a sale whose completeTime moves to the
// next day, a sale voided 4 days after it was made, and a new register with sales. Before the
// nightly run the balance differs from the oracle on the changed register-days.
func startLateWorld(t *testing.T, approve bool) *lateWorld {
	t.Helper()
	days := envInt("PIPELINE_LATE_DAYS", 91)
	e := pipelinetest.Start(t, pipelinetest.Options{
		ShopsPerAccount: 2, RegistersPerShop: 2, SalesPerDay: 6, Days: days + 2, Zones: oracleZones[:2], Seed: 16,
	})
	w := &lateWorld{e: e}
	w.deps, w.from, w.until = connectClient(t, e, days)
	imp := e.WaitImport(t, "c1", e.StartImport(t, "c1", w.deps, w.from, w.until, false), 3*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("quarter import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	if approve {
		for _, d := range w.deps {
			e.Approve(t, "c1", d.ID, w.from, w.until)
		}
	}
	acct := e.AccountID(0)
	shop0, shop1 := w.deps[0].Shop, w.deps[1].Shop
	loc0, loc1 := mustZone(t, shop0.TimeZone), mustZone(t, shop1.TimeZone)
	noon := func(d civil.Date, loc *time.Location) time.Time { return d.Start(loc).Add(12 * time.Hour) }
	line := []sim.LineInput{{UnitQuantity: decimal.NewFromInt(2), UnitPrice: decimal.RequireFromString("12.40")}}
	mark := func(d pipelinetest.Department, register int64, day civil.Date) {
		w.changed = append(w.changed, d.ID+"/"+strconv.FormatInt(register, 10)+" "+day.String())
	}

	// A register that synced a sale 10 days late.
	late := w.until.AddDays(-10)
	if _, err := e.Sim.AddSale(acct, sim.SaleInput{ShopID: shop0.ID, RegisterID: shop0.Registers[0].ID,
		CompleteTime: noon(late, loc0), Completed: true, Lines: line}); err != nil {
		t.Fatal(err)
	}
	mark(w.deps[0], shop0.Registers[0].ID, late)

	// A sale whose completeTime moves to the next day: both days change.
	moved := w.until.AddDays(-6)
	s := firstSale(t, e, acct, shop0.Registers[1].ID, moved, loc0)
	next := s.CompleteTime.Add(24 * time.Hour)
	if _, err := e.Sim.ChangeSale(acct, s.ID, sim.SaleChange{CompleteTime: &next}); err != nil {
		t.Fatal(err)
	}
	mark(w.deps[0], shop0.Registers[1].ID, moved)
	mark(w.deps[0], shop0.Registers[1].ID, civil.DateOf(next.In(loc0)))

	// A sale of 4 days ago voided.
	voided := w.until.AddDays(-4)
	v := firstSale(t, e, acct, shop1.Registers[0].ID, voided, loc1)
	yes := true
	if _, err := e.Sim.ChangeSale(acct, v.ID, sim.SaleChange{Voided: &yes}); err != nil {
		t.Fatal(err)
	}
	mark(w.deps[1], shop1.Registers[0].ID, voided)

	// A register no department lists, with two sales 3 days ago.
	reg, err := e.Sim.AddRegister(acct, shop0.ID, "Register added")
	if err != nil {
		t.Fatal(err)
	}
	w.newRegister = reg
	for range 2 {
		sale, err := e.Sim.AddSale(acct, sim.SaleInput{ShopID: shop0.ID, RegisterID: reg.ID,
			CompleteTime: noon(w.until.AddDays(-3), loc0), Completed: true, Lines: line})
		if err != nil {
			t.Fatal(err)
		}
		w.newSales++
		for _, l := range sale.Lines {
			w.newGrossTotal = w.newGrossTotal.Add(l.CalcTotal)
		}
	}
	sort.Strings(w.changed)
	if got := differingDays(e.Mismatches(t, "c1", 0, w.deps, w.from, w.until, 1000)); strings.Join(got, ",") != strings.Join(w.changed, ",") {
		t.Fatalf("before the nightly run the balance differs on %v, want exactly the changed register-days %v", got, w.changed)
	}
	return w
}

// firstSale is a completed, counted sale of the register on the local day.
func firstSale(t *testing.T, e *pipelinetest.Env, acct, register int64, day civil.Date, loc *time.Location) sim.Sale {
	t.Helper()
	sales, err := e.Sim.Sales(acct, sim.SaleFilter{RegisterID: register, From: day.Start(loc), Until: day.AddDays(1).Start(loc)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sales {
		if s.Completed && !s.Voided && !s.Archived && len(s.Lines) > 0 && s.Lines[0].UnitQuantity.IsPositive() {
			return s
		}
	}
	t.Fatalf("register %d has no counted sale on %s", register, day)
	return sim.Sale{}
}

// differingDays are the register-days of Mismatches' descriptions ("d1/123 2026-01-02: …").
func differingDays(diffs []string) []string {
	set := map[string]bool{}
	for _, d := range diffs {
		head, _, _ := strings.Cut(d, ":")
		set[head] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestLateChangesNightly: after the late sync, the moved completeTime, the void and the new
// register, one nightly run makes the balance equal the oracle for every department, day,
// hour and field of the quarter, and reports the new register with its sales and gross. It
// logs the run's Lightspeed requests beside those of a plain two-day re-read (README).
func TestLateChangesNightly(t *testing.T) {
	t.Parallel()
	w := startLateWorld(t, false)
	e := w.e
	e.Sim.ResetCounts()
	imp := e.WaitImport(t, "c1", e.RunNightly(t, "c1", 0), 3*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("nightly import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	nightly := apiRequests(e)
	if diffs := e.Mismatches(t, "c1", 0, w.deps, w.from, w.until, 20); len(diffs) > 0 {
		t.Errorf("after the nightly run the balance differs from the oracle:\n%v", strings.Join(diffs, "\n"))
	}

	// The register nobody mapped, on the connection.
	auth := posimportv1.NewAuthServiceClient(e.Keys.DialPerson(t, e.Auth.GRPCAddr, authn.RoleSupervisor))
	conn, err := auth.GetConnection(context.Background(), &posimportv1.GetConnectionRequest{ClientId: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	var found *posimportv1.PosRegister
	for _, r := range conn.GetConnection().GetRegisters() {
		if r.GetRegisterId() == strconv.FormatInt(w.newRegister.ID, 10) {
			found = r
		}
	}
	switch {
	case found == nil:
		t.Errorf("the new register %d is not reported: %v", w.newRegister.ID, conn.GetConnection().GetRegisters())
	case found.GetMapped() || found.GetSalesCount() != int64(w.newSales) || !decimal.RequireFromString(found.GetGrossSales()).Equal(w.newGrossTotal) ||
		found.GetLocationId() != strconv.FormatInt(w.deps[0].Shop.ID, 10):
		t.Errorf("new register reported as %v, want unmapped in shop %d with %d sales, gross %s", found, w.deps[0].Shop.ID, w.newSales, w.newGrossTotal)
	}

	// A plain two-day re-read of the same departments, for the README's comparison.
	e.Sim.ResetCounts()
	y := yesterday()
	plain := e.WaitImport(t, "c1", e.StartImport(t, "c1", w.deps, y.AddDays(-1), y, false), 2*time.Minute)
	if plain.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("plain import ended %s", plain.GetState())
	}
	two := apiRequests(e)
	t.Logf("nightly run with the change listing: %d API requests (%d jobs); a plain two-day re-read: %d API requests (%d jobs)",
		nightly, imp.GetProgress().GetJobsPlanned(), two, plain.GetProgress().GetJobsPlanned())
	if nightly <= two {
		t.Errorf("the nightly run made %d requests, no more than a plain re-read's %d: it did not list changes", nightly, two)
	}
}

// apiRequests counts the simulator's Lightspeed API requests since its counts were reset.
func apiRequests(e *pipelinetest.Env) int64 {
	var n int64
	for _, c := range e.Sim.RequestCounts() {
		if strings.Contains(c.Endpoint, "/API/") {
			n += c.Requests
		}
	}
	return n
}

// TestRestaurantLateReceiptNightly: Lightspeed Restaurant cannot list changed receipts, so the
// nightly run re-reads its lookback (7 days by default): a receipt that a device synced 5 days
// late is in the balance after the next nightly run, which then equals the oracle.
func TestRestaurantLateReceiptNightly(t *testing.T) {
	t.Parallel()
	const days = 14
	p := startRestaurantPipeline(t, days)
	deps := p.restaurantDepartments()
	p.configureRestaurant(t, "c1", deps)
	p.Connect(t, "c1", 300001, true)
	until := yesterday().AddDays(-1)
	from := until.AddDays(-(days - 1))
	ids := []string{deps[0].ID, deps[1].ID}
	resp, err := p.ImportClient(t, "c1").StartImport(context.Background(), &posimportv1.StartImportRequest{
		ClientId: "c1", DepartmentIds: ids, FromDate: from.String(), UntilDate: until.String()})
	if err != nil {
		t.Fatal(err)
	}
	if imp := p.WaitImport(t, "c1", resp.GetImport().GetImportId(), 3*time.Minute); imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	// Closed 5 days before today, synced now.
	d := deps[0]
	loc := mustZone(t, d.Location.TimeZone)
	lateDay := civil.Today(time.Now(), loc).AddDays(-5)
	if _, err := p.Sim.AddReceipt(d.Business, sim.ReceiptInput{LocationID: d.Location.ID, DeviceID: d.Location.Devices[0].ID,
		TimeClosed: lateDay.Start(loc).Add(13 * time.Hour), NbCovers: decimal.NewFromInt(2),
		Lines: []sim.ReceiptLineInput{{Quantity: decimal.NewFromInt(3), UnitPrice: decimal.RequireFromString("8.50"), Name: "late"}}}); err != nil {
		t.Fatal(err)
	}
	if diffs := p.restaurantMismatches(t, "c1", deps, from, until); len(diffs) == 0 {
		t.Fatal("the late receipt changes nothing before the nightly run: the test proves nothing")
	}
	imp := p.WaitImport(t, "c1", p.RunNightly(t, "c1", 0), 3*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("nightly import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	if diffs := p.restaurantMismatches(t, "c1", deps, from, until); len(diffs) > 0 {
		t.Errorf("after the nightly run the balance differs from the oracle:\n%v", diffs[:min(len(diffs), 20)])
	}
}

// TestLateChangesOnApprovedDays: the same changes on approved days leave the days as they
// were; the nightly run records a pending correction for exactly the register-days that differ
// from the oracle, each naming the change listing's reason and sales. Applying one makes its
// register-day equal the oracle; dismissing another leaves it as it was; the audit lists both.
func TestLateChangesOnApprovedDays(t *testing.T) {
	t.Parallel()
	w := startLateWorld(t, true)
	e := w.e
	ctx := context.Background()
	id := e.RunNightly(t, "c1", 0)
	imp := e.WaitImport(t, "c1", id, 3*time.Minute)
	if imp.GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("nightly import ended %s: %v", imp.GetState(), firstErrors(imp, 3))
	}
	if got := differingDays(e.Mismatches(t, "c1", 0, w.deps, w.from, w.until, 1000)); strings.Join(got, ",") != strings.Join(w.changed, ",") {
		t.Errorf("after the nightly run the approved days differ from the oracle on %v, want still exactly %v", got, w.changed)
	}
	if pendingDays := imp.GetProgress().GetDaysCorrectionPending(); pendingDays != int64(len(w.changed)) {
		t.Errorf("the import counted %d pending corrections, want %d", pendingDays, len(w.changed))
	}

	bal := posimportv1.NewBalanceServiceClient(e.Keys.DialPerson(t, e.Balance.GRPCAddr, authn.RoleSupervisor))
	list, err := bal.ListCorrections(ctx, &posimportv1.ListCorrectionsRequest{ClientId: "c1", State: posimportv1.CorrectionState_CORRECTION_STATE_PENDING, PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	byDay := map[string]*posimportv1.Correction{}
	var keys []string
	for _, c := range list.GetCorrections() {
		k := c.GetDepartmentId() + "/" + c.GetRegisterId() + " " + c.GetDate()
		byDay[k] = c
		keys = append(keys, k)
		if c.GetImportId() != id || c.GetCause().GetReason() == "" || len(c.GetCause().GetSaleIds()) == 0 ||
			int(c.GetCause().GetSaleCount()) < len(c.GetCause().GetSaleIds()) {
			t.Errorf("correction %s: import %s (want %s), cause %v", k, c.GetImportId(), id, c.GetCause())
		}
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != strings.Join(w.changed, ",") {
		t.Fatalf("pending corrections on %v, want one per register-day that differs from the oracle %v", keys, w.changed)
	}

	applied, dismissed := byDay[w.changed[0]], byDay[w.changed[1]]
	if _, err := bal.ApplyCorrection(ctx, &posimportv1.ApplyCorrectionRequest{ClientId: "c1", CorrectionId: applied.GetCorrectionId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := bal.DismissCorrection(ctx, &posimportv1.DismissCorrectionRequest{ClientId: "c1", CorrectionId: dismissed.GetCorrectionId()}); err != nil {
		t.Fatal(err)
	}
	want := append([]string(nil), w.changed[1:]...)
	if got := differingDays(e.Mismatches(t, "c1", 0, w.deps, w.from, w.until, 1000)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("after applying %s and dismissing %s the balance differs on %v, want %v", w.changed[0], w.changed[1], got, want)
	}
	audit, err := bal.ListAuditRecords(ctx, &posimportv1.ListAuditRecordsRequest{ClientId: "c1", PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range audit.GetRecords() {
		seen[r.GetCorrectionId()] = true
	}
	if len(audit.GetRecords()) != 2 || !seen[applied.GetCorrectionId()] || !seen[dismissed.GetCorrectionId()] {
		t.Errorf("audit lists %v, want the apply and the dismiss", audit.GetRecords())
	}
}
