package pipelinetest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// oracleValue picks a data type's value from the oracle's hour.
func oracleValue(h sim.ExpectedHour, t posimportv1.PosDataType) (decimal.Decimal, bool) {
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
	return decimal.Zero, false // Visitors: R-Series has none
}

// Comparison is what Compare found: the differences (at most the limit asked for) and what
// the compared days exercised, so a test can show it covered what it claims to.
type Comparison struct {
	Diffs []string
	// ClockHours counts the register-days that matched the oracle by their number of local
	// clock hours (23 on a spring-forward day, 25 on a fall-back day) per time zone.
	ClockHours map[string]map[int]int
	// MaxPlaces is the most decimal places of a matching value (trailing zeros ignored).
	MaxPlaces int
}

// Mismatches compares the balance with the simulator's oracle for every department, register,
// day, hour and field of the range, and returns a description of each difference (at most
// limit). Days the balance has not imported count as differences; so do Visitors values,
// which must stay "not imported".
func (e *Env) Mismatches(t testing.TB, client string, account int, deps []Department, from, until civil.Date, limit int) []string {
	t.Helper()
	return e.Compare(t, client, account, deps, from, until, limit).Diffs
}

// Compare is Mismatches, also reporting what the matching days exercised.
func (e *Env) Compare(t testing.TB, client string, account int, deps []Department, from, until civil.Date, limit int) Comparison {
	t.Helper()
	ctx := context.Background()
	c := Comparison{ClockHours: map[string]map[int]int{}}
	add := func(format string, args ...any) bool {
		c.Diffs = append(c.Diffs, fmt.Sprintf(format, args...))
		return len(c.Diffs) >= limit
	}
	acct := e.AccountID(account)
	for _, d := range deps {
		registers := d.Registers
		if len(registers) == 0 {
			registers = []string{""}
		}
		expected := map[string]map[string]sim.ExpectedDay{} // register → date → day
		for _, r := range registers {
			q := sim.OracleQuery{AccountID: acct, From: from.String(), Until: until.String(), Zone: d.Shop.TimeZone}
			if r != "" {
				id, _ := strconv.ParseInt(r, 10, 64)
				q.RegisterID = id
			} else {
				q.RegisterID = 0
			}
			days, err := e.Sim.Expected(q)
			if err != nil {
				t.Fatal(err)
			}
			expected[r] = map[string]sim.ExpectedDay{}
			for _, day := range days {
				expected[r][day.Date] = day
			}
		}
		for day := from; !day.After(until); day = day.AddDays(1) {
			resp, err := e.BalanceClient.GetDay(ctx, &posimportv1.GetDayRequest{ClientId: client, DepartmentId: d.ID, Date: day.String()})
			if err != nil {
				t.Fatalf("GetDay %s %s: %v", d.ID, day, err)
			}
			got := map[string]*posimportv1.RegisterDay{}
			for _, rd := range resp.GetRegisters() {
				got[rd.GetRegisterId()] = rd
			}
			for _, r := range registers {
				rd, ok := got[r]
				exp := expected[r][day.String()]
				if !ok {
					if add("%s/%s %s: not imported", d.ID, r, day) {
						return c
					}
					continue
				}
				diffs := compareDay(rd, exp)
				for _, df := range diffs {
					if add("%s/%s %s: %s", d.ID, r, day, df) {
						return c
					}
				}
				if len(diffs) == 0 {
					c.matched(d.Shop.TimeZone, rd, len(exp.Hours))
				}
			}
		}
	}
	return c
}

// matched counts a register-day that equals the oracle.
func (c *Comparison) matched(zone string, rd *posimportv1.RegisterDay, hours int) {
	if c.ClockHours[zone] == nil {
		c.ClockHours[zone] = map[int]int{}
	}
	c.ClockHours[zone][hours]++
	for _, f := range rd.GetFields() {
		for _, v := range append([]string{f.GetTotal()}, f.GetHours()...) {
			c.MaxPlaces = max(c.MaxPlaces, places(v))
		}
	}
}

// places counts a decimal string's significant decimal places.
func places(v string) int {
	_, frac, ok := strings.Cut(v, ".")
	if !ok {
		return 0
	}
	return len(strings.TrimRight(frac, "0"))
}

func compareDay(rd *posimportv1.RegisterDay, exp sim.ExpectedDay) []string {
	var diffs []string
	byID := map[int64]*posimportv1.FieldDay{}
	for _, f := range rd.GetFields() {
		byID[f.GetFieldId()] = f
	}
	for _, f := range Fields {
		fd := byID[f.ID]
		sum := decimal.Zero
		var hours []decimal.Decimal
		known := true
		for _, h := range exp.Hours {
			v, ok := oracleValue(h, f.Type)
			known = known && ok
			sum = sum.Add(v)
			hours = append(hours, v)
		}
		if !known {
			if fd != nil && fd.GetImported() {
				diffs = append(diffs, fmt.Sprintf("field %d (%s) imported, want not imported", f.ID, f.Type))
			}
			continue
		}
		if fd == nil || !fd.GetImported() {
			diffs = append(diffs, fmt.Sprintf("field %d (%s) not imported", f.ID, f.Type))
			continue
		}
		if tot, err := decimal.NewFromString(fd.GetTotal()); err != nil || !tot.Equal(sum) {
			diffs = append(diffs, fmt.Sprintf("field %d (%s) total %q, want %s", f.ID, f.Type, fd.GetTotal(), sum))
		}
		if !f.Split {
			continue
		}
		if len(fd.GetHours()) != len(hours) {
			diffs = append(diffs, fmt.Sprintf("field %d: %d hours, want %d", f.ID, len(fd.GetHours()), len(hours)))
			continue
		}
		for i, h := range fd.GetHours() {
			if v, err := decimal.NewFromString(h); err != nil || !v.Equal(hours[i]) {
				diffs = append(diffs, fmt.Sprintf("field %d (%s) hour %d (%s) = %q, want %s", f.ID, f.Type, i, exp.Hours[i].Clock, h, hours[i]))
			}
		}
	}
	return diffs
}
