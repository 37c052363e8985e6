package store

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
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
	hours []exactSum
	total exactSum
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
		fs := sums[k]
		if fs == nil {
			fs = &fieldSums{}
			sums[k] = fs
		}
		if err := fs.total.add(r.Total); err != nil {
			return dbsqlc.DayValuesInsertDaysParams{}, fmt.Errorf("sum day values: total %q: %w", r.Total, err)
		}
		for i, h := range r.Hours {
			if i == len(fs.hours) {
				fs.hours = append(fs.hours, exactSum{})
			}
			if err := fs.hours[i].add(h); err != nil {
				return dbsqlc.DayValuesInsertDaysParams{}, fmt.Errorf("sum day values: hour %q: %w", h, err)
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
			hours[i] = h.text()
		}
		text := strings.Join(hours, ",")
		out.DepartmentIds = append(out.DepartmentIds, k.dept)
		out.Dates = append(out.Dates, pgDate(k.date))
		out.FieldIds = append(out.FieldIds, k.field)
		out.Hours = append(out.Hours, "{"+text+"}")
		out.HoursTexts = append(out.HoursTexts, text)
		out.Totals = append(out.Totals, fs.total.text())
	}
	return out, nil
}

// fixed writes a decimal with its scale, as PostgreSQL writes a numeric: trailing zeros kept.
func fixed(d decimal.Decimal) string {
	return d.StringFixed(max(0, -d.Exponent()))
}

// exactSum adds decimal texts exactly: as int64 units of 10^-scale while the terms and the sum
// fit (amounts of a few decimals, nearly always: parsing them into decimal.Decimal was most of
// a write's CPU), as a decimal.Decimal from the first one that does not. Its scale is the
// largest of its terms', as PostgreSQL's sum(numeric).
type exactSum struct {
	units int64
	scale int32
	big   *decimal.Decimal
}

func (s *exactSum) add(text string) error {
	if s.big == nil {
		if u, sc, ok := parseUnits(text); ok && s.addUnits(u, sc) {
			return nil
		}
		d := decimal.New(s.units, -s.scale)
		s.big = &d
	}
	v, err := decimal.NewFromString(text)
	if err != nil {
		return err
	}
	*s.big = s.big.Add(v)
	return nil
}

// addUnits adds u units of 10^-scale; false, with the sum unchanged, when it would not fit.
func (s *exactSum) addUnits(u int64, scale int32) bool {
	acc, as := s.units, s.scale
	var ok bool
	if scale > as {
		if acc, ok = mulPow10(acc, scale-as); !ok {
			return false
		}
		as = scale
	} else if u, ok = mulPow10(u, as-scale); !ok {
		return false
	}
	r := acc + u
	if (acc > 0 && u > 0 && r < 0) || (acc < 0 && u < 0 && r >= 0) {
		return false
	}
	s.units, s.scale = r, as
	return true
}

// text writes the sum with its scale, trailing zeros kept, as PostgreSQL writes a numeric.
func (s *exactSum) text() string {
	if s.big != nil {
		return fixed(*s.big)
	}
	neg := s.units < 0
	digits := strconv.FormatUint(uint64(max(s.units, -s.units)), 10) // a sum that fits is above MinInt64
	if s.scale == 0 {
		if neg {
			return "-" + digits
		}
		return digits
	}
	if pad := int(s.scale) + 1 - len(digits); pad > 0 {
		digits = strings.Repeat("0", pad) + digits
	}
	out := digits[:len(digits)-int(s.scale)] + "." + digits[len(digits)-int(s.scale):]
	if neg {
		out = "-" + out
	}
	return out
}

// parseUnits reads a plain decimal text ("-12.50") of at most 18 digits as units of
// 10^-scale; false for anything else, which decimal.NewFromString then reads.
func parseUnits(text string) (units int64, scale int32, ok bool) {
	i, neg := 0, false
	if strings.HasPrefix(text, "-") {
		i, neg = 1, true
	}
	digits, point := 0, false
	for ; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '.' && !point:
			point = true
		case c >= '0' && c <= '9':
			digits++
			units = units*10 + int64(c-'0')
			if point {
				scale++
			}
		default:
			return 0, 0, false
		}
	}
	if digits == 0 || digits > 18 {
		return 0, 0, false
	}
	if neg {
		units = -units
	}
	return units, scale, true
}

// mulPow10 is x × 10^k; false when it would not fit in an int64.
func mulPow10(x int64, k int32) (int64, bool) {
	for ; k > 0; k-- {
		if x > math.MaxInt64/10 || x < math.MinInt64/10 {
			return 0, false
		}
		x *= 10
	}
	return x, true
}
