package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/posimport/internal/bench"
)

// TestBenchQuick runs every scenario of posimport bench at its quick sizes, once, and checks
// that the report has each scenario's rows and that their figures agree with each other and
// with the raw numbers. The targets are not asserted: the quick sizes are not theirs.
func TestBenchQuick(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	err := Execute(ctx, []string{"bench", "--scenario", "all", "--quick", "--output", "json", "--database-url", pgtest.ServerURL(t)}, &out, &errOut)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	rows := map[string][]bench.Row{}
	for _, r := range rep.Rows {
		rows[r.Scenario] = append(rows[r.Scenario], r)
	}
	if rep.Machine.CPUs < 1 || rep.Machine.LoadBefore == "" || !strings.Contains(rep.Machine.Postgres, "fsync") {
		t.Errorf("machine = %+v, want CPUs, load and PostgreSQL settings", rep.Machine)
	}
	for _, r := range rep.Rows {
		if r.Floor > 0 && math.Abs(r.Ratio-r.Measured/r.Floor) > 1e-9 {
			t.Errorf("%s %q: ratio %v, want measured ÷ floor = %v", r.Scenario, r.What, r.Ratio, r.Measured/r.Floor)
		}
		if r.Pass != (r.Floor > 0 && r.Ratio <= r.Target) {
			t.Errorf("%s %q: pass %v with ratio %v and target %v", r.Scenario, r.What, r.Pass, r.Ratio, r.Target)
		}
	}
	tests := []struct {
		scenario string
		rows     int
		check    func(t *testing.T, rows []bench.Row)
	}{
		{bench.P1, 2, func(t *testing.T, rows []bench.Row) {
			wall, share := rows[0], rows[1]
			raw := wall.Raw
			bound := (float64(raw.Requests) - raw.Bucket) / raw.Drip
			if raw.Requests == 0 || raw.Sales == 0 || raw.Jobs == 0 || math.Abs(wall.Floor-bound) > 1e-6 {
				t.Errorf("bound %v, want (requests − bucket) / drip = %v; raw %+v", wall.Floor, bound, raw)
			}
			if wall.Measured != raw.WallSeconds || wall.Measured <= 0 {
				t.Errorf("measured %v, want the wall time %v", wall.Measured, raw.WallSeconds)
			}
			if share.Measured != float64(raw.RateLimited) || share.Floor != float64(raw.Requests) {
				t.Errorf("429 share %v of %v, want %d of %d", share.Measured, share.Floor, raw.RateLimited, raw.Requests)
			}
		}},
		{bench.P2, 1, func(t *testing.T, rows []bench.Row) {
			r := rows[0]
			// Every page holds at most 100 sales, and every range was fetched.
			if r.Measured != float64(r.Raw.Requests) || r.Floor < math.Ceil(float64(r.Raw.Sales)/100) || r.Ratio < 1 {
				t.Errorf("requests %v ÷ pages %v (sales %d): not consistent", r.Measured, r.Floor, r.Raw.Sales)
			}
		}},
		{bench.P3, 1, func(t *testing.T, rows []bench.Row) {
			r := rows[0]
			if len(r.Raw.FetchSeconds) != 2 || r.Raw.Sales == 0 || r.Raw.Days == 0 {
				t.Fatalf("raw %+v: want two fetch-only runs, sales and days", r.Raw)
			}
			if mean := (r.Raw.FetchSeconds[0] + r.Raw.FetchSeconds[1]) / 2; math.Abs(r.Floor-mean) > 1e-3 {
				t.Errorf("floor %v, want the fetch-only mean %v", r.Floor, mean)
			}
			checkCPU(t, r.Raw)
		}},
		// P5a, and P5b's commits per job (PostgreSQL's CPU needs a private cluster).
		{bench.P5, 2, func(t *testing.T, rows []bench.Row) {
			if c := rows[1]; c.Raw.Jobs != 50 || c.Measured < 1 || c.Floor != 3 || c.Unit != "commits" {
				t.Errorf("P5b commits row %+v, want at least a commit a job of 50, against 3", c)
			}
			r := rows[0]
			// 5 clients × 5 departments × 2 registers, one job of two days each.
			if r.Raw.Jobs != 50 || r.Raw.Days != 100 {
				t.Errorf("jobs %d, register-days %d; want 50 and 100", r.Raw.Jobs, r.Raw.Days)
			}
			if len(r.Raw.FetchSeconds) != 2 || r.Floor < (r.Raw.FetchSeconds[0]+r.Raw.FetchSeconds[1])/2-1e-3 || r.Floor < r.Raw.RateFloorSeconds {
				t.Errorf("bound %v below its parts %+v", r.Floor, r.Raw)
			}
			checkCPU(t, r.Raw)
		}},
		{bench.P6, 2, func(t *testing.T, rows []bench.Row) {
			for _, r := range rows {
				if r.Measured <= 0 || r.Raw.PeakMB != r.Measured || r.Raw.CurrentMB > r.Raw.PeakMB {
					t.Errorf("%q: measured %v, raw %+v: want the peak, not below the current RSS", r.What, r.Measured, r.Raw)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			got := rows[tc.scenario]
			if len(got) != tc.rows {
				t.Fatalf("%d rows, want %d: %+v", len(got), tc.rows, got)
			}
			tc.check(t, got)
		})
	}
}

// checkCPU checks a run's CPU figures against each other: the processes' shares fit in the
// machine's time, and the ratio and the time per job follow from the totals.
func checkCPU(t *testing.T, raw bench.Raw) {
	t.Helper()
	c := raw.CPU
	if c == nil {
		t.Fatalf("raw %+v: no CPU figures", raw)
	}
	// Readings are in 10 ms ticks per core, which a quick run's fractions of a second feel.
	if c.Fetch <= 0 || c.Worker <= 0 || c.Bench <= 0 || c.FetchBusy <= 0 || c.FetchBusy > 1.5 {
		t.Errorf("CPU %+v: want fetch-only, worker and bench process time, and a busy share of about 1 at most", *c)
	}
	if c.Worker+c.Bench > c.Run+0.1 {
		t.Errorf("CPU %+v: the processes took more than the machine", *c)
	}
	if math.Abs(c.Ratio-c.Run/c.Fetch) > 0.01 || math.Abs(c.PerJobMs-(c.Run-c.Fetch)*1000/float64(raw.Jobs)) > 0.01 {
		t.Errorf("CPU %+v over %d jobs: ratio or time a job does not follow from the totals", *c, raw.Jobs)
	}
}
