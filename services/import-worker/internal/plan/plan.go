// Package plan splits an import into jobs: one per department, register and chunk of at most
// MaxDays local days; a department without register ids gets one job per chunk for the whole
// department. Planning is pure, so the same request always gives the same jobs (up to ids).
//
// A POS that filters sales by location rather than by register (Lightspeed Restaurant) would
// page through a location once per job; [GroupByLocation] makes the jobs of one location and
// chunk one group, which the worker runs as one unit with one fetch, each job keeping its own
// state, attempt (fencing token) and writes.
package plan

import (
	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
)

// MaxDays is the longest date range of one job: about a month of sales, a few dozen requests.
const MaxDays = 31

// Department is one department to import, as configured.
type Department struct {
	ID string
	// LocationID is the POS location (Lightspeed shop id).
	LocationID string
	// Registers are the register ids; empty means the whole department is one unit.
	Registers []string
	// TimeZone is the department's IANA zone.
	TimeZone string
	// From and Until are the local dates to import, inclusive.
	From, Until civil.Date
}

// Job is one unit of work.
type Job struct {
	ID           uuid.UUID
	DepartmentID string
	// RegisterID is "" for the whole department.
	RegisterID string
	LocationID string
	TimeZone   string
	From       civil.Date
	Until      civil.Date
	// GroupID is the lead job's id when the job is one of a location's group (GroupByLocation),
	// uuid.Nil when it runs alone.
	GroupID uuid.UUID
}

// Plan returns the jobs of departments, in department, register and date order, with chunks of
// at most maxDays days (MaxDays when maxDays <= 0). newID names each job.
func Plan(departments []Department, maxDays int, newID func() uuid.UUID) []Job {
	if maxDays <= 0 {
		maxDays = MaxDays
	}
	var jobs []Job
	for _, d := range departments {
		registers := d.Registers
		if len(registers) == 0 {
			registers = []string{""}
		}
		for _, r := range registers {
			for from := d.From; !from.After(d.Until); from = from.AddDays(maxDays) {
				until := from.AddDays(maxDays - 1)
				if until.After(d.Until) {
					until = d.Until
				}
				jobs = append(jobs, Job{
					ID: newID(), DepartmentID: d.ID, RegisterID: r, LocationID: d.LocationID,
					TimeZone: d.TimeZone, From: from, Until: until,
				})
			}
		}
	}
	return jobs
}

// GroupByLocation groups the jobs that share a location and a date range: every job of a
// group of two or more gets the group's first job (its lead) as GroupID. Jobs of a location
// whose departments have different ranges form one group per range. The order is unchanged.
func GroupByLocation(jobs []Job) {
	type key struct {
		location    string
		from, until civil.Date
	}
	lead := map[key]int{}
	count := map[key]int{}
	for i, j := range jobs {
		k := key{j.LocationID, j.From, j.Until}
		if _, ok := lead[k]; !ok {
			lead[k] = i
		}
		count[k]++
	}
	for i := range jobs {
		k := key{jobs[i].LocationID, jobs[i].From, jobs[i].Until}
		if count[k] > 1 {
			jobs[i].GroupID = jobs[lead[k]].ID
		}
	}
}
