package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
	if err := st.CreateImport(context.Background(), ni); err != nil {
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
