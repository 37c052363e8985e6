package pipelinetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/logging"
)

// BuildWorker builds the import-worker binary into a directory of the test and returns its path.
func BuildWorker(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "import-worker")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The module root: the nearest go.mod above the test's directory.
	root, err := FindUp("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build import-worker: %v\n%s", err, out)
	}
	return bin
}

// FindUp returns the nearest directory at or above the working directory that holds name
// (go.mod for this module's root, go.work for the workspace's).
func FindUp(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// Process is an import-worker running as its own OS process.
type Process struct {
	cmd  *exec.Cmd
	out  *logging.Buffer
	done chan struct{}
}

// StartProcess runs the worker binary with this pipeline's environment; it is killed when the
// test ends if still running.
func (e *Env) StartProcess(t testing.TB, bin string) *Process {
	t.Helper()
	return StartProcessEnv(t, bin, e.WorkerEnv())
}

// StartProcessEnv runs the worker binary with env (e.g. WorkerEnv with some addresses
// rewritten); it is killed when the test ends if still running.
func StartProcessEnv(t testing.TB, bin string, env []string) *Process {
	t.Helper()
	p := &Process{cmd: exec.Command(bin), out: &logging.Buffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.Kill() })
	return p
}

// Kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Exited reports whether the process ended by itself.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output is what the process wrote.
func (p *Process) Output() string { return p.out.String() }

// Terminate sends SIGTERM and waits up to timeout for the process to exit; it reports the exit
// code, or -1 when the process did not exit in time (it is killed then).
func (p *Process) Terminate(timeout time.Duration) int {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		p.Kill()
		return -1
	}
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Signal sends sig to the process (e.g. SIGSTOP and SIGCONT to pause it).
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }
