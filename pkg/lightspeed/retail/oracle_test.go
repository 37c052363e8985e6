package retail_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/aggregate"
	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/retail"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/pos"
)

// hourRow is one hour's figures in a form both the aggregation and the oracle map to.
type hourRow struct {
	Date, Start                                                     string
	Gross, Net, Discounts, Returns, Trans, GoodsSold, GoodsReturned string
}

func aggregateRows(days []aggregate.Day) []hourRow {
	var out []hourRow
	for _, d := range days {
		for _, h := range d.Hours {
			m := h.Metrics
			out = append(out, hourRow{d.Date.String(), h.Start.UTC().Format(time.RFC3339),
				m.GrossSales.String(), m.NetSales.String(), m.Discounts.String(), m.Returns.String(),
				m.Transactions.String(), m.GoodsSold.String(), m.GoodsReturned.String()})
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
				h.Transactions.String(), h.GoodsSold.String(), h.GoodsReturned.String()})
		}
	}
	return out
}

// importRegister does what a worker does for one register: pull its sales for the local dates
// through the client and bucket them.
func importRegister(t *testing.T, c *retail.Client, register, zone string, from, until civil.Date) []aggregate.Day {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	series, err := aggregate.New(loc, from, until)
	if err != nil {
		t.Fatal(err)
	}
	start, end := series.Range()
	q := pos.SalesQuery{RegisterIDs: []string{register}, From: start, Until: end}
	if err := c.Sales(context.Background(), q, series.Add); err != nil {
		t.Fatal(err)
	}
	return series.Days()
}

func TestAggregationEqualsOracleYear(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Seed: 5, RateLimit: sim.RateLimitOptions{Disabled: true}, Data: sim.DataOptions{
		SalesPerDay: 20, ShopsPerAccount: 3, Zones: []string{"Europe/Copenhagen", "America/New_York", "US/Eastern"},
		From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC),
	}}, nil)
	ctx := context.Background()
	locs, err := b.client.Locations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]string{}
	for _, l := range locs {
		zones[l.ID] = l.TimeZone
	}
	regs, err := b.client.Registers(ctx, "")
	if err != nil || len(regs) != 3 {
		t.Fatalf("registers %v %v", regs, err)
	}
	from := civil.Date{Year: 2025, Month: 1, Day: 1}
	until := civil.Date{Year: 2025, Month: 12, Day: 31}
	for _, r := range regs {
		zone := zones[r.LocationID]
		got := importRegister(t, b.client, r.ID, zone, from, until)
		short, long := 0, 0
		for _, d := range got {
			switch len(d.Hours) {
			case 23:
				short++
			case 25:
				long++
			}
		}
		if short != 1 || long != 1 || len(got) != 365 {
			t.Errorf("register %s (%s): %d days, %d of 23 hours, %d of 25", r.ID, zone, len(got), short, long)
		}
		id, _ := strconv.ParseInt(r.ID, 10, 64)
		want, err := b.env.Sim.Expected(sim.OracleQuery{AccountID: 100001, RegisterID: id, From: from.String(), Until: until.String(), Zone: zone})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(oracleRows(want), aggregateRows(got)); diff != "" {
			t.Errorf("register %s (%s): aggregation differs from the oracle (-oracle +aggregation):\n%s", r.ID, zone, diff)
		}
	}
}

func TestAggregationEqualsOracleRules(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Data: sim.DataOptions{Zones: []string{simtest.RuleZone}}}, nil)
	simtest.AddRuleSales(t, b.env.Sim)
	day, _ := civil.ParseDate(simtest.RuleDate)
	from, until := day.AddDays(-1), day.AddDays(1)
	got := importRegister(t, b.client, "1", simtest.RuleZone, from, until)
	want, err := b.env.Sim.Expected(sim.OracleQuery{AccountID: 100001, RegisterID: 1, From: from.String(), Until: until.String(), Zone: simtest.RuleZone})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(oracleRows(want), aggregateRows(got)); diff != "" {
		t.Errorf("aggregation differs from the oracle (-oracle +aggregation):\n%s", diff)
	}
	// Spot checks that would catch a rule both sides got wrong the same way.
	rule := got[1]
	if len(rule.Hours) != 25 {
		t.Fatalf("%v has %d hours", rule.Date, len(rule.Hours))
	}
	for i, want := range map[int]string{2: "10", 3: "20"} {
		if g := rule.Hours[i].Metrics.GrossSales.String(); g != want {
			t.Errorf("hour %d (%s) gross %s, want %s", i, rule.Hours[i].Start.Format("15:04-07:00"), g, want)
		}
	}
	total := rule.Total()
	if total.Transactions.String() != "9" || total.Returns.String() != "25" || total.GoodsReturned.String() != "2" || total.Discounts.String() != "9.6" {
		t.Errorf("day totals %+v", total)
	}
	if !total.Visitors.IsZero() {
		t.Error("R-Series sales have visitors")
	}
	if !got[0].Hours[23].Metrics.GrossSales.Equal(mustDec("1250")) || !got[2].Hours[0].Metrics.GrossSales.Equal(mustDec("1250")) {
		t.Error("the neighbouring days' edge sales are not where they belong")
	}
}

func mustDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }
