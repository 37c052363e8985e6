// Package validate checks request fields and answers with apierr.Invalid naming the field,
// so every service words the same mistake the same way.
package validate

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/apierr"
)

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	numericPattern = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)
	clockPattern   = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// ID checks an identifier from the main app: 1–64 letters, digits, '.', '_', ':' or '-'.
func ID(field, v string) error {
	if v == "" {
		return apierr.Invalid(field, "required")
	}
	if !idPattern.MatchString(v) {
		return apierr.Invalid(field, "must be 1-64 letters, digits, '.', '_', ':' or '-'")
	}
	return nil
}

// NumericID checks a POS identifier: a positive integer of at most 19 digits.
func NumericID(field, v string) error {
	if !numericPattern.MatchString(v) {
		return apierr.Invalid(field, "%q is not a POS id (a positive whole number)", v)
	}
	return nil
}

// Name checks a display name: required, at most 200 characters, no control characters.
func Name(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return apierr.Invalid(field, "required")
	}
	if len([]rune(v)) > 200 {
		return apierr.Invalid(field, "at most 200 characters")
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return apierr.Invalid(field, "must not contain control characters")
	}
	return nil
}

// notZones are names time.LoadLocation may load that are no place's time: "Local" (whatever
// the server runs in), "Factory" (tzdata's placeholder, "-00"), "posixrules" and "localtime"
// (a system's default rules and zone), and the "posix/" and "right/" copies of the database
// some systems install (the right/ ones count leap seconds, which civil time does not).
var (
	notZones        = []string{"Local", "Factory", "posixrules", "localtime"}
	notZonePrefixes = []string{"/", "posix/", "right/"}
)

// TimeZone loads an IANA zone name of a place (see notZones for what is refused).
func TimeZone(field, v string) (*time.Location, error) {
	if v == "" {
		return nil, apierr.Invalid(field, "required")
	}
	notZone := slices.Contains(notZones, v) || strings.Contains(v, "..") ||
		slices.ContainsFunc(notZonePrefixes, func(p string) bool { return strings.HasPrefix(v, p) })
	if notZone {
		return nil, apierr.Invalid(field, "%q is not an IANA time zone name (e.g. Europe/Copenhagen)", v)
	}
	loc, err := time.LoadLocation(v)
	if err != nil {
		return nil, apierr.Invalid(field, "%q is not an IANA time zone name (e.g. Europe/Copenhagen)", v)
	}
	return loc, nil
}

// The dates posimport accepts from its callers: 2000-01-01 to 2099-12-31. Lightspeed's data
// begins in the 2000s, and a date outside this century is a mistake (0001-01-01, 9999-12-31)
// that would otherwise run an import, or a query, over centuries.
var (
	MinDate = civil.Date{Year: 2000, Month: time.January, Day: 1}
	MaxDate = civil.Date{Year: 2099, Month: time.December, Day: 31}
)

// Date parses YYYY-MM-DD between MinDate and MaxDate.
func Date(field, v string) (civil.Date, error) {
	if v == "" {
		return civil.Date{}, apierr.Invalid(field, "required")
	}
	d, err := civil.ParseDate(v)
	if err != nil {
		return civil.Date{}, apierr.Invalid(field, "%q is not a date (want YYYY-MM-DD)", v)
	}
	if d.Before(MinDate) || d.After(MaxDate) {
		return civil.Date{}, apierr.Invalid(field, "%s is outside the dates posimport accepts (%s to %s)", d, MinDate, MaxDate)
	}
	return d, nil
}

// Week parses an ISO week YYYY-Www whose days are all between MinDate and MaxDate.
func Week(field, v string) (civil.Week, error) {
	if v == "" {
		return civil.Week{}, apierr.Invalid(field, "required")
	}
	w, err := civil.ParseWeek(v)
	if err != nil {
		if len(v) == len("2026-W13") {
			return civil.Week{}, apierr.Invalid(field, "%v", err)
		}
		return civil.Week{}, apierr.Invalid(field, "%q is not an ISO week (want YYYY-Www, e.g. 2026-W13)", v)
	}
	days := w.Days()
	if days[0].Before(MinDate) || days[len(days)-1].After(MaxDate) {
		return civil.Week{}, apierr.Invalid(field, "%s is outside the dates posimport accepts (%s to %s)", w, MinDate, MaxDate)
	}
	return w, nil
}

// DateRange parses from and until and checks from ≤ until.
func DateRange(fromField, from, untilField, until string) (civil.Date, civil.Date, error) {
	f, err := Date(fromField, from)
	if err != nil {
		return civil.Date{}, civil.Date{}, err
	}
	u, err := Date(untilField, until)
	if err != nil {
		return civil.Date{}, civil.Date{}, err
	}
	if u.Before(f) {
		return civil.Date{}, civil.Date{}, apierr.Invalid(untilField, "must not be before %s", fromField)
	}
	return f, u, nil
}

// ClockTime checks a local time of day "HH:MM" (24 h).
func ClockTime(field, v string) error {
	if !clockPattern.MatchString(v) {
		return apierr.Invalid(field, "%q is not a time of day (want HH:MM, 24 h)", v)
	}
	return nil
}
