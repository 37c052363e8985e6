// Package plan splits an import into jobs: one per department, register and chunk of at most
// MaxDays local days; a department without register ids gets one job per chunk for the whole
// department. Planning is pure, so the same request always gives the same jobs (up to ids).
//
// A POS that filters sales by location rather than by register (Lightspeed Restaurant) would
// page through a location once per job; [GroupByLocation] makes the jobs of one location and
// chunk one group, which the worker runs as one unit with one fetch, each job keeping its own
// state, attempt (fencing token) and writes. The nightly run's jobs are small (two days of one
// register) and share one range, so [GroupByRange] makes a client's whole night a few groups:
// the job's fixed costs (lease, configuration, token, writes, end) are paid once per group.
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
	// GroupID is the lead job's id when the job is one of a group (GroupByLocation,
	// GroupByRange), uuid.Nil when it runs alone.
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

// MaxGroupJobs is the default size limit of GroupByRange's groups: large enough for a client's
// night in one group, small enough that one group's retry or lease stays cheap.
const MaxGroupJobs = 50

// GroupByRange groups the jobs that share a date range, whatever their location, in groups of
// at most maxJobs (MaxGroupJobs when maxJobs <= 0): every job of a group of two or more gets
// the group's first job (its lead) as GroupID. The jobs of one location and range always share
// a group, even past maxJobs, so that a POS that filters by location is read once per location
// (as GroupByLocation). The order is unchanged.
func GroupByRange(jobs []Job, maxJobs int) {
	if maxJobs <= 0 {
		maxJobs = MaxGroupJobs
	}
	type rng struct{ from, until civil.Date }
	// Each range's locations in first-seen order, each with its jobs' indices in order.
	var ranges []rng
	locations := map[rng][]string{}
	members := map[rng]map[string][]int{}
	for i, j := range jobs {
		k := rng{j.From, j.Until}
		if _, ok := members[k]; !ok {
			ranges = append(ranges, k)
			members[k] = map[string][]int{}
		}
		if _, ok := members[k][j.LocationID]; !ok {
			locations[k] = append(locations[k], j.LocationID)
		}
		members[k][j.LocationID] = append(members[k][j.LocationID], i)
	}
	lead := func(group []int) {
		if len(group) < 2 {
			return
		}
		first := group[0]
		for _, i := range group {
			first = min(first, i)
		}
		for _, i := range group {
			jobs[i].GroupID = jobs[first].ID
		}
	}
	for _, k := range ranges {
		var group []int
		for _, loc := range locations[k] {
			idx := members[k][loc]
			if len(group) > 0 && len(group)+len(idx) > maxJobs {
				lead(group)
				group = nil
			}
			group = append(group, idx...)
		}
		lead(group)
	}
}
