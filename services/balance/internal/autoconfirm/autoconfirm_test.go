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
	tests := []struct {
		name         string
		date         string
		hour, minute int
		want         string // UTC
	}{
		{"winter day", "2026-01-15", 5, 0, "2026-01-15T04:00:00Z"},
		{"summer day", "2026-07-15", 5, 0, "2026-07-15T03:00:00Z"},
		{"midnight", "2026-07-15", 0, 0, "2026-07-14T22:00:00Z"},
		{"last minute", "2026-07-15", 23, 59, "2026-07-15T21:59:00Z"},
		{"spring day, after the gap", "2026-03-29", 5, 0, "2026-03-29T03:00:00Z"},
		{"spring day, before the gap", "2026-03-29", 1, 30, "2026-03-29T00:30:00Z"},
		{"spring day, in the gap", "2026-03-29", 2, 30, "2026-03-29T01:00:00Z"},
		{"autumn day, repeated time", "2026-10-25", 2, 30, "2026-10-25T00:30:00Z"},
		{"autumn day, after", "2026-10-25", 5, 0, "2026-10-25T04:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := civil.ParseDate(tc.date)
			if err != nil {
				t.Fatal(err)
			}
			if got := DueTime(d, tc.hour, tc.minute, cph).UTC().Format(time.RFC3339); got != tc.want {
				t.Errorf("DueTime(%s %02d:%02d) = %s, want %s", tc.date, tc.hour, tc.minute, got, tc.want)
			}
		})
	}
}
