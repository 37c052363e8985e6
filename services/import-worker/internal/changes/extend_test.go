package changes_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/services/import-worker/internal/changes"
	"github.com/posimport/posimport/services/import-worker/internal/plan"
)

func day(s string) civil.Date {
	d, err := civil.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestExtend: register-days inside the nightly plan get their cause on the planned job;
// the others become jobs of consecutive days per department and register, at most maxDays
// long, each day with its cause.
func TestExtend(t *testing.T) {
	deps := []plan.Department{
		{ID: "d1", LocationID: "1", Registers: []string{"11", "12"}, TimeZone: "Europe/Copenhagen", From: day("2026-03-09"), Until: day("2026-03-10")},
		{ID: "d2", LocationID: "2", TimeZone: "America/New_York", From: day("2026-03-08"), Until: day("2026-03-09")},
	}
	n := 0
	newID := func() uuid.UUID { n++; return uuid.MustParse(fmt.Sprintf("00000000-0000-0000-0000-%012d", n)) }
	planned := plan.Plan(deps, 31, newID)
	cause := func(ids ...string) *changes.Cause { return &changes.Cause{SaleIDs: ids, Count: len(ids)} }
	found := map[changes.RegisterDay]*changes.Cause{
		{DepartmentID: "d1", RegisterID: "11", Date: day("2026-03-10")}: cause("a"), // planned
		{DepartmentID: "d1", RegisterID: "12", Date: day("2026-03-01")}: cause("b"),
		{DepartmentID: "d1", RegisterID: "12", Date: day("2026-03-02")}: cause("b"), // moved: next day
		{DepartmentID: "d1", RegisterID: "12", Date: day("2026-03-03")}: cause("c"), // three days: two jobs of 2
		{DepartmentID: "d1", RegisterID: "12", Date: day("2026-03-05")}: cause("d"),
		{DepartmentID: "d2", RegisterID: "", Date: day("2026-02-27")}:   cause("e", "f"),
		{DepartmentID: "gone", RegisterID: "", Date: day("2026-02-27")}: cause("g"), // not planned: ignored
	}
	jobs, causes := changes.Extend(planned, deps, found, 2, newID)
	type span struct{ Dep, Reg, From, Until string }
	var got []span
	for _, j := range jobs[len(planned):] {
		got = append(got, span{j.DepartmentID, j.RegisterID, j.From.String(), j.Until.String()})
	}
	want := []span{
		{"d1", "12", "2026-03-01", "2026-03-02"},
		{"d1", "12", "2026-03-03", "2026-03-03"},
		{"d1", "12", "2026-03-05", "2026-03-05"},
		{"d2", "", "2026-02-27", "2026-02-27"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("new jobs (-want +got):\n%s", diff)
	}
	if j := jobs[len(planned)+3]; j.LocationID != "2" || j.TimeZone != "America/New_York" {
		t.Errorf("new job of d2: location %q zone %q", j.LocationID, j.TimeZone)
	}
	type dayCause struct {
		Job        int
		Date, Sale string
		Count      int
	}
	var gotCauses []dayCause
	for _, c := range causes {
		gotCauses = append(gotCauses, dayCause{c.JobIndex, c.Date.String(), c.SaleIDs[0], c.SaleCount})
		if c.Reason != changes.Reason {
			t.Errorf("cause reason %q", c.Reason)
		}
	}
	planned11 := 1 // d1/11 has one planned job (index 0), d1/12 index 1, d2 index 2
	wantCauses := []dayCause{
		{planned11 - 1, "2026-03-10", "a", 1},
		{len(planned), "2026-03-01", "b", 1},
		{len(planned), "2026-03-02", "b", 1},
		{len(planned) + 1, "2026-03-03", "c", 1},
		{len(planned) + 2, "2026-03-05", "d", 1},
		{len(planned) + 3, "2026-02-27", "e", 2},
	}
	if diff := cmp.Diff(wantCauses, gotCauses); diff != "" {
		t.Errorf("causes (-want +got):\n%s", diff)
	}
}
