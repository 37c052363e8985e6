package restaurant_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/lightspeed/restaurant"
	"github.com/posimport/posimport/pkg/pos"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// line is quantity, amount with tax, without tax, discount.
func line(q, with, without, disc string) restaurant.SaleLine {
	return restaurant.SaleLine{Quantity: d(q), TotalNetAmountWithTax: d(with), TotalNetAmountWithoutTax: d(without), TotalDiscountAmount: d(disc)}
}

// TestFigures applies each K-Series rule to a hand-made sale.
func TestFigures(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		sale   restaurant.Sale
		counts bool
		want   pos.Metrics
	}{
		{name: "a sale: gross and net from its lines, discounts, one transaction, its covers",
			sale:   restaurant.Sale{Type: "SALE", NbCovers: d("3"), Lines: []restaurant.SaleLine{line("2", "20.00", "16.67", "0.00"), line("1", "32.40", "27.00", "7.60")}},
			counts: true,
			want:   pos.Metrics{GrossSales: d("52.40"), NetSales: d("43.67"), Discounts: d("7.60"), Transactions: d("1"), GoodsSold: d("3"), Visitors: d("3")}},
		{name: "goods sold by weight",
			sale:   restaurant.Sale{Type: "SALE", Lines: []restaurant.SaleLine{line("0.350", "19.22", "16.02", "0")}},
			counts: true,
			want:   pos.Metrics{GrossSales: d("19.22"), NetSales: d("16.02"), Transactions: d("1"), GoodsSold: d("0.35")}},
		{name: "a refund with negative amounts: returns, no transaction, no visitors",
			sale:   restaurant.Sale{Type: "REFUND", NbCovers: d("1"), Lines: []restaurant.SaleLine{line("-1.000", "-10.00", "-8.33", "0")}},
			counts: true,
			want:   pos.Metrics{Returns: d("10"), NetSales: d("-8.33"), GoodsReturned: d("1")}},
		{name: "a refund whose amounts come positive counts the same",
			sale:   restaurant.Sale{Type: "REFUND", Lines: []restaurant.SaleLine{line("1.000", "10.00", "8.33", "1.00")}},
			counts: true,
			want:   pos.Metrics{Returns: d("10"), NetSales: d("-8.33"), GoodsReturned: d("1")}},
		{name: "an exchange: a return line on a sale",
			sale:   restaurant.Sale{Type: "SALE", NbCovers: d("1"), Lines: []restaurant.SaleLine{line("-1", "-10.00", "-8.33", "0"), line("1", "30.00", "25.00", "0")}},
			counts: true,
			want:   pos.Metrics{GrossSales: d("30"), NetSales: d("16.67"), Returns: d("10"), Transactions: d("1"), GoodsSold: d("1"), GoodsReturned: d("1"), Visitors: d("1")}},
		{name: "a sale without lines is still a transaction",
			sale:   restaurant.Sale{Type: "SALE", NbCovers: d("2")},
			counts: true,
			want:   pos.Metrics{Transactions: d("1"), Visitors: d("2")}},
		{name: "cancelled sale", sale: restaurant.Sale{Type: "SALE", Cancelled: true}},
		{name: "cancelled refund", sale: restaurant.Sale{Type: "REFUND", Cancelled: true}},
		{name: "void", sale: restaurant.Sale{Type: "VOID"}},
		{name: "split", sale: restaurant.Sale{Type: "SPLIT"}},
		{name: "transfer", sale: restaurant.Sale{Type: "TRANSFER"}},
		{name: "update", sale: restaurant.Sale{Type: "UPDATE"}},
		{name: "transitory", sale: restaurant.Sale{Type: "TRANSITORY"}},
		{name: "cross business location", sale: restaurant.Sale{Type: "CROSS_BL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.sale.FiscID, tc.sale.DeviceID, tc.sale.TimeClosed = "A1.9", 75125, at
			if got := restaurant.Counts(tc.sale); got != tc.counts {
				t.Fatalf("Counts = %v, want %v", got, tc.counts)
			}
			if !tc.counts {
				return
			}
			got := restaurant.Figures(tc.sale, "300001001")
			want := pos.SaleFigures{SaleID: "A1.9", LocationID: "300001001", RegisterID: "75125", CompletedAt: at, Metrics: tc.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("figures (-want +got):\n%s", diff)
			}
		})
	}
}
