package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// restaurantZones gives each default zone a country, currency and tax rate. Prices include
// the VAT of the European and Australian locations; the US location is tax-exclusive (sales
// tax comes on top of menu prices).
var restaurantZones = map[string]struct {
	country, currency, rate string
	exclusive               bool
}{
	"Europe/London":     {"GB", "GBP", "0.20", false},
	"Europe/Copenhagen": {"DK", "DKK", "0.25", false},
	"America/New_York":  {"US", "USD", "0.08875", true},
	"Australia/Sydney":  {"AU", "AUD", "0.10", false},
}

// menu is what the generated restaurants sell; prices include the tax where the location's
// prices do (not in the US).
var menu = []struct {
	name, sku string
	cents     int64
	byWeight  bool
}{
	{"Burger", "101", 1450, false}, {"Fries", "102", 450, false}, {"Caesar salad", "103", 1190, false},
	{"Steak", "104", 2890, false}, {"Pasta", "105", 1590, false}, {"Pizza", "106", 1350, false},
	{"Soup of the day", "107", 690, false}, {"Dessert", "108", 750, false}, {"Draught beer", "201", 595, false},
	{"House wine", "202", 790, false}, {"Coffee", "203", 320, false}, {"Sparkling water", "204", 250, false},
	{"Seafood by weight", "301", 5490, true},
}

// otherTypes are receipt types the generator adds now and then; none of them counts.
var otherTypes = []string{ReceiptSplit, ReceiptTransfer, ReceiptUpdate, ReceiptRecall, ReceiptCancel, ReceiptFloat, ReceiptCrossBL}

// generateRestaurants fills k with opts' businesses and, when SalesPerDay > 0, their receipts.
func generateRestaurants(k *kstore, seed uint64, opts RestaurantDataOptions, now time.Time) error {
	zones := opts.Zones
	if len(zones) == 0 {
		zones = DefaultRestaurantZones
	}
	if opts.DayStart < 0 || opts.DayStart >= 24*time.Hour {
		return fmt.Errorf("restaurant day start %v is outside [0, 24h)", opts.DayStart)
	}
	dayStart := opts.DayStart
	if dayStart == 0 {
		dayStart = defaultDayStart
	}
	from, until := dataRange(opts.From, opts.Until, now)
	zi := 0
	for bi := range max(opts.Businesses, 1) {
		b := &Business{ID: 300001 + int64(bi), Name: fmt.Sprintf("Simulated Restaurant Group %d", bi+1)}
		for li := range max(opts.LocationsPerBusiness, 1) {
			zone := zones[zi%len(zones)]
			zi++
			info, ok := restaurantZones[zone]
			if !ok {
				info = restaurantZones["Europe/London"]
			}
			if b.Currency == "" {
				b.Currency = info.currency
			}
			l := BusinessLocation{
				ID: b.ID*1000 + int64(li) + 1, Name: fmt.Sprintf("Restaurant %d", li+1), Country: info.country,
				TimeZone: zone, TaxRate: decimal.RequireFromString(info.rate), TaxExclusive: info.exclusive, DayStart: Duration(dayStart),
			}
			for di := range max(opts.DevicesPerLocation, 1) {
				l.Devices = append(l.Devices, Device{ID: l.ID*100 + int64(di) + 1, Name: fmt.Sprintf("iPad %d", di+1)})
			}
			b.Locations = append(b.Locations, l)
		}
		if err := k.addBusiness(b); err != nil {
			return err
		}
		if opts.SalesPerDay <= 0 {
			continue
		}
		for _, l := range b.Locations {
			g := &restaurantGenerator{
				generator: generator{rng: rand.New(rand.NewPCG(seed, uint64(l.ID))), mean: float64(opts.SalesPerDay)},
				k:         k, ld: k.locations[l.ID], past: map[int64][]pastSale{},
			}
			g.run(from, until)
		}
	}
	return nil
}

// pending is a generated receipt before it is stored; undoes is the sale a void undoes.
type pending struct {
	in     ReceiptInput
	undoes *pending
	fisc   string
}

// pastSale is a counted sale's line a later refund can return.
type pastSale struct {
	fisc string
	line ReceiptLineInput
}

type restaurantGenerator struct {
	generator
	k    *kstore
	ld   *locationData
	past map[int64][]pastSale // per device, the most recent sold lines
}

func (g *restaurantGenerator) run(from, until time.Time) {
	loc := g.ld.zone
	first := time.Date(from.Year(), from.Month(), from.Day(), 12, 0, 0, 0, time.UTC)
	last := time.Date(until.Year(), until.Month(), until.Day(), 12, 0, 0, 0, time.UTC)
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
		end := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
		var batch []*pending
		for _, dev := range g.ld.loc.Devices {
			for _, at := range g.instants(start, end, loc) {
				// Milliseconds, keeping the day's first and last millisecond where drawn.
				switch {
				case at.Equal(start):
				case at.Equal(end.Add(-time.Second)):
					at = at.Add(999 * time.Millisecond)
				default:
					at = at.Add(time.Duration(g.rng.IntN(1000)) * time.Millisecond)
				}
				batch = append(batch, g.receipts(dev.ID, at)...)
			}
		}
		sort.SliceStable(batch, func(i, j int) bool { return batch[i].in.TimeClosed.Before(batch[j].in.TimeClosed) })
		for _, p := range batch {
			in := p.in
			if p.undoes != nil { // a void, closed after its sale, which has its id by now
				in.InitialAccountID = p.undoes.fisc
			}
			r, err := g.ld.build(in)
			if err != nil {
				panic(fmt.Sprintf("sim: generated an invalid receipt: %v", err)) // a generator bug
			}
			r.StaffID = in.StaffID
			r.TimeOfOpening = r.TimeClosed.Add(-time.Duration(5+g.rng.IntN(115)) * time.Minute)
			g.k.insert(g.ld, r)
			p.fisc = r.AccountFiscID
			if r.Type == ReceiptSale && !r.Cancelled {
				for _, l := range in.Lines {
					g.remember(in.DeviceID, pastSale{fisc: r.AccountFiscID, line: l})
				}
			}
		}
	}
}

func (g *restaurantGenerator) remember(device int64, p pastSale) {
	g.past[device] = append(g.past[device], p)
	if ps := g.past[device]; len(ps) > 200 {
		g.past[device] = ps[len(ps)-200:]
	}
}

// receipts draws what happens on a device at `at`: mostly a sale; sometimes a refund of an
// earlier sale, a void (the sale cancelled and a VOID receipt undoing it), a cancelled sale,
// or a receipt of a type that does not count.
func (g *restaurantGenerator) receipts(device int64, at time.Time) []*pending {
	r := g.rng
	sale := ReceiptInput{LocationID: g.ld.loc.ID, DeviceID: device, Type: ReceiptSale, TimeClosed: at, StaffID: 1 + r.Int64N(8)}
	switch k := r.IntN(1000); {
	case k < 50 && len(g.past[device]) > 0: // a refund of an earlier sale's line
		past := g.past[device]
		p := past[r.IntN(len(past))]
		line := p.line
		if line.Quantity.IsInteger() && line.DiscountAmount.IsZero() {
			line.Quantity = decimal.NewFromInt(1 + r.Int64N(line.Quantity.IntPart()))
		}
		line.Quantity = line.Quantity.Neg()
		sale.Type, sale.InitialAccountID, sale.Lines = ReceiptRefund, p.fisc, []ReceiptLineInput{line}
		if r.IntN(10) == 0 {
			sale.NbCovers = decimal.NewFromInt(1) // covers on a refund must not count
		}
		return []*pending{{in: sale}}
	case k < 80: // a void: the sale is cancelled and a VOID receipt undoes it
		g.fill(&sale)
		sale.Cancelled = true
		void := sale
		void.Type, void.Cancelled, void.TimeClosed = ReceiptVoid, false, at.Add(time.Duration(1+r.IntN(90))*time.Second)
		void.Lines = make([]ReceiptLineInput, len(sale.Lines))
		for i, l := range sale.Lines {
			l.Quantity = l.Quantity.Neg()
			void.Lines[i] = l
		}
		p := &pending{in: sale}
		return []*pending{p, {in: void, undoes: p}}
	case k < 90: // cancelled in the back office
		g.fill(&sale)
		sale.Cancelled = true
	case k < 110: // a type that does not count, with amounts and covers that would show
		g.fill(&sale)
		sale.Type = otherTypes[r.IntN(len(otherTypes))]
	default:
		g.fill(&sale)
	}
	return []*pending{{in: sale}}
}

// fill gives a sale its lines, covers and discounts.
func (g *restaurantGenerator) fill(s *ReceiptInput) {
	r := g.rng
	n := 1 + r.IntN(6)
	for range n {
		m := menu[r.IntN(len(menu))]
		l := ReceiptLineInput{Name: m.name, SKU: m.sku, UnitPrice: decimal.New(m.cents, -2), Quantity: decimal.NewFromInt(int64(1 + r.IntN(3)))}
		if m.byWeight {
			l.Quantity = decimal.New(int64(150+r.IntN(900)), -3) // kilograms, to the gram
		}
		if r.IntN(20) == 0 {
			l.DiscountAmount = decimal.Min(decimal.NewFromInt(1+r.Int64N(4)), l.Quantity.Mul(l.UnitPrice).Round(2))
		}
		s.Lines = append(s.Lines, l)
	}
	if r.IntN(100) < 6 {
		s.AccountDiscountPercent = decimal.New(int64(10+5*r.IntN(2)), -2)
	}
	if r.IntN(10) < 7 {
		s.DineIn = true
		s.NbCovers = decimal.NewFromInt(int64(1 + r.IntN(6)))
	}
}
