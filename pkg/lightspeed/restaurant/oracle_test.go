package restaurant_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/aggregate"
	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/restaurant"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/pos"
)

// hourRow is one hour's figures in a form both the aggregation and the oracle map to.
type hourRow struct {
	Date, Start                                                               string
	Gross, Net, Discounts, Returns, Trans, GoodsSold, GoodsReturned, Visitors string
}

func aggregateRows(days []aggregate.Day) []hourRow {
	var out []hourRow
	for _, d := range days {
		for _, h := range d.Hours {
			m := h.Metrics
			out = append(out, hourRow{d.Date.String(), h.Start.UTC().Format(time.RFC3339),
				m.GrossSales.String(), m.NetSales.String(), m.Discounts.String(), m.Returns.String(),
				m.Transactions.String(), m.GoodsSold.String(), m.GoodsReturned.String(), m.Visitors.String()})
		}
	}
	return out
}

func oracleRows(days []sim.ExpectedDay) []hourRow {
	var out []hourRow
	for _, d := range days {
		for _, h := range d.Hours {
			out = append(out, hourRow{d.Date, h.Start.UTC().Format(time.RFC3339),
				h.GrossSales.String(), h.NetSales.String(), h.Discounts.String(), h.Returns.String(),
				h.Transactions.String(), h.GoodsSold.String(), h.GoodsReturned.String(), h.Visitors.String()})
		}
	}
	return out
}

// importDevice does what a worker does for one device: pull its sales for the local dates
// through the client and bucket them.
func importDevice(t *testing.T, c *restaurant.Client, loc pos.Location, device string, from, until civil.Date) []aggregate.Day {
	t.Helper()
	zone, err := time.LoadLocation(loc.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	series, err := aggregate.New(zone, from, until)
	if err != nil {
		t.Fatal(err)
	}
	start, end := series.Range()
	q := pos.SalesQuery{LocationID: loc.ID, RegisterIDs: []string{device}, From: start, Until: end}
	if err := c.Sales(context.Background(), q, series.Add); err != nil {
		t.Fatal(err)
	}
	return series.Days()
}

// TestAggregationEqualsOracle imports a device of each of two locations (London and Sydney,
// both DST changes of each) over seven months, and a second device of one of them over a
// month, and compares every hour with the simulator's oracle.
func TestAggregationEqualsOracle(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Seed: 5, Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{
		LocationsPerBusiness: 2, DevicesPerLocation: 2, SalesPerDay: 8, Zones: []string{"Europe/London", "Australia/Sydney"},
		From: time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 10, 31, 0, 0, 0, 0, time.UTC)}}}, nil)
	locs, err := b.client.Locations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	from, until := civil.Date{Year: 2025, Month: 3, Day: 25}, civil.Date{Year: 2025, Month: 10, Day: 29}
	for i, loc := range locs {
		devices := []string{loc.ID + "01"}
		if i == 0 {
			devices = append(devices, loc.ID+"02")
		}
		for _, dev := range devices {
			from, until := from, until
			if dev == loc.ID+"02" {
				from, until = civil.Date{Year: 2025, Month: 10, Day: 1}, civil.Date{Year: 2025, Month: 10, Day: 29}
			}
			got := importDevice(t, b.client, loc, dev, from, until)
			short, long := 0, 0
			for _, d := range got {
				switch len(d.Hours) {
				case 23:
					short++
				case 25:
					long++
				}
			}
			if wantShort := b2i(dev != loc.ID+"02"); short != wantShort || long != 1 {
				t.Errorf("device %s (%s): %d days of 23 hours, %d of 25", dev, loc.TimeZone, short, long)
			}
			lid, _ := strconv.ParseInt(loc.ID, 10, 64)
			did, _ := strconv.ParseInt(dev, 10, 64)
			want, err := b.env.Sim.ExpectedRestaurant(sim.RestaurantOracleQuery{BusinessID: businessID, LocationID: lid, DeviceID: did, From: from.String(), Until: until.String()})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(oracleRows(want), aggregateRows(got)); diff != "" {
				t.Errorf("device %s (%s): aggregation differs from the oracle (-oracle +aggregation):\n%.3000s", dev, loc.TimeZone, diff)
			}
		}
	}
}

// TestAggregationEqualsOracleRules imports the hand-made rule receipts and checks the day
// totals worked out by hand, which would catch a rule the oracle and client both got wrong.
func TestAggregationEqualsOracleRules(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Clock: sim.NewManualClock(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))}, nil)
	simtest.AddRestaurantRuleReceipts(t, b.env.Sim)
	day, _ := civil.ParseDate(simtest.RestaurantRuleDate)
	from, until := day.AddDays(-1), day.AddDays(1)
	loc := pos.Location{ID: location, TimeZone: simtest.RestaurantRuleZone}
	got := importDevice(t, b.client, loc, device1, from, until)
	want, err := b.env.Sim.ExpectedRestaurant(sim.RestaurantOracleQuery{BusinessID: businessID, LocationID: simtest.RestaurantRuleLocation,
		From: from.String(), Until: until.String()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(oracleRows(want), aggregateRows(got)); diff != "" {
		t.Errorf("aggregation differs from the oracle (-oracle +aggregation):\n%s", diff)
	}
	rule := got[1]
	if len(rule.Hours) != 25 || !rule.Hours[1].Metrics.GrossSales.Equal(d("8")) || !rule.Hours[2].Metrics.GrossSales.Equal(d("16")) {
		t.Fatalf("the two 01:00 hours of %v: %d hours", rule.Date, len(rule.Hours))
	}
	total := rule.Total()
	for name, v := range map[string]decimal.Decimal{"grossSales": total.GrossSales, "discounts": total.Discounts, "returns": total.Returns,
		"transactions": total.Transactions, "goodsSold": total.GoodsSold, "goodsReturned": total.GoodsReturned, "visitors": total.Visitors} {
		if want := d(simtest.RuleDayTotals[name]); !v.Equal(want) {
			t.Errorf("day total %s = %s, want %s", name, v, want)
		}
	}
	if !got[0].Hours[23].Metrics.GrossSales.Equal(d("1000")) || !got[2].Hours[0].Metrics.Visitors.Equal(d("5")) {
		t.Error("the neighbouring days' edge receipts are not where they belong")
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestTaxExclusiveLocationEqualsOracle: at a tax-exclusive location (New York: menu prices
// without the sales tax, taxLines saying taxIncluded: false) Gross sales and Returns include the
// tax. A month over the autumn change, fetched location-wide (every device from one query) and
// for one device, equals the oracle hour by hour; the gross is not the sum of the lines'
// totalNetAmountWithTax, which holds the amount before tax there; and a hand-made receipt gives
// the gross worked out by hand.
func TestTaxExclusiveLocationEqualsOracle(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Seed: 8, Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{
		DevicesPerLocation: 2, SalesPerDay: 10, Zones: []string{"America/New_York"},
		From: time.Date(2025, 10, 15, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)}}}, nil)
	locs, err := b.client.Locations(context.Background())
	if err != nil || len(locs) != 1 || locs[0].TimeZone != "America/New_York" {
		t.Fatalf("locations %+v, %v", locs, err)
	}
	loc := locs[0]
	lid, _ := strconv.ParseInt(loc.ID, 10, 64)
	// A hand-made receipt on a quiet day: 2 × 10.00 before tax, 8.875 % sales tax on top.
	if _, err := b.env.Sim.AddReceipt(businessID, sim.ReceiptInput{LocationID: lid, DeviceID: lid*100 + 1, TimeClosed: time.Date(2025, 12, 1, 15, 0, 0, 0, time.UTC),
		Lines: []sim.ReceiptLineInput{{Quantity: d("2"), UnitPrice: d("10.00")}}}); err != nil {
		t.Fatal(err)
	}
	from, until := civil.Date{Year: 2025, Month: 10, Day: 20}, civil.Date{Year: 2025, Month: 12, Day: 1}
	zone, _ := time.LoadLocation(loc.TimeZone)
	series, err := aggregate.New(zone, from, until)
	if err != nil {
		t.Fatal(err)
	}
	start, end := series.Range()
	if err := b.client.Sales(context.Background(), pos.SalesQuery{LocationID: loc.ID, From: start, Until: end}, series.Add); err != nil {
		t.Fatal(err)
	}
	got := series.Days()
	want, err := b.env.Sim.ExpectedRestaurant(sim.RestaurantOracleQuery{BusinessID: businessID, LocationID: lid, From: from.String(), Until: until.String()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(oracleRows(want), aggregateRows(got)); diff != "" {
		t.Errorf("location-wide aggregation differs from the oracle (-oracle +aggregation):\n%.3000s", diff)
	}
	dev := loc.ID + "02"
	did, _ := strconv.ParseInt(dev, 10, 64)
	wantDev, err := b.env.Sim.ExpectedRestaurant(sim.RestaurantOracleQuery{BusinessID: businessID, LocationID: lid, DeviceID: did, From: from.String(), Until: until.String()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(oracleRows(wantDev), aggregateRows(importDevice(t, b.client, loc, dev, from, until))); diff != "" {
		t.Errorf("device %s differs from the oracle (-oracle +aggregation):\n%.3000s", dev, diff)
	}

	// The amounts labelled "with tax" hold the amounts before tax at this location.
	receipts, err := b.env.Sim.Receipts(businessID, sim.ReceiptFilter{LocationID: lid, From: start, Until: end})
	if err != nil {
		t.Fatal(err)
	}
	labelled, gross := decimal.Zero, decimal.Zero
	for _, rc := range receipts {
		if rc.Cancelled || rc.Type != sim.ReceiptSale {
			continue
		}
		for _, l := range rc.Lines {
			if l.Quantity.IsPositive() {
				labelled = labelled.Add(l.TotalNetAmountWithTax)
			}
		}
	}
	for _, day := range got {
		gross = gross.Add(day.Total().GrossSales)
	}
	if !gross.GreaterThan(labelled) {
		t.Errorf("gross %s is not above Σ totalNetAmountWithTax %s: the sales tax is missing", gross, labelled)
	}
	last := got[len(got)-1].Total()
	if !last.GrossSales.Equal(d("21.775")) || !last.NetSales.Equal(d("20")) {
		t.Errorf("hand-made receipt: gross %s net %s, want 21.775 and 20", last.GrossSales, last.NetSales)
	}
}
