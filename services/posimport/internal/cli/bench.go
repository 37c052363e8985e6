package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/posimport/internal/bench"
)

// benchFlags are the flags of "posimport bench".
type benchFlags struct {
	scenario    string
	scale       float64
	quick       bool
	clients     int
	posLatency  time.Duration
	output      string
	strict      bool
	databaseURL string
	statements  bool
	workerBin   string
	keep        bool
	profile     string
}

// errTargetMissed is bench --strict's error when a scenario missed its target.
var errTargetMissed = errors.New("a scenario missed its target")

func newBenchCommand(g *globals) *cobra.Command {
	f := &benchFlags{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure import performance against the Lightspeed simulator and print a table",
		Long: `Run performance scenarios against the Lightspeed simulator, like "nats bench", and print each
measured figure beside its floor, both measured in the same run:

  P1  rate-limited backfill: a year of one account's 5 shops × 3 registers with 8 worker
      slots against the real bucket settings (unscaled unless --scale): wall time ÷ ((requests −
      bucket) / drip), target ≤ 1.05; and the share of requests that met a 429, target ≤ 0.5 %.
  P2  request economy, on P1's run: requests made ÷ Σ ceil(sales/100) over the jobs'
      register-ranges, target ≤ 1.02.
  P3  engine overhead, rate limit off: a year of 20 shops × 3 registers end to end ÷ fetching the
      same register-ranges with the same 8 at once (before and after), target ≤ 1.3.
  P5  nightly run: the scheduler's run for 1,000 clients × 5 shops × 2 registers (--clients),
      two days each, limits time-scaled. P5a (run it with --pos-latency 200ms): wall time ÷
      max(fetch-only time with the same requests in flight, the slowest account's rate floor),
      target ≤ 1.1. P5b (run it without latency): PostgreSQL commits per job, from
      pg_stat_database, target ≤ 3, and PostgreSQL CPU per job (private cluster only), target
      ≤ 2 ms; the import-worker's CPU per job is reported beside them.
  P6  memory: peak RSS of the import-worker process during P3 (≤ 200 MB) and of an idle
      "posimport up" (≤ 100 MB).

P3 and P5 also report CPU time: the machine's busy time during the fetch-only runs and during
the end-to-end run, and the import-worker's and this process's shares of it. When the fetch-only
run keeps every core busy, the wall-time ratio cannot be below the CPU-time ratio.

Everything runs on this machine: the simulator, config, auth, balance and the ImportService
API in this process with JetStream embedded, the import-worker as a separate process (this
binary, or --worker-bin), and PostgreSQL from --database-url (a fresh database per scenario,
dropped after) or a private cluster (the PostgreSQL server packages' initdb and pg_ctl, fsync
off). The machine is measured too: run it when the load average is low. A missed target exits
non-zero only with --strict.`,
		Example: `  posimport bench --scenario all
  posimport bench --scenario P1 --scale 1
  posimport bench --scenario P3 --quick --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd.Context(), g, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.scenario, "scenario", "all", "scenarios: P1, P2, P3, P5, P6, a comma-separated list, or all")
	fl.Float64Var(&f.scale, "scale", 0, "run the simulator's rate limits this many times faster (default: P1 1, P5 10; --quick 50)")
	fl.IntVar(&f.clients, "clients", 0, "P5's number of clients (default 1000, --quick 5)")
	fl.DurationVar(&f.posLatency, "pos-latency", 0, "delay every answer of the simulated Lightspeed API by this much (a remote API's round trip), for fetch-only and end-to-end runs alike")
	fl.BoolVar(&f.quick, "quick", false, "tiny sizes, for a smoke test: the figures are not the targets' ones")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	fl.BoolVar(&f.strict, "strict", false, "exit non-zero when a scenario misses its target")
	fl.StringVar(&f.databaseURL, "database-url", os.Getenv("DATABASE_URL"),
		"PostgreSQL server to create the scenarios' databases on [$DATABASE_URL]; empty runs a private cluster")
	fl.BoolVar(&f.statements, "pg-statements", false, "P5: list the statements that cost the run the most PostgreSQL time (pg_stat_statements; preloaded by the private cluster, a --database-url server must preload it)")
	fl.StringVar(&f.workerBin, "worker-bin", "", "import-worker binary to run as the worker process (default: this binary)")
	fl.BoolVar(&f.keep, "keep", false, "keep the run's directory (logs, data directories)")
	fl.StringVar(&f.profile, "profile", "", "write CPU profiles of this process and of the worker processes into this directory")
	cmd.AddCommand(newBenchWorkerCommand())
	return cmd
}

// newBenchWorkerCommand is the import-worker process bench starts when no --worker-bin is
// given: the import-worker service configured from the environment.
func newBenchWorkerCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "worker",
		Short:  "Run the import-worker service from the environment (bench's worker process)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			stop, err := startProfile(os.Getenv(profileEnv))
			if err != nil {
				return err
			}
			defer stop()
			return importservice.RunProcess()
		},
	}
}

func runBench(ctx context.Context, g *globals, f *benchFlags) error {
	if f.output != "table" && f.output != "json" {
		return fmt.Errorf("--output: %q is not table or json", f.output)
	}
	scenarios, err := parseScenarios(f.scenario)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary: %w", err)
	}
	o := bench.Options{
		Scenarios: scenarios, Scale: f.scale, Quick: f.quick, Clients: f.clients, POSLatency: f.posLatency, DatabaseURL: f.databaseURL,
		PGStatements: f.statements,
		Posimport:    bench.Command{Path: self, Env: selfEnv()},
		Worker:       bench.Command{Path: self, Args: []string{"bench", "worker"}, Env: selfEnv()},
		Progress:     g.stderr,
	}
	if f.workerBin != "" {
		o.Worker = bench.Command{Path: f.workerBin}
	}
	if f.keep {
		if o.Dir, err = os.MkdirTemp("", "posimport-bench-*"); err != nil {
			return err
		}
		fmt.Fprintf(g.stderr, "posimport bench: keeping %s\n", o.Dir)
	}
	if f.profile != "" {
		if err := os.MkdirAll(f.profile, 0o755); err != nil {
			return err
		}
		o.Worker.Env = append(o.Worker.Env, profileEnv+"="+filepath.Join(f.profile, "worker-%d.cpu"))
		stop, err := startProfile(filepath.Join(f.profile, "bench.cpu"))
		if err != nil {
			return err
		}
		defer stop()
	}
	rep, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	rep.Command = benchCommandLine(f)
	if f.output == "json" {
		err = rep.WriteJSON(g.stdout)
	} else {
		err = rep.WriteTable(g.stdout)
	}
	if err != nil {
		return err
	}
	if f.strict && !rep.Passed() {
		return errTargetMissed
	}
	return nil
}

// profileEnv names the file the worker process writes its CPU profile to (%d: its pid).
const profileEnv = "POSIMPORT_BENCH_CPUPROFILE"

// startProfile writes a CPU profile to path (with %d replaced by the pid) until stop; an
// empty path profiles nothing.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	if strings.Contains(path, "%d") {
		path = fmt.Sprintf(path, os.Getpid())
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// selfEnv makes this binary act as posimport when it is the package's test binary, whose
// TestMain reads it; the posimport binary ignores it. (Asking testing.Testing() instead would
// link package testing, and its flags, into the product binary.)
func selfEnv() []string { return []string{asBinaryEnv + "=1"} }

// asBinaryEnv makes a test binary act as the posimport binary (see the package's TestMain).
const asBinaryEnv = "POSIMPORT_TEST_AS_BINARY"

func parseScenarios(s string) ([]string, error) {
	if strings.EqualFold(s, "all") {
		return bench.All, nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.ToUpper(strings.TrimSpace(p))
		if !slices.Contains(bench.All, p) {
			return nil, fmt.Errorf("--scenario: %q is not one of P1, P2, P3, P5, P6 or all", p)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// benchCommandLine is the command as it could be typed again.
func benchCommandLine(f *benchFlags) string {
	parts := []string{"posimport bench --scenario " + f.scenario}
	if f.scale > 0 {
		parts = append(parts, fmt.Sprintf("--scale %g", f.scale))
	}
	if f.clients > 0 {
		parts = append(parts, fmt.Sprintf("--clients %d", f.clients))
	}
	if f.posLatency > 0 {
		parts = append(parts, "--pos-latency "+f.posLatency.String())
	}
	if f.quick {
		parts = append(parts, "--quick")
	}
	if f.statements {
		parts = append(parts, "--pg-statements")
	}
	if f.databaseURL == "" {
		parts = append(parts, "(private PostgreSQL)")
	} else {
		parts = append(parts, "(DATABASE_URL's PostgreSQL)")
	}
	return strings.Join(parts, " ")
}
