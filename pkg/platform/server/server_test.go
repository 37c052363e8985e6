package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/server"
)

func newServer(t *testing.T) *server.Server {
	t.Helper()
	_, pub := authn.NewDevKeys("k")
	v, err := authn.NewVerifier(authn.Config{Audience: "posimport", AppIssuer: "app", AppKeys: pub})
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 2 * time.Second},
		server.Options{Name: "test", Authorizer: authn.NewAuthorizer(v, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReadinessAndShutdown: /readyz reports a failing dependency by name, and cancelling the
// context stops both servers and returns.
func TestReadinessAndShutdown(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var dbDown atomic.Bool
	s.AddReadiness("postgres", func(context.Context) error {
		if dbDown.Load() {
			return errors.New("connection refused to secret-host")
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	base := "http://" + s.HTTPAddr()
	waitFor(t, func() bool { c, _ := get(t, base+"/healthz"); return c == 200 })

	if c, body := get(t, base+"/readyz"); c != 200 || body != "ok\n" {
		t.Errorf("readyz = %d %q", c, body)
	}
	dbDown.Store(true)
	c, body := get(t, base+"/readyz")
	if c != 503 || !strings.Contains(body, "postgres") || strings.Contains(body, "secret-host") {
		t.Errorf("readyz with db down = %d %q", c, body)
	}
	if c, body := get(t, base+"/openapi.json"); c != 200 || body == "" {
		t.Errorf("openapi = %d", c)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if c, _ := get(t, base+"/healthz"); c != 0 {
		t.Errorf("HTTP still serving after stop: %d", c)
	}
}

// TestNewFailsOnBusyPort: a port in use is an error at New, not a silent half-start.
func TestNewFailsOnBusyPort(t *testing.T) {
	t.Parallel()
	a := newServer(t)
	defer func() { _ = a.Close() }()
	_, pub := authn.NewDevKeys("k")
	v, _ := authn.NewVerifier(authn.Config{Audience: "posimport", AppIssuer: "app", AppKeys: pub})
	_, err := server.New(server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: a.HTTPAddr()}, server.Options{Authorizer: authn.NewAuthorizer(v, nil)})
	if err == nil {
		t.Fatal("New on a busy port succeeded")
	}
}
