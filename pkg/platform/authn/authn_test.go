package authn_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/secret"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

const appIssuer = "app"

// testKeys are an app key, a key of the import-worker and this process's own key (config).
type testKeys struct {
	cfg                 authn.Config
	app, worker, config *authn.Signer
	appSeed, workerSeed secret.Secret
	v                   *authn.Verifier
}

func newTestKeys(t *testing.T) *testKeys {
	t.Helper()
	appSeed, appPub := authn.NewDevKeys("app1")
	workerSeed, workerPub := authn.NewDevKeys("iw1")
	ownSeed, _ := authn.NewDevKeys("cfg1")
	k := &testKeys{appSeed: appSeed, workerSeed: workerSeed, cfg: authn.Config{
		Audience: "posimport", AppIssuer: appIssuer, AppKeys: appPub,
		ServiceKeys: "import-worker:" + workerPub, SigningKey: ownSeed, ServiceName: "config",
	}}
	var err error
	if k.app, err = authn.NewAppSigner(appSeed, appIssuer, "posimport"); err != nil {
		t.Fatal(err)
	}
	if k.worker, err = authn.NewSigner(authn.Config{SigningKey: workerSeed, ServiceName: "import-worker", Audience: "posimport"}); err != nil {
		t.Fatal(err)
	}
	if k.config, err = authn.NewSigner(k.cfg); err != nil {
		t.Fatal(err)
	}
	if k.v, err = authn.NewVerifier(k.cfg); err != nil {
		t.Fatal(err)
	}
	return k
}

// forge signs claims with seed under kid, as anyone holding that key could, bypassing the
// Signer's own checks.
func forge(t *testing.T, seed secret.Secret, kid string, claims jwt.MapClaims) string {
	t.Helper()
	_, b64, _ := strings.Cut(seed.Reveal(), "=")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(ed25519.NewKeyFromSeed(raw))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claims are valid claims of a person's token of the app, to change one at a time.
func claims(now time.Time, change func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": appIssuer, "aud": "posimport", "sub": "u1", "role": "supervisor", "clients": []string{"c1"},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if change != nil {
		change(c)
	}
	return c
}

func TestVerify(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	now := time.Now()
	sign := func(s *authn.Signer, sub string, role authn.Role, clients []string, ttl time.Duration) string {
		tok, err := s.Sign(sub, role, clients, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	app := func(change func(jwt.MapClaims)) string { return forge(t, k.appSeed, "app1", claims(now, change)) }
	worker := func(change func(jwt.MapClaims)) string {
		return forge(t, k.workerSeed, "iw1", claims(now, func(c jwt.MapClaims) {
			c["iss"], c["sub"], c["role"], c["clients"] = authn.ServiceIssuer, "service:import-worker", "service", []string{"*"}
			if change != nil {
				change(c)
			}
		}))
	}
	foreignSeed, _ := authn.NewDevKeys("app1")
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(now, nil))
	hs.Header["kid"] = "app1"
	hsToken, _ := hs.SignedString([]byte("app1"))
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims(now, nil))
	none.Header["kid"] = "app1"
	noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	tests := []struct {
		name    string
		token   string
		want    authn.Principal // when no error is wanted
		wantErr string
	}{
		{name: "person", token: sign(k.app, "u1", authn.RoleSupervisor, []string{"c1"}, time.Hour),
			want: authn.Principal{Subject: "u1", Role: authn.RoleSupervisor, Clients: []string{"c1"}}},
		{name: "service key", token: sign(k.worker, "service:import-worker", authn.RoleService, []string{"*"}, time.Hour),
			want: authn.Principal{Subject: "service:import-worker", Role: authn.RoleService, Clients: []string{"*"}, Service: "import-worker"}},
		{name: "own signing key", token: sign(k.config, "service:config", authn.RoleService, []string{"*"}, time.Hour),
			want: authn.Principal{Subject: "service:config", Role: authn.RoleService, Clients: []string{"*"}, Service: "config"}},
		{name: "lifetime at the maximum", token: app(func(c jwt.MapClaims) { c["exp"] = now.Add(authn.MaxTokenLifetime).Unix() }),
			want: authn.Principal{Subject: "u1", Role: authn.RoleSupervisor, Clients: []string{"c1"}}},
		{name: "iat within the clock skew", token: app(func(c jwt.MapClaims) { c["iat"] = now.Add(20 * time.Second).Unix() }),
			want: authn.Principal{Subject: "u1", Role: authn.RoleSupervisor, Clients: []string{"c1"}}},

		{name: "expired", token: sign(k.app, "u1", authn.RoleSupervisor, []string{"c1"}, -time.Hour), wantErr: "expired"},
		{name: "wrong audience", token: app(func(c jwt.MapClaims) { c["aud"] = "someone-else" }), wantErr: "audience"},
		{name: "unknown key", token: forge(t, foreignSeed, "nobody", claims(now, nil)), wantErr: "unknown key"},
		{name: "known kid, other key", token: forge(t, foreignSeed, "app1", claims(now, nil)), wantErr: "signature"},
		{name: "hmac", token: hsToken, wantErr: "invalid bearer token"},
		{name: "alg none", token: noneToken, wantErr: "invalid bearer token"},
		{name: "garbage", token: "x.y.z", wantErr: "malformed"},
		{name: "no role", token: app(func(c jwt.MapClaims) { delete(c, "role") }), wantErr: "role"},
		{name: "no subject", token: app(func(c jwt.MapClaims) { delete(c, "sub") }), wantErr: "subject"},
		{name: "no iat", token: app(func(c jwt.MapClaims) { delete(c, "iat") }), wantErr: "iat"},
		{name: "iat in the future", token: app(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Minute).Unix() }), wantErr: "future"},
		{name: "100-year token", token: app(func(c jwt.MapClaims) { c["exp"] = now.AddDate(100, 0, 0).Unix() }), wantErr: "lifetime"},
		{name: "lifetime a second too long", token: app(func(c jwt.MapClaims) { c["exp"] = now.Add(authn.MaxTokenLifetime + time.Second).Unix() }), wantErr: "lifetime"},

		// The main app's key vouches for people only.
		{name: "app key claims the service role", token: app(func(c jwt.MapClaims) {
			c["role"], c["sub"], c["clients"] = "service", "service:anything", []string{"*"}
		}), wantErr: "service role"},
		{name: "app key claims a service's identity", token: app(func(c jwt.MapClaims) {
			c["role"], c["sub"] = "service", "service:import-worker"
		}), wantErr: "service role"},
		{name: "app key claims all clients", token: app(func(c jwt.MapClaims) { c["clients"] = []string{"*"} }), wantErr: "all clients"},
		{name: "app key with posimport's issuer", token: app(func(c jwt.MapClaims) { c["iss"] = authn.ServiceIssuer }), wantErr: "issuer"},
		{name: "app key with an unknown issuer", token: app(func(c jwt.MapClaims) { c["iss"] = "evil" }), wantErr: "issuer"},

		// A service key vouches for its own service only.
		{name: "service key claims another service", token: worker(func(c jwt.MapClaims) { c["sub"] = "service:auth" }), wantErr: "its service's identity"},
		{name: "service key claims a person", token: worker(func(c jwt.MapClaims) { c["sub"], c["role"] = "u1", "supervisor" }), wantErr: "its service's identity"},
		{name: "service key with the app's issuer", token: worker(func(c jwt.MapClaims) { c["iss"] = appIssuer }), wantErr: "issuer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := k.v.Verify(tc.token)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Subject != tc.want.Subject || p.Role != tc.want.Role || p.Service != tc.want.Service ||
					strings.Join(p.Clients, ",") != strings.Join(tc.want.Clients, ",") {
					t.Fatalf("Verify = %+v, want %+v", p, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if apierr.FieldOf(err) != "" || !strings.HasPrefix(err.Error(), "invalid bearer token") {
				t.Errorf("err = %v: want an Unauthenticated invalid bearer token", err)
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Error("error echoes the token")
			}
		})
	}
}

// TestSignerSignsOnlyWhatItsKeyMayClaim: a signer refuses to make a token its verifier would
// refuse, so a mistake in a caller fails where it is made.
func TestSignerSignsOnlyWhatItsKeyMayClaim(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	tests := []struct {
		name    string
		signer  *authn.Signer
		sub     string
		role    authn.Role
		clients []string
		ttl     time.Duration
	}{
		{name: "app signer, service role", signer: k.app, sub: "service:x", role: authn.RoleService, clients: []string{"c1"}, ttl: time.Hour},
		{name: "app signer, all clients", signer: k.app, sub: "u", role: authn.RoleSupervisor, clients: []string{"*"}, ttl: time.Hour},
		{name: "service signer, other identity", signer: k.worker, sub: "service:auth", role: authn.RoleService, clients: []string{"*"}, ttl: time.Hour},
		{name: "service signer, a person", signer: k.worker, sub: "u", role: authn.RoleViewer, clients: []string{"c1"}, ttl: time.Hour},
		{name: "longer than the maximum", signer: k.app, sub: "u", role: authn.RoleViewer, clients: []string{"c1"}, ttl: authn.MaxTokenLifetime + time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tok, err := tc.signer.Sign(tc.sub, tc.role, tc.clients, tc.ttl); err == nil {
				t.Fatalf("signed %s", tok)
			}
		})
	}
	if _, err := authn.NewAppSigner(k.appSeed, authn.ServiceIssuer, "posimport"); err == nil {
		t.Error("an app signer with posimport's issuer was built")
	}
	if _, err := authn.NewSigner(authn.Config{SigningKey: k.workerSeed, Audience: "posimport"}); err == nil {
		t.Error("a service signer without a service name was built")
	}
}

func TestTrustedKeysConfiguration(t *testing.T) {
	t.Parallel()
	_, pub := authn.NewDevKeys("k1")
	_, other := authn.NewDevKeys("k1")
	tests := []struct {
		name    string
		cfg     authn.Config
		wantErr string
	}{
		{name: "retired JWT_PUBLIC_KEYS", cfg: authn.Config{RetiredPublicKeys: pub}, wantErr: "retired"},
		{name: "retired JWT_ISSUERS", cfg: authn.Config{RetiredIssuers: "posimport", ServiceKeys: "auth:" + pub}, wantErr: "retired"},
		{name: "app keys without issuer", cfg: authn.Config{AppKeys: pub}, wantErr: "JWT_APP_ISSUER"},
		{name: "app issuer is posimport's", cfg: authn.Config{AppKeys: pub, AppIssuer: authn.ServiceIssuer}, wantErr: "JWT_APP_ISSUER"},
		{name: "service key without service", cfg: authn.Config{ServiceKeys: pub}, wantErr: "JWT_SERVICE_KEYS"},
		{name: "service key with a bad name", cfg: authn.Config{ServiceKeys: "Import Worker:" + pub}, wantErr: "JWT_SERVICE_KEYS"},
		{name: "short key", cfg: authn.Config{ServiceKeys: "auth:k1=AAAA"}, wantErr: "bytes"},
		{name: "one kid, two keys", cfg: authn.Config{AppIssuer: "app", AppKeys: pub, ServiceKeys: "auth:" + other}, wantErr: "two different keys"},
		{name: "one key for two services", cfg: authn.Config{ServiceKeys: "auth:" + pub + ",balance:" + pub}, wantErr: "two different keys"},
		{name: "none", cfg: authn.Config{Audience: "posimport"}, wantErr: "at least one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.cfg.Audience == "" {
				tc.cfg.Audience = "posimport"
			}
			_, err := authn.NewVerifier(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	// The same key listed twice (e.g. the own signing key also in JWT_SERVICE_KEYS) is fine.
	seed, pub2 := authn.NewDevKeys("auth1")
	if _, err := authn.NewVerifier(authn.Config{Audience: "posimport", ServiceKeys: "auth:" + pub2, SigningKey: seed, ServiceName: "auth"}); err != nil {
		t.Errorf("own key listed again: %v", err)
	}
	if _, err := authn.NewVerifier(authn.Config{Audience: "posimport", ServiceKeys: "balance:" + pub2, SigningKey: seed, ServiceName: "auth"}); err == nil {
		t.Error("own key listed for another service was accepted")
	}
}

func TestInterceptor(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	const (
		method  = "/posimport.v1.ConfigService/GetClientSettings"
		svcOnly = "/posimport.v1.ConfigService/GetClientConfig"
	)
	az := authn.NewAuthorizer(k.v, authn.Policy{
		method:  {Roles: []authn.Role{authn.RoleSupervisor}},
		svcOnly: {Services: []string{authn.ServiceImportWorker}},
	})
	call := az.UnaryInterceptor()
	sign := func(role authn.Role, clients ...string) string {
		tok, err := k.app.Sign("u", role, clients, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	service := func(s *authn.Signer) string {
		tok, err := s.SignService(time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name     string
		method   string
		header   string
		req      any
		wantCode codes.Code
	}{
		{name: "allowed", method: method, header: "Bearer " + sign(authn.RoleSupervisor, "c1"), req: &posimportv1.GetClientSettingsRequest{ClientId: "c1"}, wantCode: codes.OK},
		{name: "no token", method: method, req: &posimportv1.GetClientSettingsRequest{ClientId: "c1"}, wantCode: codes.Unauthenticated},
		{name: "not bearer", method: method, header: "Basic dTpw", req: &posimportv1.GetClientSettingsRequest{ClientId: "c1"}, wantCode: codes.Unauthenticated},
		{name: "wrong role", method: method, header: "Bearer " + sign(authn.RoleViewer, "c1"), req: &posimportv1.GetClientSettingsRequest{ClientId: "c1"}, wantCode: codes.PermissionDenied},
		{name: "other client", method: method, header: "Bearer " + sign(authn.RoleSupervisor, "c1"), req: &posimportv1.GetClientSettingsRequest{ClientId: "c2"}, wantCode: codes.PermissionDenied},
		{name: "empty client", method: method, header: "Bearer " + sign(authn.RoleSupervisor, "c1"), req: &posimportv1.GetClientSettingsRequest{}, wantCode: codes.InvalidArgument},
		{name: "unlisted method", method: "/posimport.v1.ConfigService/Secret", header: "Bearer " + sign(authn.RoleSupervisor, "c1"), req: &posimportv1.GetClientSettingsRequest{ClientId: "c1"}, wantCode: codes.PermissionDenied},
		{name: "health is public", method: "/grpc.health.v1.Health/Check", req: wrapperspb.String(""), wantCode: codes.OK},
		{name: "bound service, any client", method: svcOnly, header: "Bearer " + service(k.worker), req: &posimportv1.GetClientConfigRequest{ClientId: "c9"}, wantCode: codes.OK},
		{name: "other service", method: svcOnly, header: "Bearer " + service(k.config), req: &posimportv1.GetClientConfigRequest{ClientId: "c9"}, wantCode: codes.PermissionDenied},
		{name: "service on a people's RPC", method: method, header: "Bearer " + service(k.worker), req: &posimportv1.GetClientSettingsRequest{ClientId: "c1"}, wantCode: codes.PermissionDenied},
		{name: "person on a service RPC", method: svcOnly, header: "Bearer " + sign(authn.RoleSupervisor, "c1"), req: &posimportv1.GetClientConfigRequest{ClientId: "c1"}, wantCode: codes.PermissionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tc.header != "" {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", tc.header))
			}
			called := false
			_, err := call(ctx, tc.req, &grpc.UnaryServerInfo{FullMethod: tc.method}, func(ctx context.Context, _ any) (any, error) {
				called = true
				return nil, nil
			})
			st, _ := apierr.ToStatus(err)
			if st.Code() != tc.wantCode {
				t.Fatalf("code = %v (%v), want %v", st.Code(), err, tc.wantCode)
			}
			if called != (tc.wantCode == codes.OK) {
				t.Errorf("handler called = %v", called)
			}
		})
	}
}

func TestPolicyMissing(t *testing.T) {
	t.Parallel()
	p := authn.Policy{posimportv1.ConfigService_GetClientSettings_FullMethodName: {Roles: authn.Readers}}
	missing := p.Missing(posimportv1.ConfigService_ServiceDesc)
	if len(missing) != len(posimportv1.ConfigService_ServiceDesc.Methods)-1 {
		t.Errorf("missing = %v", missing)
	}
}

// TestVerifyCacheHonoursExpiry: a cached token stops verifying when it expires, exactly as a
// fresh verification would, and a refused token is never cached.
func TestVerifyCacheHonoursExpiry(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	now := time.Now()
	authn.SetVerifierClock(k.v, func() time.Time { return now })
	tok, err := k.app.Sign("u1", authn.RoleSupervisor, []string{"c1"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // second call is served from the cache
		if p, err := k.v.Verify(tok); err != nil || p.Subject != "u1" {
			t.Fatalf("Verify = %+v, %v", p, err)
		}
	}
	now = now.Add(time.Minute + 29*time.Second)
	if _, err := k.v.Verify(tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := k.v.Verify(tok); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("after expiry: %v", err)
	}
	if _, err := k.v.Verify(tok + "x"); err == nil {
		t.Fatal("tampered token verified")
	}
}
