// Package changes finds what a nightly run must import again beyond the last two days. On a
// POS that lists changed sales (pos.ChangeSource, Lightspeed Retail) it lists the account's
// sales created or changed since its watermark less an overlap, in one listing over every
// shop, and maps each to the register-days it counts in now and the one an earlier import
// counted it in (store.SalesSeen): a late sync, a moved completion time (both days), a void
// after the fact. The watermark reached is stored with the nightly import and counts only once
// that import's jobs all ended DONE or SKIPPED, so it moves forward only when the days it
// covers are written. On a POS without such a listing (Lightspeed Restaurant filters on the
// time a receipt closed) the nightly run re-reads a lookback of days instead.
//
// The listing also sees the sales of registers no department maps: they are reported, with
// their shop, sales count and gross, as registers nobody mapped.
package changes

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/pos"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

const (
	// DefaultLookbackDays is how many completed days a nightly run re-reads on a POS that
	// cannot list changed sales (SCHEDULE_LOOKBACK_DAYS): a receipt synced up to a week late
	// is imported.
	DefaultLookbackDays = 7
	// PlainDays is how many completed days every nightly run re-reads.
	PlainDays = 2
	// DefaultOverlap is how far before the watermark a listing starts: a change is stamped
	// when it is made, which may be before it becomes visible (pos.ChangeSource).
	DefaultOverlap = 10 * time.Minute
	// FirstScanMaxAge bounds how far back an account's first listing starts (at its client's
	// first import, at most this long ago).
	FirstScanMaxAge = 31 * 24 * time.Hour
	// MaxCauseSales is how many sale ids a day's cause lists (the balance's limit).
	MaxCauseSales = 50
	// Reason is the cause of a day found through the listing.
	Reason = "sales created or changed in Lightspeed after the day was imported"
)

// Department is a department as mapped to the POS.
type Department struct {
	ID, LocationID string
	// Registers are its register ids; empty: the whole location.
	Registers []string
	Zone      *time.Location
}

// RegisterDay is one register-day of a department ("" register: the whole department).
type RegisterDay struct {
	DepartmentID, RegisterID string
	Date                     civil.Date
}

// Cause is the sales behind a register-day.
type Cause struct {
	// SaleIDs are the first MaxCauseSales sales; Count is all of them.
	SaleIDs []string
	Count   int
}

func (c *Cause) add(id string) {
	if slices.Contains(c.SaleIDs, id) {
		return
	}
	c.Count++
	if len(c.SaleIDs) < MaxCauseSales {
		c.SaleIDs = append(c.SaleIDs, id)
	}
}

// Register is a register the listing saw sales of. One no department maps has its counted
// changed sales per local date of its shop.
type Register struct {
	LocationID, RegisterID string
	Mapped                 bool
	Days                   map[civil.Date]*DaySales
}

// DaySales are a register's counted sales on one local date.
type DaySales struct {
	Sales int
	Gross decimal.Decimal
}

// Found is what one listing found.
type Found struct {
	Scan store.ChangeScan
	// Days are the register-days to import again, before each department's today.
	Days map[RegisterDay]*Cause
	// Registers are the registers of the changed sales, mapped or not.
	Registers []Register
}

// Scanner lists an account's changes.
type Scanner struct {
	Store *store.Store
	// Overlap: default DefaultOverlap.
	Overlap time.Duration
}

// Since returns where the account's next listing starts: its watermark less the overlap, or
// for its first listing its client's first import (at most FirstScanMaxAge before now) less
// the overlap. ok is false before the client's first import: nothing was imported to correct.
func (s *Scanner) Since(ctx context.Context, account, client string, now time.Time) (since, base time.Time, ok bool, err error) {
	overlap := cmp.Or(s.Overlap, DefaultOverlap)
	wm, err := s.Store.ChangeWatermark(ctx, account)
	if err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	if !wm.IsZero() {
		return wm.Add(-overlap), wm, true, nil
	}
	first, err := s.Store.ClientFirstImport(ctx, client)
	if err != nil || first.IsZero() {
		return time.Time{}, time.Time{}, false, err
	}
	if oldest := now.Add(-FirstScanMaxAge); first.Before(oldest) {
		first = oldest
	}
	return first.Add(-overlap), first.Add(-overlap), true, nil
}

// Scan lists the account's changes since the start Since gives and maps them to the
// departments' register-days before each one's local today at now. ok is false when there
// was nothing to list from (no import yet).
// zone gives a shop's time zone, for the dates of a register no department maps.
func (s *Scanner) Scan(ctx context.Context, src pos.ChangeSource, account, client string, deps []Department, now time.Time,
	zone func(location string) *time.Location) (Found, bool, error) {
	since, base, ok, err := s.Since(ctx, account, client, now)
	if err != nil || !ok {
		return Found{}, false, err
	}
	before := src.Stats().Requests
	latest := map[string]pos.Change{}
	watermark := base
	err = src.Changes(ctx, since, func(c pos.Change) error {
		latest[c.SaleID] = c // a sale reported twice: its later report is its newer state
		if c.ChangedAt.After(watermark) {
			watermark = c.ChangedAt
		}
		return nil
	})
	if err != nil {
		return Found{}, false, fmt.Errorf("list changed sales since %s: %w", since.Format(time.RFC3339), err)
	}
	ids := make([]string, 0, len(latest))
	for id := range latest {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	seen, err := s.Store.SalesSeen(ctx, account, ids)
	if err != nil {
		return Found{}, false, err
	}
	f := Found{
		Scan: store.ChangeScan{AccountKey: account, Since: since, Watermark: watermark, Changes: len(latest),
			Requests: int(src.Stats().Requests - before)},
		Days: map[RegisterDay]*Cause{},
	}
	registers := map[[2]string]*Register{}
	for _, id := range ids {
		c := latest[id]
		if c.Completed && !c.CompletedAt.IsZero() {
			mapped := f.addDays(deps, c.LocationID, c.RegisterID, c.CompletedAt, now, id)
			k := [2]string{c.LocationID, c.RegisterID}
			r := registers[k]
			if r == nil {
				r = &Register{LocationID: c.LocationID, RegisterID: c.RegisterID, Mapped: mapped, Days: map[civil.Date]*DaySales{}}
				registers[k] = r
			}
			if !mapped && c.Counts && c.Err == nil {
				d := civil.DateOf(c.CompletedAt.In(zone(c.LocationID)))
				ds := r.Days[d]
				if ds == nil {
					ds = &DaySales{}
					r.Days[d] = ds
				}
				ds.Sales++
				ds.Gross = ds.Gross.Add(c.Metrics.Get(pos.GrossSales))
			}
		}
		if old, ok := seen[id]; ok {
			f.addDays(deps, old.LocationID, old.RegisterID, old.CompletedAt, now, id)
		}
	}
	for _, r := range registers {
		f.Registers = append(f.Registers, *r)
	}
	slices.SortFunc(f.Registers, func(a, b Register) int {
		return cmp.Or(cmp.Compare(a.LocationID, b.LocationID), cmp.Compare(a.RegisterID, b.RegisterID))
	})
	return f, true, nil
}

// Unmapped returns the registers no department maps that had counted sales.
func (f Found) Unmapped() []Register {
	var out []Register
	for _, r := range f.Registers {
		if !r.Mapped && len(r.Days) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// addDays adds the register-days a sale at (location, register, at) counts in, and reports
// whether a department maps it. Days from a department's local today on are left to later
// runs: the nightly run imports completed days only.
func (f *Found) addDays(deps []Department, location, register string, at, now time.Time, sale string) bool {
	mapped := false
	for _, d := range deps {
		if d.LocationID != location {
			continue
		}
		rd := RegisterDay{DepartmentID: d.ID}
		if len(d.Registers) > 0 {
			if !slices.Contains(d.Registers, register) {
				continue
			}
			rd.RegisterID = register
		}
		mapped = true
		rd.Date = civil.DateOf(at.In(d.Zone))
		if !rd.Date.Before(civil.Today(now, d.Zone)) {
			continue
		}
		c := f.Days[rd]
		if c == nil {
			c = &Cause{}
			f.Days[rd] = c
		}
		c.add(sale)
	}
	return mapped
}
