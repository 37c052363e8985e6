package schedule_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/import-worker/internal/schedule"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var cph, _ = time.LoadLocation("Europe/Copenhagen")

func TestDue(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name     string
		now      string
		wantOK   bool
		wantDate string
		wantDue  string
	}{
		{name: "before 02:00 local", now: "2026-06-01T23:59:00Z", wantOK: false}, // 01:59 CEST
		{name: "at 02:00 local in summer", now: "2026-06-02T00:00:00Z", wantOK: true, wantDate: "2026-06-02", wantDue: "2026-06-02T00:00:00Z"},
		{name: "at 02:00 local in winter", now: "2026-01-10T01:00:00Z", wantOK: true, wantDate: "2026-01-10", wantDue: "2026-01-10T01:00:00Z"},
		{name: "spring day has no 02:00: due at 03:00 CEST", now: "2026-03-29T01:00:00Z", wantOK: true, wantDate: "2026-03-29", wantDue: "2026-03-29T01:00:00Z"},
		{name: "spring day just before the jump", now: "2026-03-29T00:59:00Z", wantOK: false},
		{name: "autumn day: the first 02:00", now: "2026-10-25T00:00:00Z", wantOK: true, wantDate: "2026-10-25", wantDue: "2026-10-25T00:00:00Z"},
		{name: "autumn day: the second 02:00 is the same run", now: "2026-10-25T01:00:00Z", wantOK: true, wantDate: "2026-10-25", wantDue: "2026-10-25T00:00:00Z"},
		{name: "catching up in the evening", now: "2026-06-02T20:00:00Z", wantOK: true, wantDate: "2026-06-02", wantDue: "2026-06-02T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			date, due, ok, err := schedule.Due(utc(tc.now), cph, "02:00")
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantOK {
				t.Fatalf("due = %v, want %v", ok, tc.wantOK)
			}
			if ok && (date.String() != tc.wantDate || !due.Equal(utc(tc.wantDue))) {
				t.Errorf("run %s due %v, want %s due %s", date, due.UTC(), tc.wantDate, tc.wantDue)
			}
		})
	}
}

type directory []schedule.ClientStatus

func (d directory) Clients(context.Context) ([]schedule.ClientStatus, error) { return d, nil }

// launcher stores a scheduled import of jobsEach jobs (default 1) per launch, with the
// scheduler's record in the same transaction, as the real starter does, and records the
// order in which the run publishes jobs.
type launcher struct {
	st       *store.Store
	jobsEach int
	mu       *sync.Mutex
	client   map[uuid.UUID]string // job → client
	order    *[]uuid.UUID         // published
}

func newLauncher(st *store.Store, jobsEach int) launcher {
	return launcher{st: st, jobsEach: jobsEach, mu: &sync.Mutex{}, client: map[uuid.UUID]string{}, order: &[]uuid.UUID{}}
}

func (l launcher) Launch(ctx context.Context, client string, now, scheduledFor time.Time, runDate civil.Date) (uuid.UUID, []uuid.UUID, error) {
	id := uuid.New()
	d := civil.DateOf(now.In(cph)).AddDays(-1)
	ni := store.NewImport{Import: store.Import{ID: id, ClientID: client, DepartmentIDs: []string{"d1"}, From: d, Until: d,
		Trigger: 2, CreatedBy: "scheduler", ScheduledFor: scheduledFor}, RunDate: runDate}
	var jobs []uuid.UUID
	for range max(l.jobsEach, 1) {
		j := uuid.New()
		jobs = append(jobs, j)
		ni.Jobs = append(ni.Jobs, store.NewJob{ID: j, DepartmentID: "d1", LocationID: "1", TimeZone: "Europe/Copenhagen", From: d, Until: d})
	}
	created, err := l.st.CreateImport(ctx, ni)
	if err != nil {
		return uuid.Nil, nil, err
	}
	if diff := cmp.Diff(jobs, created.Publish); diff != "" {
		return uuid.Nil, nil, fmt.Errorf("jobs claimed for publication without a window (-all +claimed):\n%s", diff)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, j := range jobs {
		l.client[j] = client
	}
	return id, jobs, nil
}

func (l launcher) Publish(_ context.Context, jobs []uuid.UUID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.order = append(*l.order, jobs...)
}

// publishedClients returns the client of each published job, in publication order.
func (l launcher) publishedClients() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, j := range *l.order {
		out = append(out, l.client[j])
	}
	return out
}

type reporter struct{ n atomic.Int64 }

func (r *reporter) NeedsReauth() { r.n.Add(1) }

// TestOneRunPerDayAcrossReplicasOverAYear ticks two replicas concurrently through 2026 on an
// injected clock (every 10 minutes around the night, every 2 hours otherwise) and checks one
// run per local date, due at 02:00 Copenhagen time (03:00 on the spring DST day, the first
// 02:00 on the autumn one), one scheduled import per enabled client and day, and the client
// needing consent reported each day rather than started.
func TestOneRunPerDayAcrossReplicasOverAYear(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	rep := &reporter{}
	dir := directory{{ClientID: "c1", Enabled: true}, {ClientID: "c2", NeedsReauth: true}, {ClientID: "c3", Status: "CONNECTED"}}
	replicas := make([]*schedule.Scheduler, 2)
	for i := range replicas {
		replicas[i] = &schedule.Scheduler{Store: st, Directory: dir, Launcher: newLauncher(st, 1), Reporter: rep, Logger: logging.Discard(),
			Zone: cph, At: "02:00", Owner: []string{"a", "b"}[i], ClaimTTL: time.Minute}
	}
	ctx := context.Background()
	var ran atomic.Int64
	end := time.Date(2027, 1, 1, 0, 0, 0, 0, cph)
	for now := time.Date(2026, 1, 1, 0, 0, 0, 0, cph); now.Before(end); {
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := r.Tick(ctx, now)
				if err != nil {
					t.Error(err)
				}
				if ok {
					ran.Add(1)
				}
			}()
		}
		wg.Wait()
		if h := now.In(cph).Hour(); h < 4 {
			now = now.Add(10 * time.Minute)
		} else {
			now = now.Add(2 * time.Hour)
		}
	}
	runs, err := st.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 365 || ran.Load() != 365 {
		t.Fatalf("%d runs recorded, %d ticks ran one; want 365", len(runs), ran.Load())
	}
	for i, r := range runs {
		d := civil.Date{Year: 2026, Month: 1, Day: 1}.AddDays(i)
		if got := r.Date; got != d {
			t.Fatalf("run %d is for %s, want %s", i, got, d)
		}
		want := time.Date(d.Year, d.Month, d.Day, 2, 0, 0, 0, cph)
		if d == (civil.Date{Year: 2026, Month: 3, Day: 29}) {
			want = time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC) // 03:00 CEST: 02:00 does not exist
		}
		if d == (civil.Date{Year: 2026, Month: 10, Day: 25}) {
			want = time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC) // the first 02:00 (CEST)
		}
		if !r.ScheduledFor.Equal(want) || r.DoneTime.IsZero() {
			t.Errorf("run %s due %v (done %v), want due %v", d, r.ScheduledFor.UTC(), !r.DoneTime.IsZero(), want.UTC())
		}
	}
	var perDay []int64
	rows, err := pool.Query(ctx, `SELECT count(*) FROM imports WHERE client_id = 'c1' AND trigger = 2
		GROUP BY (scheduled_for AT TIME ZONE 'Europe/Copenhagen')::date HAVING count(*) <> 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int64
		_ = rows.Scan(&n)
		perDay = append(perDay, n)
	}
	if len(perDay) > 0 {
		t.Errorf("days with other than one import: %v", perDay)
	}
	var total, other int
	if err := pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE client_id = 'c1'), count(*) FILTER (WHERE client_id <> 'c1') FROM imports").Scan(&total, &other); err != nil {
		t.Fatal(err)
	}
	if total != 365 || other != 0 {
		t.Errorf("imports: c1 %d, others %d; want 365 and 0", total, other)
	}
	if rep.n.Load() != 365 {
		t.Errorf("needs-reauth reported %d times, want 365", rep.n.Load())
	}
	outcomes, err := st.RunClients(ctx, civil.Date{Year: 2026, Month: 3, Day: 29})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outcomes {
		got = append(got, o.ClientID+":"+o.Outcome)
	}
	if diff := cmp.Diff([]string{"c1:STARTED", "c2:NEEDS_REAUTH", "c3:NOT_ENABLED"}, got); diff != "" {
		t.Errorf("spring day outcomes (-want +got):\n%s", diff)
	}
}

// TestLapsedClaimIsTakenOverWithoutRestartingClients: a replica died after starting c1; once
// its claim lapsed another replica finishes the run and starts only c2.
func TestLapsedClaimIsTakenOverWithoutRestartingClients(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	ctx := context.Background()
	now := time.Date(2026, 6, 2, 2, 30, 0, 0, cph)
	if _, err := pool.Exec(ctx, `INSERT INTO schedule_runs (run_date, scheduled_for, claimed_by, claim_until)
		VALUES ('2026-06-02', $1, 'dead', now() - interval '1 second')`, now); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO schedule_run_clients (run_date, client_id, outcome) VALUES ('2026-06-02', 'c1', 'STARTED')`); err != nil {
		t.Fatal(err)
	}
	l := newLauncher(st, 1)
	s := &schedule.Scheduler{Store: st, Directory: directory{{ClientID: "c1", Enabled: true}, {ClientID: "c2", Enabled: true}},
		Launcher: l, Reporter: &reporter{}, Logger: logging.Discard(), Zone: cph, At: "02:00", Owner: "b", ClaimTTL: time.Minute}
	ok, err := s.Tick(ctx, now)
	if err != nil || !ok {
		t.Fatalf("tick = %v, %v; want the lapsed run taken over", ok, err)
	}
	var clients []string
	rows, _ := pool.Query(ctx, "SELECT client_id FROM imports ORDER BY client_id")
	for rows.Next() {
		var c string
		_ = rows.Scan(&c)
		clients = append(clients, c)
	}
	if diff := cmp.Diff([]string{"c2"}, clients); diff != "" {
		t.Errorf("imports started (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"c2"}, l.publishedClients()); diff != "" {
		t.Errorf("jobs published for (-want +got):\n%s", diff)
	}
	if ok, _ := s.Tick(ctx, now.Add(time.Hour)); ok {
		t.Error("a finished run ran again")
	}
}

// TestRunPublishesClientsInterleaved: a run over more clients than one wave publishes every
// stored job once, and within a wave the clients' jobs are dealt round-robin, so workers
// taking consecutive messages meet different clients instead of one client's jobs in a row.
func TestRunPublishesClientsInterleaved(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	const clients, jobsEach = 70, 3 // 70 > one wave of 64
	var dir directory
	for i := range clients {
		dir = append(dir, schedule.ClientStatus{ClientID: fmt.Sprintf("c%02d", i), Enabled: true})
	}
	l := newLauncher(st, jobsEach)
	s := &schedule.Scheduler{Store: st, Directory: dir, Launcher: l, Reporter: &reporter{}, Logger: logging.Discard(),
		Zone: cph, At: "02:00", Owner: "a", ClaimTTL: time.Minute}
	if ok, err := s.Tick(context.Background(), time.Date(2026, 6, 2, 2, 0, 0, 0, cph)); err != nil || !ok {
		t.Fatalf("tick = %v, %v", ok, err)
	}
	got := l.publishedClients()
	var stored int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM jobs").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(got) != clients*jobsEach || stored != clients*jobsEach {
		t.Fatalf("%d jobs published, %d stored; want %d each", len(got), stored, clients*jobsEach)
	}
	seen := map[uuid.UUID]bool{}
	for _, j := range *l.order {
		if seen[j] {
			t.Fatalf("job %s published twice", j)
		}
		seen[j] = true
	}
	// The first wave's 64 clients: three rounds of 64 different clients each.
	for round := range jobsEach {
		part := got[round*64 : (round+1)*64]
		distinct := map[string]bool{}
		for _, c := range part {
			distinct[c] = true
		}
		if len(distinct) != 64 {
			t.Errorf("round %d of the first wave has %d distinct clients in 64 jobs: %v", round, len(distinct), part)
		}
	}
	// The second wave (6 clients) follows the first and is dealt the same way.
	rest := got[64*jobsEach:]
	for i := 6; i < len(rest); i++ {
		if rest[i] != rest[i-6] {
			t.Fatalf("second wave not dealt round-robin: %v", rest)
		}
	}
}

func TestInterleave(t *testing.T) {
	t.Parallel()
	got := schedule.Interleave([][]int{{1, 2, 3}, nil, {4}, {5, 6}})
	if diff := cmp.Diff([]int{1, 4, 5, 2, 6, 3}, got); diff != "" {
		t.Errorf("Interleave (-want +got):\n%s", diff)
	}
}
