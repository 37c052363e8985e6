package sim

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// This file is the oracle: the metrics a correct import must produce, computed from the
// simulator's own typed store. It deliberately shares no code with pkg/pos, pkg/aggregate or
// the client, and finds hours a different way (by walking the day minute by minute rather than
// by zone bounds), so that a bug in either is caught by the other.

// ExpectedHour is the oracle's figures for one local clock hour.
type ExpectedHour struct {
	// Start is the first instant of the hour, in UTC.
	Start time.Time `json:"start"`
	// Clock is the local clock hour and its UTC offset, e.g. "02:00+01:00": the two 02:00
	// hours of an autumn day differ in the offset.
	Clock         string          `json:"clock"`
	GrossSales    decimal.Decimal `json:"grossSales"`
	NetSales      decimal.Decimal `json:"netSales"`
	Discounts     decimal.Decimal `json:"discounts"`
	Returns       decimal.Decimal `json:"returns"`
	Transactions  decimal.Decimal `json:"transactions"`
	GoodsSold     decimal.Decimal `json:"goodsSold"`
	GoodsReturned decimal.Decimal `json:"goodsReturned"`
	// Visitors is the K-Series covers; R-Series has none and leaves it zero.
	Visitors decimal.Decimal `json:"visitors"`
}

// ExpectedDay is the oracle's figures for one local date, every clock hour included.
type ExpectedDay struct {
	Date  string         `json:"date"`
	Hours []ExpectedHour `json:"hours"`
}

// OracleQuery names what to compute.
type OracleQuery struct {
	AccountID int64
	// RegisterID selects one register; 0 takes every register of the account.
	RegisterID int64
	// From and Until are the first and last local dates, as 2006-01-02.
	From, Until string
	// Zone is the time zone name, IANA or legacy (US/Eastern).
	Zone string
}

// Expected computes the metrics of every local hour of the dates from q.From to q.Until, by
// DESIGN.md's R-Series definitions: of completed, non-voided sales, bucketed by completeTime.
func (s *Server) Expected(q OracleQuery) ([]ExpectedDay, error) {
	loc, err := time.LoadLocation(q.Zone)
	if err != nil {
		return nil, fmt.Errorf("oracle zone: %w", err)
	}
	days, index, err := oracleHours(q.From, q.Until, loc)
	if err != nil {
		return nil, err
	}
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	a, err := s.store.account(q.AccountID)
	if err != nil {
		return nil, err
	}
	for _, sale := range a.sales {
		if !sale.Completed || sale.Voided || (q.RegisterID != 0 && sale.RegisterID != q.RegisterID) {
			continue
		}
		local := sale.CompleteTime.In(loc)
		h, ok := index[local.Format(time.DateOnly)+" "+clockLabel(local)]
		if !ok {
			continue // another date
		}
		sold := false
		for _, l := range sale.Lines {
			h.NetSales = h.NetSales.Add(l.CalcSubtotal).Sub(l.CalcLineDiscount).Sub(l.CalcTransactionDiscount)
			switch l.UnitQuantity.Sign() {
			case 1:
				sold = true
				h.GrossSales = h.GrossSales.Add(l.CalcTotal)
				h.Discounts = h.Discounts.Add(l.CalcLineDiscount).Add(l.CalcTransactionDiscount)
				h.GoodsSold = h.GoodsSold.Add(l.UnitQuantity)
			case -1:
				h.Returns = h.Returns.Add(l.CalcTotal.Abs())
				h.GoodsReturned = h.GoodsReturned.Add(l.UnitQuantity.Abs())
			}
		}
		if sold {
			h.Transactions = h.Transactions.Add(decimal.NewFromInt(1))
		}
	}
	return days, nil
}

// oracleHours lists every clock hour of the local dates from..until (2006-01-02) in loc, and
// indexes them by "date clock".
func oracleHours(fromText, untilText string, loc *time.Location) ([]ExpectedDay, map[string]*ExpectedHour, error) {
	from, err1 := time.Parse(time.DateOnly, fromText)
	until, err2 := time.Parse(time.DateOnly, untilText)
	if err1 != nil || err2 != nil || until.Before(from) {
		return nil, nil, fmt.Errorf("oracle dates %q..%q are not a date range", fromText, untilText)
	}
	var days []ExpectedDay
	index := map[string]*ExpectedHour{} // "date clock" -> hour
	for d := from; !d.After(until); d = d.AddDate(0, 0, 1) {
		day := ExpectedDay{Date: d.Format(time.DateOnly)}
		// Every minute from 14 h before UTC midnight to 14 h after the next one covers the
		// local day in any zone; each new clock label starts an hour.
		type clock struct{ hour, offset int }
		seen := map[clock]bool{}
		for m := d.Add(-14 * time.Hour); m.Before(d.Add(38 * time.Hour)); m = m.Add(time.Minute) {
			local := m.In(loc)
			if y, mo, dd := local.Date(); y != d.Year() || mo != d.Month() || dd != d.Day() {
				continue
			}
			_, off := local.Zone()
			if c := (clock{local.Hour(), off}); !seen[c] {
				seen[c] = true
				day.Hours = append(day.Hours, ExpectedHour{Start: m.UTC(), Clock: clockLabel(local)})
			}
		}
		days = append(days, day)
	}
	for i := range days {
		for j := range days[i].Hours {
			h := &days[i].Hours[j]
			index[days[i].Date+" "+h.Clock] = h
		}
	}
	return days, index, nil
}

// clockLabel is the local hour with its offset: "15:00+02:00".
func clockLabel(local time.Time) string {
	return local.Format("15") + ":00" + local.Format("-07:00")
}
