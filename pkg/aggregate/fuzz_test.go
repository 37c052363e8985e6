package aggregate_test

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/aggregate"
	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/pos"
)

// fuzzZones mix DST rules: northern and southern changes, a 30-minute change (Lord_Howe), a
// zone whose rules changed over the years (Sao_Paulo), and zones without DST.
var fuzzZones = []string{"Europe/Copenhagen", "America/New_York", "Europe/London", "Australia/Sydney",
	"Australia/Lord_Howe", "America/Sao_Paulo", "Pacific/Chatham", "Asia/Kolkata", "UTC"}

// FuzzBucketing buckets arbitrary sales (each 6 bytes of data: a second within the range,
// widened by a day on both sides, and an amount in cents) over a range of up to 40 days starting
// anywhere from 1990 to 2060, in one of fuzzZones. Every day of the range is there once, in
// order; a day's hours start at its first instant, follow each other without gap, last at most
// an hour and end where the next day starts; where the zone's offsets change by whole hours a
// day has 23, 24 or 25 of them, as many as the balance expects (civil.Date.Hours). Every sale
// inside the range lands in the hour containing its instant and nowhere else, so every hour's
// and the range's totals equal the sums computed directly; a sale outside is refused with
// ErrOutOfRange and changes nothing.
func FuzzBucketing(f *testing.F) {
	f.Add(uint8(0), uint16(13230), uint8(3), []byte{0, 1, 2, 3, 4, 5, 200, 201, 202, 203, 0, 9})
	f.Add(uint8(1), uint16(13090), uint8(1), []byte{9, 9, 9, 9, 9, 9})   // around a US spring change
	f.Add(uint8(4), uint16(12690), uint8(10), []byte{255, 0, 255, 0, 1}) // Lord_Howe, odd length
	f.Add(uint8(3), uint16(0), uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, zone uint8, start uint16, span uint8, sales []byte) {
		loc, err := time.LoadLocation(fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			t.Fatal(err)
		}
		from := civil.Date{Year: 1990, Month: 1, Day: 1}.AddDays(int(start) % 25567)
		until := from.AddDays(int(span) % 40)
		s, err := aggregate.New(loc, from, until)
		if err != nil {
			t.Fatal(err)
		}
		beg, end := s.Range()
		if !beg.Equal(from.Start(loc)) || !end.Equal(until.AddDays(1).Start(loc)) {
			t.Fatalf("range %v..%v, want the local days' bounds %v..%v", beg, end, from.Start(loc), until.AddDays(1).Start(loc))
		}

		// The sales: a second in [beg-1d, end+1d) and an amount.
		type sale struct {
			at     time.Time
			amount decimal.Decimal
			in     bool
		}
		width := uint32(end.Sub(beg)/time.Second) + 2*86400
		var all []sale
		for i := 0; i+6 <= len(sales) && i < 6*300; i += 6 { // at most 300 sales keep an input fast
			at := beg.Add(-24*time.Hour + time.Duration(binary.BigEndian.Uint32(sales[i:])%width)*time.Second)
			cents := int64(int16(binary.BigEndian.Uint16(sales[i+4:])))
			all = append(all, sale{at: at, amount: decimal.New(cents, -2), in: !at.Before(beg) && at.Before(end)})
		}
		total := decimal.Zero
		for i, sl := range all {
			err := s.Add(pos.SaleFigures{SaleID: "s", CompletedAt: sl.at, Metrics: pos.Metrics{GrossSales: sl.amount, Transactions: decimal.NewFromInt(1)}})
			switch {
			case sl.in && err != nil:
				t.Fatalf("sale %d at %v inside the range refused: %v", i, sl.at, err)
			case !sl.in && !errors.Is(err, aggregate.ErrOutOfRange):
				t.Fatalf("sale %d at %v outside %v..%v: err = %v, want ErrOutOfRange", i, sl.at, beg, end, err)
			case sl.in:
				total = total.Add(sl.amount)
			}
		}

		days := s.Days()
		if want := until.DaysSince(from) + 1; len(days) != want {
			t.Fatalf("%d days, want %d", len(days), want)
		}
		sum, count := decimal.Zero, 0
		for i, d := range days {
			if want := from.AddDays(i); d.Date != want {
				t.Fatalf("day %d is %s, want %s", i, d.Date, want)
			}
			dayStart, dayEnd := d.Date.Start(loc), d.Date.AddDays(1).Start(loc)
			if len(d.Hours) == 0 || !d.Hours[0].Start.Equal(dayStart) {
				t.Fatalf("%s: first hour does not start at the day's start %v", d.Date, dayStart)
			}
			for j, h := range d.Hours {
				next := dayEnd
				if j+1 < len(d.Hours) {
					next = d.Hours[j+1].Start
				}
				if !next.After(h.Start) || next.Sub(h.Start) > time.Hour {
					t.Fatalf("%s hour %d: %v..%v is not a step of at most an hour", d.Date, j, h.Start, next)
				}
				want, n := decimal.Zero, 0
				for _, sl := range all {
					if sl.in && !sl.at.Before(h.Start) && sl.at.Before(next) {
						want, n = want.Add(sl.amount), n+1
					}
				}
				if !h.Metrics.GrossSales.Equal(want) || !h.Metrics.Transactions.Equal(decimal.NewFromInt(int64(n))) {
					t.Fatalf("%s hour %d (%v): %s in %s sales, want %s in %d", d.Date, j, h.Start, h.Metrics.GrossSales,
						h.Metrics.Transactions, want, n)
				}
				sum, count = sum.Add(h.Metrics.GrossSales), count+int(h.Metrics.Transactions.IntPart())
			}
			if whole := dayEnd.Sub(dayStart); whole%time.Hour == 0 && offsetsWhole(d, loc) {
				n := len(d.Hours)
				if n < 23 || n > 25 || time.Duration(n)*time.Hour != whole || n != len(d.Date.Hours(loc)) {
					t.Fatalf("%s in %s: %d hours over %v, the balance expects %d", d.Date, loc, n, whole, len(d.Date.Hours(loc)))
				}
			}
			if !d.Total().GrossSales.Equal(sumHours(d)) {
				t.Fatalf("%s: day total %s is not the sum of its hours %s", d.Date, d.Total().GrossSales, sumHours(d))
			}
		}
		if !sum.Equal(total) {
			t.Fatalf("hours sum to %s, the sales inside the range to %s", sum, total)
		}
	})
}

// offsetsWhole reports whether every hour of d starts at a whole-hour UTC offset.
func offsetsWhole(d aggregate.Day, loc *time.Location) bool {
	for _, h := range d.Hours {
		if _, off := h.Start.In(loc).Zone(); off%3600 != 0 {
			return false
		}
	}
	return true
}

func sumHours(d aggregate.Day) decimal.Decimal {
	s := decimal.Zero
	for _, h := range d.Hours {
		s = s.Add(h.Metrics.GrossSales)
	}
	return s
}
