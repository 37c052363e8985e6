package pos

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// Metrics holds one exact value per [DataType]. Counts (transactions, goods, visitors) are
// decimals too: goods can be sold by weight, and one type keeps sums and comparisons uniform.
// The zero value is all zeros.
type Metrics struct {
	GrossSales    decimal.Decimal
	NetSales      decimal.Decimal
	Discounts     decimal.Decimal
	Returns       decimal.Decimal
	Transactions  decimal.Decimal
	GoodsSold     decimal.Decimal
	GoodsReturned decimal.Decimal
	Visitors      decimal.Decimal
}

// field returns a pointer to the value of d; it panics on an invalid DataType, which is a
// programming error, not bad data.
func (m *Metrics) field(d DataType) *decimal.Decimal {
	switch d {
	case GrossSales:
		return &m.GrossSales
	case NetSales:
		return &m.NetSales
	case Discounts:
		return &m.Discounts
	case Returns:
		return &m.Returns
	case Transactions:
		return &m.Transactions
	case GoodsSold:
		return &m.GoodsSold
	case GoodsReturned:
		return &m.GoodsReturned
	case Visitors:
		return &m.Visitors
	}
	panic(fmt.Sprintf("pos: invalid %v", d))
}

// Get returns the value of metric d.
func (m Metrics) Get(d DataType) decimal.Decimal { return *m.field(d) }

// Set sets metric d to v.
func (m *Metrics) Set(d DataType, v decimal.Decimal) { *m.field(d) = v }

// Add adds every metric of o to m.
func (m *Metrics) Add(o Metrics) {
	for _, d := range DataTypes {
		f := m.field(d)
		*f = f.Add(o.Get(d))
	}
}

// Equal reports whether every metric of m equals o's numerically (1.50 equals 1.5). go-cmp uses
// it, so tests compare Metrics without options.
func (m Metrics) Equal(o Metrics) bool {
	for _, d := range DataTypes {
		if !m.Get(d).Equal(o.Get(d)) {
			return false
		}
	}
	return true
}

// IsZero reports whether every metric is zero.
func (m Metrics) IsZero() bool { return m.Equal(Metrics{}) }
