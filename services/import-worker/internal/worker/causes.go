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

// seenSales collects where a job counted its sales, for a POS that lists changed sales
// (pos.ChangeSource): a sale that moves later is re-imported on the day it left too.
type seenSales struct {
	on    bool
	sales []store.SaleSeen
}

func newSeenSales(src pos.Source) *seenSales {
	_, ok := src.(pos.ChangeSource)
	return &seenSales{on: ok}
}

func (s *seenSales) add(f pos.SaleFigures) {
	if s.on && f.SaleID != "" {
		s.sales = append(s.sales, store.SaleSeen{SaleID: f.SaleID, LocationID: f.LocationID, RegisterID: f.RegisterID, CompletedAt: f.CompletedAt})
	}
}

// afterWrite records, once the job's days are written, where its sales were counted and how
// many of its days became pending corrections.
func (w *Worker) afterWrite(ctx context.Context, l store.Lease, account string, seen *seenSales, res Result) error {
	if err := w.d.Store.RecordSalesSeen(ctx, account, seen.sales); err != nil {
		return err
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
