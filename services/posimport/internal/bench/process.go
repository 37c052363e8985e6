package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/posimport/posimport/pkg/retry"
)

// process is a program the benchmark runs as a separate OS process, its output in a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startProcess runs c with args after its own, its environment the process's plus c.Env plus
// env, writing its output to dir/name.log.
func startProcess(c Command, args []string, env map[string]string, dir, name string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	cmd := exec.Command(c.Path, append(append([]string{}, c.Args...), args...)...)
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// Later entries win: the caller's settings override the environment's.
	cmd.Env = append(os.Environ(), c.Env...)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// waitReady polls the process's /readyz at httpAddr until it answers 200.
func (p *process) waitReady(ctx context.Context, httpAddr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %s", p.name, p.tail())
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v: %s", p.name, timeout, p.tail())
		}
		if err := retry.Sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// rss reads the process's resident memory.
func (p *process) rss() (RSS, error) { return ReadRSS(p.cmd.Process.Pid) }

// stop sends SIGTERM and waits up to timeout, then kills.
func (p *process) stop(timeout time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail is the end of the process's log.
func (p *process) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}

// settle waits until the process's RSS has held within 1 MB for a few samples (at most for
// longest), and returns it then.
func (p *process) settle(ctx context.Context, longest time.Duration) (RSS, error) {
	const every, steady = 250 * time.Millisecond, 8
	deadline := time.Now().Add(longest)
	last, err := p.rss()
	if err != nil {
		return RSS{}, err
	}
	same := 0
	for same < steady && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return RSS{}, ctx.Err()
		case <-p.done:
			return RSS{}, fmt.Errorf("%s exited: %s", p.name, p.tail())
		case <-time.After(every):
		}
		now, err := p.rss()
		if err != nil {
			return RSS{}, err
		}
		if d := now.CurrentMB - last.CurrentMB; d < 1 && d > -1 {
			same++
		} else {
			same = 0
		}
		last = now
	}
	return last, nil
}

// waitJobs polls the worker's /metrics until it has ended n jobs (done, skipped, failed or
// cancelled). Once a second: each scrape also reads the store's gauges from PostgreSQL (a
// count over the open jobs), which is the bench's cost, not the run's.
func (p *process) waitJobs(ctx context.Context, httpAddr string, n int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ended, err := endedJobs(ctx, httpAddr)
		if err == nil && ended >= n {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %s", p.name, p.tail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s ended %d of %d jobs within %v (%w)", p.name, ended, n, timeout, err)
		}
	}
}

// endedJobs reads posimport_import_jobs_total's ending outcomes from a worker's /metrics.
func endedJobs(ctx context.Context, httpAddr string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, line := range strings.Split(string(body), "\n") {
		for _, outcome := range []string{"done", "skipped", "failed", "cancelled"} {
			prefix := `posimport_import_jobs_total{outcome="` + outcome + `"} `
			if v, ok := strings.CutPrefix(line, prefix); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					return 0, fmt.Errorf("metrics: %q", line)
				}
				n += int64(f)
			}
		}
	}
	return n, nil
}
