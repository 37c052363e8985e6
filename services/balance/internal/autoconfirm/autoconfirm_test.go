package autoconfirm

import (
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/civil"
)

func TestDueTime(t *testing.T) {
	t.Parallel()
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	lordHowe, err := time.LoadLocation("Australia/Lord_Howe")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		date         string
		hour, minute int
		want         string // UTC
		loc          *time.Location
	}{
		{"winter day", "2026-01-15", 5, 0, "2026-01-15T04:00:00Z", cph},
		{"summer day", "2026-07-15", 5, 0, "2026-07-15T03:00:00Z", cph},
		{"midnight", "2026-07-15", 0, 0, "2026-07-14T22:00:00Z", cph},
		{"last minute", "2026-07-15", 23, 59, "2026-07-15T21:59:00Z", cph},
		{"spring day, after the gap", "2026-03-29", 5, 0, "2026-03-29T03:00:00Z", cph},
		{"spring day, before the gap", "2026-03-29", 1, 30, "2026-03-29T00:30:00Z", cph},
		{"spring day, in the gap", "2026-03-29", 2, 30, "2026-03-29T01:00:00Z", cph},
		{"autumn day, repeated time", "2026-10-25", 2, 30, "2026-10-25T00:30:00Z", cph},
		{"autumn day, after", "2026-10-25", 5, 0, "2026-10-25T04:00:00Z", cph},
		// Lord_Howe moves half an hour: 02:00 (+10:30) becomes 02:30 (+11:00) on 2026-10-04,
		// and 02:00 (+11:00) becomes 01:30 (+10:30) on 2026-04-05.
		{"half-hour spring day, in the gap", "2026-10-04", 2, 15, "2026-10-03T15:30:00Z", lordHowe},
		{"half-hour spring day, after the gap", "2026-10-04", 2, 45, "2026-10-03T15:45:00Z", lordHowe},
		{"half-hour spring day, before the gap", "2026-10-04", 1, 45, "2026-10-03T15:15:00Z", lordHowe},
		{"half-hour autumn day, repeated time", "2026-04-05", 1, 45, "2026-04-04T14:45:00Z", lordHowe},
		{"half-hour autumn day, after", "2026-04-05", 2, 0, "2026-04-04T15:30:00Z", lordHowe},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := civil.ParseDate(tc.date)
			if err != nil {
				t.Fatal(err)
			}
			if got := DueTime(d, tc.hour, tc.minute, tc.loc).UTC().Format(time.RFC3339); got != tc.want {
				t.Errorf("DueTime(%s %02d:%02d) = %s, want %s", tc.date, tc.hour, tc.minute, got, tc.want)
			}
		})
	}
}
