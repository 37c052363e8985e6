package authn_test

import (
	"context"
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
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

func keys(t *testing.T) (authn.Config, *authn.Signer, *authn.Verifier) {
	t.Helper()
	sk, pub := authn.NewDevKeys("k1")
	cfg := authn.Config{Issuers: []string{"posimport", "app"}, Audience: "posimport", PublicKeys: pub, SigningKey: sk}
	s, err := authn.NewSigner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := authn.NewVerifier(authn.Config{Issuers: cfg.Issuers, Audience: cfg.Audience, PublicKeys: pub})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, s, v
}

func TestVerify(t *testing.T) {
	t.Parallel()
	cfg, s, v := keys(t)
	good, _ := s.Sign("u1", authn.RoleSupervisor, []string{"c1"}, time.Hour)
	expired, _ := s.Sign("u1", authn.RoleSupervisor, []string{"c1"}, -time.Hour)
	personAll, _ := s.Sign("u1", authn.RoleSupervisor, []string{authn.AllClients}, time.Hour)
	noRole, _ := s.Sign("u1", "", []string{"c1"}, time.Hour)

	otherCfg := cfg
	otherCfg.Audience = "someone-else"
	otherAud, _ := mustSigner(t, otherCfg).Sign("u1", authn.RoleSupervisor, []string{"c1"}, time.Hour)
	otherIss := cfg
	otherIss.Issuers = []string{"evil"}
	badIssuer, _ := mustSigner(t, otherIss).Sign("u1", authn.RoleSupervisor, []string{"c1"}, time.Hour)
	foreignSK, _ := authn.NewDevKeys("k1")
	foreign := cfg
	foreign.SigningKey = foreignSK
	forged, _ := mustSigner(t, foreign).Sign("u1", authn.RoleSupervisor, []string{"c1"}, time.Hour)
	// An HMAC token must not be accepted even if someone knows a public key.
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "role": "supervisor", "aud": "posimport", "iss": "posimport", "exp": time.Now().Add(time.Hour).Unix()})
	hs.Header["kid"] = "k1"
	hsToken, _ := hs.SignedString([]byte("k1"))
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "u1", "role": "supervisor", "aud": "posimport", "iss": "posimport", "exp": time.Now().Add(time.Hour).Unix()})
	noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	tests := []struct {
		name    string
		token   string
		wantErr string
	}{
		{name: "valid", token: good},
		{name: "expired", token: expired, wantErr: "expired"},
		{name: "wrong audience", token: otherAud, wantErr: "audience"},
		{name: "wrong issuer", token: badIssuer, wantErr: "issuer"},
		{name: "forged with another key", token: forged, wantErr: "signature"},
		{name: "hmac", token: hsToken, wantErr: "invalid bearer token"},
		{name: "alg none", token: noneToken, wantErr: "invalid bearer token"},
		{name: "garbage", token: "x.y.z", wantErr: "malformed"},
		{name: "person for all clients", token: personAll, wantErr: "only services"},
		{name: "no role", token: noRole, wantErr: "role"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := v.Verify(tc.token)
			if tc.wantErr == "" {
				if err != nil || p.Subject != "u1" || !p.CanActFor("c1") || p.CanActFor("c2") {
					t.Fatalf("Verify = %+v, %v", p, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Error("error echoes the token")
			}
		})
	}
}

func mustSigner(t *testing.T, cfg authn.Config) *authn.Signer {
	t.Helper()
	s, err := authn.NewSigner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInterceptor(t *testing.T) {
	t.Parallel()
	_, s, v := keys(t)
	const method = "/posimport.v1.ConfigService/GetClientSettings"
	az := authn.NewAuthorizer(v, authn.Policy{method: {Roles: []authn.Role{authn.RoleSupervisor}}})
	call := az.UnaryInterceptor()
	sign := func(role authn.Role, clients ...string) string {
		tok, err := s.Sign("u", role, clients, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name     string
		method   string
		token    string
		req      any
		wantCode codes.Code
	}{
		{name: "allowed", method: method, token: sign(authn.RoleSupervisor, "c1"), req: &posimportv1.GetClientSettingsRequest{ClientId: "c1"}, wantCode: codes.OK},
		{name: "no token", method: method, req: &posimportv1.GetClientSettingsRequest{ClientId: "c1"}, wantCode: codes.Unauthenticated},
		{name: "wrong role", method: method, token: sign(authn.RoleViewer, "c1"), req: &posimportv1.GetClientSettingsRequest{ClientId: "c1"}, wantCode: codes.PermissionDenied},
		{name: "other client", method: method, token: sign(authn.RoleSupervisor, "c1"), req: &posimportv1.GetClientSettingsRequest{ClientId: "c2"}, wantCode: codes.PermissionDenied},
		{name: "empty client", method: method, token: sign(authn.RoleSupervisor, "c1"), req: &posimportv1.GetClientSettingsRequest{}, wantCode: codes.InvalidArgument},
		{name: "unlisted method", method: "/posimport.v1.ConfigService/Secret", token: sign(authn.RoleSupervisor, "c1"), req: &posimportv1.GetClientSettingsRequest{ClientId: "c1"}, wantCode: codes.PermissionDenied},
		{name: "health is public", method: "/grpc.health.v1.Health/Check", req: wrapperspb.String(""), wantCode: codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tc.token != "" {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+tc.token))
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
	_, s, v := keys(t)
	now := time.Now()
	authn.SetVerifierClock(v, func() time.Time { return now })
	tok, err := s.Sign("u1", authn.RoleSupervisor, []string{"c1"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // second call is served from the cache
		if p, err := v.Verify(tok); err != nil || p.Subject != "u1" {
			t.Fatalf("Verify = %+v, %v", p, err)
		}
	}
	now = now.Add(time.Minute + 29*time.Second)
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := v.Verify(tok); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("after expiry: %v", err)
	}
	if _, err := v.Verify(tok + "x"); err == nil {
		t.Fatal("tampered token verified")
	}
}
