// Package plan splits an import into jobs: one per department, register and chunk of at most
// MaxDays local days; a department without register ids gets one job per chunk for the whole
// department. Planning is pure, so the same request always gives the same jobs (up to ids).
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
