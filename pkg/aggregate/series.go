package aggregate

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/pos"
)

// ErrOutOfRange is wrapped by [Series.Add] for a sale whose local date lies outside the range.
var ErrOutOfRange = errors.New("sale outside the date range")

// Hour is one local clock hour of a day.
type Hour struct {
	// Start is the hour's first instant, in the series' location: Start.Hour() is the clock
	// hour, and Start's UTC offset tells the two 02:00 hours of an autumn day apart.
	Start time.Time
	// Metrics sums the sales completed in [Start, next hour's Start).
	Metrics pos.Metrics
}

// Day is one local business date with its hours in order.
type Day struct {
	Date  civil.Date
	Hours []Hour
}

// Total returns the sum of the day's hours: the value of a field not split into intervals.
func (d Day) Total() pos.Metrics {
	var m pos.Metrics
	for _, h := range d.Hours {
		m.Add(h.Metrics)
	}
	return m
}

// Series sums the sales of one register over a local date range. It is not safe for
// concurrent use.
type Series struct {
	loc      *time.Location
	from     civil.Date
	days     []Day
	rangeBeg time.Time
	rangeEnd time.Time
}

// New returns an empty series for the dates from through until (inclusive) in loc.
func New(loc *time.Location, from, until civil.Date) (*Series, error) {
	if loc == nil {
		return nil, errors.New("aggregate: nil location")
	}
	if from.After(until) {
		return nil, fmt.Errorf("aggregate: from %v is after until %v", from, until)
	}
	s := &Series{loc: loc, from: from}
	for d := from; !d.After(until); d = d.AddDays(1) {
		s.days = append(s.days, Day{Date: d, Hours: hoursOf(d, loc)})
	}
	s.rangeBeg = from.Start(loc)
	s.rangeEnd = until.AddDays(1).Start(loc)
	return s, nil
}

// hoursOf lists the intervals of d in loc, as civil.Date.Hours defines them.
func hoursOf(d civil.Date, loc *time.Location) []Hour {
	starts := d.Hours(loc)
	hours := make([]Hour, len(starts))
	for i, t := range starts {
		hours[i].Start = t
	}
	return hours
}

// Range returns the first instant of the range and the first instant after it, the UTC bounds
// to fetch sales for.
func (s *Series) Range() (from, until time.Time) { return s.rangeBeg, s.rangeEnd }

// Add adds a sale to the hour it was completed in. A sale outside the range gets an error
// wrapping [ErrOutOfRange] and changes nothing.
func (s *Series) Add(f pos.SaleFigures) error {
	t := f.CompletedAt
	if t.Before(s.rangeBeg) || !t.Before(s.rangeEnd) {
		return fmt.Errorf("aggregate sale %s completed %v: %w", f.SaleID, t.UTC(), ErrOutOfRange)
	}
	i := civil.DateOf(t.In(s.loc)).DaysSince(s.from)
	hours := s.days[i].Hours
	// The hour is the last one starting at or before t.
	j := sort.Search(len(hours), func(k int) bool { return hours[k].Start.After(t) }) - 1
	hours[j].Metrics.Add(f.Metrics)
	return nil
}

// Days returns every day of the range in order, including days without sales. The result
// shares nothing with the series.
func (s *Series) Days() []Day {
	out := make([]Day, len(s.days))
	for i, d := range s.days {
		out[i] = Day{Date: d.Date, Hours: append([]Hour(nil), d.Hours...)}
	}
	return out
}
