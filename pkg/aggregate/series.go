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

// hoursOf lists the clock hours of d in loc: each starts where the local clock turns to a new
// hour or the UTC offset changes, whichever comes first.
//
// NOTE: civil.Date.Hours assumes whole-hour offset changes; this also keeps exact the
// half-hour ones (Australia/Lord_Howe), which cost nothing extra.
func hoursOf(d civil.Date, loc *time.Location) []Hour {
	end := d.AddDays(1).Start(loc)
	var hours []Hour
	for t := d.Start(loc); t.Before(end); {
		hours = append(hours, Hour{Start: t})
		next := t.Truncate(time.Second).Add(-time.Duration(t.Minute())*time.Minute - time.Duration(t.Second())*time.Second).Add(time.Hour)
		if _, zoneEnd := t.ZoneBounds(); !zoneEnd.IsZero() && zoneEnd.Before(next) {
			next = zoneEnd
		}
		if end.Before(next) {
			next = end
		}
		t = next.In(loc)
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

// ByRegister keeps one [Series] per register over the same zone and range.
type ByRegister struct {
	loc       *time.Location
	from, to  civil.Date
	registers map[string]*Series
}

// NewByRegister returns series for the given registers; a register that sells nothing in the
// range still gets its zero days. Sales of other registers get a series of their own on Add.
func NewByRegister(loc *time.Location, from, until civil.Date, registers ...string) (*ByRegister, error) {
	b := &ByRegister{loc: loc, from: from, to: until, registers: map[string]*Series{}}
	if _, err := New(loc, from, until); err != nil {
		return nil, err
	}
	for _, r := range registers {
		if _, err := b.series(r); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (b *ByRegister) series(register string) (*Series, error) {
	s, ok := b.registers[register]
	if ok {
		return s, nil
	}
	s, err := New(b.loc, b.from, b.to)
	if err != nil {
		return nil, err
	}
	b.registers[register] = s
	return s, nil
}

// Add adds the sale to its register's series.
func (b *ByRegister) Add(f pos.SaleFigures) error {
	s, err := b.series(f.RegisterID)
	if err != nil {
		return err
	}
	return s.Add(f)
}

// Registers lists the registers with a series, sorted.
func (b *ByRegister) Registers() []string {
	out := make([]string, 0, len(b.registers))
	for r := range b.registers {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Days returns the days of one register's series, or nil for a register it does not know.
func (b *ByRegister) Days(register string) []Day {
	s, ok := b.registers[register]
	if !ok {
		return nil
	}
	return s.Days()
}
