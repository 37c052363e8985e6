// Package bench runs posimport's performance scenarios (issue 9) against the Lightspeed
// simulator and reports each measured figure beside its floor, measured in the same run:
//
//   - P1 rate-limited backfill: 8 worker slots on one account with the simulator's real bucket
//     settings (unscaled by default); wall time ÷ ((requests − bucket) / drip), and the share of
//     requests that met a 429.
//   - P2 request economy: requests made ÷ Σ ceil(sales/100) over the jobs' register-ranges, on
//     P1's run.
//   - P3 engine overhead, rate limit off: the end-to-end backfill ÷ the fetch-only time of the
//     same register-ranges with the same concurrency (fetched right before and after it).
//   - P5 nightly run: the scheduler's run over many clients with the limits time-scaled; wall
//     time ÷ its bound, the larger of the slowest account's rate-limit floor and the fetch-only
//     time of the same register-ranges with the same concurrency.
//   - P6 memory: the peak RSS of the import-worker process during P3, and of an idle
//     `posimport up` process.
//
// Everything runs on this machine: the simulator, config, auth, balance and the ImportService
// API in this process (allinone, worker off) with JetStream embedded and listening on loopback,
// the import-worker as a separate OS process, and PostgreSQL from a URL (a fresh database per
// scenario) or a private cluster. Because they share the cores, P3 and P5 also report CPU time
// beside wall time.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/posimport/posimport/pkg/platform/logging"
)

// The scenarios.
const (
	P1 = "P1"
	P2 = "P2"
	P3 = "P3"
	P5 = "P5"
	P6 = "P6"
)

// All are the scenarios in the order they run.
var All = []string{P1, P2, P3, P5, P6}

// Command is how to run a program as a separate process.
type Command struct {
	Path string
	Args []string
	// Env is added to the process environment.
	Env []string
}

// Options configure a run.
type Options struct {
	// Scenarios to run (P1, P2, P3, P5, P6); P2 shares P1's run and P6 needs P3's.
	Scenarios []string
	// Scale runs the rate limits this many times faster (P1 and P5); 0 takes the default.
	Scale float64
	// Quick shrinks every scenario to a few seconds, for smoke tests.
	Quick bool
	// Clients is P5's number of clients; 0 takes the default (1,000; 5 when Quick).
	Clients int
	// POSLatency delays every answer of the simulated Lightspeed API, as a remote one's round
	// trip would; 0 answers at once.
	POSLatency time.Duration
	// DatabaseURL is a PostgreSQL server to create the scenarios' databases on; empty starts a
	// private cluster under Dir.
	DatabaseURL string
	// PGStatements reports the statements that cost P5's run the most PostgreSQL time, from
	// pg_stat_statements (loaded into the private cluster; DatabaseURL's server must preload it).
	PGStatements bool
	// Dir holds the run's files (the private cluster, data directories, logs); empty makes
	// and removes a temporary one.
	Dir string
	// Posimport runs the posimport binary (P6's idle `posimport up`).
	Posimport Command
	// Worker runs an import-worker process (configured through its environment).
	Worker Command
	// Logger receives the in-process services' logs; nil writes them to Dir/services.log.
	Logger *slog.Logger
	// Progress receives a line per step; nil discards them.
	Progress io.Writer
}

// Row is one measured figure beside its floor.
type Row struct {
	Scenario string `json:"scenario"`
	// What is measured, in words.
	What     string  `json:"what"`
	Measured float64 `json:"measured"`
	Floor    float64 `json:"floor"`
	Unit     string  `json:"unit"`
	// Ratio is Measured ÷ Floor; the target bounds it.
	Ratio  float64 `json:"ratio"`
	Target float64 `json:"target"`
	Pass   bool    `json:"pass"`
	// Raw are the numbers the figures come from.
	Raw Raw `json:"raw"`
}

// Raw are a scenario's raw numbers; zero values were not measured.
type Raw struct {
	Requests    int64   `json:"requests,omitempty"`
	RateLimited int64   `json:"rate_limited,omitempty"`
	Sales       int64   `json:"sales,omitempty"`
	Jobs        int     `json:"jobs,omitempty"`
	Days        int64   `json:"register_days,omitempty"`
	WallSeconds float64 `json:"wall_seconds,omitempty"`
	// FetchSeconds are the fetch-only runs (before and after the end-to-end run).
	FetchSeconds []float64 `json:"fetch_seconds,omitempty"`
	// RateFloorSeconds is the rate-limit floor where it is not the row's floor.
	RateFloorSeconds float64 `json:"rate_floor_seconds,omitempty"`
	Bucket           float64 `json:"bucket,omitempty"`
	Drip             float64 `json:"drip_per_second,omitempty"`
	Slots            int     `json:"slots,omitempty"`
	Scale            float64 `json:"time_scale,omitempty"`
	// RSS figures in MB (10⁶ bytes): peak (VmHWM) and current (VmRSS).
	PeakMB    float64 `json:"peak_rss_mb,omitempty"`
	CurrentMB float64 `json:"rss_mb,omitempty"`
	// CPU is the CPU time of an end-to-end run beside its fetch-only runs'.
	CPU  *CPUUse `json:"cpu,omitempty"`
	Note string  `json:"note,omitempty"`
}

// Report is a run's result.
type Report struct {
	Command  string    `json:"command"`
	Machine  Machine   `json:"machine"`
	Start    time.Time `json:"start"`
	Duration float64   `json:"duration_seconds"`
	Quick    bool      `json:"quick"`
	// POSLatency is the simulated Lightspeed API's answer delay ("0s": none).
	POSLatency string `json:"pos_latency"`
	// SalesPerDay is the simulated sales per register and day.
	SalesPerDay int   `json:"sales_per_day"`
	Rows        []Row `json:"rows"`
}

// Passed reports whether every row met its target.
func (r *Report) Passed() bool {
	for _, row := range r.Rows {
		if !row.Pass {
			return false
		}
	}
	return true
}

// Machine describes where the run happened.
type Machine struct {
	CPUs     int     `json:"cpus"`
	CPU      string  `json:"cpu"`
	MemGiB   float64 `json:"mem_gib"`
	Go       string  `json:"go"`
	OS       string  `json:"os"`
	Postgres string  `json:"postgres"`
	// LoadBefore and LoadAfter are the 1, 5 and 15-minute load averages.
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
}

// Run runs the scenarios and returns the report; an error means a scenario could not run (a
// missed target is a row that did not pass).
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	rep := &Report{Start: time.Now(), Quick: o.Quick, POSLatency: o.POSLatency.String(), SalesPerDay: salesPerDay, Machine: Machine{
		CPUs: runtime.NumCPU(), CPU: cpuModel(), MemGiB: memGiB(), Go: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, LoadBefore: loadAvg(),
	}}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "posimport-bench-*")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(d) }()
		dir = d
	}
	if os.Geteuid() == 0 {
		// As root the private cluster runs as the postgres user, which must reach its
		// directory below this one.
		if err := os.Chmod(dir, 0o711); err != nil {
			return nil, err
		}
	}
	if o.Logger == nil {
		// The services' logs go to a file of the run: they would drown the progress lines.
		f, err := os.Create(filepath.Join(dir, "services.log"))
		if err != nil {
			return nil, err
		}
		defer func() { _ = f.Close() }()
		o.Logger = logging.JSON(f, slog.LevelInfo, "posimport")
	}
	b := &bench{o: o, dir: dir}
	if err := b.startPostgres(ctx); err != nil {
		return nil, err
	}
	defer b.stopPostgres(context.WithoutCancel(ctx))
	rep.Machine.Postgres = b.pgInfo
	want := func(s string) bool { return slices.Contains(o.Scenarios, s) }
	steps := []struct {
		run  bool
		name string
		fn   func(context.Context) ([]Row, error)
	}{
		{want(P1) || want(P2), "P1+P2", b.rateLimited},
		{want(P3) || want(P6), "P3", b.engineOverhead},
		{want(P5), "P5", b.nightly},
		{want(P6), "P6", b.idleUp},
	}
	for _, s := range steps {
		if !s.run {
			continue
		}
		rows, err := s.fn(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		for _, r := range rows {
			if want(r.Scenario) {
				rep.Rows = append(rep.Rows, r)
			}
		}
	}
	rep.Duration = time.Since(rep.Start).Seconds()
	rep.Machine.LoadAfter = loadAvg()
	return rep, nil
}

func (o *Options) check() error {
	if len(o.Scenarios) == 0 {
		return fmt.Errorf("no scenario")
	}
	for _, s := range o.Scenarios {
		if !slices.Contains(All, s) {
			return fmt.Errorf("unknown scenario %q (P1, P2, P3, P5, P6)", s)
		}
	}
	if o.Clients < 0 {
		return fmt.Errorf("clients %d: must be positive", o.Clients)
	}
	if o.Scale < 0 {
		return fmt.Errorf("scale %v: must be positive", o.Scale)
	}
	if o.Worker.Path == "" {
		return fmt.Errorf("no import-worker command")
	}
	if (slices.Contains(o.Scenarios, P6)) && o.Posimport.Path == "" {
		return fmt.Errorf("P6 needs the posimport command")
	}
	return nil
}

// bench is one run.
type bench struct {
	o       Options
	dir     string
	pg      pgServer
	pgInfo  string
	counter int
}

func (b *bench) say(format string, args ...any) {
	fmt.Fprintf(b.o.Progress, "bench: "+format+"\n", args...)
}

// scenarioDir makes a fresh directory for a scenario's files.
func (b *bench) scenarioDir(name string) (string, error) {
	b.counter++
	d := filepath.Join(b.dir, fmt.Sprintf("%02d-%s", b.counter, strings.ToLower(name)))
	return d, os.MkdirAll(d, 0o700)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func ratioRow(scenario, what, unit string, measured, floor, target float64, raw Raw) Row {
	r := Row{Scenario: scenario, What: what, Unit: unit, Measured: measured, Floor: floor, Target: target, Raw: raw}
	if floor > 0 {
		r.Ratio = measured / floor
	}
	r.Pass = floor > 0 && r.Ratio <= target
	return r
}
