package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/natstest"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/import-worker/internal/completion"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/metrics"
	"github.com/posimport/posimport/services/import-worker/internal/reconcile"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestPassRepublishesOnlyLostJobs sets up jobs in every situation the reconciler meets and
// checks which ones end with a message in the stream, and under which Nats-Msg-Id.
func TestPassRepublishesOnlyLostJobs(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	nc := natstest.Conn(t)
	q := jobqueue.New(nc.JS, jobqueue.Config{Prefix: natstest.Prefix(t)})
	ctx := context.Background()
	if _, err := q.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.JS.DeleteStream(context.Background(), q.Stream()) })

	// Each case: how the job looks in Postgres, whether its message is in the stream, and
	// whether a pass must leave one there.
	cases := []struct {
		name        string
		update      string
		inStream    bool
		wantPresent bool
		wantCount   int32
	}{
		{name: "never published (outbox)", update: "UPDATE jobs SET create_time = now() - interval '1 minute', published_at = NULL WHERE job_id = $1",
			wantPresent: true},
		{name: "pending, message lost", update: "UPDATE jobs SET published_at = now() - interval '10 minutes' WHERE job_id = $1",
			wantPresent: true, wantCount: 1},
		{name: "pending, message waiting", update: "UPDATE jobs SET published_at = now() - interval '10 minutes' WHERE job_id = $1",
			inStream: true, wantPresent: true},
		{name: "running, lease expired, message lost",
			update:      "UPDATE jobs SET state = 'RUNNING', attempt = 1, published_at = now() - interval '10 minutes', lease_until = now() - interval '10 minutes' WHERE job_id = $1",
			wantPresent: true, wantCount: 1},
		{name: "running, lease live",
			update: "UPDATE jobs SET state = 'RUNNING', attempt = 1, published_at = now() - interval '10 minutes', lease_until = now() + interval '1 minute' WHERE job_id = $1"},
		{name: "done", update: "UPDATE jobs SET state = 'DONE', published_at = now() - interval '10 minutes' WHERE job_id = $1"},
		{name: "published just now", update: "UPDATE jobs SET published_at = now() WHERE job_id = $1"},
	}
	d := civil.Date{Year: 2026, Month: 5, Day: 1}
	ids := make([]uuid.UUID, len(cases))
	for i, c := range cases {
		imp, job := uuid.New(), uuid.New()
		ids[i] = job
		if _, err := st.CreateImport(ctx, store.NewImport{
			Import: store.Import{ID: imp, ClientID: "c1", DepartmentIDs: []string{"d1"}, From: d, Until: d, Trigger: 1, CreatedBy: "t"},
			Jobs: []store.NewJob{{ID: job, DepartmentID: "d1", LocationID: "1", TimeZone: "UTC", From: d, Until: d},
				{ID: uuid.New(), DepartmentID: "d1", RegisterID: "x", LocationID: "1", TimeZone: "UTC", From: d, Until: d}}, // a failed sibling: the department is never marked
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, "UPDATE jobs SET published_at = now(), state = 'FAILED' WHERE import_id = $1 AND job_id <> $2", imp, job); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, c.update, job); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.inStream {
			if err := q.Publish(ctx, job, job.String()); err != nil {
				t.Fatal(err)
			}
		}
	}
	m := metrics.New(nil)
	r := &reconcile.Reconciler{Store: st, Queue: q, Completer: &completion.Completer{Store: st, Metrics: m}, Metrics: m, Logger: logging.Discard(),
		Interval: time.Second, Grace: time.Minute}
	for pass := range 2 { // a second pass changes nothing more
		if err := r.Pass(ctx); err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
	}
	present, err := q.Present(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if present[ids[i]] != c.wantPresent {
			t.Errorf("%s: message present = %v, want %v", c.name, present[ids[i]], c.wantPresent)
		}
		j, err := st.GetJob(ctx, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if j.RepublishCount != c.wantCount {
			t.Errorf("%s: republished %d times, want %d", c.name, j.RepublishCount, c.wantCount)
		}
		if j.PublishedAt.IsZero() {
			t.Errorf("%s: not marked published", c.name)
		}
	}
	s, _ := nc.JS.Stream(ctx, q.Stream())
	info, _ := s.Info(ctx)
	if want := uint64(4); info.State.Msgs != want {
		t.Errorf("stream holds %d messages, want %d (one per job needing one)", info.State.Msgs, want)
	}
}
