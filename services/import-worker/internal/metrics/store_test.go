package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/import-worker/internal/metrics"
	"github.com/posimport/posimport/services/import-worker/internal/store"
	"github.com/posimport/posimport/services/import-worker/internal/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	lastRun = "posimport_import_schedule_last_run_timestamp_seconds"
	oldest  = "posimport_import_oldest_pending_job_age_seconds"
)

// gather scrapes reg and returns each gauge's value, without labels.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[mf.GetName()] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestStoreGauges: the latest nightly run and the oldest open job are read from Postgres at
// each scrape; the latest run is absent before the first, the age is 0 when every job ended.
func TestStoreGauges(t *testing.T) {
	t.Parallel()
	runs := []time.Time{
		time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC), // 02:00 CEST
		time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), // 02:00 CET, the day clocks go back
	}
	for _, tc := range []struct {
		name string
		// runs are the nightly runs' scheduled starts; jobs the states and ages of one
		// import's jobs.
		runs []time.Time
		jobs map[string]time.Duration
		want map[string]float64
		// tolerance of the age: the scrape follows the setup by a moment.
		slack float64
	}{
		{name: "nothing yet", want: map[string]float64{oldest: 0}},
		{name: "every job ended", runs: runs[:1],
			jobs: map[string]time.Duration{store.StateDone: time.Hour, store.StateFailed: time.Hour, store.StateCancelled: 2 * time.Hour},
			want: map[string]float64{lastRun: float64(runs[0].Unix()), oldest: 0}},
		{name: "open jobs", runs: runs,
			jobs: map[string]time.Duration{store.StatePending: 10 * time.Minute, store.StateRunning: 25 * time.Minute, store.StateDone: 3 * time.Hour},
			want: map[string]float64{lastRun: float64(runs[1].Unix()), oldest: 25 * 60}, slack: 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := storetest.Pool(t)
			ctx := context.Background()
			for _, r := range tc.runs {
				if _, err := pool.Exec(ctx, `INSERT INTO schedule_runs (run_date, scheduled_for, claimed_by, claim_until)
					VALUES ($1::timestamptz::date, $1, 'a', $1)`, r); err != nil {
					t.Fatal(err)
				}
			}
			if len(tc.jobs) > 0 {
				d := civil.Date{Year: 2026, Month: 10, Day: 1}
				ni := store.NewImport{Import: store.Import{ID: uuid.New(), ClientID: "c1", DepartmentIDs: []string{"d1"},
					From: d, Until: d, Trigger: 1, CreatedBy: "t"}}
				for range tc.jobs {
					ni.Jobs = append(ni.Jobs, store.NewJob{ID: uuid.New(), DepartmentID: "d1", LocationID: "1", TimeZone: "UTC", From: d, Until: d})
				}
				if _, err := store.New(pool).CreateImport(ctx, ni); err != nil {
					t.Fatal(err)
				}
				i := 0
				for state, age := range tc.jobs {
					if _, err := pool.Exec(ctx, "UPDATE jobs SET state = $1, create_time = now() - make_interval(secs => $2) WHERE job_id = $3",
						state, age.Seconds(), ni.Jobs[i].ID); err != nil {
						t.Fatal(err)
					}
					i++
				}
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(metrics.NewStoreGauges(store.New(pool), logging.Discard()))
			got := gather(t, reg)
			if got[oldest] >= tc.want[oldest] && got[oldest] <= tc.want[oldest]+tc.slack {
				got[oldest] = tc.want[oldest]
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("gauges (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStoreGaugesWithoutDatabase: when Postgres cannot be read, the gauges are left out and
// the scrape of everything else still succeeds.
func TestStoreGaugesWithoutDatabase(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	pool.Close()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.Job("done")
	reg.MustRegister(metrics.NewStoreGauges(store.New(pool), logging.Discard()))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	if diff := cmp.Diff(map[string]bool{"posimport_import_jobs_total": true, lastRun: false, oldest: false},
		map[string]bool{"posimport_import_jobs_total": names["posimport_import_jobs_total"], lastRun: names[lastRun], oldest: names[oldest]}); diff != "" {
		t.Errorf("metrics scraped (-want +got):\n%s", diff)
	}
}

// countingReader answers fixed gauges and counts its reads.
type countingReader struct {
	reads int
	age   time.Duration
}

func (r *countingReader) LatestScheduledRun(context.Context) (time.Time, bool, error) {
	return time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC), true, nil
}

func (r *countingReader) OldestOpenJobAge(context.Context) (time.Duration, error) {
	r.reads++
	return r.age, nil
}

// TestStoreGaugesReadOncePerMaxAge: scrapes within StoreGaugesMaxAge of a read answer its
// values without reading Postgres again; the first scrape after it reads the new values.
func TestStoreGaugesReadOncePerMaxAge(t *testing.T) {
	t.Parallel()
	r := &countingReader{age: time.Minute}
	g := metrics.NewStoreGauges(r, logging.Discard())
	now := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	g.Now = func() time.Time { return now }
	reg := prometheus.NewRegistry()
	reg.MustRegister(g)
	for _, step := range []struct {
		after time.Duration
		age   time.Duration // what Postgres would answer now
		reads int
		want  float64
	}{
		{0, time.Minute, 1, 60},
		{time.Second, 2 * time.Minute, 1, 60},
		{metrics.StoreGaugesMaxAge - time.Second - time.Millisecond, 2 * time.Minute, 1, 60}, // the read is 5 s old less 1 ms
		{time.Millisecond, 2 * time.Minute, 2, 120},
	} {
		now = now.Add(step.after)
		r.age = step.age
		got := gather(t, reg)
		if r.reads != step.reads || got[oldest] != step.want {
			t.Errorf("at %v: %d reads, age %v; want %d reads, age %v", now.Format(time.TimeOnly), r.reads, got[oldest], step.reads, step.want)
		}
	}
}
