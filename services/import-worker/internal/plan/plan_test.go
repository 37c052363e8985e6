package plan_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/services/import-worker/internal/plan"
)

func date(s string) civil.Date {
	d, err := civil.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

type span struct{ Dept, Register, From, Until string }

func TestPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		deps    []plan.Department
		maxDays int
		want    []span
	}{
		{
			name: "one day, two registers",
			deps: []plan.Department{{ID: "d1", Registers: []string{"11", "12"}, From: date("2026-03-29"), Until: date("2026-03-29")}},
			want: []span{{"d1", "11", "2026-03-29", "2026-03-29"}, {"d1", "12", "2026-03-29", "2026-03-29"}},
		},
		{
			name: "no registers: whole department",
			deps: []plan.Department{{ID: "d1", From: date("2026-01-01"), Until: date("2026-01-02")}},
			want: []span{{"d1", "", "2026-01-01", "2026-01-02"}},
		},
		{
			name: "exactly 31 days is one chunk",
			deps: []plan.Department{{ID: "d1", From: date("2026-01-01"), Until: date("2026-01-31")}},
			want: []span{{"d1", "", "2026-01-01", "2026-01-31"}},
		},
		{
			name: "32 days are two chunks",
			deps: []plan.Department{{ID: "d1", From: date("2026-01-01"), Until: date("2026-02-01")}},
			want: []span{{"d1", "", "2026-01-01", "2026-01-31"}, {"d1", "", "2026-02-01", "2026-02-01"}},
		},
		{
			name:    "smaller chunks across a leap day",
			maxDays: 10,
			deps:    []plan.Department{{ID: "d1", Registers: []string{"7"}, From: date("2024-02-20"), Until: date("2024-03-05")}},
			want:    []span{{"d1", "7", "2024-02-20", "2024-02-29"}, {"d1", "7", "2024-03-01", "2024-03-05"}},
		},
		{
			name: "departments keep their own ranges",
			deps: []plan.Department{
				{ID: "cph", From: date("2026-03-28"), Until: date("2026-03-29")},
				{ID: "nyc", Registers: []string{"5"}, From: date("2026-03-27"), Until: date("2026-03-28")},
			},
			want: []span{{"cph", "", "2026-03-28", "2026-03-29"}, {"nyc", "5", "2026-03-27", "2026-03-28"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []span
			ids := map[uuid.UUID]bool{}
			for _, j := range plan.Plan(tc.deps, tc.maxDays, uuid.New) {
				got = append(got, span{j.DepartmentID, j.RegisterID, j.From.String(), j.Until.String()})
				ids[j.ID] = true
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("jobs (-want +got):\n%s", diff)
			}
			if len(ids) != len(got) {
				t.Errorf("job ids not unique: %d ids for %d jobs", len(ids), len(got))
			}
		})
	}
}

// TestPlanCoversEveryDayOnce checks a year of three registers: every register-day in exactly
// one job, no job longer than MaxDays.
func TestPlanCoversEveryDayOnce(t *testing.T) {
	t.Parallel()
	d := plan.Department{ID: "d", Registers: []string{"1", "2", "3"}, From: date("2025-01-01"), Until: date("2025-12-31")}
	seen := map[string]int{}
	for _, j := range plan.Plan([]plan.Department{d}, 0, uuid.New) {
		if n := j.Until.DaysSince(j.From) + 1; n > plan.MaxDays || n < 1 {
			t.Errorf("job %v..%v has %d days", j.From, j.Until, n)
		}
		for day := j.From; !day.After(j.Until); day = day.AddDays(1) {
			seen[j.RegisterID+" "+day.String()]++
		}
	}
	if len(seen) != 3*365 {
		t.Errorf("covered %d register-days, want %d", len(seen), 3*365)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s planned %d times", k, n)
		}
	}
}

// TestGroupByLocation: two departments splitting one location's registers form one group per
// chunk, led by the chunk's first job; a lone job and another location's job stay alone.
func TestGroupByLocation(t *testing.T) {
	t.Parallel()
	deps := []plan.Department{
		{ID: "bar", LocationID: "L1", Registers: []string{"1"}, From: date("2026-01-01"), Until: date("2026-02-01")},
		{ID: "kitchen", LocationID: "L1", Registers: []string{"2", "3"}, From: date("2026-01-01"), Until: date("2026-02-01")},
		{ID: "shop", LocationID: "L2", From: date("2026-01-01"), Until: date("2026-01-31")},
	}
	jobs := plan.Plan(deps, 0, uuid.New)
	plan.GroupByLocation(jobs)
	type grouped struct{ Dept, Register, From, Lead string }
	var got []grouped
	for _, j := range jobs {
		lead := "alone"
		if j.GroupID != uuid.Nil {
			for _, l := range jobs {
				if l.ID == j.GroupID {
					lead = l.DepartmentID + "/" + l.RegisterID + "/" + l.From.String()
				}
			}
		}
		got = append(got, grouped{j.DepartmentID, j.RegisterID, j.From.String(), lead})
	}
	want := []grouped{
		{"bar", "1", "2026-01-01", "bar/1/2026-01-01"},
		{"bar", "1", "2026-02-01", "bar/1/2026-02-01"},
		{"kitchen", "2", "2026-01-01", "bar/1/2026-01-01"},
		{"kitchen", "2", "2026-02-01", "bar/1/2026-02-01"},
		{"kitchen", "3", "2026-01-01", "bar/1/2026-01-01"},
		{"kitchen", "3", "2026-02-01", "bar/1/2026-02-01"},
		{"shop", "", "2026-01-01", "alone"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

// TestGroupByRange: the jobs of one range form groups of at most maxJobs across locations,
// never splitting a location; a job of another range and a group of one stay alone.
func TestGroupByRange(t *testing.T) {
	t.Parallel()
	night := func(id, loc string, regs ...string) plan.Department {
		return plan.Department{ID: id, LocationID: loc, Registers: regs, From: date("2026-03-01"), Until: date("2026-03-02")}
	}
	tests := []struct {
		name    string
		deps    []plan.Department
		maxJobs int
		// want is each job's lead as department/register, "alone" for none.
		want []string
	}{{
		name:    "a client's night in one group",
		deps:    []plan.Department{night("a", "1", "1", "2"), night("b", "2", "3", "4"), night("c", "3")},
		maxJobs: 0,
		want:    []string{"a/1", "a/1", "a/1", "a/1", "a/1"},
	}, {
		name:    "cut at location boundaries",
		deps:    []plan.Department{night("a", "1", "1", "2"), night("b", "2", "3", "4"), night("c", "3", "5")},
		maxJobs: 3,
		want:    []string{"a/1", "a/1", "b/3", "b/3", "b/3"},
	}, {
		name:    "a location larger than the limit stays whole",
		deps:    []plan.Department{night("a", "1", "1", "2", "3"), night("b", "1", "4"), night("c", "2", "5")},
		maxJobs: 2,
		want:    []string{"a/1", "a/1", "a/1", "a/1", "alone"},
	}, {
		name: "ranges apart",
		deps: []plan.Department{night("a", "1", "1"),
			{ID: "b", LocationID: "2", Registers: []string{"2"}, From: date("2026-02-20"), Until: date("2026-02-21")}},
		want: []string{"alone", "alone"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs := plan.Plan(tt.deps, 0, uuid.New)
			plan.GroupByRange(jobs, tt.maxJobs)
			var got []string
			for _, j := range jobs {
				lead := "alone"
				for _, l := range jobs {
					if j.GroupID != uuid.Nil && l.ID == j.GroupID {
						lead = l.DepartmentID + "/" + l.RegisterID
					}
				}
				got = append(got, lead)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("leads (-want +got):\n%s", diff)
			}
		})
	}
}
