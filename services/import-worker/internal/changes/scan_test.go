package changes_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/pos"
	"github.com/posimport/posimport/services/import-worker/internal/changes"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fakeChanges is a POS whose change listing returns fixed changes at or after since.
type fakeChanges struct {
	changes []pos.Change
	since   []time.Time
}

func (f *fakeChanges) DataTypes() []pos.DataType                                 { return nil }
func (f *fakeChanges) Locations(context.Context) ([]pos.Location, error)         { return nil, nil }
func (f *fakeChanges) Registers(context.Context, string) ([]pos.Register, error) { return nil, nil }
func (f *fakeChanges) Sales(context.Context, pos.SalesQuery, func(pos.SaleFigures) error) error {
	return nil
}
func (f *fakeChanges) Stats() pos.Stats { return pos.Stats{Requests: int64(len(f.since))} }
func (f *fakeChanges) Changes(_ context.Context, since time.Time, fn func(pos.Change) error) error {
	f.since = append(f.since, since)
	for _, c := range f.changes {
		if !c.ChangedAt.Before(since) {
			if err := fn(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestScan maps changed sales to register-days now and before: a moved sale corrects the day
// it left and the day it joined, a voided sale its day, a late sale its old day; open sales
// and today's are left out; a register no department lists is reported with its sales and
// gross. The watermark counts only once the import recording it has all its jobs written.
func TestScan(t *testing.T) {
	ctx := context.Background()
	pool := storetest.Pool(t)
	st := store.New(pool)
	const account = "lightspeed_retail:1"
	// The listing starts at the client's first import, created now: the times follow the clock.
	now := time.Now().UTC().Add(time.Hour)
	today := civil.DateOf(now)
	noon := func(daysAgo int, hour int) time.Time {
		return today.AddDays(-daysAgo).Start(time.UTC).Add(time.Duration(hour) * time.Hour)
	}
	key := func(reg string, daysAgo int) string { return "d1/" + reg + " " + today.AddDays(-daysAgo).String() }
	changed := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	// The client's first import, which counted sales m and v.
	first := uuid.New()
	if _, err := st.CreateImport(ctx, store.NewImport{Import: store.Import{ID: first, ClientID: "c1", DepartmentIDs: []string{"d1"},
		From: today.AddDays(-9), Until: today.AddDays(-2), CreatedBy: "u"},
		Jobs: []store.NewJob{{ID: uuid.New(), DepartmentID: "d1", RegisterID: "11", LocationID: "1", TimeZone: "UTC", From: today.AddDays(-9), Until: today.AddDays(-2)}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordSalesSeen(ctx, account, []store.SeenDay{
		{LocationID: "1", RegisterID: "11", Date: today.AddDays(-5), Sales: []store.SaleSeen{{SaleID: "m", LocationID: "1", RegisterID: "11", CompletedAt: noon(5, 12)}}},
		{LocationID: "1", RegisterID: "11", Date: today.AddDays(-3), Sales: []store.SaleSeen{{SaleID: "v", LocationID: "1", RegisterID: "11", CompletedAt: noon(3, 9)}}},
	}); err != nil {
		t.Fatal(err)
	}
	src := &fakeChanges{changes: []pos.Change{
		{SaleID: "m", LocationID: "1", RegisterID: "11", Completed: true, Counts: true, CompletedAt: noon(4, 12), ChangedAt: changed},
		{SaleID: "v", LocationID: "1", RegisterID: "11", Completed: true, Voided: true, CompletedAt: noon(3, 9), ChangedAt: changed},
		{SaleID: "late", LocationID: "1", RegisterID: "12", Completed: true, Counts: true, CompletedAt: noon(10, 10), ChangedAt: changed.Add(time.Minute)},
		{SaleID: "open", LocationID: "1", RegisterID: "12", ChangedAt: changed},
		{SaleID: "today", LocationID: "1", RegisterID: "12", Completed: true, Counts: true, CompletedAt: today.Start(time.UTC).Add(5 * time.Minute), ChangedAt: changed},
		{SaleID: "x", LocationID: "1", RegisterID: "99", Completed: true, Counts: true, CompletedAt: noon(1, 10), ChangedAt: changed.Add(2 * time.Minute),
			Metrics: pos.Metrics{GrossSales: decimal.RequireFromString("10.50")}},
	}}
	deps := []changes.Department{{ID: "d1", LocationID: "1", Registers: []string{"11", "12"}, Zone: time.UTC}}
	sc := changes.Scanner{Store: st, Overlap: 10 * time.Minute}
	zone := func(string) *time.Location { return time.UTC }
	f, ok, err := sc.Scan(ctx, src, account, "c1", deps, now, zone)
	if err != nil || !ok {
		t.Fatalf("scan: %v %v", ok, err)
	}
	got := map[string][]string{}
	for rd, c := range f.Days {
		got[rd.DepartmentID+"/"+rd.RegisterID+" "+rd.Date.String()] = c.SaleIDs
	}
	want := map[string][]string{
		key("11", 5): {"m"}, key("11", 4): {"m"}, key("11", 3): {"v"}, key("12", 10): {"late"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("register-days (-want +got):\n%s", diff)
	}
	un := f.Unmapped()
	if len(un) != 1 || un[0].RegisterID != "99" || un[0].Days[today.AddDays(-1)].Sales != 1 || !un[0].Days[today.AddDays(-1)].Gross.Equal(decimal.RequireFromString("10.5")) {
		t.Errorf("unmapped registers: %+v", un)
	}
	if w := changed.Add(2 * time.Minute); !f.Scan.Watermark.Equal(w) || f.Scan.Changes != 6 {
		t.Errorf("scan %+v, want watermark %v and 6 changes", f.Scan, w)
	}

	// Recorded with a nightly import: until its jobs are written the next listing starts
	// where this one did.
	nightly := uuid.New()
	job := uuid.New()
	if _, err := st.CreateImport(ctx, store.NewImport{Import: store.Import{ID: nightly, ClientID: "c1", DepartmentIDs: []string{"d1"},
		From: today.AddDays(-5), Until: today.AddDays(-1), CreatedBy: "scheduler", Trigger: 2},
		Jobs:       []store.NewJob{{ID: job, DepartmentID: "d1", RegisterID: "11", LocationID: "1", TimeZone: "UTC", From: today.AddDays(-5), Until: today.AddDays(-1)}},
		ChangeScan: &f.Scan}); err != nil {
		t.Fatal(err)
	}
	since, _, _, err := sc.Since(ctx, account, "c1", now)
	if err != nil || !since.Equal(src.since[0]) {
		t.Errorf("with the nightly import's job pending the next listing starts at %v (%v), want %v as before", since, err, src.since[0])
	}
	if _, err := pool.Exec(ctx, "UPDATE jobs SET state = 'DONE' WHERE import_id = $1", nightly); err != nil {
		t.Fatal(err)
	}
	since, _, _, err = sc.Since(ctx, account, "c1", now)
	if want := f.Scan.Watermark.Add(-10 * time.Minute); err != nil || !since.Equal(want) {
		t.Errorf("once written the next listing starts at %v (%v), want the watermark less the overlap %v", since, err, want)
	}
}
