package validate_test

import (
	"testing"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/validate"
)

func TestValidators(t *testing.T) {
	t.Parallel()
	tz := func(f, v string) error { _, err := validate.TimeZone(f, v); return err }
	date := func(f, v string) error { _, err := validate.Date(f, v); return err }
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
		{"date ok", date, "2026-02-28", true},
		{"date bad", date, "2026-02-30", false},
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
