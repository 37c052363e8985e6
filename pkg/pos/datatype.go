package pos

import (
	"fmt"
	"strings"
)

// DataType is one of the weekly-balance metrics a POS sale contributes to.
type DataType int

// The eight metrics, in the order the product lists them. The zero value is deliberately not a
// metric, so that an unset field is caught rather than read as gross sales.
const (
	GrossSales DataType = iota + 1
	NetSales
	Discounts
	Returns
	Transactions
	GoodsSold
	GoodsReturned
	Visitors
)

// DataTypes lists every metric in product order.
var DataTypes = [...]DataType{GrossSales, NetSales, Discounts, Returns, Transactions, GoodsSold, GoodsReturned, Visitors}

var dataTypeNames = [...]string{
	GrossSales:    "gross_sales",
	NetSales:      "net_sales",
	Discounts:     "discounts",
	Returns:       "returns",
	Transactions:  "transactions",
	GoodsSold:     "goods_sold",
	GoodsReturned: "goods_returned",
	Visitors:      "visitors",
}

// Valid reports whether d is one of the eight metrics.
func (d DataType) Valid() bool { return d >= GrossSales && d <= Visitors }

// String returns the metric's stable snake_case name, e.g. "gross_sales".
func (d DataType) String() string {
	if !d.Valid() {
		return fmt.Sprintf("DataType(%d)", int(d))
	}
	return dataTypeNames[d]
}

// ParseDataType is the inverse of [DataType.String]; it ignores case.
func ParseDataType(s string) (DataType, error) {
	for _, d := range DataTypes {
		if strings.EqualFold(dataTypeNames[d], s) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("unknown data type %q", s)
}
