package worker

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/aggregate"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// errBatchUnavailable: the balance does not serve WriteDaysBatch (an older version, during a
// rollout); the group writes job by job instead.
var errBatchUnavailable = errors.New("the balance has no WriteDaysBatch")

// The bounds of one WriteDaysBatch: the balance takes at most 100 writes, and the days bound
// the message and the transaction (a location group of a backfill chunk may hold dozens of
// jobs of 31 days).
const (
	maxBatchWrites = 100
	maxBatchDays   = 400
)

// piece is consecutive days of one unit, one write of a batch.
type piece struct {
	u    *unit
	days []aggregate.Day
}

// writeGroup writes the days of a group's units still alive with WriteDaysBatch: one balance
// transaction for all of them (a client's night) where the bounds allow, each write with its
// own job's fencing token. Before each batch it looks for a cancellation, which stops the
// first unit not written and, in writeUnits, the ones after it. A refusal of the batch is
// returned as WriteDays' refusal would be: a *PermanentError (some unit's write is invalid),
// store.ErrLeaseLost (a stale token) or a transient error.
func (w *Worker) writeGroup(ctx context.Context, units []*unit, fields []field) error {
	lead := units[0].lease
	var pieces []piece
	for _, u := range units {
		if !u.alive() {
			continue
		}
		for start := 0; start < len(u.days); start += w.cfg.WriteBatchDays {
			pieces = append(pieces, piece{u: u, days: u.days[start:min(start+w.cfg.WriteBatchDays, len(u.days))]})
		}
	}
	for len(pieces) > 0 {
		n, days := 0, 0
		for n < len(pieces) && n < maxBatchWrites && (n == 0 || days+len(pieces[n].days) <= maxBatchDays) {
			days += len(pieces[n].days)
			n++
		}
		batch := pieces[:n]
		pieces = pieces[n:]
		cancelled, err := w.d.Store.Cancelled(ctx, lead.Job.ID, lead.Attempt)
		if err != nil {
			return err
		}
		if cancelled {
			batch[0].u.res.Cancelled = true
			return nil
		}
		req := &posimportv1.WriteDaysBatchRequest{Writes: make([]*posimportv1.WriteDaysRequest, len(batch))}
		for i, p := range batch {
			if req.Writes[i], err = daysRequest(p.u.lease, p.u.loc, p.days, fields, p.u.wc); err != nil {
				return err
			}
		}
		what := fmt.Sprintf("write %d register-days of %d jobs to the balance", days, len(batch))
		cctx, cancel := context.WithTimeout(ctx, w.cfg.WriteTimeout)
		resp, err := w.d.Balance.WriteDaysBatch(cctx, req)
		cancel()
		if status.Code(err) == codes.Unimplemented {
			return errBatchUnavailable
		}
		if err != nil {
			return writeError(what, err)
		}
		if len(resp.GetWrites()) != len(batch) {
			return fmt.Errorf("%s: %d answers for %d writes", what, len(resp.GetWrites()), len(batch))
		}
		for i, p := range batch {
			outs, err := outcomes(what, resp.GetWrites()[i], len(p.days))
			if err != nil {
				return err
			}
			for _, o := range outs {
				p.u.res.tally(o)
			}
		}
	}
	return nil
}
