// Package worker runs import jobs from the JetStream consumer. Each slot takes one message at
// a time, leases the job in Postgres (the attempt number is the fencing token), keeps the
// message and the lease alive while it works, and ends every delivery with one explicit ack
// outcome: DoubleAck when the job's end is committed, NakWithDelay for a retry, TermWithReason
// for a permanent failure recorded as FAILED (Term, without the reason, on a NATS server older
// than 2.10.4, which would ignore it). A panic in a job fails that attempt, not the process.
//
// # Lease, heartbeat, ack wait and reconciler
//
// A leased job is the process's until its lease ends (JOB_LEASE_TTL, default 15s) unless the
// process renews it. One heartbeat per process (JOB_HEARTBEAT_INTERVAL, default a third of the
// shorter of the lease TTL and JOB_ACK_WAIT: 5s) renews the leases of all its running jobs in
// one UPDATE, and then sends each job's message an InProgress, which restarts JetStream's
// redelivery timer (JOB_ACK_WAIT, default 15s). The relation:
//
//	heartbeat ≤ min(lease TTL, ack wait) / 3   two beats may be lost before either runs out
//	ack wait  = lease TTL                      a redelivery after a death finds the lease ended
//	recovery  ≤ max(lease TTL, ack wait) + 1s  from a kill -9 to another worker's lease
//	lost msg  ≤ lease TTL + RECONCILE_GRACE + RECONCILE_INTERVAL   (the reconciler re-publishes)
//
// With an ack wait shorter than the lease a redelivery meets a live lease and is NAKed until
// it ends (harmless); with a longer one a dead worker's jobs wait for the ack wait. A worker
// that cannot reach Postgres keeps its messages in progress; when another attempt took a job
// meanwhile, the next beat (or the job's next fenced write) finds out and stops the job.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posimport/posimport/pkg/retry"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/completion"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/metrics"
	"github.com/posimport/posimport/services/import-worker/internal/outbox"
	"github.com/posimport/posimport/services/import-worker/internal/provider"
	"github.com/posimport/posimport/services/import-worker/internal/ratebudget"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Config tunes the worker.
type Config struct {
	// Owner names this process in leases (host and pid, or a test's name).
	Owner string
	// Slots is the number of jobs run at once.
	Slots int
	// LeaseTTL is how long a lease lasts without renewal (DefaultLeaseTTL).
	LeaseTTL time.Duration
	// HeartbeatInterval is how often the process renews its leases and messages; default a
	// third of the shorter of LeaseTTL and the queue's ack wait.
	HeartbeatInterval time.Duration
	// MaxRunningPerClient caps one client's (one POS account's) running jobs across all
	// workers, so a backfill cannot hold every slot while another client's nightly jobs wait.
	MaxRunningPerClient int
	// MaxAttempts fails a job after this many leases.
	MaxAttempts int
	// ShutdownTimeout bounds finishing the in-flight jobs after the context ends.
	ShutdownTimeout time.Duration
	// FetchWait is how long one pull request waits for messages (at least a second).
	FetchWait time.Duration
	// RetryBase and RetryMax shape the NakWithDelay backoff of retryable failures.
	RetryBase, RetryMax time.Duration
	// DeferDelay is the delay of a job deferred by the fairness cap.
	DeferDelay time.Duration
	// WriteBatchDays is how many days one WriteDays call carries (and how often the job looks
	// for a cancellation); default 31, a whole job: one transaction per job costs the balance
	// a fifth of a week's batches, and a cancellation still stops the job before it writes.
	WriteBatchDays int
	// TokenMargin: a job reuses its access token while it stays valid for longer than this
	// (provider.DefaultTokenMargin by default; at most the auth service's REFRESH_MARGIN).
	TokenMargin time.Duration
	// WriteTimeout bounds one WriteDays call to the balance; default 30s.
	WriteTimeout time.Duration
}

// Defaults of the Config fields importservice's configuration sets; it names them as its own
// defaults, so each value is written once. DefaultLeaseTTL is short, so that a dead worker's
// jobs run again elsewhere within seconds (see the package doc).
const (
	DefaultSlots        = 4
	DefaultLeaseTTL     = 15 * time.Second
	DefaultMaxAttempts  = 10
	DefaultRetryBase    = 2 * time.Second
	DefaultWriteTimeout = rpcTimeout
)

func (c *Config) defaults() {
	if c.Slots <= 0 {
		c.Slots = DefaultSlots
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.FetchWait <= 0 {
		c.FetchWait = 5 * time.Second
	}
	if c.RetryBase <= 0 {
		c.RetryBase = DefaultRetryBase
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 2 * time.Minute
	}
	if c.DeferDelay <= 0 {
		c.DeferDelay = 2 * time.Second
	}
	if c.WriteBatchDays <= 0 {
		c.WriteBatchDays = 31
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
}

// Deps are the worker's collaborators.
type Deps struct {
	Store     *store.Store
	Queue     *jobqueue.Queue
	Config    posimportv1.ConfigServiceClient
	Auth      posimportv1.AuthServiceClient
	Balance   posimportv1.BalanceServiceClient
	Providers provider.Registry
	Budget    *ratebudget.Budget
	// Completer marks departments imported and finishes imports after a job ends.
	Completer *completion.Completer
	Metrics   *metrics.Metrics
	Logger    *slog.Logger
}

// Worker consumes import jobs.
type Worker struct {
	cfg  Config
	d    Deps
	log  *slog.Logger
	beat heartbeat
	// run executes a leased job; tests replace it to drive the ack branches.
	run func(ctx context.Context, l store.Lease) (Result, error)
}

// New returns a worker.
func New(cfg Config, d Deps) *Worker {
	cfg.defaults()
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = min(cfg.LeaseTTL, d.Queue.AckWait()) / 3
	}
	w := &Worker{cfg: cfg, d: d, log: d.Logger.With("component", "worker", "owner", cfg.Owner)}
	w.beat = heartbeat{w: w, interval: cfg.HeartbeatInterval}
	w.run = w.execute
	return w
}

// SetRunFunc replaces the job execution, for tests of the delivery handling.
func (w *Worker) SetRunFunc(f func(ctx context.Context, l store.Lease) (Result, error)) { w.run = f }

// Run consumes until ctx ends, then lets the in-flight jobs finish (at most ShutdownTimeout,
// after which they are released and NAKed) and returns.
func (w *Worker) Run(ctx context.Context) error {
	// Jobs get a context that outlives ctx by the shutdown timeout.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(w.cfg.ShutdownTimeout, cancelHard)
		context.AfterFunc(hard, func() { t.Stop() })
	})
	defer stop()

	w.consume(ctx, hard)
	w.log.InfoContext(context.WithoutCancel(ctx), "worker stopped")
	return nil
}

// Msg is the part of a JetStream message the worker uses.
type Msg interface {
	Data() []byte
	DoubleAck(ctx context.Context) error
	Nak() error
	NakWithDelay(d time.Duration) error
	InProgress() error
	Term() error
	TermWithReason(reason string) error
}

var _ Msg = (jetstream.Msg)(nil)

// Handle processes one delivery and ends it with exactly one ack outcome. A panic never
// leaves it: in the job's run it fails the attempt (runGuarded), anywhere else the message is
// NAKed (recoverDelivery).
func (w *Worker) Handle(ctx context.Context, msg Msg) {
	defer w.recoverDelivery(ctx, msg)
	id, err := jobqueue.JobID(msg.Data())
	if err != nil {
		w.term(msg, "message is not a job id")
		w.d.Metrics.Job("poison")
		return
	}
	log := w.log.With("job_id", id)
	l, err := w.d.Store.Lease(ctx, store.LeaseParams{
		JobID: id, Owner: w.cfg.Owner, TTL: w.cfg.LeaseTTL,
		MaxRunningPerClient: w.cfg.MaxRunningPerClient, MaxAttempts: w.cfg.MaxAttempts,
	})
	if err != nil {
		// Postgres is unreachable: the job waits for it.
		log.WarnContext(ctx, "lease job", "error", err)
		w.nak(msg, w.retryBackoff().Delay(1))
		w.d.Metrics.Job("retried")
		return
	}
	switch l.Outcome {
	case store.Unknown:
		w.term(msg, "unknown job")
		w.d.Metrics.Job("poison")
	case store.Ended:
		// A duplicate or late delivery of a finished job.
		w.ack(ctx, msg)
		w.d.Metrics.Job("duplicate")
	case store.Busy:
		// Just past the lease's end: a dead worker's job is taken up as soon as it may be.
		w.nak(msg, l.Wait+100*time.Millisecond+retry.Uniform(250*time.Millisecond))
		w.d.Metrics.Job("deferred")
	case store.OverCap:
		w.nak(msg, w.cfg.DeferDelay+retry.Uniform(w.cfg.DeferDelay))
		w.d.Metrics.Job("deferred")
	case store.Exhausted:
		w.publish(ctx, l.Next)
		w.recordError(ctx, l, l.Job.LastError, true)
		for _, m := range l.Members {
			w.recordError(ctx, store.Lease{Job: m}, m.LastError, true)
		}
		w.afterEnd(ctx, l)
		w.term(msg, l.Job.LastError)
		w.d.Metrics.Job("failed")
	case store.Leased:
		w.runLeased(ctx, msg, l)
	}
}

// runLeased runs a leased job with heartbeats and settles the delivery.
func (w *Worker) runLeased(ctx context.Context, msg Msg, l store.Lease) {
	log := w.log.With("job_id", l.Job.ID, "attempt", l.Attempt)
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The lease was taken after the delivery: restart the redelivery timer now, so that if this
	// process dies before its first beat the message comes back only once the lease has ended.
	_ = msg.InProgress()
	w.beat.hold(l.Job.ID, &heldJob{attempt: l.Attempt, msg: msg, cancel: cancel, members: membersHeld(l)})
	res, err := w.runGuarded(jobCtx, l)
	w.beat.drop(l.Job.ID)
	if cause := context.Cause(jobCtx); errors.Is(cause, store.ErrLeaseLost) && err != nil {
		err = store.ErrLeaseLost
	}
	if pe := (*PanicError)(nil); errors.As(err, &pe) {
		log.ErrorContext(ctx, "import job panicked", "panic", pe.Value, "stack", pe.Stack)
	}
	// Settling uses a context that survives the shutdown deadline for a few seconds, so the
	// lease is released and the message NAKed even when the job was cut short.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer scancel()
	w.settle(sctx, msg, l, res, err, log)
}

func (w *Worker) settle(ctx context.Context, msg Msg, l store.Lease, res Result, err error, log *slog.Logger) {
	if len(l.Members) > 0 {
		w.settleGroup(ctx, msg, l, res, err, log)
		return
	}
	var perm *PermanentError
	switch {
	case err == nil:
		state := store.StateDone
		switch {
		case res.Cancelled:
			state = store.StateCancelled
		case res.Skipped():
			state = store.StateSkipped
		}
		closed, ferr := w.d.Store.FinishGroup(ctx, []store.End{endOf(l, state, res.Counters, "")})
		if ferr != nil {
			w.settleLost(ctx, msg, l, ferr, log)
			return
		}
		w.publish(ctx, closed.Next)
		log.InfoContext(ctx, "import job finished", "state", state, "days_written", res.Counters.DaysWritten,
			"days_skipped_approved", res.Counters.DaysSkippedApproved, "sales", res.Counters.SalesCounted,
			"requests", res.Counters.RequestsMade, "fetch_ms", res.FetchTime, "write_ms", res.WriteTime)
		w.afterEnded(ctx, l, closed)
		w.ack(ctx, msg)
		w.d.Metrics.Job(map[string]string{store.StateDone: "done", store.StateSkipped: "skipped", store.StateCancelled: "cancelled"}[state])
	case errors.Is(err, store.ErrLeaseLost):
		w.settleLost(ctx, msg, l, err, log)
	case errors.As(err, &perm):
		w.fail(ctx, msg, l, res, perm.Reason, log)
	default:
		reason := err.Error()
		shutdown := ctx.Err() == nil && errors.Is(err, context.Canceled)
		if !shutdown && w.cfg.MaxAttempts > 0 && int(l.Attempt) >= w.cfg.MaxAttempts {
			// The last attempt: no delivery is left to retry it.
			w.fail(ctx, msg, l, res, fmt.Sprintf("gave up after %d attempts: %s", l.Attempt, reason), log)
			return
		}
		if rerr := w.d.Store.Release(ctx, l.Job.ID, l.Attempt, reason); rerr != nil && !errors.Is(rerr, store.ErrLeaseLost) {
			// The lease runs out by itself; the redelivery then finds the job free.
			log.WarnContext(ctx, "release job", "error", rerr)
		}
		delay := w.retryBackoff().Delay(int(l.Attempt))
		var ra *RetryAfterError
		if errors.As(err, &ra) {
			delay = max(ra.Wait, time.Second) + retry.Uniform(time.Second)
		}
		if shutdown {
			delay = time.Second // let another worker take it soon
		} else {
			w.recordError(ctx, l, reason, false)
		}
		log.WarnContext(ctx, "import job will be retried", "error", reason, "delay", delay)
		w.nak(msg, delay)
		w.d.Metrics.Job("retried")
	}
}

// fail ends the job FAILED with reason (for a person), records the reason in the import's
// errors and terminates the message.
func (w *Worker) fail(ctx context.Context, msg Msg, l store.Lease, res Result, reason string, log *slog.Logger) {
	closed, ferr := w.d.Store.FinishGroup(ctx, []store.End{endOf(l, store.StateFailed, res.Counters, reason)})
	if ferr != nil {
		w.settleLost(ctx, msg, l, ferr, log)
		return
	}
	w.publish(ctx, closed.Next)
	log.WarnContext(ctx, "import job failed", "reason", reason)
	w.recordError(ctx, l, reason, true)
	w.afterEnded(ctx, l, closed)
	w.term(msg, reason)
	w.d.Metrics.Job("failed")
}

// settleLost handles a job this attempt no longer holds: a newer attempt runs it, so this one
// writes nothing more. The message is NAKed with a delay rather than acked: if it is the same
// message the newer attempt holds, an ack would remove it from under that attempt.
func (w *Worker) settleLost(ctx context.Context, msg Msg, l store.Lease, err error, log *slog.Logger) {
	if !errors.Is(err, store.ErrLeaseLost) {
		log.WarnContext(ctx, "settle job", "error", err)
		w.nak(msg, w.retryBackoff().Delay(1))
		w.d.Metrics.Job("retried")
		return
	}
	log.InfoContext(ctx, "import job lease lost; stopping")
	w.nak(msg, w.cfg.LeaseTTL)
	w.d.Metrics.Job("lease_lost")
}

// publish sends the messages of the client's jobs claimed because one of its jobs ended (the
// client's window moved on); what fails is re-published by the reconciler once stale.
func (w *Worker) publish(ctx context.Context, jobs []uuid.UUID) {
	if err := outbox.Publish(ctx, w.d.Queue, jobs); err != nil {
		w.log.WarnContext(ctx, "publish the client's next jobs; the reconciler will", "jobs", len(jobs), "error", err)
	}
}

// afterEnd runs when a job ended: it marks the import's departments whose jobs all ended DONE
// or SKIPPED imported in the balance and finishes the import when nothing is left. Failures
// here are retried by the reconciler.
func (w *Worker) afterEnd(ctx context.Context, l store.Lease) {
	if err := w.d.Completer.MarkDepartments(ctx, l.Job.ImportID); err != nil {
		w.log.WarnContext(ctx, "mark departments imported", "import_id", l.Job.ImportID, "error", err)
	}
	if err := w.d.Completer.Finish(ctx, l.Job.ImportID); err != nil {
		w.log.WarnContext(ctx, "finish import", "import_id", l.Job.ImportID, "error", err)
	}
}

// afterEnded is afterEnd for an end whose transaction counted the jobs left open: an end that
// left jobs open in its departments cannot have completed them, nor one that left the import
// jobs open the import, so their reads are skipped (the last end of each does them); the
// departments due, when the end read them, are not read again, and their marks and the
// import's finish commit together.
func (w *Worker) afterEnded(ctx context.Context, l store.Lease, c store.Closed) {
	finish := uuid.Nil
	if c.ImportOpen <= 0 {
		finish = l.Job.ImportID
	}
	spans := c.ToMark
	if c.DepartmentsOpen < 0 { // not counted, so not read either
		var err error
		if spans, err = w.d.Store.DepartmentsToMark(ctx, l.Job.ImportID); err != nil {
			w.log.WarnContext(ctx, "mark departments imported", "import_id", l.Job.ImportID, "error", err)
		}
	}
	if err := w.d.Completer.Complete(ctx, spans, finish); err != nil {
		w.log.WarnContext(ctx, "complete import", "import_id", l.Job.ImportID, "error", err)
	}
}

// endOf is the end of a leased job in state.
func endOf(l store.Lease, state string, c store.Counters, reason string) store.End {
	return store.End{JobID: l.Job.ID, Attempt: l.Attempt, State: state, Counters: c, LastError: reason,
		ImportID: l.Job.ImportID, DepartmentID: l.Job.DepartmentID}
}

func (w *Worker) recordError(ctx context.Context, l store.Lease, message string, permanent bool) {
	if err := w.d.Store.RecordError(ctx, l.Job, message, permanent); err != nil {
		w.log.WarnContext(ctx, "record import error", "job_id", l.Job.ID, "error", err)
	}
}

func (w *Worker) ack(ctx context.Context, msg Msg) {
	if err := msg.DoubleAck(ctx); err != nil {
		// The job's end is committed; a redelivery finds it ended and is acked then.
		w.log.DebugContext(ctx, "ack", "error", err)
	}
}

func (w *Worker) nak(msg Msg, d time.Duration) {
	if err := msg.NakWithDelay(d); err != nil {
		w.log.Debug("nak", "error", err)
	}
}

func (w *Worker) term(msg Msg, reason string) {
	var err error
	if w.d.Queue.TermReasons() {
		err = msg.TermWithReason(reason)
	} else {
		err = msg.Term()
	}
	if err != nil {
		w.log.Debug("term", "error", err)
	}
}

// PermanentError is a failure retrying cannot fix; Reason is for a person.
type PermanentError struct{ Reason string }

func (e *PermanentError) Error() string { return e.Reason }

// Permanent returns a PermanentError.
func Permanent(format string, args ...any) error {
	return &PermanentError{Reason: fmt.Sprintf(format, args...)}
}

// RetryAfterError is a transient failure with a wait the POS asked for.
type RetryAfterError struct {
	Wait time.Duration
	Err  error
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// slotBackoff paces a slot while the consumer or its pulls fail.
var slotBackoff = retry.Backoff{Base: 200 * time.Millisecond, Max: 5 * time.Second, Jitter: retry.EqualJitter}

// retryBackoff is the NakWithDelay backoff of retryable failures: equal jitter, so that a
// retry waits at least half its ceiling and never comes back at once.
func (w *Worker) retryBackoff() retry.Backoff {
	return retry.Backoff{Base: w.cfg.RetryBase, Max: w.cfg.RetryMax, Jitter: retry.EqualJitter}
}
