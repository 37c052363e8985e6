package retail_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/lightspeed/retail"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/pos"
)

// queryRecorder keeps the query of every Sale.json request.
type queryRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	qs   []url.Values
}

func (r *queryRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.qs = append(r.qs, req.URL.Query())
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *queryRecorder) queries() []url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.qs)
}

func changes(t *testing.T, c *retail.Client, since time.Time) []pos.Change {
	t.Helper()
	var out []pos.Change
	if err := c.Changes(context.Background(), since, func(ch pos.Change) error {
		out = append(out, ch)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// counted returns a counted sale of register completed on the UTC date day.
func counted(t *testing.T, s *sim.Server, register int64, day string) sim.Sale {
	t.Helper()
	from, _ := time.Parse(time.RFC3339, day+"T11:00:00Z")
	sales, err := s.Sales(100001, sim.SaleFilter{RegisterID: register, From: from, Until: from.Add(6 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, sale := range sales {
		if sale.Completed && !sale.Voided && len(sale.Lines) > 0 && sale.Lines[0].UnitQuantity.IsPositive() {
			return sale
		}
	}
	t.Fatalf("no counted sale of register %d on %s", register, day)
	return sim.Sale{}
}

// TestChanges: after a watermark, a sale moved from one day to the next, a sale completed ten
// days earlier that syncs only now, a sale voided four days after it, and a sale on a register
// added to a shop since all come back from one request (one page), each with its state, its
// change time and, when it counts, its figures; a change made before the watermark does not.
// The real bucket settings apply, and the client meets no 429.
func TestChanges(t *testing.T) {
	t.Parallel()
	rt := &queryRecorder{next: http.DefaultTransport}
	b := setup(t, sim.Options{Seed: 5, Data: octDays}, func(c *retail.Config) { c.HTTPClient = &http.Client{Transport: rt} })
	s := b.env.Sim
	yes := true

	// Before the watermark: a void that an earlier run saw. (The clock moves by minutes: the
	// client's token lives 30 of them.)
	b.env.Clock.Advance(10 * time.Minute)
	old := counted(t, s, 1, "2025-10-05")
	if _, err := s.ChangeSale(100001, old.ID, sim.SaleChange{Voided: &yes}); err != nil {
		t.Fatal(err)
	}
	b.env.Clock.Advance(10 * time.Minute)
	watermark := b.env.Clock.Now()

	b.env.Clock.Advance(time.Minute)
	moved := counted(t, s, 2, "2025-10-20")
	next := moved.CompleteTime.Add(24 * time.Hour)
	if _, err := s.ChangeSale(100001, moved.ID, sim.SaleChange{CompleteTime: &next}); err != nil {
		t.Fatal(err)
	}
	b.env.Clock.Advance(time.Minute)
	late, err := s.AddSale(100001, sim.SaleInput{RegisterID: 1, Completed: true, CompleteTime: watermark.Add(-10 * 24 * time.Hour),
		Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(3), UnitPrice: decimal.RequireFromString("19.9")},
			{UnitQuantity: decimal.NewFromInt(-1), UnitPrice: decimal.NewFromInt(5)}}})
	if err != nil {
		t.Fatal(err)
	}
	b.env.Clock.Advance(time.Minute)
	voided := counted(t, s, 3, "2025-10-27")
	if _, err := s.ChangeSale(100001, voided.ID, sim.SaleChange{Voided: &yes}); err != nil {
		t.Fatal(err)
	}
	b.env.Clock.Advance(time.Minute)
	reg, err := s.AddRegister(100001, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.AddSale(100001, sim.SaleInput{RegisterID: reg.ID, Completed: true, CompleteTime: watermark.Add(-3 * time.Hour),
		Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(100)}}})
	if err != nil {
		t.Fatal(err)
	}

	before := s.Requests(saleEndpoint)
	got := changes(t, b.client, watermark)
	after := s.Requests(saleEndpoint)
	if n := after.Requests - before.Requests; n != 1 || after.RateLimited != 0 {
		t.Errorf("%d requests (%d limited) for 4 changes, want 1 and none limited", n, after.RateLimited)
	}
	at := func(s sim.Sale) time.Time { return s.TimeStamp }
	figures := func(s sim.Sale) pos.Metrics {
		return retail.Figures(retail.Sale{Lines: linesOf(s)}).Metrics
	}
	want := []pos.Change{
		{SaleID: itoa(moved.ID), LocationID: "1", RegisterID: "2", Completed: true, CompletedAt: next, ChangedAt: watermark.Add(time.Minute), Counts: true, Metrics: figures(moved)},
		{SaleID: itoa(late.ID), LocationID: "1", RegisterID: "1", Completed: true, CompletedAt: late.CompleteTime, ChangedAt: at(late), Counts: true, Metrics: figures(late)},
		{SaleID: itoa(voided.ID), LocationID: "2", RegisterID: "3", Completed: true, Voided: true, CompletedAt: voided.CompleteTime, ChangedAt: watermark.Add(3 * time.Minute)},
		{SaleID: itoa(fresh.ID), LocationID: "2", RegisterID: "5", Completed: true, CompletedAt: fresh.CompleteTime, ChangedAt: at(fresh), Counts: true, Metrics: figures(fresh)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes since the watermark (-want +got):\n%s", diff)
	}
	// The late sale's figures by hand: 3 × 19.9 at 25 % VAT, one return of 5 × 1.25.
	if g := got[1].Metrics; !g.GrossSales.Equal(decimal.RequireFromString("74.625")) || !g.Returns.Equal(decimal.RequireFromString("6.25")) ||
		!g.NetSales.Equal(decimal.RequireFromString("54.7")) || !g.Transactions.Equal(decimal.NewFromInt(1)) {
		t.Errorf("late sale's figures %+v", g)
	}

	// One listing of the whole account, sorted by the change time, 100 to a page, with lines.
	q := rt.queries()[len(rt.queries())-1]
	wantQ := url.Values{"timeStamp": {">=,2026-01-01T00:20:00+00:00"}, "sort": {"timeStamp"}, "limit": {"100"}, "load_relations": {`["SaleLines"]`}}
	if diff := cmp.Diff(wantQ, q); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	// A watermark with a fraction of a second asks from the next whole second, and drops what
	// comes before it.
	if got := changes(t, b.client, got[1].ChangedAt.Add(-time.Millisecond)); len(got) != 3 || got[0].SaleID != itoa(late.ID) {
		t.Errorf("since just before the late sale: %v", got)
	}
	if got := changes(t, b.client, b.env.Clock.Now().Add(time.Second)); len(got) != 0 {
		t.Errorf("since the future: %v", got)
	}
}

// TestChangesPaging: n changed sales take ceil(n/100) requests, in change-time order, at the
// real bucket settings without a 429.
func TestChangesPaging(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Seed: 8, Data: octDays}, nil)
	b.env.Clock.Advance(5 * time.Minute)
	watermark := b.env.Clock.Now()
	const n = 250
	for i := range n {
		if i%7 == 0 {
			b.env.Clock.Advance(time.Second)
		}
		reg := int64(1 + i%4)
		if _, err := b.env.Sim.AddSale(100001, sim.SaleInput{RegisterID: reg, Completed: true, CompleteTime: watermark.Add(-time.Duration(i) * time.Hour),
			Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(int64(1 + i))}}}); err != nil {
			t.Fatal(err)
		}
	}
	before := b.env.Sim.Requests(saleEndpoint)
	got := changes(t, b.client, watermark)
	after := b.env.Sim.Requests(saleEndpoint)
	if len(got) != n || after.Requests-before.Requests != 3 || after.RateLimited != 0 {
		t.Errorf("%d changes in %d requests (%d limited), want %d in 3 and none limited", len(got), after.Requests-before.Requests, after.RateLimited, n)
	}
	seen := map[string]bool{}
	for i, ch := range got {
		if i > 0 && ch.ChangedAt.Before(got[i-1].ChangedAt) {
			t.Fatalf("change %d at %v before %v", i, ch.ChangedAt, got[i-1].ChangedAt)
		}
		if seen[ch.SaleID] {
			t.Errorf("sale %s twice", ch.SaleID)
		}
		seen[ch.SaleID] = true
	}
}

// TestChangesMalformedLine: a changed sale whose line is malformed is still reported, with
// its identity and times and the data error, and the listing goes on; a sale whose own
// change time is unreadable ends it with a *pos.DataError.
func TestChangesMalformedLine(t *testing.T) {
	t.Parallel()
	env := simtest.Start(t, sim.Options{AutoConsent: true, Data: sim.DataOptions{RegistersPerShop: 2}, RateLimit: sim.RateLimitOptions{Disabled: true}})
	rec := simtest.NewRecorder(env.Sim)
	hs := httptest.NewServer(rec)
	t.Cleanup(hs.Close)
	c, err := retail.New(retail.Config{BaseURL: hs.URL, AccountID: 100001, TokenSource: retail.NewTokenSource(env.Context(context.Background()), env.OAuth, env.Token(t, 0)),
		NowFunc: env.Clock.Now, SleepFunc: env.Clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	since := env.Clock.Now()
	for _, reg := range []int64{1, 2} {
		env.Clock.Advance(time.Second)
		if _, err := env.Sim.AddSale(100001, sim.SaleInput{RegisterID: reg, Completed: true, CompleteTime: since.Add(-time.Hour),
			Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(9)}}}); err != nil {
			t.Fatal(err)
		}
	}
	rec.PoisonRegister(1, simtest.Poison{Field: "calcTotal", Value: "12,50"})
	got := changes(t, c, since)
	var de *pos.DataError
	if len(got) != 2 || !errors.As(got[0].Err, &de) || de.Field != "calcTotal" || got[0].RegisterID != "1" || !got[0].Counts ||
		!got[0].Metrics.IsZero() || got[1].Err != nil || got[1].Metrics.GrossSales.IsZero() {
		t.Errorf("changes with a poisoned line: %+v", got)
	}
}

func linesOf(s sim.Sale) []retail.SaleLine {
	out := make([]retail.SaleLine, len(s.Lines))
	for i, l := range s.Lines {
		out[i] = retail.SaleLine{UnitQuantity: l.UnitQuantity, CalcSubtotal: l.CalcSubtotal, CalcLineDiscount: l.CalcLineDiscount,
			CalcTransactionDiscount: l.CalcTransactionDiscount, CalcTotal: l.CalcTotal}
	}
	return out
}
