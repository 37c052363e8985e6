package sim_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
)

// TestOracleRules checks the oracle against figures worked out by hand for each metric rule.
func TestOracleRules(t *testing.T) {
	t.Parallel()
	s, err := sim.New(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	simtest.AddRuleSales(t, s)
	days, err := s.Expected(sim.OracleQuery{AccountID: 100001, RegisterID: 1, From: simtest.RuleDate, Until: simtest.RuleDate, Zone: simtest.RuleZone})
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || len(days[0].Hours) != 25 {
		t.Fatalf("got %d days, want one of 25 hours", len(days))
	}
	d := decimal.RequireFromString
	// Hours with sales; every other hour must be all zero. Columns: gross, net, discounts,
	// returns, transactions, goods sold, goods returned.
	want := map[string][7]string{
		// first second of the day: 1 × 4, 25 % tax
		"00:00+02:00": {"5", "4", "0", "0", "1", "1", "0"},
		// 1 × 8 at 02:30 CEST
		"02:00+02:00": {"10", "8", "0", "0", "1", "1", "0"},
		// 1 × 16 at 02:30 CET
		"02:00+01:00": {"20", "16", "0", "0", "1", "1", "0"},
		// plain 2 × 10 = 20 (+5 tax); 40 − 4 line − 3.6 transaction discount = 32.4 (+8.1);
		// 2 × 5 − 20 % = 8 (+2)
		"09:00+01:00": {"75.5", "60.4", "9.6", "0", "3", "5", "0"},
		// refund −1 × 10 (−12.5 incl. tax); exchange −1 × 10 and +1 × 30
		"11:00+01:00": {"37.5", "10", "0", "25", "1", "1", "2"},
		// the void and the open sale count for nothing; the archived sale counts
		"15:00+01:00": {"5", "4", "0", "0", "1", "1", "0"},
		// last second of the day: 1 × 0.8
		"23:00+01:00": {"1", "0.8", "0", "0", "1", "1", "0"},
	}
	got := map[string][7]string{}
	for _, h := range days[0].Hours {
		v := [7]decimal.Decimal{h.GrossSales, h.NetSales, h.Discounts, h.Returns, h.Transactions, h.GoodsSold, h.GoodsReturned}
		zero := true
		var row [7]string
		for i, x := range v {
			zero = zero && x.IsZero()
			row[i] = x.String()
		}
		if !zero {
			got[h.Clock] = row
		}
	}
	for k, row := range want {
		for i := range row {
			row[i] = d(row[i]).String()
		}
		want[k] = row
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("oracle (-want +got):\n%s", diff)
	}
	// The hour labels and starts of the autumn day.
	if h := days[0].Hours[3]; h.Clock != "02:00+01:00" || h.Start.Format("15:04Z07:00") != "01:00Z" {
		t.Errorf("fourth hour %s starting %v", h.Clock, h.Start)
	}
	if _, err := s.Expected(sim.OracleQuery{AccountID: 100001, From: "2026-10-25", Until: "2026-10-24", Zone: "UTC"}); err == nil {
		t.Error("inverted range: want an error")
	}
	if _, err := s.Expected(sim.OracleQuery{AccountID: 100001, From: "2026-10-25", Until: "2026-10-25", Zone: "Mars/Olympus"}); err == nil {
		t.Error("unknown zone: want an error")
	}
}

func TestGeneratorDeterministicAndVaried(t *testing.T) {
	t.Parallel()
	opts := sim.Options{Seed: 42, Data: sim.DataOptions{SalesPerDay: 40, Zones: []string{"America/New_York"},
		From: mustTime("2025-10-25T00:00:00Z"), Until: mustTime("2025-11-05T00:00:00Z")}}
	a, _ := sim.New(opts)
	b, _ := sim.New(opts)
	sa, _ := a.Sales(100001, sim.SaleFilter{})
	sb, _ := b.Sales(100001, sim.SaleFilter{})
	if diff := cmp.Diff(sa, sb); diff != "" {
		t.Fatalf("same seed, different data (-a +b):\n%s", diff)
	}
	counts := map[string]int{}
	ny := mustLoad(t, "America/New_York")
	for _, s := range sa {
		local := s.CompleteTime.In(ny)
		switch {
		case !s.Completed:
			counts["open"]++
		case s.Voided:
			counts["voided"]++
		case s.Archived:
			counts["archived"]++
		}
		if !s.DiscountPercent.IsZero() {
			counts["transaction discount"]++
		}
		pos, neg := false, false
		for _, l := range s.Lines {
			pos = pos || l.UnitQuantity.IsPositive()
			if l.UnitQuantity.IsNegative() {
				neg = true
				if l.ParentID == 0 {
					t.Errorf("refund line %d has no parent", l.ID)
				}
			}
			if !l.CalcLineDiscount.IsZero() {
				counts["line discount"]++
			}
		}
		switch {
		case pos && neg:
			counts["exchange"]++
		case neg:
			counts["refund"]++
		}
		if len(s.Lines) > 1 {
			counts["multi-line"]++
		}
		if s.Completed && (local.Hour() == 0 || local.Hour() == 23) {
			counts["around midnight"]++
		}
		if local.Format("2006-01-02 15") == "2025-11-02 01" {
			_, off := local.Zone()
			counts["01:00 at offset "+time.Duration(off*1e9).String()]++
		}
		if s.TimeStamp.Sub(s.CompleteTime) > time.Hour && s.Completed {
			counts["late edit"]++
		}
	}
	for _, k := range []string{"open", "voided", "archived", "transaction discount", "line discount", "exchange", "refund",
		"multi-line", "around midnight", "01:00 at offset -4h0m0s", "01:00 at offset -5h0m0s", "late edit"} {
		if counts[k] == 0 {
			t.Errorf("generated data has no %s sale (counts %v)", k, counts)
		}
	}
	c, _ := sim.New(sim.Options{Seed: 43, Data: opts.Data})
	sc, _ := c.Sales(100001, sim.SaleFilter{})
	if cmp.Equal(sa, sc) {
		t.Error("another seed gave the same data")
	}
}
