package view

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

func TestValue(t *testing.T) {
	t.Parallel()
	gross, tx := posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES, posimportv1.PosDataType_POS_DATA_TYPE_TRANSACTIONS
	for _, tc := range []struct {
		typ      posimportv1.PosDataType
		in, want string
	}{
		{gross, "1234567.125", "1,234,567.13"},
		{gross, "-1000", "-1,000.00"},
		{gross, "0", "0.00"},
		{tx, "1234", "1,234"},
		{tx, "12.5", "12.5"},
		{gross, "x", "x"},
	} {
		if got := Value(tc.typ, tc.in); got != tc.want {
			t.Errorf("Value(%s, %q) = %q, want %q", tc.typ, tc.in, got, tc.want)
		}
	}
}

func TestTableAlignsColumns(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	tb := &Table{Header: []string{"Day", "Gross"}, Rows: [][]string{{"Mon", "1.00"}, {"Tuesday", "100.00"}}, Right: map[int]bool{1: true},
		Footer: [][]string{{"Week", "101.00"}}}
	if err := tb.Render(&b); err != nil {
		t.Fatal(err)
	}
	want := "Day       Gross\n───────────────\nMon        1.00\nTuesday  100.00\n───────────────\nWeek     101.00\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestHourCurveAutumnDay keeps the two 02:00 hours of an autumn DST day apart.
func TestHourCurveAutumnDay(t *testing.T) {
	t.Parallel()
	var ivs []*posimportv1.Interval
	var hours []string
	for i, start := range []string{"00:00", "01:00", "02:00", "02:00", "03:00"} {
		off := int32(7200)
		if i >= 3 {
			off = 3600
		}
		ivs = append(ivs, &posimportv1.Interval{Index: int32(i), LocalStart: start, UtcOffsetSeconds: off})
		hours = append(hours, []string{"0", "1", "8", "4", "0"}[i])
	}
	day := &posimportv1.BalanceDay{Date: "2026-10-25", Intervals: ivs, Fields: []*posimportv1.FieldDay{{FieldId: 1, Name: "Gross sales",
		PosDataType: posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES, SplitIntoIntervals: true, Imported: true, Hours: hours, Total: "13"}}}
	var b strings.Builder
	if err := HourCurve(&b, day, 1); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Sun 2026-10-25 (5 hours, total 13.00)", "02:00 +02:00", "02:00 +01:00", strings.Repeat("█", barWidth) + "\n", strings.Repeat("█", barWidth/2) + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "01:00 +") {
		t.Errorf("an hour that does not repeat got an offset:\n%s", out)
	}
}

func TestWeekTableShowsNotImported(t *testing.T) {
	t.Parallel()
	wb := &posimportv1.WeeklyBalance{Week: "2026-W13", Days: []*posimportv1.BalanceDay{
		{Date: "2026-03-23", Status: posimportv1.DayStatus_DAY_STATUS_APPROVED, RegistersImported: 1, Fields: []*posimportv1.FieldDay{
			{FieldId: 1, Name: "Gross", PosDataType: posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES, Imported: true, Total: "0"},
			{FieldId: 8, Name: "Visitors", PosDataType: posimportv1.PosDataType_POS_DATA_TYPE_VISITORS},
		}},
	}, Totals: []*posimportv1.FieldTotal{{FieldId: 1, Total: "0"}, {FieldId: 8}}}
	var b strings.Builder
	if err := WeekTable(wb).Render(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Mon 2026-03-23   0.00  not imported  approved", "Week 2026-W13    0.00  not imported"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}
