package worker_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/natstest"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/import-worker/internal/completion"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/metrics"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
	"github.com/posimport/posimport/services/import-worker/internal/worker"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// spyMsg is a real JetStream message that remembers which ack call settled it.
type spyMsg struct {
	jetstream.Msg
	mu       sync.Mutex
	calls    []string
	progress int
}

func (m *spyMsg) record(c string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, c)
}

func (m *spyMsg) DoubleAck(ctx context.Context) error {
	m.record("DoubleAck")
	return m.Msg.DoubleAck(ctx)
}
func (m *spyMsg) Nak() error { m.record("Nak"); return m.Msg.Nak() }
func (m *spyMsg) NakWithDelay(d time.Duration) error {
	m.record("NakWithDelay")
	return m.Msg.NakWithDelay(d)
}

// Term and TermWithReason are one outcome: the worker keeps the reason only where the server
// does (jobqueue.Queue.TermReasons).
func (m *spyMsg) Term() error { m.record("Term"); return m.Msg.Term() }
func (m *spyMsg) TermWithReason(r string) error {
	m.record("Term")
	return m.Msg.TermWithReason(r)
}
func (m *spyMsg) InProgress() error {
	m.mu.Lock()
	m.progress++
	m.mu.Unlock()
	return m.Msg.InProgress()
}

func (m *spyMsg) settled() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls)
}

type testBundle struct {
	pool  *pgxpool.Pool
	st    *store.Store
	queue *jobqueue.Queue
	cons  jetstream.Consumer
	js    jetstream.JetStream
}

func setup(t *testing.T, ackWait time.Duration) *testBundle {
	t.Helper()
	pool := storetest.Pool(t)
	nc := natstest.Conn(t)
	q := jobqueue.New(nc.JS, jobqueue.Config{Prefix: natstest.Prefix(t), AckWait: ackWait})
	cons, err := q.Setup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.JS.DeleteStream(context.Background(), q.Stream()) })
	return &testBundle{pool: pool, st: store.New(pool), queue: q, cons: cons, js: nc.JS}
}

func (b *testBundle) worker(cfg worker.Config, run func(context.Context, store.Lease) (worker.Result, error)) *worker.Worker {
	cfg.Owner = "test"
	m := metrics.New(nil)
	// No department of these tests' imports completes, so the completer never calls the balance.
	w := worker.New(cfg, worker.Deps{Store: b.st, Queue: b.queue, Completer: &completion.Completer{Store: b.st, Metrics: m}, Metrics: m,
		Logger: logging.Discard()})
	w.SetRunFunc(run)
	return w
}

// newJob stores an import of client with two jobs of one department (so the department never
// completes in these tests) and publishes the first; it returns that job's id.
func (b *testBundle) newJob(t *testing.T, client string) uuid.UUID {
	t.Helper()
	d := civil.Date{Year: 2026, Month: 3, Day: 1}
	ni := store.NewImport{Import: store.Import{
		ID: uuid.New(), ClientID: client, DepartmentIDs: []string{"d1"}, From: d, Until: d, Trigger: 1, CreatedBy: "t",
	}}
	ids := []uuid.UUID{uuid.New(), uuid.New()}
	for i, id := range ids {
		ni.Jobs = append(ni.Jobs, store.NewJob{ID: id, DepartmentID: "d1", RegisterID: string(rune('1' + i)), LocationID: "1",
			TimeZone: "Europe/Copenhagen", From: d, Until: d})
	}
	if _, err := b.st.CreateImport(context.Background(), ni); err != nil {
		t.Fatal(err)
	}
	if err := b.queue.Publish(context.Background(), ids[0], ids[0].String()); err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

func (b *testBundle) fetch(t *testing.T) *spyMsg {
	t.Helper()
	batch, err := b.cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		return &spyMsg{Msg: m}
	}
	t.Fatal("no message")
	return nil
}

func (b *testBundle) job(t *testing.T, id uuid.UUID) store.Job {
	t.Helper()
	j, err := b.st.GetJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (b *testBundle) streamMsgs(t *testing.T) uint64 {
	t.Helper()
	n, err := b.queue.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// streamGone reports whether the stream is empty. A terminated message leaves the stream
// shortly after the Term (which, unlike DoubleAck, is not confirmed), so when wait is set it
// polls with a deadline.
func (b *testBundle) streamGone(t *testing.T, wait bool) bool {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		gone := b.streamMsgs(t) == 0
		if gone || !wait || time.Now().After(deadline) {
			return gone
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// TestHandleAckBranches drives every way a delivery can end, with real Postgres and NATS.
func TestHandleAckBranches(t *testing.T) {
	t.Parallel()
	permanent := func(context.Context, store.Lease) (worker.Result, error) {
		return worker.Result{Days: 1}, worker.Permanent("sale 123: field calcTotal malformed")
	}
	retryable := func(context.Context, store.Lease) (worker.Result, error) {
		return worker.Result{}, errors.New("balance unavailable")
	}
	written := func(context.Context, store.Lease) (worker.Result, error) {
		return worker.Result{Days: 3, Counters: store.Counters{DaysWritten: 3, SalesCounted: 7}}, nil
	}
	skipped := func(context.Context, store.Lease) (worker.Result, error) {
		return worker.Result{Days: 3, Counters: store.Counters{DaysSkippedApproved: 3}}, nil
	}
	tests := []struct {
		name string
		cfg  worker.Config
		// prepare changes the job before the delivery is handled.
		prepare   func(t *testing.T, b *testBundle, job uuid.UUID)
		run       func(context.Context, store.Lease) (worker.Result, error)
		wantCall  string
		wantState string
		wantRun   bool
		// wantGone: the message left the stream (acked or terminated).
		wantGone  bool
		wantError string
	}{
		{name: "job done is double-acked", run: written, wantCall: "DoubleAck", wantState: store.StateDone, wantRun: true, wantGone: true},
		{name: "all days approved ends skipped and is double-acked", run: skipped, wantCall: "DoubleAck", wantState: store.StateSkipped, wantRun: true, wantGone: true},
		{name: "retryable error is released and naked with delay", run: retryable, wantCall: "NakWithDelay", wantState: store.StatePending,
			wantRun: true, wantError: "balance unavailable"},
		{name: "permanent error fails the job and terms the message", run: permanent, wantCall: "Term", wantState: store.StateFailed,
			wantRun: true, wantGone: true, wantError: "sale 123: field calcTotal malformed"},
		{
			name: "ended job is acked without running", run: written, wantCall: "DoubleAck", wantState: store.StateCancelled, wantGone: true,
			prepare: func(t *testing.T, b *testBundle, job uuid.UUID) {
				exec(t, b.pool, "UPDATE jobs SET state = 'CANCELLED' WHERE job_id = $1", job)
			},
		},
		{
			name: "job leased by a live worker is naked until the lease ends", run: written, wantCall: "NakWithDelay", wantState: store.StateRunning,
			prepare: func(t *testing.T, b *testBundle, job uuid.UUID) {
				exec(t, b.pool, "UPDATE jobs SET state = 'RUNNING', attempt = 1, lease_owner = 'other', lease_until = now() + interval '1 minute' WHERE job_id = $1", job)
			},
		},
		{
			name: "client over the fairness cap is deferred", cfg: worker.Config{MaxRunningPerClient: 1}, run: written,
			wantCall: "NakWithDelay", wantState: store.StatePending,
			prepare: func(t *testing.T, b *testBundle, job uuid.UUID) {
				exec(t, b.pool, `UPDATE jobs SET state = 'RUNNING', attempt = 1, lease_owner = 'other', lease_until = now() + interval '1 minute'
					WHERE import_id = (SELECT import_id FROM jobs WHERE job_id = $1) AND job_id <> $1`, job)
			},
		},
		{
			name: "retryable error on the last attempt fails the job and terms the message", cfg: worker.Config{MaxAttempts: 3}, run: retryable,
			wantCall: "Term", wantState: store.StateFailed, wantRun: true, wantGone: true, wantError: "gave up after 3 attempts: balance unavailable",
			prepare: func(t *testing.T, b *testBundle, job uuid.UUID) {
				exec(t, b.pool, "UPDATE jobs SET attempt = 2, last_error = 'timeout' WHERE job_id = $1", job)
			},
		},
		{
			name: "attempts exhausted fails the job and terms the message", cfg: worker.Config{MaxAttempts: 3}, run: written,
			wantCall: "Term", wantState: store.StateFailed, wantGone: true, wantError: "gave up after 3 attempts: timeout",
			prepare: func(t *testing.T, b *testBundle, job uuid.UUID) {
				exec(t, b.pool, "UPDATE jobs SET attempt = 3, last_error = 'timeout' WHERE job_id = $1", job)
			},
		},
		{
			name: "lease lost to a newer attempt writes nothing and naks", wantCall: "NakWithDelay", wantState: store.StateRunning, wantRun: true,
			run: func(ctx context.Context, l store.Lease) (worker.Result, error) {
				// Another worker takes the job over while this one works (its lease ran out).
				_, err := bundleOf(ctx).pool.Exec(ctx, "UPDATE jobs SET attempt = attempt + 1, lease_owner = 'zombie-killer' WHERE job_id = $1", l.Job.ID)
				return worker.Result{Days: 1, Counters: store.Counters{DaysWritten: 1}}, err
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, 30*time.Second)
			job := b.newJob(t, "c1")
			if tc.prepare != nil {
				tc.prepare(t, b, job)
			}
			ran := false
			w := b.worker(tc.cfg, func(ctx context.Context, l store.Lease) (worker.Result, error) {
				ran = true
				if l.Attempt < 1 || l.Job.ID != job {
					t.Errorf("lease = attempt %d job %v", l.Attempt, l.Job.ID)
				}
				return tc.run(withBundle(ctx, b), l)
			})
			msg := b.fetch(t)
			w.Handle(context.Background(), msg)
			if diff := cmp.Diff([]string{tc.wantCall}, msg.settled()); diff != "" {
				t.Errorf("ack calls (-want +got):\n%s", diff)
			}
			if ran != tc.wantRun {
				t.Errorf("ran = %v, want %v", ran, tc.wantRun)
			}
			j := b.job(t, job)
			if j.State != tc.wantState {
				t.Errorf("state = %s, want %s", j.State, tc.wantState)
			}
			if j.LastError != tc.wantError {
				t.Errorf("last_error = %q, want %q", j.LastError, tc.wantError)
			}
			if gone := b.streamGone(t, tc.wantGone); gone != tc.wantGone {
				t.Errorf("message gone = %v, want %v", gone, tc.wantGone)
			}
			if tc.wantState == store.StateDone && (j.DaysWritten != 3 || j.SalesCounted != 7) {
				t.Errorf("counters not stored: %+v", j)
			}
		})
	}
}

// TestHandlePoisonMessageIsTermed: a message that is not a job id is terminated.
func TestHandlePoisonMessageIsTermed(t *testing.T) {
	t.Parallel()
	b := setup(t, 30*time.Second)
	if _, err := b.js.Publish(context.Background(), b.queue.Subject(uuid.New()), []byte("not a job")); err != nil {
		t.Fatal(err)
	}
	w := b.worker(worker.Config{}, func(context.Context, store.Lease) (worker.Result, error) {
		t.Error("a poison message ran")
		return worker.Result{}, nil
	})
	msg := b.fetch(t)
	w.Handle(context.Background(), msg)
	if diff := cmp.Diff([]string{"Term"}, msg.settled()); diff != "" {
		t.Errorf("ack calls (-want +got):\n%s", diff)
	}
}

// TestHeartbeatKeepsSlowJobFromRedelivery: a job running longer than AckWait keeps its only
// delivery, because InProgress resets the redelivery timer, and its lease is extended.
func TestHeartbeatKeepsSlowJobFromRedelivery(t *testing.T) {
	t.Parallel()
	b := setup(t, 1500*time.Millisecond)
	job := b.newJob(t, "c1")
	w := b.worker(worker.Config{LeaseTTL: 1500 * time.Millisecond}, func(ctx context.Context, l store.Lease) (worker.Result, error) {
		select {
		case <-time.After(4 * time.Second): // well past AckWait and the lease TTL
		case <-ctx.Done():
			return worker.Result{}, ctx.Err()
		}
		return worker.Result{Days: 1, Counters: store.Counters{DaysWritten: 1}}, nil
	})
	msg := b.fetch(t)
	w.Handle(context.Background(), msg)
	if diff := cmp.Diff([]string{"DoubleAck"}, msg.settled()); diff != "" {
		t.Errorf("ack calls (-want +got):\n%s", diff)
	}
	if msg.progress < 2 {
		t.Errorf("InProgress sent %d times, want at least 2", msg.progress)
	}
	info, err := b.cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 || info.Delivered.Consumer != 1 {
		t.Errorf("deliveries = %d, redelivered = %d; want one delivery", info.Delivered.Consumer, info.NumRedelivered)
	}
	if j := b.job(t, job); j.State != store.StateDone || j.Attempt != 1 {
		t.Errorf("job = %s attempt %d, want DONE attempt 1", j.State, j.Attempt)
	}
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

type bundleKey struct{}

func withBundle(ctx context.Context, b *testBundle) context.Context {
	return context.WithValue(ctx, bundleKey{}, b)
}

func bundleOf(ctx context.Context) *testBundle { return ctx.Value(bundleKey{}).(*testBundle) }

// TestHeartbeatStopsAJobTakenOver: when another attempt takes a running job over (its lease
// ran out while this worker was cut off), the next heartbeat finds it and cancels the job,
// which writes nothing more and NAKs its message; the job stays the newer attempt's.
func TestHeartbeatStopsAJobTakenOver(t *testing.T) {
	t.Parallel()
	b := setup(t, 30*time.Second)
	job := b.newJob(t, "c1")
	var stopped time.Duration
	w := b.worker(worker.Config{LeaseTTL: 900 * time.Millisecond}, func(ctx context.Context, l store.Lease) (worker.Result, error) {
		exec(t, b.pool, "UPDATE jobs SET attempt = attempt + 1, lease_owner = 'other', lease_until = now() + interval '1 minute' WHERE job_id = $1", l.Job.ID)
		start := time.Now()
		select {
		case <-ctx.Done():
			stopped = time.Since(start)
			return worker.Result{}, ctx.Err()
		case <-time.After(10 * time.Second):
			return worker.Result{Days: 1, Counters: store.Counters{DaysWritten: 1}}, nil
		}
	})
	msg := b.fetch(t)
	w.Handle(context.Background(), msg)
	if stopped == 0 || stopped > 2*time.Second {
		t.Errorf("the job stopped after %v, want within two beats (300 ms each)", stopped)
	}
	if diff := cmp.Diff([]string{"NakWithDelay"}, msg.settled()); diff != "" {
		t.Errorf("ack calls (-want +got):\n%s", diff)
	}
	if j := b.job(t, job); j.State != store.StateRunning || j.Attempt != 2 || j.LeaseOwner != "other" || j.LastError != "" {
		t.Errorf("job = %s attempt %d owner %q error %q, want the newer attempt's, untouched", j.State, j.Attempt, j.LeaseOwner, j.LastError)
	}
}
