package plan_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/services/import-worker/internal/plan"
)

// FuzzPlan plans one department over an arbitrary range (up to about three years, any start
// date from 1840 to 2100) with up to four registers and any chunk size: for every register the
// chunks are in date order, never longer than the chunk size (MaxDays when it is not
// positive), and cover the range exactly once, with no gap, no overlap and nothing outside.
func FuzzPlan(f *testing.F) {
	f.Add(int32(20000), uint16(30), int8(0), uint8(2))
	f.Add(int32(19782), uint16(365), int8(31), uint8(0))
	f.Add(int32(19052), uint16(1096), int8(7), uint8(4)) // across a leap day
	f.Add(int32(0), uint16(0), int8(1), uint8(1))
	f.Add(int32(-1), uint16(59), int8(-5), uint8(3))
	f.Fuzz(func(t *testing.T, start int32, span uint16, maxDays int8, registers uint8) {
		from := civil.Date{Year: 1970, Month: 1, Day: 1}.AddDays(int(start % 47482))
		until := from.AddDays(int(span % 1100))
		regs := []string{"a", "b", "c", "d"}[:registers%5]
		d := plan.Department{ID: "d1", LocationID: "42", Registers: regs, TimeZone: "Europe/Copenhagen", From: from, Until: until}
		n := 0
		jobs := plan.Plan([]plan.Department{d}, int(maxDays), func() uuid.UUID { n++; return uuid.UUID{byte(n >> 8), byte(n)} })
		limit := int(maxDays)
		if limit <= 0 {
			limit = plan.MaxDays
		}
		units := regs
		if len(units) == 0 {
			units = []string{""}
		}
		next := map[string]civil.Date{}
		for _, r := range units {
			next[r] = from
		}
		ids := map[uuid.UUID]bool{}
		order := 0
		for _, j := range jobs {
			if ids[j.ID] {
				t.Fatalf("job id %v given twice", j.ID)
			}
			ids[j.ID] = true
			want, ok := next[j.RegisterID]
			if !ok {
				t.Fatalf("job for register %q, which the department does not have", j.RegisterID)
			}
			if j.From != want {
				t.Fatalf("register %q: chunk starts %s, want %s (gap or overlap)", j.RegisterID, j.From, want)
			}
			if j.Until.Before(j.From) || j.Until.After(until) {
				t.Fatalf("register %q: chunk %s..%s outside %s..%s", j.RegisterID, j.From, j.Until, from, until)
			}
			if days := j.Until.DaysSince(j.From) + 1; days > limit {
				t.Fatalf("register %q: chunk of %d days, limit %d", j.RegisterID, days, limit)
			}
			if j.DepartmentID != "d1" || j.LocationID != "42" || j.TimeZone != "Europe/Copenhagen" {
				t.Fatalf("job lost the department's fields: %+v", j)
			}
			// Registers come one after the other, each in date order.
			if i := indexOf(units, j.RegisterID); i < order {
				t.Fatalf("register %q planned after a later register", j.RegisterID)
			} else {
				order = i
			}
			next[j.RegisterID] = j.Until.AddDays(1)
		}
		for r, n := range next {
			if n != until.AddDays(1) {
				t.Fatalf("register %q covered up to %s, want through %s", r, n.AddDays(-1), until)
			}
		}
	})
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
