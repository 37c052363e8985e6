package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/worker"
)

// decodeSale stands for the provider's decoding, deep in a job's run, where a bug panics.
func decodeSale(n int) int {
	var totals []int
	return totals[n] //nolint:govet // index out of range: a real runtime panic, not a panic() call
}

// TestPanicFailsOnlyItsAttempt runs a worker of two slots on two jobs: one panics in every
// attempt, the other runs meanwhile in the other slot. The panicking job's attempts fail one
// by one (retried, with the panic and its stack as the job's error) and after the last one it
// is FAILED and its message terminated; the other job finishes DONE, and the worker is still
// running afterwards.
func TestPanicFailsOnlyItsAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t, 30*time.Second)
	bad, good := b.newJob(t, "c1"), b.newJob(t, "c2")
	const attempts = 3
	badFailed := func() bool { return b.job(t, bad).State == store.StateFailed }
	w := b.worker(worker.Config{Slots: 2, MaxAttempts: attempts, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond},
		func(ctx context.Context, l store.Lease) (worker.Result, error) {
			if l.Job.ID == bad {
				return worker.Result{Counters: store.Counters{SalesCounted: int64(decodeSale(3))}}, nil
			}
			// The good job outlives every attempt of the bad one, in the other slot.
			deadline := time.Now().Add(30 * time.Second)
			for !badFailed() && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond) // polling with a deadline
			}
			return worker.Result{Days: 1, Counters: store.Counters{DaysWritten: 1}}, nil
		})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx) }()
	deadline := time.Now().Add(40 * time.Second)
	for b.job(t, good).State != store.StateDone && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	select {
	case err := <-stopped:
		t.Fatalf("the worker stopped after the panics: %v", err)
	default:
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Errorf("worker.Run = %v", err)
	}

	g := b.job(t, good)
	if g.State != store.StateDone || g.Attempt != 1 {
		t.Errorf("the other job ended %s after %d attempts, want DONE after 1", g.State, g.Attempt)
	}
	j := b.job(t, bad)
	if j.State != store.StateFailed || j.Attempt != attempts {
		t.Fatalf("the panicking job is %s after %d attempts, want FAILED after %d", j.State, j.Attempt, attempts)
	}
	want := fmt.Sprintf("gave up after %d attempts: panic: runtime error: index out of range [3] with length 0\n", attempts)
	if !strings.HasPrefix(j.LastError, want) {
		t.Errorf("job error = %q, want it to start with %q", j.LastError, want)
	}
	for _, frame := range []string{"worker_test.decodeSale (worker/panic_test.go:", "worker_test.TestPanicFailsOnlyItsAttempt.func"} {
		if !strings.Contains(j.LastError, frame) {
			t.Errorf("job error lacks the frame %q:\n%s", frame, j.LastError)
		}
	}
	// Bounded, and no argument values (pointers, lengths: the job's data) in the frames.
	if len(j.LastError) > 2500 || strings.Contains(j.LastError, "0x") || strings.Contains(j.LastError, "goroutine ") {
		t.Errorf("job error of %d bytes is not a bounded list of frames:\n%s", len(j.LastError), j.LastError)
	}
	var perAttempt []string
	rows, err := b.pool.Query(context.Background(), "SELECT permanent, message FROM import_errors WHERE job_id = $1 ORDER BY error_id", bad)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var permanent bool
		var msg string
		if err := rows.Scan(&permanent, &msg); err != nil {
			t.Fatal(err)
		}
		perAttempt = append(perAttempt, fmt.Sprintf("%v %s", permanent, strings.SplitN(msg, "\n", 2)[0]))
	}
	panicked := "panic: runtime error: index out of range [3] with length 0"
	if diff := cmp.Diff([]string{"false " + panicked, "false " + panicked, "true gave up after 3 attempts: " + panicked}, perAttempt); diff != "" {
		t.Errorf("import errors per attempt (-want +got):\n%s", diff)
	}
	if !b.streamGone(t, true) {
		t.Error("a message is left in the stream: the FAILED job's was not terminated, or the DONE job's not acked")
	}
}

// panickyMsg is a delivery whose handling panics before any job runs (a bug in the worker's
// own path, here reading the payload).
type panickyMsg struct{ *spyMsg }

func (m panickyMsg) Data() []byte { panic("payload unreadable") }

// TestHandleRecoversAPanicOutsideTheJob: a panic in a delivery's handling outside the job's
// run does not leave Handle; the message is NAKed with a delay, and nothing else is settled.
func TestHandleRecoversAPanicOutsideTheJob(t *testing.T) {
	t.Parallel()
	b := setup(t, 30*time.Second)
	b.newJob(t, "c1")
	w := b.worker(worker.Config{}, func(context.Context, store.Lease) (worker.Result, error) {
		t.Error("the job ran")
		return worker.Result{}, nil
	})
	msg := b.fetch(t)
	w.Handle(context.Background(), panickyMsg{msg})
	if diff := cmp.Diff([]string{"NakWithDelay"}, msg.settled()); diff != "" {
		t.Errorf("ack calls (-want +got):\n%s", diff)
	}
	if b.streamGone(t, false) {
		t.Error("the message left the stream")
	}
}
