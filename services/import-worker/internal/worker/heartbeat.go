package worker

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// heartbeat keeps the jobs this process runs alive, all at once: every interval one statement
// extends all their leases (store.ExtendLeases), and then each still-held job's message gets an
// InProgress. The lease is extended first, so that after the process dies its messages are
// redelivered (AckWait after the last InProgress) no sooner than its leases end (the lease TTL
// after the last extension): with JOB_ACK_WAIT equal to JOB_LEASE_TTL a redelivery finds the
// job free. A job whose lease another attempt took is cancelled with store.ErrLeaseLost. The
// beat runs only while jobs are held.
type heartbeat struct {
	w        *Worker
	interval time.Duration

	mu      sync.Mutex
	jobs    map[uuid.UUID]*heldJob
	running bool
}

// heldJob is a running job's part in the heartbeat.
type heldJob struct {
	attempt int32
	msg     Msg
	cancel  context.CancelCauseFunc
	// members are a location group's other jobs, held with their lead: their leases are
	// extended with it, and losing any of them stops the group.
	members []store.Held
}

// hold adds a leased job to the beat (starting it if it was idle).
func (h *heartbeat) hold(id uuid.UUID, j *heldJob) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.jobs == nil {
		h.jobs = map[uuid.UUID]*heldJob{}
	}
	h.jobs[id] = j
	if !h.running {
		h.running = true
		go h.loop()
	}
}

// drop removes a job whose run returned.
func (h *heartbeat) drop(id uuid.UUID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.jobs, id)
}

func (h *heartbeat) loop() {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for range t.C {
		h.mu.Lock()
		if len(h.jobs) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		jobs := make(map[uuid.UUID]*heldJob, len(h.jobs))
		for id, j := range h.jobs {
			jobs[id] = j
		}
		h.mu.Unlock()
		h.beat(jobs)
	}
}

// beat extends the leases of jobs and keeps their messages in progress.
func (h *heartbeat) beat(jobs map[uuid.UUID]*heldJob) {
	held := make([]store.Held, 0, len(jobs))
	for id, j := range jobs {
		held = append(held, store.Held{JobID: id, Attempt: j.attempt})
		held = append(held, j.members...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.interval)
	defer cancel()
	still, err := h.w.d.Store.ExtendLeases(ctx, held, h.w.cfg.LeaseTTL)
	if err != nil {
		// Postgres away: the messages stay ours, and a lease that runs out meanwhile is
		// extended again by a later beat if no other attempt took the job.
		h.w.log.WarnContext(ctx, "extend leases", "jobs", len(held), "error", err)
	}
	for id, j := range jobs {
		if err == nil && (!still[id] || slices.ContainsFunc(j.members, func(m store.Held) bool { return !still[m.JobID] })) {
			j.cancel(store.ErrLeaseLost)
			continue
		}
		// InProgress resets the redelivery timer; a failure (NATS away) is survivable because
		// the lease, not the message, decides who runs the job.
		_ = j.msg.InProgress()
	}
}
