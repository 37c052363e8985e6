// Package servicetest starts a service on real ports for tests, with real JWT keys (the main
// app's and one per posimport service, each bound to its identity), and calls it over REST and
// gRPC as the main app or another service would.
package servicetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/platform/server"
)

// MainAppIssuer is the issuer of the people's tokens the tests sign in the main app's stead.
const MainAppIssuer = "main-app"

// Keys are a test's JWT keys: the main app's key, which signs people's tokens, and one key
// for each posimport service, bound to it.
type Keys struct {
	// Config verifies every token these keys sign (as a service's JWT configuration would).
	Config authn.Config
	// App signs people's tokens as the main app does.
	App      *authn.Signer
	appSeed  secret.Secret
	services map[string]*authn.Signer
	seeds    map[string]secret.Secret
}

// Services are the identities NewKeys makes keys for.
var Services = []string{authn.ServiceConfig, authn.ServiceAuth, authn.ServiceBalance, authn.ServiceImportWorker}

// NewKeys generates keys and the matching configuration.
func NewKeys(t testing.TB) *Keys {
	t.Helper()
	k := &Keys{services: map[string]*authn.Signer{}, seeds: map[string]secret.Secret{}}
	var appPub string
	k.appSeed, appPub = authn.NewDevKeys("app")
	k.Config = authn.Config{Audience: "posimport", AppIssuer: MainAppIssuer, AppKeys: appPub}
	var err error
	if k.App, err = authn.NewAppSigner(k.appSeed, MainAppIssuer, "posimport"); err != nil {
		t.Fatal(err)
	}
	var entries []string
	for _, name := range Services {
		seed, pub := authn.NewDevKeys("svc-" + name)
		s, err := authn.NewSigner(authn.Config{Audience: "posimport", SigningKey: seed, ServiceName: name})
		if err != nil {
			t.Fatal(err)
		}
		k.services[name], k.seeds[name] = s, seed
		entries = append(entries, name+":"+pub)
	}
	k.Config.ServiceKeys = strings.Join(entries, ",")
	return k
}

// Token signs a token for a person with role acting for clients.
func (k *Keys) Token(t testing.TB, role authn.Role, clients ...string) string {
	t.Helper()
	tok, err := k.App.Sign("user-"+string(role), role, clients, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Service returns the signer of the service named name.
func (k *Keys) Service(t testing.TB, name string) *authn.Signer {
	t.Helper()
	s, ok := k.services[name]
	if !ok {
		t.Fatalf("servicetest: no key for service %q", name)
	}
	return s
}

// Env is the JWT configuration of a separate process of the service named name (one of
// Services), as KEY=VALUE lines.
func (k *Keys) Env(name string) []string {
	return []string{
		"JWT_SIGNING_KEY=" + k.seeds[name].Reveal(), "SERVICE_NAME=" + name,
		"JWT_APP_ISSUER=" + k.Config.AppIssuer, "JWT_APP_KEYS=" + k.Config.AppKeys,
		"JWT_SERVICE_KEYS=" + k.Config.ServiceKeys, "JWT_AUDIENCE=" + k.Config.Audience,
	}
}

// ServiceToken signs a token of the service named name, acting for every client.
func (k *Keys) ServiceToken(t testing.TB, name string) string {
	t.Helper()
	tok, err := k.Service(t, name).SignService(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Dial connects to a gRPC address as the posimport service named service.
func (k *Keys) Dial(t testing.TB, addr, service string) *grpc.ClientConn {
	t.Helper()
	conn, err := app.Dial(addr, k.Service(t, service))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// DialPerson connects to a gRPC address as a person with role, acting in each unary call for
// the client its request names (its client_id field): for tests that read many clients' data
// as the main app's users would.
func (k *Keys) DialPerson(t testing.TB, addr string, role authn.Role) *grpc.ClientConn {
	t.Helper()
	var (
		mu     sync.Mutex
		tokens = map[string]string{}
	)
	token := func(client string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if tok, ok := tokens[client]; ok {
			return tok, nil
		}
		tok, err := k.App.Sign("user-"+string(role), role, []string{client}, time.Hour)
		tokens[client] = tok
		return tok, err
	}
	perClient := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		m, ok := req.(proto.Message)
		if !ok {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		var client string
		if fd := m.ProtoReflect().Descriptor().Fields().ByName("client_id"); fd != nil {
			client = m.ProtoReflect().Get(fd).String()
		}
		tok, err := token(client)
		if err != nil {
			return err
		}
		return invoker(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), method, req, reply, cc, opts...)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUnaryInterceptor(perClient))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// Secrets are the private keys, by owner ("app" and the services' names), for tests that
// check no log holds one.
func (k *Keys) Secrets() map[string]secret.Secret {
	out := map[string]secret.Secret{"app": k.appSeed}
	for name, seed := range k.seeds {
		out[name] = seed
	}
	return out
}

// Forgery describes a token signed as anyone holding a key could sign it, past the checks
// of authn.Signer: for tests that show what the services refuse.
type Forgery struct {
	// Key signs: "app" (the main app's key), a service's name (its key), or "" (a key
	// nobody trusts).
	Key string
	// Issuer, Subject, Role and Clients are the claims.
	Issuer, Subject string
	Role            authn.Role
	Clients         []string
	// TTL is the lifetime (default an hour).
	TTL time.Duration
}

// Forge signs f.
func (k *Keys) Forge(t testing.TB, f Forgery) string {
	t.Helper()
	var seed secret.Secret
	switch kid := f.Key; {
	case kid == "app":
		seed = k.appSeed
	case kid == "":
		seed, _ = authn.NewDevKeys("stranger")
	default:
		var ok bool
		if seed, ok = k.seeds[kid]; !ok {
			t.Fatalf("servicetest: no key %q", kid)
		}
	}
	kid, b64, _ := strings.Cut(seed.Reveal(), "=")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	if f.TTL == 0 {
		f.TTL = time.Hour
	}
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": f.Issuer, "aud": k.Config.Audience, "sub": f.Subject, "role": string(f.Role), "clients": f.Clients,
		"iat": now.Unix(), "exp": now.Add(f.TTL).Unix(),
	})
	tok.Header["kid"] = kid
	signed, err := tok.SignedString(ed25519.NewKeyFromSeed(raw))
	if err != nil {
		t.Fatal(err)
	}
	return signed
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
