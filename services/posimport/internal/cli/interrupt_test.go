package cli

import (
	"bufio"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/posimport/internal/oraclecheck"
)

// upProcess is posimport up running as a real process (the test binary acting as posimport).
type upProcess struct {
	*upBundle
	cmd  *exec.Cmd
	done chan error
}

// startUpProcess starts "posimport up" with a private PostgreSQL in dir, pointed at the
// simulator at simURL, and waits until it serves.
func startUpProcess(t *testing.T, dir, simURL string) *upProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "up", "--data-dir", dir, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--simulator-url", simURL, "--shutdown-timeout", "3s", "--log-level", "warn")
	for _, kv := range os.Environ() {
		// The process runs its own PostgreSQL and embedded JetStream, as on a laptop.
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "NATS_URL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, asBinary+"=1")
	out := &lineWriter{wrote: make(chan struct{}, 1)}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &upProcess{upBundle: &upBundle{dataDir: dir, simURL: simURL, out: out}, cmd: cmd, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			_, _ = out.Write([]byte(sc.Text() + "\n"))
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	waitOutput(t, out, p.done, "Press Ctrl-C")
	p.grpcAddr = match(t, out.String(), `gRPC +(\S+)`)
	return p
}

// interrupt sends SIGINT, as Ctrl-C does, and waits for a clean exit.
func (p *upProcess) interrupt(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("up exited with %v:\n%s", err, p.out)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("up did not stop within 90s of SIGINT:\n%s", p.out)
	}
	if !strings.Contains(p.out.String(), "stopped cleanly") {
		t.Errorf("up did not say it stopped cleanly:\n%s", p.out)
	}
}

// importState reads an import through the CLI.
func importState(t *testing.T, b *upBundle, id string) *posimportv1.Import {
	t.Helper()
	out := b.must(t, "import", "list", "--client", "acme", "-o", "json")
	var resp posimportv1.ListImportsResponse
	if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	for _, imp := range resp.GetImports() {
		if imp.GetImportId() == id {
			return imp
		}
	}
	t.Fatalf("import %s not listed:\n%s", id, out)
	return nil
}

// TestUpInterruptedMidImport interrupts posimport up (SIGINT to the real process) in the middle
// of an import: it stops cleanly, its private PostgreSQL stopped too; the next up, on the same
// data directory, resumes the queued work and the import ends with the oracle's figures.
func TestUpInterruptedMidImport(t *testing.T) {
	t.Parallel()
	yesterday := time.Now().AddDate(0, 0, -1)
	s, err := sim.New(sim.Options{Seed: 7, AutoConsent: true,
		Data:      sim.DataOptions{ShopsPerAccount: 2, RegistersPerShop: 2, SalesPerDay: 20, Zones: []string{"Europe/Copenhagen", "America/New_York"}, From: yesterday.AddDate(0, 0, -100), Until: yesterday},
		RateLimit: sim.RateLimitOptions{Disabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	// Slow sales pages keep the import going long enough to be interrupted.
	if err := s.InjectFault(sim.Fault{Kind: sim.FaultSlow, Endpoint: "Sale.json", Delay: sim.Duration(400 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL runs as the postgres user when the test runs as root: the directory must
	// be reachable by it, which a test's own temporary directory is not.
	dir, err := os.MkdirTemp("", "posimport-up-test-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })

	first := startUpProcess(t, dir, hs.URL)
	acct := simShops(t, hs.URL)
	configureClient(t, first.upBundle, "acme", acct)
	first.must(t, "auth", "connect", "--client", "acme", "--follow")
	first.must(t, "auth", "enable", "--client", "acme")
	until := civil.Today(time.Now(), time.UTC).AddDays(-2)
	from := until.AddDays(-89)
	id := match(t, first.must(t, "import", "start", "--client", "acme", "--from", from.String(), "--until", until.String()), `import (\S+) queued`)
	deadline := time.Now().Add(2 * time.Minute)
	for importState(t, first.upBundle, id).GetProgress().GetDaysWritten() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no progress within 2 minutes:\n%s", first.out)
		}
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
	first.interrupt(t)
	if _, err := os.Stat(filepath.Join(dir, "pg", "data", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the private PostgreSQL still runs after up stopped (postmaster.pid: %v)", err)
	}

	second := startUpProcess(t, dir, hs.URL)
	imp := importState(t, second.upBundle, id)
	p := imp.GetProgress()
	ended := p.GetJobsDone() + p.GetJobsSkipped() + p.GetJobsFailed() + p.GetJobsCancelled()
	if ended >= p.GetJobsPlanned() || imp.GetState() == posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Fatalf("the import had ended before the interrupt (%d of %d jobs); make it longer", ended, p.GetJobsPlanned())
	}
	t.Logf("after the interrupt: %d of %d jobs ended, %d register-days written", ended, p.GetJobsPlanned(), p.GetDaysWritten())
	s.ClearFaults()
	out, err := second.run(t, "import", "watch", id, "--client", "acme")
	if err != nil {
		t.Fatalf("watch after restart: %v\n%s\n%s", err, out, second.out)
	}
	if !strings.Contains(out, "succeeded: 270 register-days written") {
		t.Errorf("watch after restart:\n%s", out)
	}

	o := &oraclecheck.Oracle{SimURL: hs.URL, Account: acct.ID}
	var res oraclecheck.Result
	for i, dep := range []string{"d1", "d2"} {
		exp, err := o.Days(context.Background(), oraclecheck.ShopDepartment(dep, acct.Shops[i]), from, until)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[civil.Week]bool{}
		for d := from; !d.After(until); d = d.AddDays(1) {
			if w := civil.WeekOf(d); !seen[w] {
				seen[w] = true
				out := second.must(t, "balance", "show", "--client", "acme", "--department", dep, "--week", w.String(), "-o", "json")
				var wb posimportv1.GetWeeklyBalanceResponse
				if err := protojson.Unmarshal([]byte(out), &wb); err != nil {
					t.Fatal(err)
				}
				res.Week(wb.GetBalance(), exp)
			}
		}
	}
	if !res.OK() || res.Hours == 0 {
		t.Errorf("balance vs oracle after the restart (%d totals, %d hours):\n%s", res.Totals, res.Hours, strings.Join(res.Diffs, "\n"))
	}
	second.interrupt(t)
}
