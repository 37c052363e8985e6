package worker

import (
	"context"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/pos"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Reasons a write gives the balance, kept with a correction it creates. A day with sales the
// nightly change listing found carries its own reason and sales (store.DayCause).
const (
	reasonScheduled = "nightly import re-read the day"
	reasonManual    = "import started by a person re-read the day"
)

// dayCause is why the job writes day: its own cause when it has one, else its import's.
func dayCause(wc store.WriteContext, day civil.Date) *posimportv1.WriteCause {
	if c, ok := wc.Causes[day]; ok {
		return &posimportv1.WriteCause{Reason: c.Reason, SaleIds: c.SaleIDs, SaleCount: int32(c.SaleCount)}
	}
	if posimportv1.ImportTrigger(wc.Trigger) == posimportv1.ImportTrigger_IMPORT_TRIGGER_SCHEDULED {
		return &posimportv1.WriteCause{Reason: reasonScheduled}
	}
	return &posimportv1.WriteCause{Reason: reasonManual}
}

// seenSales collects, per unit, where it counted its sales, for a POS that lists changed sales
// (pos.ChangeSource): a sale that moves later is re-imported on the day it left too.
type seenSales struct {
	on    bool
	units map[*unit]map[civil.Date][]store.SaleSeen
}

func newSeenSales(src pos.Source) *seenSales {
	_, ok := src.(pos.ChangeSource)
	return &seenSales{on: ok, units: map[*unit]map[civil.Date][]store.SaleSeen{}}
}

// add notes a sale the unit counted, on its local date.
func (s *seenSales) add(u *unit, f pos.SaleFigures) {
	if !s.on || f.SaleID == "" {
		return
	}
	days := s.units[u]
	if days == nil {
		days = map[civil.Date][]store.SaleSeen{}
		s.units[u] = days
	}
	d := civil.DateOf(f.CompletedAt.In(u.loc))
	days[d] = append(days[d], store.SaleSeen{SaleID: f.SaleID, LocationID: f.LocationID, RegisterID: f.RegisterID, CompletedAt: f.CompletedAt})
}

// days are the register-days the units read (every day of theirs, with or without sales) and
// the sales they counted there; none on a POS without a change listing.
func (s *seenSales) days(units ...*unit) []store.SeenDay {
	if !s.on {
		return nil
	}
	var out []store.SeenDay
	for _, u := range units {
		j := u.lease.Job
		for _, d := range u.days {
			out = append(out, store.SeenDay{LocationID: j.LocationID, RegisterID: j.RegisterID, Date: d.Date, Sales: s.units[u][d.Date]})
		}
	}
	return out
}

// afterWrite records, once the job's days are written, where the sales of the register-days
// given were counted (store.SeenDay) and how many of the job's days became pending corrections.
func (w *Worker) afterWrite(ctx context.Context, l store.Lease, account string, seen []store.SeenDay, res Result) error {
	if len(seen) > 0 {
		if err := w.d.Store.RecordSalesSeen(ctx, account, seen); err != nil {
			return err
		}
	}
	// The column starts at 0: a first attempt without corrections saves the commit (the nightly
	// run's cost per job); a later attempt overwrites what an earlier one may have left.
	if res.CorrectionsPending > 0 || l.Attempt > 1 {
		if err := w.d.Store.JobCorrectionsPending(ctx, l.Job.ID, l.Attempt, res.CorrectionsPending); err != nil {
			return err
		}
	}
	if res.CorrectionsPending > 0 {
		w.d.Metrics.CorrectionsPending(res.CorrectionsPending)
	}
	return nil
}
