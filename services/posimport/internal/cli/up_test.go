package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/posimport/posimport/pkg/platform/natstest"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/postgres"
	"github.com/posimport/posimport/services/posimport/internal/allinone"
)

// asBinary makes the test binary act as the posimport binary (for the tests that run it as a
// real process), so they need no separate build.
const asBinary = "POSIMPORT_TEST_AS_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(asBinary) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		err := Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "posimport:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	pgtest.Main(m)
}

func TestPolicyCoversEveryRPC(t *testing.T) {
	t.Parallel()
	if missing := allinone.Policy.Missing(allinone.Services...); len(missing) > 0 {
		t.Errorf("RPCs without a rule: %v", missing)
	}
}

// upBundle is a posimport up running in the test's process with the simulator.
type upBundle struct {
	dataDir  string
	dbURL    string
	grpcAddr string
	restBase string
	simURL   string
	out      *lineWriter
}

// simArgs shape the simulated account of the tests: two shops of two registers in the
// simulator's first default zones (Copenhagen and New York), a month of sales.
var simArgs = []string{"--sim-addr", "127.0.0.1:0", "--sim-shops", "2", "--sim-registers", "2", "--sim-sales-per-day", "8",
	"--sim-days", "40", "--sim-no-rate-limit"}

// startUp runs "posimport up --simulate" on fresh ports, a database of the test's own and
// NATS_URL's server (or an embedded one), and stops it when the test ends, checking that it
// stopped cleanly.
func startUp(t *testing.T) *upBundle {
	t.Helper()
	b := &upBundle{dataDir: t.TempDir(), dbURL: pgtest.NewDatabase(t), out: &lineWriter{wrote: make(chan struct{}, 1)}}
	args := append([]string{"up", "--data-dir", b.dataDir, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--database-url", b.dbURL, "--simulate", "--shutdown-timeout", "5s", "--log-level", "error"}, simArgs...)
	if u := os.Getenv("NATS_URL"); u != "" {
		args = append(args, "--nats-url", u, "--stream-prefix", natstest.Prefix(t))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Execute(ctx, args, b.out, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("up: %v\n%s", err, b.out)
		}
		if !strings.Contains(b.out.String(), "stopped cleanly") {
			t.Errorf("up did not say it stopped cleanly:\n%s", b.out)
		}
	})
	waitOutput(t, b.out, done, "Press Ctrl-C")
	b.grpcAddr = match(t, b.out.String(), `gRPC +(\S+)`)
	b.restBase = match(t, b.out.String(), `REST +(http://[^/\s]+)`)
	b.simURL = match(t, b.out.String(), `simulator +(http://\S+)`)
	return b
}

// waitOutput waits until out contains want, failing if the command ends first.
func waitOutput(t *testing.T, out *lineWriter, done <-chan error, want string) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(out.String(), want) {
		select {
		case <-out.wrote:
		case err := <-done:
			t.Fatalf("command ended before %q: %v\n%s", want, err, out)
		case <-deadline:
			t.Fatalf("no %q within 2 minutes:\n%s", want, out)
		}
	}
}

func match(t *testing.T, s, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", re, s)
	}
	return m[1]
}

// run runs a CLI command against the bundle's posimport (its address and data directory,
// whose key mints the tokens) and returns its output and error.
func (b *upBundle) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	full := append([]string{"--data-dir", b.dataDir}, args...)
	if len(args) > 0 && args[0] != "token" && !slices.Contains(args, "--addr") {
		full = append(full, "--addr", b.grpcAddr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := Execute(ctx, full, &out, io.Discard)
	return out.String(), err
}

// snapshotter returns a function that dumps every table of the four services' schemas, to
// show a refused request wrote nothing.
func (b *upBundle) snapshotter(t *testing.T) func() string {
	t.Helper()
	var pools []*pgxpool.Pool
	schemas := []string{"config", "auth", "balance", "imports"}
	for _, s := range schemas {
		pool, err := postgres.Connect(context.Background(), b.dbURL, postgres.Options{Schema: s, MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		pools = append(pools, pool)
	}
	return func() string {
		var s strings.Builder
		for i, p := range pools {
			s.WriteString(pgtest.Snapshot(t, p, schemas[i]))
		}
		return s.String()
	}
}

// must runs a command that must succeed and returns its output.
func (b *upBundle) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := b.run(t, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return out
}
