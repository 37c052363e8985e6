package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/worker"
)

// TestRunKeepsEverySlotBusy: Run consumes the stream continuously. With 12 jobs queued and 3
// slots, every slot runs a job while jobs are queued and never more than one (3 at once, no
// more), each message is delivered once and acked on its own, and the jobs take about 4
// rounds of one job's time, not more.
func TestRunKeepsEverySlotBusy(t *testing.T) {
	t.Parallel()
	b := setup(t, 10*time.Second)
	const jobs, slots, jobTime = 12, 3, 300 * time.Millisecond
	d := civil.Date{Year: 2026, Month: 3, Day: 1}
	ni := store.NewImport{Import: store.Import{
		ID: uuid.New(), ClientID: "c1", DepartmentIDs: []string{"d1"}, From: d, Until: d, Trigger: 1, CreatedBy: "t",
	}}
	// One more job, never published, keeps the department from completing (the completer would
	// call the balance, which these tests do not run).
	for i := range jobs + 1 {
		ni.Jobs = append(ni.Jobs, store.NewJob{ID: uuid.New(), DepartmentID: "d1", RegisterID: string(rune('a' + i)), LocationID: "1",
			TimeZone: "Europe/Copenhagen", From: d, Until: d})
	}
	if _, err := b.st.CreateImport(context.Background(), ni); err != nil {
		t.Fatal(err)
	}
	var running, most, done atomic.Int32
	w := b.worker(worker.Config{Slots: slots, FetchWait: time.Second}, func(ctx context.Context, l store.Lease) (worker.Result, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(jobTime) // the job's work
		done.Add(1)
		return worker.Result{Days: 1, Counters: store.Counters{DaysWritten: 1}}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx) }()
	time.Sleep(200 * time.Millisecond) // the consumer's pull is open before the jobs arrive
	start := time.Now()
	published := ni.Jobs[:jobs]
	for _, j := range published {
		if err := b.queue.Publish(context.Background(), j.ID, j.ID.String()); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for done.Load() < jobs && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	wall := time.Since(start)
	for _, j := range published {
		// The job's end commits just after run returns.
		for b.job(t, j.ID).State != store.StateDone && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if most.Load() != slots {
		t.Errorf("at most %d jobs ran at once, want %d (every slot busy, one job each)", most.Load(), slots)
	}
	for _, j := range published {
		if got := b.job(t, j.ID); got.State != store.StateDone || got.Attempt != 1 {
			t.Errorf("job %s = %s attempt %d, want DONE attempt 1", j.ID, got.State, got.Attempt)
		}
	}
	info, err := b.cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 || info.Delivered.Consumer != jobs || info.NumAckPending != 0 {
		t.Errorf("deliveries %d, redelivered %d, ack pending %d; want %d deliveries, each acked", info.Delivered.Consumer,
			info.NumRedelivered, info.NumAckPending, jobs)
	}
	if !b.streamGone(t, true) {
		t.Errorf("%d messages left in the stream", b.streamMsgs(t))
	}
	// 4 rounds of 300 ms; a slot waiting a pull's round trip (or idle) between jobs adds to it.
	if rounds := time.Duration(jobs/slots) * jobTime; wall > rounds+time.Second {
		t.Errorf("%d jobs on %d slots took %v, want about %v", jobs, slots, wall, rounds)
	}
	t.Logf("%d jobs of %v on %d slots: %v", jobs, jobTime, slots, wall)
}
