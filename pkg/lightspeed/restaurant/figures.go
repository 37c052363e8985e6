package restaurant

import (
	"strconv"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/pos"
)

// The receipt types that count.
const (
	TypeSale   = "SALE"
	TypeRefund = "REFUND"
)

var one = decimal.NewFromInt(1)

// Counts reports whether a sale counts: a SALE or REFUND receipt that is not cancelled.
func Counts(s Sale) bool {
	return !s.Cancelled && (s.Type == TypeSale || s.Type == TypeRefund)
}

// Figures applies the K-Series metric definitions (see the package doc) to one sale of
// locationID. It does not check that the sale counts; [Client.Sales] passes only those that do.
func Figures(s Sale, locationID string) pos.SaleFigures {
	var m pos.Metrics
	refund := s.Type == TypeRefund
	for _, l := range s.Lines {
		if refund || l.Quantity.IsNegative() {
			m.Returns = m.Returns.Add(l.Gross().Abs())
			m.GoodsReturned = m.GoodsReturned.Add(l.Quantity.Abs())
			m.NetSales = m.NetSales.Sub(l.TotalNetAmountWithoutTax.Abs())
			continue
		}
		m.GrossSales = m.GrossSales.Add(l.Gross())
		m.NetSales = m.NetSales.Add(l.TotalNetAmountWithoutTax)
		m.Discounts = m.Discounts.Add(l.TotalDiscountAmount)
		m.GoodsSold = m.GoodsSold.Add(l.Quantity)
	}
	if s.Type == TypeSale {
		m.Transactions = one
		m.Visitors = s.NbCovers
	}
	return pos.SaleFigures{
		SaleID:      s.Label(),
		LocationID:  locationID,
		RegisterID:  strconv.FormatInt(s.DeviceID, 10),
		CompletedAt: s.TimeClosed,
		Metrics:     m,
	}
}
