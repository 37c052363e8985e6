package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newImport stores an import of client with n jobs of department d1 and returns the jobs.
func newImport(t *testing.T, st *store.Store, client string, n int) []uuid.UUID {
	t.Helper()
	d := civil.Date{Year: 2026, Month: 4, Day: 1}
	ni := store.NewImport{Import: store.Import{ID: uuid.New(), ClientID: client, DepartmentIDs: []string{"d1"}, From: d, Until: d,
		Trigger: 1, CreatedBy: "t"}}
	var ids []uuid.UUID
	for i := range n {
		id := uuid.New()
		ids = append(ids, id)
		ni.Jobs = append(ni.Jobs, store.NewJob{ID: id, DepartmentID: "d1", RegisterID: string(rune('a' + i)), LocationID: "1",
			TimeZone: "UTC", From: d, Until: d})
	}
	if _, err := st.CreateImport(context.Background(), ni); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestExtendLeases: one statement extends every job a process holds and reports the ones a
// newer attempt took over, whose lease it leaves alone.
func TestExtendLeases(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	ctx := context.Background()
	jobs := newImport(t, st, "c1", 3)
	for _, id := range jobs {
		l, err := st.Lease(ctx, store.LeaseParams{JobID: id, Owner: "p1", TTL: time.Second})
		if err != nil || l.Outcome != store.Leased || l.Attempt != 1 {
			t.Fatalf("lease: %+v %v", l, err)
		}
	}
	// Job 1 is taken over (its lease ran out and another worker leased it); job 2 ended.
	if _, err := pool.Exec(ctx, "UPDATE jobs SET attempt = 2, lease_owner = 'p2', lease_until = now() + interval '1 minute' WHERE job_id = $1", jobs[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE jobs SET state = 'DONE', lease_until = NULL WHERE job_id = $1", jobs[2]); err != nil {
		t.Fatal(err)
	}
	var held []store.Held
	for _, id := range jobs {
		held = append(held, store.Held{JobID: id, Attempt: 1})
	}
	still, err := st.ExtendLeases(ctx, held, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[uuid.UUID]bool{jobs[0]: true}, still); diff != "" {
		t.Errorf("still held (-want +got):\n%s", diff)
	}
	for i, wantLong := range []bool{true, false, false} {
		j, err := st.GetJob(ctx, jobs[i])
		if err != nil {
			t.Fatal(err)
		}
		long := time.Until(j.LeaseUntil) > 5*time.Minute
		if long != wantLong {
			t.Errorf("job %d: lease until %v (extended %v, want %v)", i, j.LeaseUntil, long, wantLong)
		}
	}
	if j, _ := st.GetJob(ctx, jobs[1]); j.LeaseOwner != "p2" || j.Attempt != 2 {
		t.Errorf("the taken-over job changed: %+v", j)
	}
}

// claimed reads which of the jobs are claimed for publication (published_at set).
func claimed(t *testing.T, st *store.Store, jobs ...uuid.UUID) []bool {
	t.Helper()
	out := make([]bool, len(jobs))
	for i, id := range jobs {
		j, err := st.GetJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = !j.PublishedAt.IsZero()
	}
	return out
}

// createIn stores an import of client with n jobs through st and returns its jobs and what
// the store claimed for publication.
func createIn(t *testing.T, st *store.Store, client string, n int) (jobs, publish []uuid.UUID) {
	t.Helper()
	d := civil.Date{Year: 2026, Month: 4, Day: 1}
	ni := store.NewImport{Import: store.Import{ID: uuid.New(), ClientID: client, DepartmentIDs: []string{"d1"}, From: d, Until: d,
		Trigger: 1, CreatedBy: "t"}}
	for i := range n {
		id := uuid.New()
		jobs = append(jobs, id)
		ni.Jobs = append(ni.Jobs, store.NewJob{ID: id, DepartmentID: "d1", RegisterID: string(rune('a' + i)), LocationID: "1",
			TimeZone: "UTC", From: d, Until: d})
	}
	c, err := st.CreateImport(context.Background(), ni)
	if err != nil {
		t.Fatal(err)
	}
	return jobs, c.Publish
}

// run leases a job and ends it in state; it returns the jobs the end claimed.
func run(t *testing.T, st *store.Store, job uuid.UUID, state string) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	l, err := st.Lease(ctx, store.LeaseParams{JobID: job, Owner: "w", TTL: time.Minute})
	if err != nil || l.Outcome != store.Leased {
		t.Fatalf("lease %s: %+v %v", job, l, err)
	}
	next, err := st.Finish(ctx, job, l.Attempt, state, store.Counters{}, "")
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// TestClientWindow follows one client's window of two through imports, ends, an exhausted
// job and a cancel: a client never has more than two jobs published and not ended, the next
// is claimed in the transaction that ends one (oldest import first, plan order within it), and
// another client's window is its own.
func TestClientWindow(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool).WithWindow(2)
	ctx := context.Background()

	first, pub := createIn(t, st, "c1", 5)
	if diff := cmp.Diff(first[:2], pub); diff != "" {
		t.Fatalf("first import claimed (-want +got):\n%s", diff)
	}
	second, pub := createIn(t, st, "c1", 3)
	if len(pub) != 0 {
		t.Errorf("a full window claimed %v of the second import", pub)
	}
	other, pub := createIn(t, st, "c2", 3)
	if diff := cmp.Diff(other[:2], pub); diff != "" {
		t.Errorf("another client's window (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]uuid.UUID{first[2]}, run(t, st, first[0], store.StateDone)); diff != "" {
		t.Errorf("after a DONE job (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uuid.UUID{first[3]}, run(t, st, first[1], store.StateFailed)); diff != "" {
		t.Errorf("after a FAILED job (-want +got):\n%s", diff)
	}
	// first[2] used up its attempts: failing it at its next delivery moves the window on.
	if _, err := pool.Exec(ctx, "UPDATE jobs SET attempt = 3 WHERE job_id = $1", first[2]); err != nil {
		t.Fatal(err)
	}
	l, err := st.Lease(ctx, store.LeaseParams{JobID: first[2], Owner: "w", TTL: time.Minute, MaxAttempts: 3})
	if err != nil || l.Outcome != store.Exhausted {
		t.Fatalf("lease of an exhausted job: %+v %v", l, err)
	}
	if diff := cmp.Diff([]uuid.UUID{first[4]}, l.Next); diff != "" {
		t.Errorf("after an exhausted job (-want +got):\n%s", diff)
	}
	// Cancelling the first import (first[3] and first[4] pending, published) makes room for
	// the second import's first two.
	next, err := st.Cancel(ctx, "c1", mustImportOf(t, st, first[0]))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(second[:2], next); diff != "" {
		t.Errorf("after a cancel (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true, false}, claimed(t, st, second...)); diff != "" {
		t.Errorf("second import claimed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true, false}, claimed(t, st, other...)); diff != "" {
		t.Errorf("the other client's jobs changed (-want +got):\n%s", diff)
	}
	// A wider window (a new setting) is caught up by the sweep, for c1 and c2 alike.
	swept, err := st.WithWindow(3).Sweep(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uuid.UUID{second[2], other[2]}, swept, cmpopts.SortSlices(func(a, b uuid.UUID) bool { return a.String() < b.String() })); diff != "" {
		t.Errorf("swept (-want +got):\n%s", diff)
	}
	if again, err := st.WithWindow(3).Sweep(ctx, 0, 100); err != nil || len(again) != 0 {
		t.Errorf("a second sweep claimed %v (%v)", again, err)
	}
}

func mustImportOf(t *testing.T, st *store.Store, job uuid.UUID) uuid.UUID {
	t.Helper()
	j, err := st.GetJob(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	return j.ImportID
}

// TestClientWindowUnderConcurrentEnds: a client's jobs ending at once, in concurrent
// transactions, claim exactly as many next jobs as ended: the window stays full, never over.
func TestClientWindowUnderConcurrentEnds(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	const window = 4
	st := store.New(pool).WithWindow(window)
	jobs, pub := createIn(t, st, "c1", 20)
	if len(pub) != window {
		t.Fatalf("claimed %d, want %d", len(pub), window)
	}
	inWindow := func() int {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM jobs WHERE client_id = 'c1'
			AND state IN ('PENDING', 'RUNNING') AND published_at IS NOT NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for round := 0; round < 4; round++ {
		var running []uuid.UUID
		for _, id := range jobs {
			if j, _ := st.GetJob(context.Background(), id); j.State == store.StatePending && !j.PublishedAt.IsZero() {
				running = append(running, id)
			}
		}
		var wg sync.WaitGroup
		for _, id := range running {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run(t, st, id, store.StateDone)
			}()
		}
		wg.Wait()
		if n := inWindow(); n != window {
			t.Fatalf("round %d: %d jobs in the window after %d ended at once, want %d", round, n, len(running), window)
		}
	}
}
