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

// MarkDepartments marks imported in the balance every department of the import (of every
// recent import when id is uuid.Nil) whose jobs all ended DONE or SKIPPED, once (see Complete).
func (c *Completer) MarkDepartments(ctx context.Context, id uuid.UUID) error {
	spans, err := c.Store.DepartmentsToMark(ctx, id)
	if err != nil {
		return err
	}
	return c.Complete(ctx, spans, uuid.Nil)
}

// Complete marks the departments of spans imported in the balance (those whose jobs all ended
// DONE or SKIPPED, as store.DepartmentsToMark or a job's end read them), each client's with
// one MarkDaysImportedBatch (one balance transaction), and then, when finish is an import id,
// finishes that import if no job of it is left: what was marked and the finish are recorded in
// one transaction. When a batch is refused its departments are marked one by one, so that a
// department that cannot be marked now does not hold the others back; the reconciler tries it
// again.
func (c *Completer) Complete(ctx context.Context, spans []store.DepartmentSpan, finish uuid.UUID) error {
	var errs []error
	var marked []store.DepartmentSpan
	for _, client := range byClient(spans) {
		done, err := c.markBatch(ctx, client)
		if err != nil {
			done = nil
			for _, d := range client {
				if err := c.markDays(ctx, d); err != nil {
					errs = append(errs, fmt.Errorf("mark days imported of %s/%s: %w", d.ClientID, d.DepartmentID, err))
					continue
				}
				done = append(done, d)
			}
		}
		marked = append(marked, done...)
	}
	imp, finished, err := c.Store.Completed(ctx, marked, finish)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, d := range marked {
		c.Metrics.Fresh(d.ClientID, d.DepartmentID, d.Until)
	}
	if finished && !imp.ScheduledFor.IsZero() {
		c.Metrics.Lag(imp.FinishTime.Sub(imp.ScheduledFor))
	}
	return errors.Join(errs...)
}

// maxBatchMarks is the most marks of one MarkDaysImportedBatch (the balance's bound).
const maxBatchMarks = 100

// byClient splits spans by client, in order, at most maxBatchMarks parts each.
func byClient(spans []store.DepartmentSpan) [][]store.DepartmentSpan {
	var out [][]store.DepartmentSpan
	index := map[string]int{}
	for _, d := range spans {
		i, ok := index[d.ClientID]
		if !ok || marks(out[i])+len(parts(d)) > maxBatchMarks {
			i = len(out)
			index[d.ClientID] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], d)
	}
	return out
}

func marks(spans []store.DepartmentSpan) int {
	n := 0
	for _, d := range spans {
		n += len(parts(d))
	}
	return n
}

// markBatch marks one client's departments in one MarkDaysImportedBatch and returns them.
func (c *Completer) markBatch(ctx context.Context, spans []store.DepartmentSpan) ([]store.DepartmentSpan, error) {
	req := &posimportv1.MarkDaysImportedBatchRequest{}
	for _, d := range spans {
		req.Marks = append(req.Marks, parts(d)...)
	}
	if len(req.Marks) > maxBatchMarks {
		return nil, fmt.Errorf("%d marks for one batch", len(req.Marks)) // one department of over 100 parts: mark it alone
	}
	cctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	if _, err := c.Balance.MarkDaysImportedBatch(cctx, req); err != nil {
		return nil, err
	}
	return spans, nil
}

// parts are the MarkDaysImported requests of a department's range, at most markMaxDays each.
func parts(d store.DepartmentSpan) []*posimportv1.MarkDaysImportedRequest {
	var out []*posimportv1.MarkDaysImportedRequest
	for start := d.From; !start.After(d.Until); start = start.AddDays(markMaxDays) {
		end := start.AddDays(markMaxDays - 1)
		if end.After(d.Until) {
			end = d.Until
		}
		out = append(out, &posimportv1.MarkDaysImportedRequest{
			ClientId: d.ClientID, DepartmentId: d.DepartmentID, FromDate: start.String(), UntilDate: end.String(),
			ImportId: d.ImportID.String(), TimeZone: d.TimeZone,
		})
	}
	return out
}

// markDays marks a department's days imported, one part at a time; marking is idempotent, so
// parts marked before a failure are harmless when retried.
func (c *Completer) markDays(ctx context.Context, d store.DepartmentSpan) error {
	for _, p := range parts(d) {
		cctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		_, err := c.Balance.MarkDaysImported(cctx, p)
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
	return c.Complete(ctx, nil, id)
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
