// Package completion finishes an import's bookkeeping once its jobs end: it marks every
// department whose jobs all ended DONE or SKIPPED imported in the balance (what auto-confirm
// waits for), once, in parts of at most 366 days, and sets the import's finish time once no
// job is left, recording a scheduled import's lag. The worker runs it after each job's end,
// and the reconciler for whatever a worker died before doing; every step is idempotent, so
// both may run it for the same import at once.
package completion

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Metrics is what completion reports to.
type Metrics interface {
	// Fresh records a department's last date marked imported.
	Fresh(client, department string, until civil.Date)
	// Lag records how long after its scheduled start a nightly import finished.
	Lag(d time.Duration)
}

// Completer completes imports.
type Completer struct {
	Store   *store.Store
	Balance posimportv1.BalanceServiceClient
	Metrics Metrics
}

// rpcTimeout bounds one MarkDaysImported.
const rpcTimeout = 30 * time.Second

// markMaxDays is the longest range of one MarkDaysImported (the balance refuses longer ones);
// an import may span years, so a department's range is marked in parts.
const markMaxDays = 366

// MarkDepartments calls MarkDaysImported for every department of the import (of every recent
// import when id is uuid.Nil) whose jobs all ended DONE or SKIPPED, once. A department that
// cannot be marked now does not hold the others back; the reconciler tries it again.
func (c *Completer) MarkDepartments(ctx context.Context, id uuid.UUID) error {
	spans, err := c.Store.DepartmentsToMark(ctx, id)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range spans {
		if err := c.markDays(ctx, d); err != nil {
			errs = append(errs, fmt.Errorf("mark days imported of %s/%s: %w", d.ClientID, d.DepartmentID, err))
			continue
		}
		if err := c.Store.DepartmentMarked(ctx, d.ImportID, d.DepartmentID); err != nil {
			errs = append(errs, err)
			continue
		}
		c.Metrics.Fresh(d.ClientID, d.DepartmentID, d.Until)
	}
	return errors.Join(errs...)
}

// markDays marks a department's days imported, in parts of at most markMaxDays; marking is
// idempotent, so parts marked before a failure are harmless when retried.
func (c *Completer) markDays(ctx context.Context, d store.DepartmentSpan) error {
	for start := d.From; !start.After(d.Until); start = start.AddDays(markMaxDays) {
		end := start.AddDays(markMaxDays - 1)
		if end.After(d.Until) {
			end = d.Until
		}
		cctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		_, err := c.Balance.MarkDaysImported(cctx, &posimportv1.MarkDaysImportedRequest{
			ClientId: d.ClientID, DepartmentId: d.DepartmentID, FromDate: start.String(), UntilDate: end.String(),
			ImportId: d.ImportID.String(), TimeZone: d.TimeZone,
		})
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// Finish sets the import's finish time once no job is pending or running, and records the lag
// of a scheduled import.
func (c *Completer) Finish(ctx context.Context, id uuid.UUID) error {
	imp, finished, err := c.Store.FinishImportIfEnded(ctx, id)
	if err != nil || !finished {
		return err
	}
	if !imp.ScheduledFor.IsZero() {
		c.Metrics.Lag(imp.FinishTime.Sub(imp.ScheduledFor))
	}
	return nil
}

// Sweep completes what a worker may have died before completing: it marks the departments of
// every recent import that are due, and finishes every import whose jobs all ended. It returns
// the first error but tries every step.
func (c *Completer) Sweep(ctx context.Context) error {
	errs := []error{c.MarkDepartments(ctx, uuid.Nil)}
	ended, err := c.Store.UnfinishedEndedImports(ctx)
	errs = append(errs, err)
	for _, id := range ended {
		errs = append(errs, c.Finish(ctx, id))
	}
	return errors.Join(errs...)
}
