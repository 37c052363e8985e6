package civil_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/civil"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestHours(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		zone      string
		date      string
		wantCount int
		wantLocal []string // local starts, when checked
	}{
		{name: "ordinary day", zone: "Europe/Copenhagen", date: "2026-06-10", wantCount: 24},
		{name: "spring forward", zone: "Europe/Copenhagen", date: "2026-03-29", wantCount: 23,
			wantLocal: []string{"00:00+01", "01:00+01", "03:00+02", "04:00+02"}},
		{name: "fall back", zone: "Europe/Copenhagen", date: "2026-10-25", wantCount: 25,
			wantLocal: []string{"00:00+02", "01:00+02", "02:00+02", "02:00+01", "03:00+01"}},
		{name: "new york spring", zone: "America/New_York", date: "2026-03-08", wantCount: 23},
		{name: "new york fall", zone: "America/New_York", date: "2026-11-01", wantCount: 25},
		{name: "utc", zone: "UTC", date: "2026-03-29", wantCount: 24},
		// Midnight does not exist here on this day (clocks jump 00:00 → 01:00).
		{name: "skipped midnight", zone: "America/Santiago", date: "2026-09-06", wantCount: 23,
			wantLocal: []string{"01:00-03", "02:00-03"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc := mustLoad(t, tc.zone)
			d, err := civil.ParseDate(tc.date)
			if err != nil {
				t.Fatal(err)
			}
			hours := d.Hours(loc)
			if len(hours) != tc.wantCount {
				t.Fatalf("len = %d, want %d", len(hours), tc.wantCount)
			}
			for i, h := range hours {
				if civil.DateOf(h) != d {
					t.Errorf("hour %d (%v) not on %v", i, h, d)
				}
				if i > 0 && h.Sub(hours[i-1]) != time.Hour {
					t.Errorf("hour %d not one hour after the previous", i)
				}
				gotDate, idx := civil.HourIndex(h.Add(59*time.Minute), loc)
				if gotDate != d || idx != i {
					t.Errorf("HourIndex(%v) = %v,%d want %v,%d", h, gotDate, idx, d, i)
				}
			}
			if tc.wantLocal != nil {
				var got []string
				for _, h := range hours[:len(tc.wantLocal)] {
					got = append(got, h.Format("15:04-07"))
				}
				if diff := cmp.Diff(tc.wantLocal, got); diff != "" {
					t.Errorf("(-want +got)\n%s", diff)
				}
			}
		})
	}
}

func TestWeeks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		wantMonday string
		wantErr    bool
	}{
		{in: "2026-W13", wantMonday: "2026-03-23"},
		{in: "2026-W01", wantMonday: "2025-12-29"},
		{in: "2020-W53", wantMonday: "2020-12-28"},
		{in: "2026-W53", wantMonday: "2026-12-28"},
		{in: "2025-W53", wantErr: true},
		{in: "2026-W00", wantErr: true},
		{in: "2026-13", wantErr: true},
		{in: "2026-W1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			w, err := civil.ParseWeek(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseWeek(%q) = %v, want error", tc.in, w)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := w.Monday().String(); got != tc.wantMonday {
				t.Errorf("Monday = %s, want %s", got, tc.wantMonday)
			}
			if w.String() != tc.in || civil.WeekOf(w.Monday()) != w || civil.WeekOf(w.Days()[6]) != w {
				t.Errorf("round trip of %s failed", tc.in)
			}
		})
	}
}

func TestDateArithmetic(t *testing.T) {
	t.Parallel()
	a, _ := civil.ParseDate("2024-02-28")
	b := a.AddDays(2)
	if b.String() != "2024-03-01" || b.DaysSince(a) != 2 || !a.Before(b) || !b.After(a) {
		t.Errorf("got %v, %d", b, b.DaysSince(a))
	}
	if _, err := civil.ParseDate("2024-02-30"); err == nil {
		t.Error("2024-02-30 parsed")
	}
}
