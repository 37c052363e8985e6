//go:build cluster

package clustertest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
)

// proc is a process the test runs; it is killed when its owner (the test, or the test that
// set the cluster up) ends if still running.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(t, owner testing.TB, bin string, args, env []string, out io.Writer) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	if env != nil {
		p.cmd.Env = env
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	owner.Cleanup(p.kill)
	return p
}

func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// terminate sends SIGTERM and waits up to grace for the exit (then SIGKILL, as the kubelet
// does); it reports the exit code, -1 when killed.
func (p *proc) terminate(grace time.Duration) int {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(grace):
		p.kill()
		return -1
	}
}

// buildServices builds the config, auth and balance mains into dir.
func buildServices(t testing.TB, dir string) map[string]string {
	t.Helper()
	root, err := pipelinetest.FindUp("go.work")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range []string{"config", "auth", "balance"} {
		bin := filepath.Join(dir, s)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
		cmd.Dir = filepath.Join(root, "services", s)
		b, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", s, err, b)
		}
		out[s] = bin
	}
	return out
}

// service is a deployment of one replica behind stable gRPC and HTTP addresses (a
// Kubernetes Service): a rollout starts the new process, points the addresses at it, and
// only then sends the old one SIGTERM (maxSurge 1, maxUnavailable 0).
type service struct {
	name      string
	bin       string
	env       []string
	logs      *logging.Buffer
	grpc, web *frontend
	cur       *proc
}

func startService(t testing.TB, name, bin string, env []string, logs *logging.Buffer) *service {
	t.Helper()
	s := &service{name: name, bin: bin, env: env, logs: logs, grpc: startFrontend(t), web: startFrontend(t)}
	s.cur = s.launch(t)
	return s
}

// launch starts a process of the service and waits until it answers /readyz.
func (s *service) launch(t testing.TB) *proc {
	t.Helper()
	out := &logging.Buffer{}
	p := startProc(t, t, s.bin, nil, s.env, io.MultiWriter(out, s.logs))
	var grpcAddr, httpAddr string
	waitFor(t, time.Minute, s.name+" started", func() bool {
		if p.exited() {
			t.Fatalf("%s exited:\n%s", s.name, tail(out.String(), 3000))
		}
		line := firstLine(out.String(), `"server started"`)
		if line == "" {
			return false
		}
		var l struct {
			GRPC string `json:"grpc_addr"`
			HTTP string `json:"http_addr"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%s: %v in %s", s.name, err, line)
		}
		grpcAddr, httpAddr = l.GRPC, l.HTTP
		return true
	})
	waitFor(t, time.Minute, s.name+" ready", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	s.grpc.point(grpcAddr)
	s.web.point(httpAddr)
	return p
}

// rollout replaces the service's process: the new one serves before the old one gets SIGTERM.
func (s *service) rollout(t testing.TB, grace time.Duration) {
	t.Helper()
	old := s.cur
	s.cur = s.launch(t)
	if code := old.terminate(grace); code != 0 {
		t.Errorf("%s exited %d after SIGTERM (grace %v)", s.name, code, grace)
	}
}

// frontend is a TCP forwarder on a port of its own for the test's life, to the address it
// was last pointed at; connections already made stay where they went.
type frontend struct {
	ln net.Listener
	mu sync.Mutex
	to string
}

func startFrontend(t testing.TB) *frontend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &frontend{ln: ln}
	go f.serve()
	t.Cleanup(func() { _ = ln.Close() })
	return f
}

func (f *frontend) Addr() string { return f.ln.Addr().String() }

func (f *frontend) point(addr string) {
	f.mu.Lock()
	f.to = addr
	f.mu.Unlock()
}

func (f *frontend) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		to := f.to
		f.mu.Unlock()
		go func() {
			defer func() { _ = c.Close() }()
			up, err := net.DialTimeout("tcp", to, 5*time.Second)
			if err != nil {
				return
			}
			defer func() { _ = up.Close() }()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
			<-done
		}()
	}
}

// waitFor polls cond every 50 ms until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
}
