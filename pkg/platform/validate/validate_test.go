package validate_test

import (
	"strings"
	"testing"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/validate"
)

func TestValidators(t *testing.T) {
	t.Parallel()
	tz := func(f, v string) error { _, err := validate.TimeZone(f, v); return err }
	date := func(f, v string) error { _, err := validate.Date(f, v); return err }
	week := func(f, v string) error { _, err := validate.Week(f, v); return err }
	tests := []struct {
		name  string
		check func(field, v string) error
		in    string
		ok    bool
	}{
		{"id ok", validate.ID, "client-1", true},
		{"id empty", validate.ID, "", false},
		{"id space", validate.ID, "a b", false},
		{"id too long", validate.ID, string(make([]byte, 65)), false},
		{"numeric ok", validate.NumericID, "123", true},
		{"numeric zero", validate.NumericID, "0", false},
		{"numeric letters", validate.NumericID, "12a", false},
		{"name ok", validate.Name, "Store Nørrebro", true},
		{"name blank", validate.Name, "  ", false},
		{"name control", validate.Name, "a\nb", false},
		{"tz ok", tz, "America/New_York", true},
		{"tz legacy ok", tz, "US/Eastern", true},
		{"tz local", tz, "Local", false},
		{"tz unknown", tz, "Mars/Olympus", false},
		{"tz path", tz, "../etc/passwd", false},
		{"tz absolute", tz, "/usr/share/zoneinfo/Europe/Paris", false},
		{"tz Factory", tz, "Factory", false},
		{"tz posixrules", tz, "posixrules", false},
		{"tz localtime", tz, "localtime", false},
		{"tz posix copy", tz, "posix/Europe/Copenhagen", false},
		{"tz leap-second copy", tz, "right/Europe/Copenhagen", false},
		{"tz UTC", tz, "UTC", true},
		{"date ok", date, "2026-02-28", true},
		{"date bad", date, "2026-02-30", false},
		{"date first", date, "2000-01-01", true},
		{"date last", date, "2099-12-31", true},
		{"date year 0000", date, "0000-01-01", false},
		{"date year 0001", date, "0001-01-01", false},
		{"date before 2000", date, "1999-12-31", false},
		{"date after 2099", date, "2100-01-01", false},
		{"date year 9999", date, "9999-12-31", false},
		{"week ok", week, "2026-W13", true},
		{"week 53", week, "2026-W53", true},
		{"week 54", week, "2026-W54", false},
		{"week first", week, "2000-W01", true},
		{"week reaching into 1999", week, "1999-W52", false},
		{"week year 0001", week, "0001-W01", false},
		{"week year 9999", week, "9999-W10", false},
		{"week garbage", week, "2026W13", false},
		{"clock ok", validate.ClockTime, "05:00", true},
		{"clock 24", validate.ClockTime, "24:00", false},
		{"clock short", validate.ClockTime, "5:00", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.check("some.field", tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("check(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil && apierr.FieldOf(err) != "some.field" {
				t.Errorf("error %v does not name the field", err)
			}
		})
	}
}

// TestEchoIsCapped: a 20 MB value is not sent back in the error.
func TestEchoIsCapped(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("2", 20<<20)
	for name, check := range map[string]func() error{
		"date": func() error { _, err := validate.Date("from_date", huge); return err },
		"week": func() error { _, err := validate.Week("week", huge); return err },
		"zone": func() error { _, err := validate.TimeZone("time_zone", huge); return err },
		"id":   func() error { return validate.NumericID("pos_client_number", huge) },
	} {
		if err := check(); err == nil || len(err.Error()) > 200 {
			t.Errorf("%s: error of %d bytes", name, len(err.Error()))
		}
	}
}

func TestDateRange(t *testing.T) {
	t.Parallel()
	if _, _, err := validate.DateRange("from_date", "2026-01-02", "until_date", "2026-01-01"); apierr.FieldOf(err) != "until_date" {
		t.Errorf("err = %v", err)
	}
	f, u, err := validate.DateRange("from_date", "2026-01-01", "until_date", "2026-01-01")
	if err != nil || f != u {
		t.Errorf("same-day range: %v %v %v", f, u, err)
	}
}
