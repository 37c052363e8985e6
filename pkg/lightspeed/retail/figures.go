package retail

import (
	"strconv"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/pos"
)

var one = decimal.NewFromInt(1)

// Figures applies the R-Series metric definitions (see the package doc) to one sale. It does not
// check that the sale counts; [Client.Sales] passes only completed, non-voided sales.
func Figures(s Sale) pos.SaleFigures {
	var m pos.Metrics
	sold := false
	for _, l := range s.Lines {
		m.NetSales = m.NetSales.Add(l.CalcSubtotal).Sub(l.CalcLineDiscount).Sub(l.CalcTransactionDiscount)
		switch l.UnitQuantity.Sign() {
		case 1:
			sold = true
			m.GrossSales = m.GrossSales.Add(l.CalcTotal)
			m.Discounts = m.Discounts.Add(l.CalcLineDiscount).Add(l.CalcTransactionDiscount)
			m.GoodsSold = m.GoodsSold.Add(l.UnitQuantity)
		case -1:
			m.Returns = m.Returns.Add(l.CalcTotal.Abs())
			m.GoodsReturned = m.GoodsReturned.Add(l.UnitQuantity.Abs())
		}
	}
	if sold {
		m.Transactions = one
	}
	return pos.SaleFigures{
		SaleID:      strconv.FormatInt(s.ID, 10),
		LocationID:  strconv.FormatInt(s.ShopID, 10),
		RegisterID:  strconv.FormatInt(s.RegisterID, 10),
		CompletedAt: s.CompleteTime,
		Metrics:     m,
	}
}
