package civil_test

import (
	"fmt"
	"slices"
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

// TestHours: a day's intervals are its clock hours, 23 to 25 of them where offsets change by
// whole hours; a half-hour change (Lord_Howe) cuts its clock hour in two at the change. Every
// interval starts on the day, lasts at most an hour, and together they tile the day.
func TestHours(t *testing.T) {
	t.Parallel()
	// hourly lists the labels of the clock hours from..until (inclusive) at one offset.
	hourly := func(from, until int, offset string) []string {
		var out []string
		for h := from; h <= until; h++ {
			out = append(out, fmt.Sprintf("%02d:00%s", h, offset))
		}
		return out
	}
	join := func(parts ...[]string) []string { return slices.Concat(parts...) }
	tests := []struct {
		name string
		zone string
		date string
		// want are the intervals' local starts with their offsets.
		want []string
		// dayLength is the day's duration.
		dayLength time.Duration
	}{
		{name: "ordinary day", zone: "Europe/Copenhagen", date: "2026-06-10",
			want: hourly(0, 23, "+02:00"), dayLength: 24 * time.Hour},
		{name: "Copenhagen spring", zone: "Europe/Copenhagen", date: "2026-03-29",
			want: join(hourly(0, 1, "+01:00"), hourly(3, 23, "+02:00")), dayLength: 23 * time.Hour},
		{name: "Copenhagen autumn", zone: "Europe/Copenhagen", date: "2026-10-25",
			want: join(hourly(0, 2, "+02:00"), hourly(2, 23, "+01:00")), dayLength: 25 * time.Hour},
		{name: "New York spring", zone: "America/New_York", date: "2026-03-08",
			want: join(hourly(0, 1, "-05:00"), hourly(3, 23, "-04:00")), dayLength: 23 * time.Hour},
		{name: "New York autumn", zone: "America/New_York", date: "2026-11-01",
			want: join(hourly(0, 1, "-04:00"), hourly(1, 23, "-05:00")), dayLength: 25 * time.Hour},
		// 02:00 becomes 02:30: the 02 hour is the half hour 02:30–03:00.
		{name: "Lord_Howe spring", zone: "Australia/Lord_Howe", date: "2026-10-04",
			want:      join(hourly(0, 1, "+10:30"), []string{"02:30+11:00"}, hourly(3, 23, "+11:00")),
			dayLength: 23*time.Hour + 30*time.Minute},
		// 02:00 becomes 01:30: the whole 01 hour at +11, then 01:30–02:00 at +10:30.
		{name: "Lord_Howe autumn", zone: "Australia/Lord_Howe", date: "2026-04-05",
			want:      join(hourly(0, 1, "+11:00"), []string{"01:30+10:30"}, hourly(2, 23, "+10:30")),
			dayLength: 24*time.Hour + 30*time.Minute},
		{name: "UTC", zone: "UTC", date: "2026-03-29", want: hourly(0, 23, "+00:00"), dayLength: 24 * time.Hour},
		// Midnight does not exist here on this day (clocks jump 00:00 → 01:00).
		{name: "skipped midnight", zone: "America/Santiago", date: "2026-09-06",
			want: hourly(1, 23, "-03:00"), dayLength: 23 * time.Hour},
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
			var got []string
			for _, h := range hours {
				got = append(got, h.Format("15:04-07:00"))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("intervals (-want +got):\n%s", diff)
			}
			start, end := d.Start(loc), d.AddDays(1).Start(loc)
			if end.Sub(start) != tc.dayLength {
				t.Errorf("the day lasts %v, want %v", end.Sub(start), tc.dayLength)
			}
			if len(hours) == 0 || !hours[0].Equal(start) {
				t.Fatalf("the first interval does not start at the day's start %v", start)
			}
			for i, h := range hours {
				next := end
				if i+1 < len(hours) {
					next = hours[i+1]
				}
				if civil.DateOf(h) != d || !next.After(h) || next.Sub(h) > time.Hour {
					t.Errorf("interval %d (%v..%v) is not a step of at most an hour on %v", i, h, next, d)
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
