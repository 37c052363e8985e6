package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/civil"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// column is one field of a balance table.
type column struct {
	id   int64
	name string
	typ  posimportv1.PosDataType
}

// columns are the fields the days carry, in the order of the first day that has them.
func columns(days []*posimportv1.BalanceDay) []column {
	var out []column
	seen := map[int64]bool{}
	for _, d := range days {
		for _, f := range d.GetFields() {
			if !seen[f.GetFieldId()] {
				seen[f.GetFieldId()] = true
				out = append(out, column{id: f.GetFieldId(), name: f.GetName(), typ: f.GetPosDataType()})
			}
		}
	}
	return out
}

// WeekTable is an ISO week of a department: one row per day, one column per field, the
// week's totals under them. Values never imported show as "not imported", not 0.
func WeekTable(wb *posimportv1.WeeklyBalance) *Table {
	cols := columns(wb.GetDays())
	t := &Table{Header: []string{"Day"}, Right: map[int]bool{}}
	for i, c := range cols {
		name := c.name
		if name == "" {
			name = TypeName(c.typ)
		}
		t.Header = append(t.Header, name)
		t.Right[i+1] = true
	}
	t.Header = append(t.Header, "Status")
	for _, d := range wb.GetDays() {
		byID := map[int64]*posimportv1.FieldDay{}
		for _, f := range d.GetFields() {
			byID[f.GetFieldId()] = f
		}
		row := []string{dayLabel(d.GetDate())}
		for _, c := range cols {
			f := byID[c.id]
			if f == nil || !f.GetImported() {
				row = append(row, NotImported)
				continue
			}
			row = append(row, Value(c.typ, f.GetTotal()))
		}
		t.Rows = append(t.Rows, append(row, dayStatus(d)))
	}
	totals := map[int64]*posimportv1.FieldTotal{}
	for _, ft := range wb.GetTotals() {
		totals[ft.GetFieldId()] = ft
	}
	foot := []string{"Week " + wb.GetWeek()}
	for _, c := range cols {
		ft := totals[c.id]
		if ft == nil || ft.GetTotal() == "" {
			foot = append(foot, NotImported)
			continue
		}
		foot = append(foot, Value(c.typ, ft.GetTotal()))
	}
	t.Footer = [][]string{append(foot, "")}
	return t
}

// dayLabel is "Mon 2026-03-23".
func dayLabel(date string) string {
	d, err := civil.ParseDate(date)
	if err != nil {
		return date
	}
	return d.Weekday().String()[:3] + " " + date
}

func dayStatus(d *posimportv1.BalanceDay) string {
	s := strings.ToLower(strings.TrimPrefix(d.GetStatus().String(), "DAY_STATUS_"))
	if d.GetAutoConfirmed() {
		s += " (auto)"
	}
	if d.GetRegistersImported() == 0 && !d.GetImportFinished() {
		s += ", no data"
	}
	return s
}

// barWidth is the width of the longest bar of an hourly curve, in characters.
const barWidth = 40

// eighths are the partial blocks of a bar, by eighths of a character.
var eighths = []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// HourCurve writes one field's hourly values of a day as a bar chart, one line per local
// clock hour (both 02:00 hours of an autumn DST day are kept apart by their UTC offsets).
func HourCurve(w io.Writer, d *posimportv1.BalanceDay, fieldID int64) error {
	var f *posimportv1.FieldDay
	for _, fd := range d.GetFields() {
		if fd.GetFieldId() == fieldID {
			f = fd
		}
	}
	if f == nil {
		return fmt.Errorf("field %d is not defined for %s", fieldID, d.GetDate())
	}
	name := f.GetName()
	if name == "" {
		name = TypeName(f.GetPosDataType())
	}
	if !f.GetImported() {
		_, err := fmt.Fprintf(w, "%s on %s: %s\n", name, dayLabel(d.GetDate()), NotImported)
		return err
	}
	if !f.GetSplitIntoIntervals() {
		_, err := fmt.Fprintf(w, "%s on %s: %s (kept per day, not per hour)\n", name, dayLabel(d.GetDate()), Value(f.GetPosDataType(), f.GetTotal()))
		return err
	}
	values := make([]decimal.Decimal, len(f.GetHours()))
	peak := decimal.Zero
	for i, h := range f.GetHours() {
		v, err := decimal.NewFromString(h)
		if err != nil {
			return fmt.Errorf("hour %d: %q is not a decimal", i, h)
		}
		values[i] = v
		peak = decimal.Max(peak, v)
	}
	labels := hourLabels(d.GetIntervals(), len(values))
	var b strings.Builder
	fmt.Fprintf(&b, "%s per hour on %s (%d hours, total %s)\n", name, dayLabel(d.GetDate()), len(values), Value(f.GetPosDataType(), f.GetTotal()))
	texts := make([]string, len(values))
	width := 0
	for i, v := range values {
		texts[i] = Value(f.GetPosDataType(), v.String())
		width = max(width, len(texts[i]))
	}
	for i, v := range values {
		fmt.Fprintf(&b, "  %-12s %*s  %s\n", labels[i], width, texts[i], bar(v, peak))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// bar draws v against peak in up to barWidth characters, in eighths.
func bar(v, peak decimal.Decimal) string {
	if !peak.IsPositive() || !v.IsPositive() {
		return ""
	}
	n := v.Mul(decimal.NewFromInt(barWidth * 8)).Div(peak).Round(0).IntPart()
	return strings.Repeat("█", int(n/8)) + eighths[n%8]
}

// hourLabels are "08:00", with the UTC offset added where a clock hour repeats.
func hourLabels(intervals []*posimportv1.Interval, n int) []string {
	count := map[string]int{}
	for _, iv := range intervals {
		count[iv.GetLocalStart()]++
	}
	out := make([]string, n)
	for i := range out {
		if i >= len(intervals) {
			out[i] = fmt.Sprintf("hour %d", i)
			continue
		}
		iv := intervals[i]
		out[i] = iv.GetLocalStart()
		if count[iv.GetLocalStart()] > 1 {
			off := iv.GetUtcOffsetSeconds()
			sign := "+"
			if off < 0 {
				sign, off = "-", -off
			}
			out[i] += fmt.Sprintf(" %s%02d:%02d", sign, off/3600, off%3600/60)
		}
	}
	return out
}
