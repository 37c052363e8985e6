package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

// newGroup stores an import of one location group: a lead and two members (departments d1
// and d2), and returns them lead first with the jobs claimed for publication.
func newGroup(t *testing.T, st *store.Store) ([]uuid.UUID, []uuid.UUID) {
	t.Helper()
	d := civil.Date{Year: 2026, Month: 4, Day: 1}
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	ni := store.NewImport{Import: store.Import{ID: uuid.New(), ClientID: "c1", DepartmentIDs: []string{"d1", "d2"}, From: d, Until: d,
		Trigger: 1, CreatedBy: "t"}}
	for i, id := range ids {
		ni.Jobs = append(ni.Jobs, store.NewJob{ID: id, DepartmentID: []string{"d1", "d2", "d2"}[i], RegisterID: string(rune('a' + i)),
			LocationID: "1", TimeZone: "UTC", From: d, Until: d, GroupID: ids[0]})
	}
	c, err := st.CreateImport(context.Background(), ni)
	if err != nil {
		t.Fatal(err)
	}
	return ids, c.Publish
}

// TestLocationGroup: only a group's lead is published; leasing it leases every member with its
// own attempt; a member's lost lease makes the group's end fail whole; the group ends in one
// transaction with each job in its own state, and the end reports nothing left open.
func TestLocationGroup(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	ctx := context.Background()
	ids, published := newGroup(t, st)
	if len(published) != 1 || published[0] != ids[0] {
		t.Fatalf("published %v, want only the lead %s", published, ids[0])
	}
	// A member had an attempt before (say, leased alone by an older version): attempts are each job's own.
	if _, err := pool.Exec(ctx, "UPDATE jobs SET attempt = 4 WHERE job_id = $1", ids[2]); err != nil {
		t.Fatal(err)
	}
	l, err := st.Lease(ctx, store.LeaseParams{JobID: ids[0], Owner: "w", TTL: time.Minute})
	if err != nil || l.Outcome != store.Leased || l.Attempt != 1 || len(l.Members) != 2 {
		t.Fatalf("lease: %+v %v, want the lead at attempt 1 with 2 members", l, err)
	}
	attempts := map[uuid.UUID]int32{}
	for _, m := range l.Members {
		attempts[m.ID] = m.Attempt
		if m.State != store.StateRunning || m.LeaseOwner != "w" {
			t.Errorf("member %s %s owned by %q, want RUNNING by w", m.ID, m.State, m.LeaseOwner)
		}
	}
	if attempts[ids[1]] != 1 || attempts[ids[2]] != 5 {
		t.Errorf("member attempts %v, want 1 and 5", attempts)
	}
	ends := []store.End{
		{JobID: ids[0], Attempt: 1, State: store.StateDone, ImportID: l.Job.ImportID, DepartmentID: "d1"},
		{JobID: ids[1], Attempt: 1, State: store.StateFailed, LastError: "malformed", ImportID: l.Job.ImportID, DepartmentID: "d2"},
		{JobID: ids[2], Attempt: 4, State: store.StateDone, ImportID: l.Job.ImportID, DepartmentID: "d2"}, // a stale attempt
	}
	if _, err := st.FinishGroup(ctx, ends); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("finish with a member's stale attempt: %v, want ErrLeaseLost", err)
	}
	for _, id := range ids {
		if j, err := st.GetJob(ctx, id); err != nil || j.State != store.StateRunning {
			t.Errorf("job %s %s after the refused end (%v), want still RUNNING: the group ends whole or not at all", id, j.State, err)
		}
	}
	ends[2].Attempt = 5
	closed, err := st.FinishGroup(ctx, ends)
	if err != nil {
		t.Fatal(err)
	}
	if closed.DepartmentsOpen != 0 || closed.ImportOpen != 0 {
		t.Errorf("open after the end: departments %d, import %d; want 0 and 0", closed.DepartmentsOpen, closed.ImportOpen)
	}
	for i, want := range []string{store.StateDone, store.StateFailed, store.StateDone} {
		if j, err := st.GetJob(ctx, ids[i]); err != nil || j.State != want {
			t.Errorf("job %d: %s (%v), want %s", i, j.State, err, want)
		}
	}
}

// TestLocationGroupReleaseAndExhaust: a released group is pending again as a whole, and a lead
// that used up its attempts fails with every member.
func TestLocationGroupReleaseAndExhaust(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	ctx := context.Background()
	ids, _ := newGroup(t, st)
	l, err := st.Lease(ctx, store.LeaseParams{JobID: ids[0], Owner: "w", TTL: time.Minute})
	if err != nil || l.Outcome != store.Leased {
		t.Fatalf("lease: %+v %v", l, err)
	}
	held := []store.Held{{JobID: ids[0], Attempt: l.Attempt}}
	for _, m := range l.Members {
		held = append(held, store.Held{JobID: m.ID, Attempt: m.Attempt})
	}
	if err := st.ReleaseGroup(ctx, held, "Lightspeed 503"); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if j, _ := st.GetJob(ctx, id); j.State != store.StatePending || !j.LeaseUntil.IsZero() {
			t.Errorf("job %s %s lease until %v after the release, want PENDING without a lease", id, j.State, j.LeaseUntil)
		}
	}
	l, err = st.Lease(ctx, store.LeaseParams{JobID: ids[0], Owner: "w", TTL: time.Minute, MaxAttempts: 1})
	if err != nil || l.Outcome != store.Exhausted || len(l.Members) != 2 {
		t.Fatalf("lease past the attempts: %+v %v, want Exhausted with 2 members", l, err)
	}
	for _, id := range ids {
		if j, _ := st.GetJob(ctx, id); j.State != store.StateFailed || j.LastError == "" {
			t.Errorf("job %s %s (%q), want FAILED with the reason", id, j.State, j.LastError)
		}
	}
}
