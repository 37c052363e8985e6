package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// DataOptions shape the generated accounts and sales.
type DataOptions struct {
	// Accounts, ShopsPerAccount and RegistersPerShop default to 1.
	Accounts         int
	ShopsPerAccount  int
	RegistersPerShop int
	// Zones are the shops' time zones, used in turn. The default mixes IANA names and the
	// legacy US/* aliases the real API also reports.
	Zones []string
	// From and Until are the first and last local dates with sales (their year, month and
	// day are read in each shop's zone). The default is the year up to the clock's yesterday.
	From, Until time.Time
	// SalesPerDay is the mean number of sales per register on an ordinary weekday. Zero
	// generates no sales: accounts, shops and registers only.
	SalesPerDay int
}

// DefaultZones are the shop time zones used when DataOptions.Zones is empty.
var DefaultZones = []string{"Europe/Copenhagen", "America/New_York", "US/Pacific", "Europe/London", "US/Central"}

// taxRates are plausible sales taxes or VAT per zone; European prices are tax-inclusive.
var taxRates = map[string]struct {
	tax1, tax2 string
	incl       bool
}{
	"Europe/Copenhagen": {"0.25", "0", true},
	"Europe/London":     {"0.2", "0", true},
	"America/New_York":  {"0.04", "0.04875", false},
	"US/Eastern":        {"0.04", "0.04875", false},
	"US/Pacific":        {"0.0725", "0", false},
	"US/Central":        {"0.0625", "0.02", false},
	"America/Halifax":   {"0.15", "0", false},
}

// hourWeights is the daily curve of a high-street shop, by local clock hour: quiet nights (so
// there are sales around midnight and in the DST hours), a lunch peak and an after-work peak.
var hourWeights = [24]float64{
	0.25, 0.08, 0.05, 0.05, 0.05, 0.08, 0.15, 0.35, 0.7, 1.0, 1.4, 1.8,
	2.4, 2.2, 1.6, 1.5, 1.8, 2.3, 2.0, 1.4, 1.0, 0.6, 0.4, 0.3,
}

var weekdayFactor = [7]float64{0.6, 0.8, 0.85, 0.9, 1.0, 1.2, 1.4} // Sunday first

var monthFactor = [13]float64{0, 0.8, 0.8, 0.9, 0.95, 1.0, 1.0, 0.9, 0.9, 1.0, 1.05, 1.15, 1.45}

// generate fills st with opts' accounts and, when SalesPerDay > 0, their sales.
func generate(st *store, seed uint64, opts DataOptions, now time.Time) error {
	zones := opts.Zones
	if len(zones) == 0 {
		zones = DefaultZones
	}
	locs := make([]*time.Location, len(zones))
	for i, z := range zones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			return fmt.Errorf("load zone %q: %w", z, err)
		}
		locs[i] = loc
	}
	from, until := dataRange(opts.From, opts.Until, now)
	zi := 0
	for a := range max(opts.Accounts, 1) {
		acct := Account{ID: 100001 + int64(a), Name: fmt.Sprintf("Simulated Retail %d", a+1)}
		regID := int64(1)
		for s := range max(opts.ShopsPerAccount, 1) {
			zone := zones[zi%len(zones)]
			zi++
			rates, ok := taxRates[zone]
			if !ok {
				rates = taxRates["US/Pacific"]
			}
			shop := Shop{
				ID: int64(s + 1), Name: fmt.Sprintf("Shop %d", s+1), TimeZone: zone,
				Tax1Rate: decimal.RequireFromString(rates.tax1), Tax2Rate: decimal.RequireFromString(rates.tax2),
				TaxIncl: rates.incl, TimeStamp: from.UTC().Truncate(time.Second),
			}
			for r := range max(opts.RegistersPerShop, 1) {
				shop.Registers = append(shop.Registers, Register{
					ID: regID, ShopID: shop.ID, Name: fmt.Sprintf("Register %d", r+1), TimeStamp: shop.TimeStamp,
				})
				regID++
			}
			acct.Shops = append(acct.Shops, shop)
		}
		ad := st.addAccount(acct)
		if opts.SalesPerDay > 0 {
			g := &generator{
				rng:  rand.New(rand.NewPCG(seed, uint64(acct.ID))),
				acct: ad,
				mean: float64(opts.SalesPerDay),
				past: map[int64]*pastLines{},
				now:  now,
			}
			g.run(from, until)
		}
	}
	return nil
}

// dataRange fills in the default date range of generated data: the year up to now's yesterday.
func dataRange(from, until, now time.Time) (time.Time, time.Time) {
	if until.IsZero() {
		until = now.AddDate(0, 0, -1)
	}
	if from.IsZero() {
		from = until.AddDate(-1, 0, 1)
	}
	return from, until
}

// pastLine is a sold line a later refund or exchange can return.
type pastLine struct {
	id        int64
	qty       decimal.Decimal
	price     decimal.Decimal
	lineDisc  decimal.Decimal
	txPercent decimal.Decimal
}

type generator struct {
	rng  *rand.Rand
	acct *accountData
	mean float64
	// now is the simulator's time at generation: no change is stamped later.
	now time.Time
	// past keeps recent sold lines per register for refunds.
	past map[int64]*pastLines
}

// pastLines is a ring of the most recent sold lines of a register, so memory stays flat over
// a long range.
type pastLines struct {
	lines [200]pastLine
	n     int
}

func (p *pastLines) len() int { return min(p.n, len(p.lines)) }

func (p *pastLines) add(l pastLine) {
	p.lines[p.n%len(p.lines)] = l
	p.n++
}

func (g *generator) run(from, until time.Time) {
	locs := make([]*time.Location, len(g.acct.Shops))
	for i, sh := range g.acct.Shops {
		locs[i], _ = time.LoadLocation(sh.TimeZone) // validated in generate
	}
	first := time.Date(from.Year(), from.Month(), from.Day(), 12, 0, 0, 0, time.UTC)
	last := time.Date(until.Year(), until.Month(), until.Day(), 12, 0, 0, 0, time.UTC)
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		var sales []*Sale
		for si := range g.acct.Shops {
			shop := &g.acct.Shops[si]
			loc := locs[si]
			start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
			end := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
			for _, reg := range shop.Registers {
				for _, at := range g.instants(start, end, loc) {
					sales = append(sales, g.sale(shop, reg.ID, at))
				}
			}
		}
		// Ids follow creation order, as in the real API.
		sort.SliceStable(sales, func(i, j int) bool { return sales[i].CreateTime.Before(sales[j].CreateTime) })
		for _, s := range sales {
			g.acct.insert(s)
			g.remember(s)
		}
	}
}

// instants draws a register's completion times for one local day [start, end).
func (g *generator) instants(start, end time.Time, loc *time.Location) []time.Time {
	f := weekdayFactor[start.Weekday()] * monthFactor[start.Month()] * (0.85 + 0.3*g.rng.Float64())
	n := int(g.mean*f + 0.5)
	maxW := 0.0
	for _, w := range hourWeights {
		maxW = max(maxW, w)
	}
	span := int64(end.Sub(start) / time.Second)
	out := make([]time.Time, 0, n+6)
	for len(out) < n {
		t := start.Add(time.Duration(g.rng.Int64N(span)) * time.Second)
		if g.rng.Float64()*maxW < hourWeights[t.In(loc).Hour()] {
			out = append(out, t)
		}
	}
	// Edge cases a bucketing bug would show: the last and first second of the day, now and
	// then, and sales on both sides of a DST change.
	if g.rng.IntN(10) == 0 {
		out = append(out, start, end.Add(-time.Second))
	}
	if _, zoneEnd := start.ZoneBounds(); !zoneEnd.IsZero() && zoneEnd.After(start) && zoneEnd.Before(end) {
		out = append(out, zoneEnd.Add(-30*time.Minute), zoneEnd.Add(-time.Second), zoneEnd, zoneEnd.Add(30*time.Minute))
	}
	return out
}

// sale makes one sale completed at `at`: mostly ordinary, sometimes voided, open, archived,
// discounted, a refund or an exchange.
func (g *generator) sale(shop *Shop, registerID int64, at time.Time) *Sale {
	r := g.rng
	in := SaleInput{ShopID: shop.ID, RegisterID: registerID, EmployeeID: 1 + r.Int64N(5), Completed: true, CompleteTime: at}
	past := g.past[registerID]
	kind := r.IntN(100)
	switch {
	case kind < 5 && past != nil: // a refund of an earlier sale
		p := past.lines[r.IntN(past.len())]
		in.Lines = append(in.Lines, g.refundLine(p))
		in.DiscountPercent = p.txPercent
	case kind < 8 && past != nil: // an exchange: something back, something new
		in.Lines = append(in.Lines, g.refundLine(past.lines[r.IntN(past.len())]))
		in.Lines = append(in.Lines, g.lines(1+r.IntN(2))...)
	default:
		in.Lines = g.lines(1 + r.IntN(5))
		if r.IntN(100) < 7 {
			in.DiscountPercent = decimal.New(int64(5*(1+r.IntN(3))), -2)
		}
	}
	switch k := r.IntN(1000); {
	case k < 40:
		in.Voided = true
	case k < 60:
		in.Completed, in.CompleteTime = false, time.Time{}
	case k < 70:
		in.Archived = true
	}
	sale, err := g.acct.buildSale(in, at)
	if err != nil {
		panic(fmt.Sprintf("sim: generated an invalid sale: %v", err)) // a generator bug
	}
	sale.CreateTime = at.Add(-time.Duration(20+r.IntN(600)) * time.Second).UTC()
	sale.TimeStamp = at.Add(time.Duration(r.IntN(30)) * time.Second).UTC()
	if r.IntN(100) == 0 { // edited after the fact
		sale.TimeStamp = sale.TimeStamp.Add(time.Duration(1+r.IntN(72)) * time.Hour)
	}
	// An edit of a past sale that would lie in the future has not happened yet: it happened
	// just now. (Data generated into the future keeps its stamps.)
	if now := g.now.UTC().Truncate(time.Second); sale.TimeStamp.After(now) && !at.After(now) {
		sale.TimeStamp = now
	}
	return sale
}

func (g *generator) lines(n int) []LineInput {
	r := g.rng
	out := make([]LineInput, n)
	for i := range out {
		qty := int64(1 + r.IntN(3))
		if r.IntN(10) == 0 {
			qty += 3
		}
		cents := int64(100*(1+r.IntN(120))) - []int64{0, 50, 5, 1}[r.IntN(4)]
		l := LineInput{UnitQuantity: decimal.NewFromInt(qty), UnitPrice: decimal.New(cents, -2), ItemID: 1 + r.Int64N(500)}
		switch d := r.IntN(20); {
		case d == 0:
			l.DiscountPercent = decimal.New(int64([]int{10, 15, 20, 50}[r.IntN(4)]), -2)
		case d == 1:
			l.DiscountAmount = decimal.Min(decimal.NewFromInt(1+r.Int64N(5)), l.UnitQuantity.Mul(l.UnitPrice))
		}
		out[i] = l
	}
	return out
}

// refundLine returns some units of a past line; a discounted line is returned whole, with its
// discount, so that no amount needs rounding.
func (g *generator) refundLine(p pastLine) LineInput {
	k := decimal.NewFromInt(1 + g.rng.Int64N(p.qty.IntPart()))
	if !p.lineDisc.IsZero() {
		k = p.qty
	}
	return LineInput{
		UnitQuantity:     k.Neg(),
		UnitPrice:        p.price,
		DiscountAmount:   p.lineDisc,
		ParentSaleLineID: p.id,
	}
}

// remember keeps the sold lines of counted sales for later refunds.
func (g *generator) remember(s *Sale) {
	if !s.Completed || s.Voided {
		return
	}
	for _, l := range s.Lines {
		if !l.UnitQuantity.IsPositive() || !l.UnitQuantity.IsInteger() {
			continue
		}
		past := g.past[s.RegisterID]
		if past == nil {
			past = &pastLines{}
			g.past[s.RegisterID] = past
		}
		past.add(pastLine{id: l.ID, qty: l.UnitQuantity, price: l.UnitPrice, lineDisc: l.CalcLineDiscount, txPercent: s.DiscountPercent})
	}
}
