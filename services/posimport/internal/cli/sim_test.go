package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// lineWriter collects output and signals each write.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestSimCommand(t *testing.T) {
	t.Parallel()
	out := &lineWriter{wrote: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Execute(ctx, []string{"sim", "--addr", "127.0.0.1:0", "--sales-per-day", "5", "--from", "2026-01-01", "--until", "2026-01-03",
			"--shops", "1", "--registers", "3", "--auto-consent", "--log-level", "warn"}, out, io.Discard)
	}()
	for !strings.Contains(out.String(), "/admin/") {
		select {
		case <-out.wrote:
		case err := <-done:
			t.Fatalf("sim ended early: %v\n%s", err, out)
		}
	}
	base := regexp.MustCompile(`on (http://\S+)`).FindStringSubmatch(out.String())
	if base == nil || !strings.Contains(out.String(), "100001: ") || !strings.Contains(out.String(), "3 registers") {
		t.Fatalf("output:\n%s", out)
	}
	resp, err := http.Get(base[1] + "/API/V3/Account.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated Account.json: %d, want 401", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestSimCommandBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"sim", "--from", "yesterday"},
		{"sim", "--addr", "256.0.0.1:99999"},
		{"sim", "--zones", "Mars/Olympus", "--addr", "127.0.0.1:0"},
	} {
		if err := Execute(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}
