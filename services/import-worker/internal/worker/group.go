package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/posimport/posimport/pkg/retry"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// A location group (plan.GroupByLocation) is run by its lead's delivery: the lead's lease
// holds every member's, execute streams the location once for all of them, and the group
// settles in one transaction (store.FinishGroup) in which each job ends in its own state: a
// job whose own failure (Result.Failure) stopped it ends FAILED while the others end DONE,
// SKIPPED or CANCELLED. A failure of the group as a whole (the token, the POS, a transient
// write error) retries or fails every job of it together.

// membersHeld lists the lease's group members for the heartbeat.
func membersHeld(l store.Lease) []store.Held {
	out := make([]store.Held, len(l.Members))
	for i, m := range l.Members {
		out[i] = store.Held{JobID: m.ID, Attempt: m.Attempt}
	}
	return out
}

// groupEnds are the ends of the lead and its members: from their results, or all FAILED with
// reason when reason is set.
func groupEnds(l store.Lease, res Result, reason string) []store.End {
	end := func(j store.Job, attempt int32, r Result) store.End {
		e := store.End{JobID: j.ID, Attempt: attempt, Counters: r.Counters, State: store.StateDone,
			ImportID: j.ImportID, DepartmentID: j.DepartmentID}
		switch {
		case reason != "":
			e.State, e.LastError = store.StateFailed, reason
		case r.Failure != "":
			e.State, e.LastError = store.StateFailed, r.Failure
		case r.Cancelled:
			e.State = store.StateCancelled
		case r.Skipped():
			e.State = store.StateSkipped
		}
		return e
	}
	ends := []store.End{end(l.Job, l.Attempt, res)}
	for i, m := range l.Members {
		var r Result
		if i < len(res.Members) {
			r = res.Members[i]
		}
		ends = append(ends, end(m, m.Attempt, r))
	}
	return ends
}

// settleGroup is settle for a lead and its members.
func (w *Worker) settleGroup(ctx context.Context, msg Msg, l store.Lease, res Result, err error, log *slog.Logger) {
	var perm *PermanentError
	switch {
	case err == nil:
		w.finishGroup(ctx, msg, l, groupEnds(l, res, ""), log)
		log.InfoContext(ctx, "import job group finished", "jobs", 1+len(l.Members), "sales", res.Counters.SalesCounted,
			"requests", res.Counters.RequestsMade, "fetch_ms", res.FetchTime, "write_ms", res.WriteTime)
	case errors.Is(err, store.ErrLeaseLost):
		w.settleLost(ctx, msg, l, err, log)
	case errors.As(err, &perm):
		w.finishGroup(ctx, msg, l, groupEnds(l, res, perm.Reason), log)
	default:
		reason := err.Error()
		shutdown := ctx.Err() == nil && errors.Is(err, context.Canceled)
		if !shutdown && w.cfg.MaxAttempts > 0 && int(l.Attempt) >= w.cfg.MaxAttempts {
			w.finishGroup(ctx, msg, l, groupEnds(l, res, fmt.Sprintf("gave up after %d attempts: %s", l.Attempt, reason)), log)
			return
		}
		held := append([]store.Held{{JobID: l.Job.ID, Attempt: l.Attempt}}, membersHeld(l)...)
		if rerr := w.d.Store.ReleaseGroup(ctx, held, reason); rerr != nil && !errors.Is(rerr, store.ErrLeaseLost) {
			log.WarnContext(ctx, "release job group", "error", rerr)
		}
		delay := w.retryBackoff().Delay(int(l.Attempt))
		var ra *RetryAfterError
		if errors.As(err, &ra) {
			delay = max(ra.Wait, time.Second) + retry.Uniform(time.Second)
		}
		if shutdown {
			delay = time.Second
		} else {
			w.recordError(ctx, l, reason, false)
		}
		log.WarnContext(ctx, "import job group will be retried", "error", reason, "delay", delay)
		w.nak(msg, delay)
		w.d.Metrics.Job("retried")
	}
}

// finishGroup commits the group's ends, records the failures and settles the delivery: acked
// when a job of it got its days, terminated when every job failed.
func (w *Worker) finishGroup(ctx context.Context, msg Msg, l store.Lease, ends []store.End, log *slog.Logger) {
	closed, err := w.d.Store.FinishGroup(ctx, ends)
	if err != nil {
		w.settleLost(ctx, msg, l, err, log)
		return
	}
	w.publish(ctx, closed.Next)
	jobs := append([]store.Job{l.Job}, l.Members...)
	failed := 0
	for i, e := range ends {
		if e.State == store.StateFailed {
			failed++
			log.WarnContext(ctx, "import job failed", "member_job_id", e.JobID, "reason", e.LastError)
			w.recordError(ctx, store.Lease{Job: jobs[i]}, e.LastError, true)
		}
		w.d.Metrics.Job(map[string]string{store.StateDone: "done", store.StateSkipped: "skipped",
			store.StateCancelled: "cancelled", store.StateFailed: "failed"}[e.State])
	}
	w.afterEnded(ctx, l, closed)
	if failed == len(ends) {
		w.term(msg, ends[0].LastError)
		return
	}
	w.ack(ctx, msg)
}
