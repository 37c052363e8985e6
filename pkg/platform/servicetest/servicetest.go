// Package servicetest starts a service on real ports for tests, with real JWT keys, and
// calls it over REST and gRPC as the main app or another service would.
package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/server"
)

// Keys are a test's JWT keys.
type Keys struct {
	Config authn.Config
	Signer *authn.Signer
}

// NewKeys generates keys and the matching configuration.
func NewKeys(t testing.TB) *Keys {
	t.Helper()
	sk, pub := authn.NewDevKeys("test")
	cfg := authn.Config{Issuers: []string{"posimport", "main-app"}, Audience: "posimport", PublicKeys: pub, SigningKey: sk}
	s, err := authn.NewSigner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Keys{Config: cfg, Signer: s}
}

// Token signs a token for a person with role acting for clients.
func (k *Keys) Token(t testing.TB, role authn.Role, clients ...string) string {
	t.Helper()
	tok, err := k.Signer.Sign("user-"+string(role), role, clients, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// ServiceToken signs a token for a posimport service acting for every client.
func (k *Keys) ServiceToken(t testing.TB) string {
	t.Helper()
	tok, err := k.Signer.Sign("service:test", authn.RoleService, []string{authn.AllClients}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Dial connects to a gRPC address as a posimport service.
func (k *Keys) Dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := app.Dial(addr, k.Signer, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// DialAs connects to a gRPC address presenting token (or none when empty).
func DialAs(t testing.TB, addr, token string) *grpc.ClientConn {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (b bearer) RequireTransportSecurity() bool { return false }

// Running is a server started for a test.
type Running struct {
	Server *server.Server
	Keys   *Keys
	// GRPCAddr and HTTPBase are where it listens (HTTPBase is "http://127.0.0.1:port").
	GRPCAddr string
	HTTPBase string
}

// Start builds a server on 127.0.0.1:0 with policy, lets register add services, runs it, and
// stops it when the test ends. A nil logger discards logs.
func Start(t testing.TB, keys *Keys, policy authn.Policy, logger *slog.Logger, register func(*server.Server) error) *Running {
	t.Helper()
	if logger == nil {
		logger = logging.Discard()
	}
	v, err := authn.NewVerifier(keys.Config)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second},
		server.Options{Name: t.Name(), Logger: logger, Authorizer: authn.NewAuthorizer(v, policy)})
	if err != nil {
		t.Fatal(err)
	}
	if err := register(srv); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("server: %v", err)
		}
	})
	r := &Running{Server: srv, Keys: keys, GRPCAddr: srv.GRPCAddr(), HTTPBase: "http://" + srv.HTTPAddr()}
	waitHTTP(t, r.HTTPBase+"/healthz")
	return r
}

func waitHTTP(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server did not answer %s", url)
}

// Response is a REST answer.
type Response struct {
	Status int
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Message returns the error message of a gateway error body.
func (r Response) Message() string {
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Message
}

// Field returns the field named by a gateway InvalidArgument body, or "".
func (r Response) Field() string {
	var e struct {
		Details []struct {
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"field_violations"`
		} `json:"details"`
	}
	_ = json.Unmarshal(r.Body, &e)
	for _, d := range e.Details {
		for _, fv := range d.FieldViolations {
			return fv.Field
		}
	}
	return ""
}

// Do sends a REST request with token (none when empty) and a JSON body (none when nil).
func (r *Running) Do(t testing.TB, method, path, token string, body any) Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = bytes.NewBufferString(b)
		default:
			js, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(js)
		}
	}
	req, err := http.NewRequest(method, r.HTTPBase+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Body: b}
}
