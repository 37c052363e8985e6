package authservice_test

import (
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
	"github.com/posimport/posimport/services/auth/internal/keyring"
)

// TestCanarySecrets runs the whole life of a connection (consent, refused callbacks, enable,
// refreshes, forced refresh, department check, a failing token endpoint, a withdrawn consent,
// reconnect to the other Lightspeed product, key rotation, disconnect) with a canary client secret and encryption key, logging
// at debug level, and then looks for every secret that crossed the wire (client secret, key,
// states, codes, PKCE verifiers, access and refresh tokens) in the logs, the errors callers
// saw, the metrics and dumps of the auth schema, raw and hex- and base64-encoded.
func TestCanarySecrets(t *testing.T) {
	t.Parallel()
	const clientSecret = "canary-client-secret-5d1f0c9e"
	keyItem := keyring.NewKey("canary")
	logs := &logging.Buffer{}
	b := setup(t, options{accessTTL: 2 * time.Second, margin: 500 * time.Millisecond, clientSecret: clientSecret, tokenKeys: keyItem, logs: logs})
	_, shops := b.account(0)
	b.configure(t, "c1", map[string]string{"d1": shops[0], "d2": "999999"})
	var seen []string // everything a caller or browser got back
	var states []string
	var dumps []string

	// Consent, then the same callback replayed and a forged state.
	u := b.begin(t, "c1")
	states = append(states, u.Query().Get("state"))
	cb := b.authorize(t, u)
	for _, q := range []map[string][]string{cb.Query(), cb.Query(), {"state": {"x.y"}, "code": {"c"}}} {
		seen = append(seen, b.callback(t, q).Encode())
	}
	b.enable(t, "c1", true)

	// Tokens: the first, a refreshed one, a forced one; the department check.
	first, err := b.accessToken(t, "c1", false)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for tok := first; tok.GetAccessToken() == first.GetAccessToken(); {
		if time.Now().After(deadline) {
			t.Fatal("no refresh within 10 s")
		}
		time.Sleep(100 * time.Millisecond) // pacing the poll for the 2 s expiry
		if tok, err = b.accessToken(t, "c1", false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.accessToken(t, "c1", true); err != nil {
		t.Fatal(err)
	}
	seen = append(seen, string(b.auth.Do(t, "GET", "/v1/clients/c1/connection", b.keys.Token(t, authn.RoleViewer, "c1"), nil).Body))
	dumps = append(dumps, pgtest.Snapshot(t, b.pool, authservice.Schema))

	// A failing token endpoint, then a withdrawn consent.
	if err := b.sim.InjectFault(sim.Fault{Kind: sim.FaultStatus, Endpoint: "/auth/oauth/token", Status: 500}); err != nil {
		t.Fatal(err)
	}
	seen = append(seen, b.tokenUntilError(t, "c1").Error())
	b.sim.ClearFaults()
	tok, err := b.accessToken(t, "c1", false)
	if err != nil {
		t.Fatal(err)
	}
	b.revokeConsent(t, tok.GetAccessToken())
	seen = append(seen, b.tokenUntilError(t, "c1").Error())
	seen = append(seen, string(b.auth.Do(t, "POST", "/v1/clients/c1/connection:setEnabled", b.keys.Token(t, authn.RoleIntegrationContact, "c1"), map[string]any{"enabled": true}).Body))

	// Reconnect, switching to Lightspeed Restaurant (whose single-use refresh token is used
	// by a forced refresh), rotate the key, disconnect.
	b.configureProvider(t, "c1", "POS_PROVIDER_LIGHTSPEED_RESTAURANT", map[string]string{"d1": "300001001", "d2": "999999"})
	u = b.begin(t, "c1")
	states = append(states, u.Query().Get("state"))
	seen = append(seen, b.browse(t, u).Encode())
	if _, err := b.accessToken(t, "c1", true); err != nil {
		t.Fatal(err)
	}
	seen = append(seen, string(b.auth.Do(t, "GET", "/v1/clients/c1/connection", b.keys.Token(t, authn.RoleViewer, "c1"), nil).Body))
	dumps = append(dumps, pgtest.Snapshot(t, b.pool, authservice.Schema))
	newKey := keyring.NewKey("canary2")
	rotated := b.startAuth(t, b.pool, newKey+","+keyItem)
	if _, err := posimportv1.NewAuthServiceClient(b.keys.Dial(t, rotated.GRPCAddr, authn.ServiceAuth)).ReencryptTokens(t.Context(), &posimportv1.ReencryptTokensRequest{}); err != nil {
		t.Fatal(err)
	}
	dumps = append(dumps, pgtest.Snapshot(t, b.pool, authservice.Schema))
	seen = append(seen, string(rotated.Do(t, "POST", "/v1/clients/c1/connection:disconnect", b.keys.Token(t, authn.RoleSupervisor, "c1"), map[string]any{}).Body))
	dumps = append(dumps, pgtest.Snapshot(t, b.pool, authservice.Schema))

	var metrics []string
	for _, base := range []string{b.auth.HTTPBase, rotated.HTTPBase} {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		metrics = append(metrics, string(body))
	}

	// The run must have gone where the secrets are: otherwise finding none proves nothing.
	log := logs.String()
	for _, want := range []string{"consent given", "oauth callback refused", "access token refreshed", "token refresh failed",
		"consent refused by the provider", "tokens re-encrypted", "integration disconnected", `"level":"DEBUG"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the logs lack %q", want)
		}
	}
	for _, want := range []string{`posimport_auth_token_refreshes_total{provider="lightspeed_retail",result="invalid_grant"} 1`,
		`posimport_auth_token_refreshes_total{provider="lightspeed_restaurant",result="ok"} `, "posimport_auth_callbacks_total"} {
		if !strings.Contains(strings.Join(metrics, ""), want) {
			t.Errorf("the metrics lack %q", want)
		}
	}
	if !strings.Contains(dumps[0], "== connections\n(c1,") || !strings.Contains(dumps[0], `\x`) {
		t.Errorf("the dump holds no sealed tokens:\n%s", dumps[0])
	}

	canaries := map[string]string{"client secret": clientSecret, "token key": strings.TrimPrefix(keyItem, "canary="),
		"new token key": strings.TrimPrefix(newKey, "canary2=")}
	for i, s := range states {
		canaries["state "+string(rune('A'+i))] = s
	}
	secrets := b.rec.Secrets()
	if len(secrets) < 10 {
		t.Fatalf("only %d secrets crossed the wire", len(secrets))
	}
	for i, s := range secrets {
		canaries["wire secret "+string(rune('A'+i%26))+strings.Repeat("'", i/26)] = s
	}
	haystacks := map[string]string{"logs": log, "errors and responses": strings.Join(seen, "\n"),
		"metrics": strings.Join(metrics, "\n"), "schema dumps": strings.Join(dumps, "\n")}
	for name, c := range canaries {
		forms := map[string]string{"raw": c, "hex": hex.EncodeToString([]byte(c)),
			"base64": base64.StdEncoding.EncodeToString([]byte(c)), "base64url": base64.RawURLEncoding.EncodeToString([]byte(c))}
		for where, hay := range haystacks {
			for form, needle := range forms {
				if strings.Contains(hay, needle) {
					t.Errorf("%s (%s) found in the %s", name, form, where)
				}
			}
		}
	}
}
