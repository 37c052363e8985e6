// Package view renders posimport's API answers for a terminal: tables of weekly balances,
// imports and configuration, hourly curves, and live progress bars of imports.
package view

import (
	"io"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// Table is rows of cells under a header; numeric columns are right-aligned.
type Table struct {
	Header []string
	Rows   [][]string
	// Right marks right-aligned columns by index.
	Right map[int]bool
	// Footer rows are drawn under a rule.
	Footer [][]string
}

// Render writes the table with two spaces between columns.
func (t *Table) Render(w io.Writer) error {
	all := append(append([][]string{t.Header}, t.Rows...), t.Footer...)
	widths := make([]int, len(t.Header))
	for _, r := range all {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
		}
	}
	var b strings.Builder
	line := func(r []string) {
		for i := range widths {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.Right[i] {
				b.WriteString(pad + c)
			} else if i < len(widths)-1 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(c)
			}
		}
		b.WriteString("\n")
	}
	rule := func() {
		total := 0
		for _, wd := range widths {
			total += wd
		}
		b.WriteString(strings.Repeat("─", total+2*(len(widths)-1)) + "\n")
	}
	line(t.Header)
	rule()
	for _, r := range t.Rows {
		line(r)
	}
	if len(t.Footer) > 0 {
		rule()
		for _, r := range t.Footer {
			line(r)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// NotImported is shown for a value that was never imported, which differs from 0.
const NotImported = "not imported"

// IsMoney reports whether a data type is an amount (shown with two decimals).
func IsMoney(t posimportv1.PosDataType) bool {
	switch t {
	case posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES, posimportv1.PosDataType_POS_DATA_TYPE_NET_SALES,
		posimportv1.PosDataType_POS_DATA_TYPE_DISCOUNTS, posimportv1.PosDataType_POS_DATA_TYPE_RETURNS:
		return true
	}
	return false
}

// Value formats an exact decimal for display: amounts rounded to cents with thousands
// separators, counts as they are. The exact value stays in --output json.
func Value(t posimportv1.PosDataType, v string) string {
	d, err := decimal.NewFromString(v)
	if err != nil {
		return v
	}
	if IsMoney(t) {
		return group(d.StringFixed(2))
	}
	return group(d.String())
}

// group inserts thousands separators into a plain decimal.
func group(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// TypeName is a data type's name for people: "Gross sales".
func TypeName(t posimportv1.PosDataType) string {
	name := strings.TrimPrefix(t.String(), "POS_DATA_TYPE_")
	name = strings.ReplaceAll(strings.ToLower(name), "_", " ")
	if name == "" {
		return ""
	}
	return strings.ToUpper(name[:1]) + name[1:]
}
