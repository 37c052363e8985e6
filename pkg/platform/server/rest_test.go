package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// stubConfig and stubImport stand in for the config and import services behind the real
// generated gateways: they count the calls that got through and echo what they were given.
type stubConfig struct {
	posimportv1.UnimplementedConfigServiceServer
	calls *atomic.Int64
}

func (s stubConfig) UpdateClientSettings(_ context.Context, req *posimportv1.UpdateClientSettingsRequest) (*posimportv1.UpdateClientSettingsResponse, error) {
	s.calls.Add(1)
	return &posimportv1.UpdateClientSettingsResponse{Settings: req.GetSettings()}, nil
}

func (s stubConfig) PutField(_ context.Context, req *posimportv1.PutFieldRequest) (*posimportv1.PutFieldResponse, error) {
	s.calls.Add(1)
	return &posimportv1.PutFieldResponse{Field: req.GetField()}, nil
}

func (s stubConfig) ListClients(context.Context, *posimportv1.ListClientsRequest) (*posimportv1.ListClientsResponse, error) {
	s.calls.Add(1)
	return &posimportv1.ListClientsResponse{}, nil
}

type stubImport struct {
	posimportv1.UnimplementedImportServiceServer
	calls *atomic.Int64
}

func (s stubImport) StartImport(context.Context, *posimportv1.StartImportRequest) (*posimportv1.StartImportResponse, error) {
	s.calls.Add(1)
	return &posimportv1.StartImportResponse{}, nil
}

type restBundle struct {
	keys  *servicetest.Keys
	srv   *server.Server
	base  string
	calls *atomic.Int64
	sup   string
}

// setupREST serves the stubs with cfg's limits: the config service's REST in-process
// (RegisterGateway, as balance does), the import service's over the loopback connection
// (Register, as the others do).
func setupREST(t *testing.T, cfg server.Config) *restBundle {
	t.Helper()
	keys := servicetest.NewKeys(t)
	v, err := authn.NewVerifier(keys.Config)
	if err != nil {
		t.Fatal(err)
	}
	sup := []authn.Role{authn.RoleSupervisor}
	policy := authn.Policy{
		posimportv1.ConfigService_UpdateClientSettings_FullMethodName: {Roles: sup},
		posimportv1.ConfigService_PutField_FullMethodName:             {Roles: sup},
		posimportv1.ConfigService_ListClients_FullMethodName:          {Roles: sup},
		posimportv1.ImportService_StartImport_FullMethodName:          {Roles: sup},
	}
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.ShutdownTimeout = "127.0.0.1:0", "127.0.0.1:0", 2*time.Second
	srv, err := server.New(cfg, server.Options{Name: t.Name(), Authorizer: authn.NewAuthorizer(v, policy)})
	if err != nil {
		t.Fatal(err)
	}
	calls := &atomic.Int64{}
	posimportv1.RegisterConfigServiceServer(srv, stubConfig{calls: calls})
	srv.RegisterGateway(posimportv1.ConfigService_ServiceDesc.ServiceName, func(ctx context.Context, mux *gwruntime.ServeMux, conn grpc.ClientConnInterface) error {
		return posimportv1.RegisterConfigServiceHandlerClient(ctx, mux, posimportv1.NewConfigServiceClient(conn))
	}, nil)
	posimportv1.RegisterImportServiceServer(srv.GRPC(), stubImport{calls: calls})
	srv.Register(posimportv1.ImportService_ServiceDesc.ServiceName, posimportv1.RegisterImportServiceHandler, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	b := &restBundle{keys: keys, srv: srv, base: "http://" + srv.HTTPAddr(), calls: calls, sup: keys.Token(t, authn.RoleSupervisor, "c1")}
	waitFor(t, func() bool { c, _ := get(t, b.base+"/healthz"); return c == 200 })
	return b
}

// countingReader is a body of n bytes that counts what was read of it, without holding it.
type countingReader struct {
	left int64
	read atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.left))
	for i := range n {
		p[i] = 'x'
	}
	r.left -= int64(n)
	r.read.Add(int64(n))
	return n, nil
}

// TestRESTAuthenticatesBeforeReadingTheBody: a request without a valid token is answered 401
// before a byte of its body is read, whatever its size, and costs no memory of that size.
// (Not parallel: it measures the process's allocations.)
func TestRESTAuthenticatesBeforeReadingTheBody(t *testing.T) {
	_, pub := authn.NewDevKeys("k")
	v, err := authn.NewVerifier(authn.Config{Audience: "posimport", AppIssuer: "app", AppKeys: pub})
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}, server.Options{Authorizer: authn.NewAuthorizer(v, nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	front := server.RESTFront(s, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("the gateway was reached") }))
	const size = 100 << 20
	for _, tc := range []struct {
		name, authorization, challenge string
		contentLength                  int64
	}{
		{name: "no token", contentLength: size, challenge: `Bearer realm="posimport"`},
		{name: "no token, chunked", contentLength: -1, challenge: `Bearer realm="posimport"`},
		{name: "basic auth", authorization: "Basic dXNlcjpwdw==", contentLength: size, challenge: `Bearer realm="posimport"`},
		{name: "invalid token", authorization: "Bearer abc.def.ghi", contentLength: size, challenge: `Bearer realm="posimport", error="invalid_token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingReader{left: size}
			req := httptest.NewRequest(http.MethodPost, "/v1/clients/c1/imports", body)
			req.ContentLength = tc.contentLength
			if tc.authorization != "" {
				req.Header.Set("Authorization", tc.authorization)
			}
			rec := httptest.NewRecorder()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			front.ServeHTTP(rec, req)
			runtime.ReadMemStats(&after)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if n := body.read.Load(); n != 0 {
				t.Errorf("%d bytes of the body were read", n)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("refusing it allocated %d bytes", alloc)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
			if got := rec.Header().Get("Connection"); got != "close" {
				t.Errorf("Connection = %q: the server would read the rest of the body to keep the connection", got)
			}
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != 16 || e.Message == "" {
				t.Errorf("body %s: %v", rec.Body, err)
			}
		})
	}
}

// TestRESTNoTokenOverTheWire: a 100 MB body without a token, sent over TCP, is answered 401
// while the client is still sending; what the client got to send is what the sockets'
// buffers took, a small part of it.
func TestRESTNoTokenOverTheWire(t *testing.T) {
	t.Parallel()
	b := setupREST(t, server.Config{})
	body := &countingReader{left: 100 << 20}
	req, err := http.NewRequest(http.MethodPost, b.base+"/v1/clients/c1/imports", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 100 << 20
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("no answer: %v (after %d bytes)", err, body.read.Load())
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d", resp.StatusCode)
	}
	if n := body.read.Load(); n > 16<<20 {
		t.Errorf("the client sent %d MB of 100 before the answer (in %v)", n>>20, time.Since(start))
	}
	if n := b.calls.Load(); n != 0 {
		t.Errorf("%d calls reached the service", n)
	}
}

// TestRESTRefusals: every REST refusal of the gateway has the services' contract — an HTTP
// status, InvalidArgument naming the field, a message a person can act on (no Go parser
// text) — and reaches no service. An empty body is refused as gRPC refuses a missing message.
func TestRESTRefusals(t *testing.T) {
	t.Parallel()
	b := setupREST(t, server.Config{MaxBodyBytes: 64 << 10})
	huge := strings.Repeat("9", 200<<10)
	tests := []struct {
		name, method, path, body string
		token                    *string
		wantStatus               int
		wantField                string
		wantMessage              string
	}{
		{name: "empty settings", method: "PUT", path: "/v1/clients/c1/settings", wantStatus: 400, wantField: "settings", wantMessage: "required"},
		{name: "blank settings", method: "PUT", path: "/v1/clients/c1/settings", body: " \n ", wantStatus: 400, wantField: "settings", wantMessage: "required"},
		{name: "null settings", method: "PUT", path: "/v1/clients/c1/settings", body: "null", wantStatus: 400, wantField: "settings", wantMessage: "required"},
		{name: "empty whole-request body", method: "POST", path: "/v1/clients/c1/imports", wantStatus: 400, wantField: "body", wantMessage: "required"},
		{name: "cut short", method: "PUT", path: "/v1/clients/c1/fields/5", body: `{"name": `, wantStatus: 400, wantField: "field", wantMessage: "ends before"},
		{name: "not JSON", method: "PUT", path: "/v1/clients/c1/fields/5", body: `name=x`, wantStatus: 400, wantField: "field", wantMessage: "not valid JSON"},
		{name: "an array", method: "PUT", path: "/v1/clients/c1/settings", body: `[]`, wantStatus: 400, wantField: "settings", wantMessage: "not valid JSON"},
		{name: "trailing data", method: "PUT", path: "/v1/clients/c1/fields/5", body: `{"name": "a"} {"name": "b"}`, wantStatus: 400, wantField: "field", wantMessage: "not valid JSON"},
		{name: "unknown field", method: "PUT", path: "/v1/clients/c1/fields/5", body: `{"colour": "red"}`, wantStatus: 400, wantField: "field.colour", wantMessage: "no such field"},
		{name: "duplicate field", method: "PUT", path: "/v1/clients/c1/fields/5", body: `{"name": "a", "name": "b"}`, wantStatus: 400, wantField: "field.name", wantMessage: "more than once"},
		{name: "wrong type", method: "PUT", path: "/v1/clients/c1/fields/5", body: `{"name": 5}`, wantStatus: 400, wantField: "field.name", wantMessage: "must be a JSON string, not 5"},
		{name: "wrong type, camelCase", method: "PUT", path: "/v1/clients/c1/settings", body: `{"posImportEnabled": "yes"}`, wantStatus: 400, wantField: "settings.pos_import_enabled", wantMessage: "boolean"},
		{name: "unknown enum", method: "PUT", path: "/v1/clients/c1/fields/5", body: `{"pos_data_type": "TIPS"}`, wantStatus: 400, wantField: "field.pos_data_type", wantMessage: "enum"},
		{name: "whole-request wrong type", method: "POST", path: "/v1/clients/c1/imports", body: `{"from_date": 2026}`, wantStatus: 400, wantField: "from_date", wantMessage: "must be a JSON string"},
		{name: "whole-request list of wrong type", method: "POST", path: "/v1/clients/c1/imports", body: `{"department_ids": ["d1", 2]}`, wantStatus: 400, wantField: "department_ids", wantMessage: "must be a JSON string"},
		{name: "huge value echoed short", method: "POST", path: "/v1/clients/c1/imports", body: `{"from_date": ` + huge[:60<<10] + `}`, wantStatus: 400, wantField: "from_date", wantMessage: "999…"},
		{name: "path parameter not a number", method: "PUT", path: "/v1/clients/c1/fields/abc", body: `{}`, wantStatus: 400, wantField: "field_id", wantMessage: `"abc" is not a whole number`},
		{name: "path parameter out of range", method: "PUT", path: "/v1/clients/c1/fields/99999999999999999999", body: `{}`, wantStatus: 400, wantField: "field_id", wantMessage: "out of range"},
		{name: "query parameter not a number", method: "GET", path: "/v1/clients?page_size=ten", wantStatus: 400, wantField: "page_size", wantMessage: `"ten" is not a whole number`},
		{name: "query parameter not a boolean", method: "GET", path: "/v1/clients?pos_import_enabled_only=maybe", wantStatus: 400, wantField: "pos_import_enabled_only", wantMessage: "true or false"},
		{name: "query parameter twice", method: "GET", path: "/v1/clients?page_size=1&page_size=2", wantStatus: 400, wantField: "page_size", wantMessage: "more than once"},
		{name: "bad query escape", method: "GET", path: "/v1/clients?page_size=%zz", wantStatus: 400, wantField: "query", wantMessage: "URL encoding"},
		{name: "body over the cap", method: "POST", path: "/v1/clients/c1/imports", body: `{"from_date": "` + huge + `"}`, wantStatus: 413, wantField: "body", wantMessage: "larger than 65536 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := b.calls.Load()
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, b.base+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+b.sup)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			r := servicetest.Response{Status: resp.StatusCode, Body: raw}
			if r.Status != tc.wantStatus || r.Field() != tc.wantField || !strings.Contains(r.Message(), tc.wantMessage) {
				t.Errorf("got %d %s, want %d naming %q with %q", r.Status, apierr.Clip(string(raw), 500), tc.wantStatus, tc.wantField, tc.wantMessage)
			}
			for _, goText := range []string{"strconv.", "unexpected EOF", "proto:", "type mismatch", "parsing field"} {
				if strings.Contains(r.Message(), goText) {
					t.Errorf("message %q holds the parser's text %q", r.Message(), goText)
				}
			}
			if len(raw) > 4<<10 {
				t.Errorf("the refusal is %d bytes long", len(raw))
			}
			if n := b.calls.Load() - before; n != 0 {
				t.Errorf("%d calls reached a service", n)
			}
		})
	}
}

// TestRESTAcceptsWhatGRPCAccepts: the decoding that refuses the above accepts a body in
// either field spelling, and the empty object where every field is optional.
func TestRESTAcceptsWhatGRPCAccepts(t *testing.T) {
	t.Parallel()
	b := setupREST(t, server.Config{})
	for _, tc := range []struct{ method, path, body, want string }{
		{"PUT", "/v1/clients/c1/settings", `{"pos_import_enabled": true, "timeZone": "UTC"}`, `"time_zone":"UTC"`},
		{"PUT", "/v1/clients/c1/settings", `{}`, `"settings":{`},
		{"PUT", "/v1/clients/c1/fields/5", `{"name": "Gross"}`, `"name":"Gross"`},
		{"POST", "/v1/clients/c1/imports", `{"department_ids": ["d1"]}`, `{`},
		{"GET", "/v1/clients?page_size=10&pos_import_enabled_only=true", "", `{`},
	} {
		r := do(t, b, tc.method, tc.path, tc.body)
		if r.Status != 200 || !strings.Contains(strings.ReplaceAll(string(r.Body), " ", ""), tc.want) {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, r.Status, r.Body)
		}
	}
}

func do(t *testing.T, b *restBundle, method, path, body string) servicetest.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.sup)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	return servicetest.Response{Status: resp.StatusCode, Body: raw}
}

// TestRESTSlowRequestsAreCutOff: a body trickled a byte at a time is answered 408 when the
// read timeout runs out, and headers trickled likewise lose their connection.
func TestRESTSlowRequestsAreCutOff(t *testing.T) {
	t.Parallel()
	const timeout = 600 * time.Millisecond
	b := setupREST(t, server.Config{ReadTimeout: timeout, ReadHeaderTimeout: timeout})
	t.Run("body", func(t *testing.T) {
		t.Parallel()
		conn := dialHTTP(t, b)
		start := time.Now()
		fmt.Fprintf(conn, "POST /v1/clients/c1/imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", b.sup)
		stop := trickle(conn, 150*time.Millisecond)
		defer stop()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("status %d, want 408", resp.StatusCode)
		}
		if took := time.Since(start); took > 5*timeout {
			t.Errorf("cut off after %v", took)
		}
		if n := b.calls.Load(); n != 0 {
			t.Errorf("%d calls reached the service", n)
		}
	})
	t.Run("headers", func(t *testing.T) {
		t.Parallel()
		conn := dialHTTP(t, b)
		start := time.Now()
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		stop := trickle(conn, 150*time.Millisecond)
		defer stop()
		if _, err := io.ReadAll(conn); err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("read: %v", err)
		}
		if took := time.Since(start); took > 5*timeout {
			t.Errorf("connection closed after %v", took)
		}
	})
}

func dialHTTP(t *testing.T, b *restBundle) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", b.srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	return conn
}

// trickle writes a byte every interval until stopped or the connection fails.
func trickle(conn net.Conn, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// failingWriter is a client that went away.
type failingWriter struct{ http.ResponseWriter }

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("write: broken pipe") }

// TestFailedWritesGoToTheJSONLog: a response the client did not take is one JSON log line,
// and the gateway is told nothing failed (it would print its own plain-text line).
func TestFailedWritesGoToTheJSONLog(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	req := httptest.NewRequest(http.MethodGet, "/v1/clients/c1/settings", nil)
	w := server.NewLogWriter(failingWriter{httptest.NewRecorder()}, log, req)
	for range 3 {
		if n, err := w.Write([]byte("answer")); n != 6 || err != nil {
			t.Errorf("Write = %d, %v", n, err)
		}
	}
	var line map[string]any
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &line) != nil {
		t.Fatalf("logs:\n%s", logs.String())
	}
	if line["msg"] != "REST response not written" || line["path"] != "/v1/clients/c1/settings" || !strings.Contains(fmt.Sprint(line["error"]), "broken pipe") {
		t.Errorf("log line %v", line)
	}
}

// TestUnauthenticatedCarriesABearerChallenge: a 401 the gateway answers (a token that expired
// between the front and the RPC) carries RFC 6750's challenge, not the error's text.
func TestUnauthenticatedCarriesABearerChallenge(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v1/clients/c1/settings", nil)
	server.GatewayError(context.Background(), gwruntime.NewServeMux(), &gwruntime.JSONPb{}, rec, req,
		status.Error(codes.Unauthenticated, "invalid bearer token: expired"))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", rec.Code)
	}
	if got := rec.Header().Values("WWW-Authenticate"); len(got) != 1 || got[0] != `Bearer realm="posimport", error="invalid_token"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	if !strings.Contains(rec.Body.String(), "invalid bearer token: expired") {
		t.Errorf("body %s", rec.Body)
	}
}
