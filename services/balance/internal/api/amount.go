package api

import (
	"strings"

	"github.com/shopspring/decimal"
)

// canonical writes an amount in its one form, so that one value is always the same string:
// no trailing zeros after the point and no point without decimals, no exponent, no negative
// zero ("676794.810656250" is "676794.81065625", "2.000" is "2", "-0.00" is "0"). The
// balance's amounts come from PostgreSQL numerics, whose text keeps the scale of the values
// written or summed. "" (not imported) stays "". The result shares s's memory.
func canonical(s string) string {
	if !plain(s) {
		d, err := decimal.NewFromString(s)
		if err != nil {
			return s // not a number: shown as it is rather than hidden
		}
		return d.String()
	}
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

// plain says s is "" or [-]digits[.digits] without leading zeros: PostgreSQL's text of a
// numeric, which needs only its trailing zeros trimmed.
func plain(s string) bool {
	if s == "" {
		return true
	}
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') || (hasPoint && frac == "") {
		return false
	}
	return digits(intPart) && digits(frac)
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// canonicalAll rewrites amounts in place.
func canonicalAll(amounts []string) []string {
	for i, a := range amounts {
		amounts[i] = canonical(a)
	}
	return amounts
}
