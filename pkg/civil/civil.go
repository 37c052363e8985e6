// Package civil provides calendar dates and ISO weeks without a time zone, and the local clock
// hours of a date in a zone. A business date is a civil date: it becomes instants only in a
// department's time zone, where a day has 23, 24 or 25 clock hours.
package civil

import (
	"fmt"
	"time"
)

// Date is a calendar date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// Today returns the current date in loc.
func Today(now time.Time, loc *time.Location) Date { return DateOf(now.In(loc)) }

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// utc is the date at midnight UTC, for calendar arithmetic only.
func (d Date) utc() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// AddDays returns d plus n days.
func (d Date) AddDays(n int) Date { return DateOf(d.utc().AddDate(0, 0, n)) }

// DaysSince returns the number of days from o to d (negative when d is before o).
func (d Date) DaysSince(o Date) int { return int(d.utc().Sub(o.utc()).Hours() / 24) }

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.utc().Before(o.utc()) }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.utc().After(o.utc()) }

// Weekday returns the day of the week.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// Start returns the instant local midnight begins in loc. Where a zone skips midnight, it is
// the first instant of the date.
func (d Date) Start(loc *time.Location) time.Time {
	// time.Date's choice is unspecified when midnight is skipped or repeats, so move to the
	// first instant whose local date is d.
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
	for DateOf(t).Before(d) {
		t = t.Add(time.Hour)
	}
	for DateOf(t.Add(-time.Hour).In(loc)) == d {
		t = t.Add(-time.Hour)
	}
	return t
}

// Hours returns the start instants of the intervals of d in loc, in order. This is the one
// definition of a day's intervals: the balance validates and labels them, the import worker
// buckets sales into them.
//
// An interval is a longest period in which the local clock shows one hour at one UTC offset.
// With whole-hour offset changes these are the clock hours: 24 on most days, 23 on the day
// clocks go forward, 25 when they go back (the repeated hour twice, with different offsets).
// Where the offset moves by half an hour (Australia/Lord_Howe), the change cuts its clock hour
// in two: on the spring day the clock jumps from 02:00 to 02:30, and 02:30–03:00 is an interval
// of half an hour (24 in all over 23½ hours); on the autumn day the clock goes back from 02:00
// to 01:30, and 01:30–02:00 at the new offset is an interval of half an hour after the whole
// 01:00 hour at the old one (25 in all over 24½ hours). Each interval's start keeps its clock
// hour and minute, so labels stay on the clock ("02:30", "03:00", never "03:30"), and the
// intervals tile the day without gap or overlap.
func (d Date) Hours(loc *time.Location) []time.Time {
	end := d.AddDays(1).Start(loc)
	hours := make([]time.Time, 0, 25)
	for t := d.Start(loc); t.Before(end); t = intervalEnd(t, loc, end) {
		hours = append(hours, t)
	}
	return hours
}

// intervalEnd returns where the interval starting at t ends: where the local clock turns to
// the next hour, where the UTC offset changes if that comes first, or at end.
func intervalEnd(t time.Time, loc *time.Location, end time.Time) time.Time {
	_, offset := t.Zone()
	next := t.Add(time.Hour - time.Duration(t.Minute())*time.Minute - time.Duration(t.Second())*time.Second -
		time.Duration(t.Nanosecond()))
	// A zone's bounds also change with its name or DST flag alone; only an offset change
	// cuts an interval.
	for z := t; ; {
		_, zoneEnd := z.ZoneBounds()
		if zoneEnd.IsZero() || !zoneEnd.Before(next) {
			break
		}
		z = zoneEnd.In(loc)
		if _, o := z.Zone(); o != offset {
			next = zoneEnd
			break
		}
	}
	if end.Before(next) {
		next = end
	}
	return next.In(loc)
}

// Week is an ISO 8601 week.
type Week struct {
	Year int
	Week int
}

// ParseWeek parses "2026-W13".
func ParseWeek(s string) (Week, error) {
	var w Week
	if n, err := fmt.Sscanf(s, "%4d-W%2d", &w.Year, &w.Week); err != nil || n != 2 || len(s) != 8 {
		return Week{}, fmt.Errorf("%q is not an ISO week (want YYYY-Www, e.g. 2026-W13)", s)
	}
	if w.Week < 1 || w.Week > weeksIn(w.Year) {
		return Week{}, fmt.Errorf("%q: %d has %d ISO weeks", s, w.Year, weeksIn(w.Year))
	}
	return w, nil
}

// WeekOf returns the ISO week of d.
func WeekOf(d Date) Week {
	y, w := d.utc().ISOWeek()
	return Week{Year: y, Week: w}
}

// String formats the week as YYYY-Www.
func (w Week) String() string { return fmt.Sprintf("%04d-W%02d", w.Year, w.Week) }

// Monday returns the first day of the week.
func (w Week) Monday() Date {
	// January 4th is always in week 1.
	jan4 := time.Date(w.Year, time.January, 4, 0, 0, 0, 0, time.UTC)
	offset := (int(jan4.Weekday()) + 6) % 7 // days since Monday
	return DateOf(jan4.AddDate(0, 0, -offset+(w.Week-1)*7))
}

// Days returns Monday to Sunday.
func (w Week) Days() []Date {
	m := w.Monday()
	out := make([]Date, 7)
	for i := range out {
		out[i] = m.AddDays(i)
	}
	return out
}

func weeksIn(year int) int {
	_, w := time.Date(year, time.December, 28, 0, 0, 0, 0, time.UTC).ISOWeek()
	return w
}
