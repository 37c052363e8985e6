// Package oraclecheck compares the weekly balance with the Lightspeed simulator's oracle: the
// figures a correct import must produce, which the simulator computes from its own sales by
// DESIGN.md's definitions, independently of the import code. The demo uses it to prove what it
// prints, and the CLI tests to prove what an import wrote.
package oraclecheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// Department is a department as the oracle sees it: the registers whose sales it receives
// (every register of its shop when it is imported as a whole) and its time zone.
type Department struct {
	ID        string
	Zone      string
	Registers []int64
}

// ShopDepartment is a department receiving all of shop's sales: register by register, or the
// shop as one unit.
func ShopDepartment(id string, shop sim.Shop) Department {
	d := Department{ID: id, Zone: shop.TimeZone}
	for _, r := range shop.Registers {
		d.Registers = append(d.Registers, r.ID)
	}
	return d
}

// Oracle asks the simulator's admin API (GET /admin/oracle) for expected figures.
type Oracle struct {
	// SimURL is the simulator's base URL.
	SimURL  string
	Account int64
	HTTP    *http.Client
}

// Days returns the expected figures of a department's days from..until, summed over its
// registers, by date.
func (o *Oracle) Days(ctx context.Context, d Department, from, until civil.Date) (map[string][]sim.ExpectedHour, error) {
	out := map[string][]sim.ExpectedHour{}
	for _, r := range d.Registers {
		days, err := o.register(ctx, r, d.Zone, from, until)
		if err != nil {
			return nil, err
		}
		for _, day := range days {
			sum := out[day.Date]
			if sum == nil {
				out[day.Date] = day.Hours
				continue
			}
			for i := range sum {
				sum[i] = add(sum[i], day.Hours[i])
			}
		}
	}
	return out, nil
}

func (o *Oracle) register(ctx context.Context, register int64, zone string, from, until civil.Date) ([]sim.ExpectedDay, error) {
	q := url.Values{
		"account": {strconv.FormatInt(o.Account, 10)}, "register": {strconv.FormatInt(register, 10)},
		"from": {from.String()}, "until": {until.String()}, "zone": {zone},
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.SimURL+"/admin/oracle?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	c := o.HTTP
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask the oracle: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("ask the oracle: HTTP %d: %s", resp.StatusCode, b)
	}
	var days []sim.ExpectedDay
	if err := json.NewDecoder(resp.Body).Decode(&days); err != nil {
		return nil, fmt.Errorf("read the oracle's answer: %w", err)
	}
	return days, nil
}

func add(a, b sim.ExpectedHour) sim.ExpectedHour {
	a.GrossSales = a.GrossSales.Add(b.GrossSales)
	a.NetSales = a.NetSales.Add(b.NetSales)
	a.Discounts = a.Discounts.Add(b.Discounts)
	a.Returns = a.Returns.Add(b.Returns)
	a.Transactions = a.Transactions.Add(b.Transactions)
	a.GoodsSold = a.GoodsSold.Add(b.GoodsSold)
	a.GoodsReturned = a.GoodsReturned.Add(b.GoodsReturned)
	return a
}

// Value picks a data type's figure from the oracle's hour; false for Visitors, which Lightspeed
// Retail does not provide (so the balance must show it as not imported).
func Value(h sim.ExpectedHour, t posimportv1.PosDataType) (decimal.Decimal, bool) {
	switch t {
	case posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES:
		return h.GrossSales, true
	case posimportv1.PosDataType_POS_DATA_TYPE_NET_SALES:
		return h.NetSales, true
	case posimportv1.PosDataType_POS_DATA_TYPE_DISCOUNTS:
		return h.Discounts, true
	case posimportv1.PosDataType_POS_DATA_TYPE_RETURNS:
		return h.Returns, true
	case posimportv1.PosDataType_POS_DATA_TYPE_TRANSACTIONS:
		return h.Transactions, true
	case posimportv1.PosDataType_POS_DATA_TYPE_GOODS_SOLD:
		return h.GoodsSold, true
	case posimportv1.PosDataType_POS_DATA_TYPE_GOODS_RETURNED:
		return h.GoodsReturned, true
	}
	return decimal.Zero, false
}

// Result counts what a comparison checked and lists what differed.
type Result struct {
	// Totals and Hours are the values compared: day and week totals, and hourly values.
	Totals, Hours int
	// NotImported counts the values that are rightly "not imported" (Visitors).
	NotImported int
	Diffs       []string
}

// OK reports whether everything matched.
func (r *Result) OK() bool { return len(r.Diffs) == 0 }

func (r *Result) diff(format string, args ...any) {
	if len(r.Diffs) < 50 {
		r.Diffs = append(r.Diffs, fmt.Sprintf(format, args...))
	}
}

// Week compares a department's week, day by day, field by field and hour by hour, with the
// oracle's days (from Days); days the oracle was not asked for are not compared, and the
// week's totals are compared when every day was.
func (r *Result) Week(wb *posimportv1.WeeklyBalance, expected map[string][]sim.ExpectedHour) {
	sums := map[int64]decimal.Decimal{}
	whole := true
	for _, day := range wb.GetDays() {
		exp, ok := expected[day.GetDate()]
		if !ok {
			whole = false
			continue
		}
		for _, f := range day.GetFields() {
			if s, ok := r.field(wb.GetDepartmentId(), day.GetDate(), f, exp); ok {
				sums[f.GetFieldId()] = sums[f.GetFieldId()].Add(s)
			}
		}
	}
	if !whole {
		return
	}
	for _, t := range wb.GetTotals() {
		want, ok := sums[t.GetFieldId()]
		if !ok {
			if t.GetTotal() != "" {
				r.diff("%s week %s field %d: total %q, want not imported", wb.GetDepartmentId(), wb.GetWeek(), t.GetFieldId(), t.GetTotal())
			}
			continue
		}
		r.Totals++
		if got, err := decimal.NewFromString(t.GetTotal()); err != nil || !got.Equal(want) {
			r.diff("%s week %s field %d: total %q, want %s", wb.GetDepartmentId(), wb.GetWeek(), t.GetFieldId(), t.GetTotal(), want)
		}
	}
}

// field compares one field of one day and returns the expected total when it is imported.
func (r *Result) field(dep, date string, f *posimportv1.FieldDay, exp []sim.ExpectedHour) (decimal.Decimal, bool) {
	sum := decimal.Zero
	hours := make([]decimal.Decimal, len(exp))
	for i, h := range exp {
		v, known := Value(h, f.GetPosDataType())
		if !known {
			r.NotImported++
			if f.GetImported() {
				r.diff("%s %s field %d (%s): imported, want not imported", dep, date, f.GetFieldId(), f.GetName())
			}
			return decimal.Zero, false
		}
		hours[i] = v
		sum = sum.Add(v)
	}
	if !f.GetImported() {
		r.diff("%s %s field %d (%s): not imported", dep, date, f.GetFieldId(), f.GetName())
		return sum, true
	}
	r.Totals++
	if got, err := decimal.NewFromString(f.GetTotal()); err != nil || !got.Equal(sum) {
		r.diff("%s %s field %d (%s): total %q, want %s", dep, date, f.GetFieldId(), f.GetName(), f.GetTotal(), sum)
	}
	if !f.GetSplitIntoIntervals() {
		return sum, true
	}
	if len(f.GetHours()) != len(hours) {
		r.diff("%s %s field %d: %d hours, want %d", dep, date, f.GetFieldId(), len(f.GetHours()), len(hours))
		return sum, true
	}
	for i, h := range f.GetHours() {
		r.Hours++
		if got, err := decimal.NewFromString(h); err != nil || !got.Equal(hours[i]) {
			r.diff("%s %s field %d hour %s: %q, want %s", dep, date, f.GetFieldId(), exp[i].Clock, h, hours[i])
		}
	}
	return sum, true
}
