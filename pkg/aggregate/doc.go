// Package aggregate buckets sales into local business days and local clock hours.
//
// A [Series] takes the [pos.SaleFigures] of one register (or one department) and a local date
// range in an IANA time zone, and sums them per local date and per local clock hour. Every day of
// the range is present, with zeros where nothing was sold, so that "no sales" stays different
// from "not imported". A day has as many hours as its clock shows: 23 on a spring DST day, 25 on
// an autumn one, where the two 02:00 hours are kept apart by their UTC offset.
//
// The hours are the day's intervals as [civil.Date.Hours] defines them, the definition the
// balance validates against: the periods during which the local clock shows the same hour at
// the same UTC offset. For the zones posimport serves they are whole hours; in a zone whose
// offset changes by half an hour (Australia/Lord_Howe) the change cuts its clock hour into two
// intervals, which keeps the sum over a day exact.
package aggregate
