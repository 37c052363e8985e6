package store

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/services/balance/internal/store/internal/dbsqlc"
)

// fieldDay keys one field's sums of a department-day.
type fieldDay struct {
	deptDay
	field int64
}

// fieldSums are a field's sums over a department-day's registers: per hour, by position in
// the day, and for the day.
type fieldSums struct {
	hours []decimal.Decimal
	total decimal.Decimal
}

// sumDays sums registers' values per department-day and field as PostgreSQL's sum(numeric)
// did when day_values were aggregated in SQL: exactly, hour by hour by position (registers
// with fewer hours add nothing to the later ones), each sum written with the largest scale of
// its terms ("1.50" + "2.5" is "4.00"), so the text the read path answers is unchanged. A field
// kept per day has no hours.
func sumDays(rows []dbsqlc.RegisterValuesOfDeptDaysRow) (dbsqlc.DayValuesInsertDaysParams, error) {
	sums := make(map[fieldDay]*fieldSums)
	for _, r := range rows {
		k := fieldDay{deptDay{r.DepartmentID, civilDate(r.BusinessDate)}, r.FieldID}
		t, err := decimal.NewFromString(r.Total)
		if err != nil {
			return dbsqlc.DayValuesInsertDaysParams{}, fmt.Errorf("sum day values: total %q: %w", r.Total, err)
		}
		fs := sums[k]
		if fs == nil {
			fs = &fieldSums{total: t}
			sums[k] = fs
		} else {
			fs.total = fs.total.Add(t)
		}
		for i, h := range r.Hours {
			v, err := decimal.NewFromString(h)
			if err != nil {
				return dbsqlc.DayValuesInsertDaysParams{}, fmt.Errorf("sum day values: hour %q: %w", h, err)
			}
			if i == len(fs.hours) {
				fs.hours = append(fs.hours, v)
			} else {
				fs.hours[i] = fs.hours[i].Add(v)
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(sums), func(a, b fieldDay) int {
		return cmp.Or(compareDeptDays(a.deptDay, b.deptDay), cmp.Compare(a.field, b.field))
	})
	var out dbsqlc.DayValuesInsertDaysParams
	for _, k := range keys {
		fs := sums[k]
		hours := make([]string, len(fs.hours))
		for i, h := range fs.hours {
			hours[i] = fixed(h)
		}
		text := strings.Join(hours, ",")
		out.DepartmentIds = append(out.DepartmentIds, k.dept)
		out.Dates = append(out.Dates, pgDate(k.date))
		out.FieldIds = append(out.FieldIds, k.field)
		out.Hours = append(out.Hours, "{"+text+"}")
		out.HoursTexts = append(out.HoursTexts, text)
		out.Totals = append(out.Totals, fixed(fs.total))
	}
	return out, nil
}

// fixed writes a decimal with its scale, as PostgreSQL writes a numeric: trailing zeros kept.
func fixed(d decimal.Decimal) string {
	return d.StringFixed(max(0, -d.Exponent()))
}
