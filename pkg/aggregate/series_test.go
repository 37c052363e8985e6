package aggregate_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/aggregate"
	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/pos"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustDate(t *testing.T, s string) civil.Date {
	t.Helper()
	d, err := civil.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// label renders an hour as its local clock time and offset, e.g. "02:00+01:00".
func label(h aggregate.Hour) string { return h.Start.Format("15:04-07:00") }

func TestHoursOfDay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		zone      string
		date      string
		wantHours int
		// wantLabels, when set, are the first hours' labels.
		wantLabels []string
	}{
		{name: "ordinary day", zone: "Europe/Copenhagen", date: "2026-06-15", wantHours: 24},
		{name: "Copenhagen spring", zone: "Europe/Copenhagen", date: "2026-03-29", wantHours: 23,
			wantLabels: []string{"00:00+01:00", "01:00+01:00", "03:00+02:00"}},
		{name: "Copenhagen autumn", zone: "Europe/Copenhagen", date: "2026-10-25", wantHours: 25,
			wantLabels: []string{"00:00+02:00", "01:00+02:00", "02:00+02:00", "02:00+01:00", "03:00+01:00"}},
		{name: "New York spring", zone: "America/New_York", date: "2026-03-08", wantHours: 23,
			wantLabels: []string{"00:00-05:00", "01:00-05:00", "03:00-04:00"}},
		{name: "New York autumn", zone: "America/New_York", date: "2026-11-01", wantHours: 25,
			wantLabels: []string{"00:00-04:00", "01:00-04:00", "01:00-05:00", "02:00-05:00"}},
		{name: "legacy alias", zone: "US/Pacific", date: "2026-11-01", wantHours: 25},
		{name: "midnight skipped", zone: "America/Sao_Paulo", date: "2018-11-04", wantHours: 23,
			wantLabels: []string{"01:00-02:00", "02:00-02:00"}},
		{name: "half-hour shift", zone: "Australia/Lord_Howe", date: "2026-10-04", wantHours: 24,
			wantLabels: []string{"00:00+10:30", "01:00+10:30", "02:30+11:00", "03:00+11:00"}},
		{name: "UTC", zone: "UTC", date: "2026-10-25", wantHours: 24},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := mustDate(t, tc.date)
			s, err := aggregate.New(mustLoad(t, tc.zone), d, d)
			if err != nil {
				t.Fatal(err)
			}
			days := s.Days()
			if len(days) != 1 {
				t.Fatalf("got %d days, want 1", len(days))
			}
			hours := days[0].Hours
			if len(hours) != tc.wantHours {
				t.Errorf("got %d hours, want %d", len(hours), tc.wantHours)
			}
			var got []string
			for i := 0; i < len(tc.wantLabels) && i < len(hours); i++ {
				got = append(got, label(hours[i]))
			}
			if diff := cmp.Diff(tc.wantLabels, got); diff != "" {
				t.Errorf("first hours (-want +got):\n%s", diff)
			}
			// The hours tile the day: they are increasing and together last the whole day.
			from, until := s.Range()
			if !hours[0].Start.Equal(from) {
				t.Errorf("first hour starts %v, want %v", hours[0].Start, from)
			}
			var total time.Duration
			for i := range hours {
				end := until
				if i+1 < len(hours) {
					end = hours[i+1].Start
				}
				if !hours[i].Start.Before(end) {
					t.Errorf("hour %d does not move forward", i)
				}
				total += end.Sub(hours[i].Start)
			}
			if total != until.Sub(from) {
				t.Errorf("hours last %v, the day %v", total, until.Sub(from))
			}
		})
	}
}

func sale(id string, at string, gross string) pos.SaleFigures {
	return pos.SaleFigures{
		SaleID:      id,
		RegisterID:  "1",
		CompletedAt: mustParse(at),
		Metrics:     pos.Metrics{GrossSales: decimal.RequireFromString(gross), Transactions: decimal.NewFromInt(1)},
	}
}

func mustParse(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestSeriesAdd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		zone  string
		from  string
		until string
		sales []pos.SaleFigures
		// want maps "date label" to gross sales; every other hour must be zero.
		want map[string]string
	}{
		{
			name: "both 02:00 hours of an autumn day stay apart",
			zone: "Europe/Copenhagen", from: "2026-10-25", until: "2026-10-25",
			sales: []pos.SaleFigures{
				sale("1", "2026-10-25T00:30:00Z", "10"),    // 02:30 CEST
				sale("2", "2026-10-25T01:30:00Z", "20"),    // 02:30 CET
				sale("3", "2026-10-25T00:59:59Z", "0.5"),   // 02:59:59 CEST
				sale("4", "2026-10-25T01:00:00Z", "0.25"),  // 02:00:00 CET
				sale("5", "2026-10-24T22:00:00Z", "1.125"), // 00:00 CEST
			},
			want: map[string]string{
				"2026-10-25 02:00+02:00": "10.5",
				"2026-10-25 02:00+01:00": "20.25",
				"2026-10-25 00:00+02:00": "1.125",
			},
		},
		{
			name: "midnight belongs to the new day",
			zone: "America/New_York", from: "2026-07-01", until: "2026-07-02",
			sales: []pos.SaleFigures{
				sale("1", "2026-07-02T03:59:59Z", "1"), // 23:59:59 EDT on the 1st
				sale("2", "2026-07-02T04:00:00Z", "2"), // 00:00 EDT on the 2nd
			},
			want: map[string]string{
				"2026-07-01 23:00-04:00": "1",
				"2026-07-02 00:00-04:00": "2",
			},
		},
		{
			name: "spring day skips 02:00",
			zone: "Europe/Copenhagen", from: "2026-03-29", until: "2026-03-29",
			sales: []pos.SaleFigures{
				sale("1", "2026-03-29T00:59:59Z", "1"), // 01:59:59 CET
				sale("2", "2026-03-29T01:00:00Z", "2"), // 03:00 CEST
			},
			want: map[string]string{
				"2026-03-29 01:00+01:00": "1",
				"2026-03-29 03:00+02:00": "2",
			},
		},
		{
			name: "no sales gives zero days",
			zone: "Europe/Copenhagen", from: "2026-01-01", until: "2026-01-03",
			want: map[string]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := aggregate.New(mustLoad(t, tc.zone), mustDate(t, tc.from), mustDate(t, tc.until))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.sales {
				if err := s.Add(f); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]string{}
			days := s.Days()
			wantDays := 0
			for d := mustDate(t, tc.from); !d.After(mustDate(t, tc.until)); d = d.AddDays(1) {
				wantDays++
			}
			if len(days) != wantDays {
				t.Errorf("got %d days, want %d", len(days), wantDays)
			}
			for _, d := range days {
				for _, h := range d.Hours {
					if !h.Metrics.IsZero() {
						got[d.Date.String()+" "+label(h)] = h.Metrics.GrossSales.String()
					}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("non-zero hours (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSeriesAddOutOfRange(t *testing.T) {
	t.Parallel()
	loc := mustLoad(t, "Europe/Copenhagen")
	d := mustDate(t, "2026-06-01")
	s, err := aggregate.New(loc, d, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []string{"2026-05-31T21:59:59Z", "2026-06-01T22:00:00Z"} {
		if err := s.Add(sale("x", at, "1")); !errors.Is(err, aggregate.ErrOutOfRange) {
			t.Errorf("Add(%s) = %v, want ErrOutOfRange", at, err)
		}
	}
	if err := s.Add(sale("y", "2026-05-31T22:00:00Z", "1")); err != nil {
		t.Errorf("Add at local midnight: %v", err)
	}
	if _, err := aggregate.New(loc, d.AddDays(1), d); err == nil {
		t.Error("New with from after until: want an error")
	}
}
