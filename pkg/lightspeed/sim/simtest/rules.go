package simtest

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
)

// The hand-made rule sales live on this local date and zone (the autumn DST day), on register 1
// of account 100001; they are next to it too, to test the day's edges.
const (
	RuleDate = "2026-10-25"
	RuleZone = "Europe/Copenhagen"
)

// RuleSale is one hand-made sale and the rule it exercises.
type RuleSale struct {
	Rule string
	Sale sim.SaleInput
}

func line(qty, price string) sim.LineInput {
	return sim.LineInput{UnitQuantity: decimal.RequireFromString(qty), UnitPrice: decimal.RequireFromString(price)}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// RuleSales returns one sale per metric rule, all on register 1 with 25 % tax: a plain sale,
// line and transaction discounts, a refund, an exchange, a void, an open sale, an archived sale,
// both 02:00 hours of the autumn day, and the first and last second of the day (and the first
// of the next).
func RuleSales() []RuleSale {
	tax := decimal.RequireFromString("0.25")
	sale := func(t string, lines ...sim.LineInput) sim.SaleInput {
		return sim.SaleInput{RegisterID: 1, Completed: true, CompleteTime: at(t), Tax1Rate: &tax, Tax2Rate: &decimal.Zero, Lines: lines}
	}
	disc := sale("2026-10-25T08:30:00Z", sim.LineInput{UnitQuantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(40), DiscountAmount: decimal.NewFromInt(4)})
	disc.DiscountPercent = decimal.RequireFromString("0.1")
	pct := sale("2026-10-25T08:45:00Z", sim.LineInput{UnitQuantity: decimal.NewFromInt(2), UnitPrice: decimal.NewFromInt(5), DiscountPercent: decimal.RequireFromString("0.2")})
	voided := sale("2026-10-25T12:00:00Z", line("1", "100"))
	voided.Voided = true
	open := sale("2026-10-25T12:30:00Z", line("1", "100"))
	open.Completed, open.CompleteTime = false, time.Time{}
	archived := sale("2026-10-25T14:00:00Z", line("1", "4"))
	archived.Archived = true
	refund := line("-1", "10")
	refund.ParentSaleLineID = 1
	return []RuleSale{
		{"plain sale", sale("2026-10-25T08:00:00Z", line("2", "10"))},
		{"line and transaction discount", disc},
		{"percent line discount", pct},
		{"refund", sale("2026-10-25T10:15:00Z", refund)},
		{"exchange", sale("2026-10-25T10:45:00Z", refund, line("1", "30"))},
		{"void", voided},
		{"open sale", open},
		{"archived sale counts", archived},
		{"first 02:00 hour (CEST)", sale("2026-10-25T00:30:00Z", line("1", "8"))},
		{"second 02:00 hour (CET)", sale("2026-10-25T01:30:00Z", line("1", "16"))},
		{"first second of the day", sale("2026-10-24T22:00:00Z", line("1", "4"))},
		{"last second of the day", sale("2026-10-25T22:59:59Z", line("1", "0.8"))},
		{"first second of the next day", sale("2026-10-25T23:00:00Z", line("1", "1000"))},
		{"last second of the day before", sale("2026-10-24T21:59:59Z", line("1", "1000"))},
	}
}

// AddRuleSales adds [RuleSales] to account 100001 of s.
func AddRuleSales(tb testing.TB, s *sim.Server) {
	tb.Helper()
	for _, rs := range RuleSales() {
		if _, err := s.AddSale(100001, rs.Sale); err != nil {
			tb.Fatalf("add %s: %v", rs.Rule, err)
		}
	}
}
