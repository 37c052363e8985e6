package worker

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/aggregate"
	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/pos"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// TestSeenSales: a unit's sales are noted on its local date, and the days recorded are every
// day the unit read, those without sales included (so their rows go); on a POS without a
// change listing nothing is noted or recorded.
func TestSeenSales(t *testing.T) {
	t.Parallel()
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := civil.Date{Year: 2026, Month: 3, Day: 1}, civil.Date{Year: 2026, Month: 3, Day: 2}
	mk := func(register string) *unit {
		return &unit{lease: store.Lease{Job: store.Job{LocationID: "1", RegisterID: register, From: d1, Until: d2}}, loc: cph,
			days: []aggregate.Day{{Date: d1}, {Date: d2}}}
	}
	u11, u12 := mk("11"), mk("12")
	late := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC) // 00:30 on the 2nd in Copenhagen
	noon := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sales := []pos.SaleFigures{{SaleID: "a", LocationID: "1", RegisterID: "11", CompletedAt: noon},
		{SaleID: "b", LocationID: "1", RegisterID: "11", CompletedAt: late}, {SaleID: "", LocationID: "1", RegisterID: "11", CompletedAt: noon}}

	seen := &seenSales{on: true, units: map[*unit]map[civil.Date][]store.SaleSeen{}}
	for _, f := range sales {
		seen.add(u11, f)
	}
	want := []store.SeenDay{
		{LocationID: "1", RegisterID: "11", Date: d1, Sales: []store.SaleSeen{{SaleID: "a", LocationID: "1", RegisterID: "11", CompletedAt: noon}}},
		{LocationID: "1", RegisterID: "11", Date: d2, Sales: []store.SaleSeen{{SaleID: "b", LocationID: "1", RegisterID: "11", CompletedAt: late}}},
		{LocationID: "1", RegisterID: "12", Date: d1},
		{LocationID: "1", RegisterID: "12", Date: d2},
	}
	if diff := cmp.Diff(want, seen.days(u11, u12)); diff != "" {
		t.Errorf("days (-want +got):\n%s", diff)
	}

	off := &seenSales{units: map[*unit]map[civil.Date][]store.SaleSeen{}}
	for _, f := range sales {
		off.add(u11, f)
	}
	if got := off.days(u11, u12); got != nil || len(off.units) != 0 {
		t.Errorf("without a change listing: %v, %d units noted", got, len(off.units))
	}
}

// TestBatchWritten: a group's batch wrote the units alive before the first one a
// cancellation stopped; a unit that failed on its own wrote nothing.
func TestBatchWritten(t *testing.T) {
	t.Parallel()
	units := make([]*unit, 5)
	for i := range units {
		units[i] = &unit{}
	}
	units[1].res.Failure = "sale 7: malformed"
	units[3].res.Cancelled = true
	got := batchWritten(units)
	if len(got) != 2 || got[0] != units[0] || got[1] != units[2] {
		t.Errorf("written: %v, want units 0 and 2", got)
	}
}
