package simtest

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
)

// The hand-made K-Series rule receipts live on this local date and zone (the autumn DST day,
// when 01:00 happens twice), on the first device of the first location of business 300001,
// which the default zones put in Europe/London; some are on the neighbouring days' edges.
const (
	RestaurantRuleDate     = "2026-10-25"
	RestaurantRuleZone     = "Europe/London"
	RestaurantRuleBusiness = int64(300001)
	RestaurantRuleLocation = int64(300001001)
	RestaurantRuleDevice   = int64(30000100101)
)

// RuleReceipt is one hand-made receipt and the rule it exercises.
type RuleReceipt struct {
	Rule    string
	Receipt sim.ReceiptInput
}

func kline(qty, price string) sim.ReceiptLineInput {
	return sim.ReceiptLineInput{Quantity: decimal.RequireFromString(qty), UnitPrice: decimal.RequireFromString(price), Name: "Item"}
}

// RestaurantRuleReceipts returns one receipt per metric rule, all with 20 % VAT included: a
// plain sale with covers, line and account discounts, a fractional quantity, a refund (with
// covers that must not count), an exchange (a return line on a sale), a cancelled sale and its
// VOID, SPLIT and TRANSFER receipts, a cancelled refund, both 01:00 hours of the autumn day,
// the day's first and last millisecond (and the neighbours'), and a sale before the business
// day's 05:30 start, which still counts on its calendar date.
func RestaurantRuleReceipts() []RuleReceipt {
	receipt := func(typ, t string, covers int64, lines ...sim.ReceiptLineInput) sim.ReceiptInput {
		return sim.ReceiptInput{LocationID: RestaurantRuleLocation, DeviceID: RestaurantRuleDevice, Type: typ,
			TimeClosed: at(t), NbCovers: decimal.NewFromInt(covers), DineIn: covers > 0, Lines: lines}
	}
	disc := receipt(sim.ReceiptSale, "2026-10-25T08:30:00.250Z", 1, sim.ReceiptLineInput{
		Quantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(40), DiscountAmount: decimal.NewFromInt(4), Name: "Steak"})
	disc.AccountDiscountPercent = decimal.RequireFromString("0.1")
	refund := receipt(sim.ReceiptRefund, "2026-10-25T10:15:00Z", 1, kline("-1", "10"))
	refund.InitialAccountID = "A300001001.1"
	cancelled := receipt(sim.ReceiptSale, "2026-10-25T12:00:00Z", 4, kline("1", "100"))
	cancelled.Cancelled = true
	cancelledRefund := receipt(sim.ReceiptRefund, "2026-10-25T12:10:00Z", 0, kline("-1", "50"))
	cancelledRefund.Cancelled = true
	return []RuleReceipt{
		{"plain sale with covers", receipt(sim.ReceiptSale, "2026-10-25T08:00:00Z", 2, kline("2", "10"))},
		{"line and account discount", disc},
		{"fractional quantity, rounded to cents", receipt(sim.ReceiptSale, "2026-10-25T09:00:00Z", 0, kline("0.350", "54.90"))},
		{"refund (its covers do not count)", refund},
		{"exchange: a return line on a sale", receipt(sim.ReceiptSale, "2026-10-25T10:45:00Z", 1, kline("-1", "10"), kline("1", "30"))},
		{"cancelled sale", cancelled},
		{"void receipt", receipt(sim.ReceiptVoid, "2026-10-25T12:01:00Z", 4, kline("-1", "100"))},
		{"split receipt", receipt(sim.ReceiptSplit, "2026-10-25T13:00:00Z", 2, kline("1", "100"))},
		{"transfer receipt", receipt(sim.ReceiptTransfer, "2026-10-25T13:30:00Z", 2, kline("1", "100"))},
		{"cancelled refund", cancelledRefund},
		{"first 01:00 hour (BST)", receipt(sim.ReceiptSale, "2026-10-25T00:30:00Z", 1, kline("1", "8"))},
		{"second 01:00 hour (GMT)", receipt(sim.ReceiptSale, "2026-10-25T01:30:00Z", 1, kline("1", "16"))},
		{"before the 05:30 business-day start", receipt(sim.ReceiptSale, "2026-10-25T04:00:00Z", 3, kline("1", "6"))},
		{"first millisecond of the day", receipt(sim.ReceiptSale, "2026-10-24T23:00:00.000Z", 0, kline("1", "4"))},
		{"last millisecond of the day", receipt(sim.ReceiptSale, "2026-10-25T23:59:59.999Z", 0, kline("1", "0.80"))},
		{"first millisecond of the next day", receipt(sim.ReceiptSale, "2026-10-26T00:00:00.000Z", 5, kline("1", "1000"))},
		{"last millisecond of the day before", receipt(sim.ReceiptSale, "2026-10-24T22:59:59.999Z", 5, kline("1", "1000"))},
	}
}

// AddRestaurantRuleReceipts adds [RestaurantRuleReceipts] to business 300001 of s.
func AddRestaurantRuleReceipts(tb testing.TB, s *sim.Server) {
	tb.Helper()
	for _, rr := range RestaurantRuleReceipts() {
		if _, err := s.AddReceipt(RestaurantRuleBusiness, rr.Receipt); err != nil {
			tb.Fatalf("add %s: %v", rr.Rule, err)
		}
	}
}

// RuleDayTotals are the rule date's day totals by the K-Series rules, worked out by hand.
var RuleDayTotals = map[string]string{
	"grossSales":    "136.42", // 20 + 32.40 + 19.22 + 30 + 8 + 16 + 6 + 4 + 0.80
	"discounts":     "7.6",    // 4 + 3.60
	"returns":       "20",     // the refund's 10 and the exchange's 10
	"transactions":  "9",      // the SALE receipts not cancelled
	"goodsSold":     "9.35",   // 2 + 1 + 0.350 + 1 + 1 + 1 + 1 + 1 + 1
	"goodsReturned": "2",
	"visitors":      "9", // 2 + 1 + 0 + 1 + 1 + 1 + 3 + 0 + 0
}
