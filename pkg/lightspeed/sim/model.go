package sim

import (
	"time"

	"github.com/shopspring/decimal"
)

// Account is a Lightspeed Retail account (a merchant), the unit of rate limiting and consent.
type Account struct {
	ID    int64  `json:"accountID"`
	Name  string `json:"name"`
	Shops []Shop `json:"shops"`
}

// Registers counts the account's registers: its subscription's register limit, which sizes the
// rate-limit bucket.
func (a *Account) Registers() int {
	n := 0
	for _, s := range a.Shops {
		n += len(s.Registers)
	}
	return n
}

// Shop is a store of an account, with the time zone its days are counted in.
type Shop struct {
	ID        int64           `json:"shopID"`
	Name      string          `json:"name"`
	TimeZone  string          `json:"timeZone"`
	Tax1Rate  decimal.Decimal `json:"tax1Rate"`
	Tax2Rate  decimal.Decimal `json:"tax2Rate"`
	TaxIncl   bool            `json:"isTaxInclusive"`
	Registers []Register      `json:"registers"`
	TimeStamp time.Time       `json:"timeStamp"`
}

// Register is a cash register of a shop.
type Register struct {
	ID        int64     `json:"registerID"`
	ShopID    int64     `json:"shopID"`
	Name      string    `json:"name"`
	TimeStamp time.Time `json:"timeStamp"`
}

// Sale is one sale as the simulator stores it, with typed values. The API renders it with the
// real API's quirks; the admin API uses this form.
type Sale struct {
	ID           int64     `json:"saleID"`
	AccountID    int64     `json:"accountID"`
	ShopID       int64     `json:"shopID"`
	RegisterID   int64     `json:"registerID"`
	EmployeeID   int64     `json:"employeeID"`
	Completed    bool      `json:"completed"`
	Voided       bool      `json:"voided"`
	Archived     bool      `json:"archived"`
	TaxInclusive bool      `json:"isTaxInclusive"`
	CreateTime   time.Time `json:"createTime"`
	// CompleteTime is zero for an open sale.
	CompleteTime time.Time `json:"completeTime"`
	// TimeStamp is the last change; the API shows it as both timeStamp and updatetime.
	TimeStamp       time.Time       `json:"timeStamp"`
	Tax1Rate        decimal.Decimal `json:"tax1Rate"`
	Tax2Rate        decimal.Decimal `json:"tax2Rate"`
	DiscountPercent decimal.Decimal `json:"discountPercent"`
	Lines           []SaleLine      `json:"lines"`
}

// SaleLine is one line of a sale. A refund line has a negative UnitQuantity and the ID of the
// line it refunds in ParentID.
type SaleLine struct {
	ID                      int64           `json:"saleLineID"`
	ParentID                int64           `json:"parentSaleLineID"`
	ItemID                  int64           `json:"itemID"`
	UnitQuantity            decimal.Decimal `json:"unitQuantity"`
	UnitPrice               decimal.Decimal `json:"unitPrice"`
	DiscountAmount          decimal.Decimal `json:"discountAmount"`
	DiscountPercent         decimal.Decimal `json:"discountPercent"`
	CalcSubtotal            decimal.Decimal `json:"calcSubtotal"`
	CalcLineDiscount        decimal.Decimal `json:"calcLineDiscount"`
	CalcTransactionDiscount decimal.Decimal `json:"calcTransactionDiscount"`
	CalcTax1                decimal.Decimal `json:"calcTax1"`
	CalcTax2                decimal.Decimal `json:"calcTax2"`
	CalcTotal               decimal.Decimal `json:"calcTotal"`
}

// LineInput describes a sale line to add; the simulator computes its calc* fields.
type LineInput struct {
	// UnitQuantity is negative for a refund line.
	UnitQuantity decimal.Decimal `json:"unitQuantity"`
	// UnitPrice is excluding tax and positive, also on refund lines.
	UnitPrice decimal.Decimal `json:"unitPrice"`
	// DiscountAmount is the line discount for the whole line, as a positive amount;
	// DiscountPercent (0.1 for 10 %) is the alternative. Give at most one.
	DiscountAmount  decimal.Decimal `json:"discountAmount"`
	DiscountPercent decimal.Decimal `json:"discountPercent"`
	// ParentSaleLineID is the refunded line, for refund lines.
	ParentSaleLineID int64 `json:"parentSaleLineID"`
	ItemID           int64 `json:"itemID"`
}

// SaleInput describes a sale to add through [Server.AddSale] or POST /admin/.../sales.
type SaleInput struct {
	ShopID     int64 `json:"shopID"`
	RegisterID int64 `json:"registerID"`
	EmployeeID int64 `json:"employeeID"`
	// CompleteTime is when the sale was completed; leave it zero for an open sale.
	CompleteTime time.Time `json:"completeTime"`
	Completed    bool      `json:"completed"`
	Voided       bool      `json:"voided"`
	Archived     bool      `json:"archived"`
	// DiscountPercent is the transaction discount (0.1 for 10 %), spread over the lines as
	// calcTransactionDiscount.
	DiscountPercent decimal.Decimal `json:"discountPercent"`
	// Tax1Rate and Tax2Rate override the shop's rates when non-nil.
	Tax1Rate *decimal.Decimal `json:"tax1Rate,omitempty"`
	Tax2Rate *decimal.Decimal `json:"tax2Rate,omitempty"`
	Lines    []LineInput      `json:"lines"`
}

// SaleChange is a late edit of a stored sale; nil fields stay as they are. Every change moves
// the sale's timeStamp to the simulator's now, as the real API does.
type SaleChange struct {
	CompleteTime *time.Time `json:"completeTime,omitempty"`
	Completed    *bool      `json:"completed,omitempty"`
	Voided       *bool      `json:"voided,omitempty"`
	Archived     *bool      `json:"archived,omitempty"`
}

// computeLine fills a line's calc* fields the way the Lightspeed docs' worked example does:
// subtotal = quantity × price; the line discount and the transaction discount carry the sign of
// the quantity; taxes apply to the discounted subtotal and are not rounded.
func computeLine(in LineInput, txPercent, tax1, tax2 decimal.Decimal) SaleLine {
	sub := in.UnitQuantity.Mul(in.UnitPrice)
	lineDisc := sub.Mul(in.DiscountPercent)
	if !in.DiscountAmount.IsZero() {
		lineDisc = in.DiscountAmount.Abs()
		if in.UnitQuantity.IsNegative() {
			lineDisc = lineDisc.Neg()
		}
	}
	txDisc := sub.Sub(lineDisc).Mul(txPercent)
	taxable := sub.Sub(lineDisc).Sub(txDisc)
	t1 := taxable.Mul(tax1)
	t2 := taxable.Mul(tax2)
	return SaleLine{
		ParentID:                in.ParentSaleLineID,
		ItemID:                  in.ItemID,
		UnitQuantity:            in.UnitQuantity,
		UnitPrice:               in.UnitPrice,
		DiscountAmount:          in.DiscountAmount,
		DiscountPercent:         in.DiscountPercent,
		CalcSubtotal:            sub,
		CalcLineDiscount:        lineDisc,
		CalcTransactionDiscount: txDisc,
		CalcTax1:                t1,
		CalcTax2:                t2,
		CalcTotal:               taxable.Add(t1).Add(t2),
	}
}
