package oraclecheck

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// week is a one-day week of one department with a split gross-sales field and Visitors.
func week(gross *posimportv1.FieldDay, visitors *posimportv1.FieldDay, total string) *posimportv1.WeeklyBalance {
	return &posimportv1.WeeklyBalance{DepartmentId: "d1", Week: "2026-W13",
		Days:   []*posimportv1.BalanceDay{{Date: "2026-03-23", Fields: []*posimportv1.FieldDay{gross, visitors}}},
		Totals: []*posimportv1.FieldTotal{{FieldId: 1, Total: total}, {FieldId: 8}},
	}
}

func TestWeek(t *testing.T) {
	t.Parallel()
	gt := posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES
	vt := posimportv1.PosDataType_POS_DATA_TYPE_VISITORS
	expected := map[string][]sim.ExpectedHour{"2026-03-23": {{Clock: "00:00+01:00", GrossSales: dec("1.50")}, {Clock: "01:00+01:00", GrossSales: dec("2")}}}
	gross := func(total string, hours ...string) *posimportv1.FieldDay {
		return &posimportv1.FieldDay{FieldId: 1, PosDataType: gt, SplitIntoIntervals: true, Imported: true, Total: total, Hours: hours}
	}
	notImported := &posimportv1.FieldDay{FieldId: 8, PosDataType: vt, SplitIntoIntervals: true}
	for _, tc := range []struct {
		name                 string
		wb                   *posimportv1.WeeklyBalance
		expected             map[string][]sim.ExpectedHour
		diffs, totals, hours int
	}{
		{"equal, trailing zeros aside", week(gross("3.500", "1.5", "2.00"), notImported, "3.5"), expected, 0, 2, 2},
		{"day total differs", week(gross("3.51", "1.5", "2"), notImported, "3.5"), expected, 1, 2, 2},
		{"an hour differs", week(gross("3.5", "2", "1.5"), notImported, "3.5"), expected, 2, 2, 2},
		{"week total differs", week(gross("3.5", "1.5", "2"), notImported, "3.49"), expected, 1, 2, 2},
		{"visitors imported", week(gross("3.5", "1.5", "2"), &posimportv1.FieldDay{FieldId: 8, PosDataType: vt, Imported: true, Total: "0"}, "3.5"), expected, 1, 2, 2},
		{"not imported", week(&posimportv1.FieldDay{FieldId: 1, PosDataType: gt}, notImported, ""), expected, 2, 1, 0},
		{"day outside the range: not compared, nor the week", week(gross("9", "9", "0"), notImported, "9"), map[string][]sim.ExpectedHour{}, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r Result
			r.Week(tc.wb, tc.expected)
			if len(r.Diffs) != tc.diffs || r.Totals != tc.totals || r.Hours != tc.hours {
				t.Errorf("diffs %v, totals %d, hours %d; want %d diffs, %d totals, %d hours", r.Diffs, r.Totals, r.Hours, tc.diffs, tc.totals, tc.hours)
			}
		})
	}
}
