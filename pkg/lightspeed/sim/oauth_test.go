package sim_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
)

const accountPath = "/API/V3/Account/100001/"

func exchangeForm(env *simtest.Env, code, verifier string) url.Values {
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {env.OAuth.ClientID},
		"client_secret": {env.OAuth.ClientSecret}, "redirect_uri": {env.OAuth.RedirectURL}}
	if verifier != "" {
		v.Set("code_verifier", verifier)
	}
	return v
}

func refreshForm(env *simtest.Env, rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {env.OAuth.ClientID}, "client_secret": {env.OAuth.ClientSecret}}
}

func TestAuthorizationCode(t *testing.T) {
	t.Parallel()
	verifier := oauth2.GenerateVerifier()
	tests := []struct {
		name string
		// prepare returns the form to exchange, given a fresh code for a PKCE request.
		prepare    func(env *simtest.Env, code string) url.Values
		wantStatus int
		wantError  string
	}{
		{name: "PKCE verified", prepare: func(env *simtest.Env, code string) url.Values { return exchangeForm(env, code, verifier) }, wantStatus: 200},
		{name: "wrong verifier", prepare: func(env *simtest.Env, code string) url.Values {
			return exchangeForm(env, code, oauth2.GenerateVerifier())
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "missing verifier", prepare: func(env *simtest.Env, code string) url.Values { return exchangeForm(env, code, "") }, wantStatus: 400, wantError: "invalid_grant"},
		{name: "code used twice", prepare: func(env *simtest.Env, code string) url.Values {
			v := exchangeForm(env, code, verifier)
			if resp, err := env.Server.Client().PostForm(env.URL+"/auth/oauth/token", v); err == nil { // spends the code
				_ = resp.Body.Close()
			}
			return v
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "code expired after 60 s", prepare: func(env *simtest.Env, code string) url.Values {
			env.Clock.Advance(60 * time.Second)
			return exchangeForm(env, code, verifier)
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "code still good at 59 s", prepare: func(env *simtest.Env, code string) url.Values {
			env.Clock.Advance(59 * time.Second)
			return exchangeForm(env, code, verifier)
		}, wantStatus: 200},
		{name: "wrong secret", prepare: func(env *simtest.Env, code string) url.Values {
			v := exchangeForm(env, code, verifier)
			v.Set("client_secret", "nope")
			return v
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "other redirect_uri", prepare: func(env *simtest.Env, code string) url.Values {
			v := exchangeForm(env, code, verifier)
			v.Set("redirect_uri", "http://evil.example/cb")
			return v
		}, wantStatus: 400, wantError: "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := start(t, sim.Options{})
			code := env.Code(t, 0, verifier)
			r := postForm(t, env, "/auth/oauth/token", tc.prepare(env, code))
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.raw)
			}
			if tc.wantError != "" && r.body["error"] != tc.wantError {
				t.Errorf("error %v, want %s", r.body["error"], tc.wantError)
			}
			if tc.wantStatus == 200 && (r.body["token_type"] != "Bearer" || r.body["expires_in"] != 1800.0 || r.body["refresh_token"] == "") {
				t.Errorf("token response %s", r.raw)
			}
		})
	}
}

func TestAccessTokenIsJWTWithAcct(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{AccessTokenTTL: 90 * time.Second, Data: sim.DataOptions{Accounts: 2}})
	tok := env.Token(t, 100002)
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d parts, want a JWT", len(parts))
	}
	var header, claims map[string]any
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	if header["alg"] != "RS256" || claims["acct"] != "100002" || claims["aud"] != sim.DefaultClientID {
		t.Errorf("header %v claims %v", header, claims)
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 90 {
		t.Errorf("lifetime %v s, want the configured 90", exp-iat)
	}
	if got := time.Until(tok.Expiry).Round(time.Minute); got != 2*time.Minute && got != time.Minute {
		t.Errorf("oauth2 expiry in %v, want about 90 s", got)
	}
	// The token works for its own account and not for another.
	if r := get(t, env, "/API/V3/Account/100002/Shop.json", tok.AccessToken); r.status != 200 {
		t.Errorf("own account: %d %s", r.status, r.raw)
	}
	if r := get(t, env, accountPath+"Shop.json", tok.AccessToken); r.status != 403 {
		t.Errorf("other account: %d, want 403", r.status)
	}
	jwks := get(t, env, "/.well-known/jwks", "")
	if keys, _ := jwks.body["keys"].([]any); len(keys) != 1 {
		t.Errorf("jwks %s", jwks.raw)
	}
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{})
	tok := token(t, env)
	wantBody := map[string]any{
		"error":             "access_denied",
		"error_description": "The resource owner or authorization server denied the request.",
		"hint":              "Access token could not be verified",
	}
	for _, bad := range []string{"", "not-a-token", tok.AccessToken + "x"} {
		r := get(t, env, accountPath+"Sale.json", bad)
		if r.status != 401 {
			t.Errorf("token %q: status %d", bad, r.status)
		}
		if bad != "" {
			if diff := cmp.Diff(wantBody, r.body); diff != "" {
				t.Errorf("401 body (-want +got):\n%s", diff)
			}
		}
	}
	env.Clock.Advance(1799 * time.Second)
	if r := get(t, env, accountPath+"Sale.json", tok.AccessToken); r.status != 200 {
		t.Fatalf("token before expiry: %d", r.status)
	}
	env.Clock.Advance(time.Second)
	r := get(t, env, accountPath+"Sale.json", tok.AccessToken)
	if r.status != 401 {
		t.Fatalf("expired token: %d", r.status)
	}
	if diff := cmp.Diff(wantBody, r.body); diff != "" {
		t.Errorf("expired 401 body (-want +got):\n%s", diff)
	}
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{})
	tok := token(t, env)
	rt0 := tok.RefreshToken

	// Refreshing while the access token is valid returns the same access token.
	r1 := postForm(t, env, "/auth/oauth/token", refreshForm(env, rt0))
	if r1.status != 200 {
		t.Fatalf("refresh: %d %s", r1.status, r1.raw)
	}
	rt1 := r1.body["refresh_token"].(string)
	if r1.body["access_token"] != tok.AccessToken {
		t.Error("early refresh returned a new access token, want the same")
	}
	if rt1 == rt0 {
		t.Error("refresh did not rotate the refresh token")
	}
	// The old refresh token lives until the (new) access token is used...
	r2 := postForm(t, env, "/auth/oauth/token", refreshForm(env, rt0))
	if r2.status != 200 {
		t.Fatalf("old refresh token before the access token was used: %d %s", r2.status, r2.raw)
	}
	rt2 := r2.body["refresh_token"].(string)
	if r := get(t, env, accountPath+"Shop.json", tok.AccessToken); r.status != 200 {
		t.Fatalf("use access token: %d", r.status)
	}
	// ... and then dies: reuse is invalid_grant, for both rotated-out tokens.
	for name, rt := range map[string]string{"first": rt0, "second": rt1} {
		if r := postForm(t, env, "/auth/oauth/token", refreshForm(env, rt)); r.status != 400 || r.body["error"] != "invalid_grant" {
			t.Errorf("%s dead refresh token: %d %s", name, r.status, r.raw)
		}
	}
	// After expiry, a refresh issues a new access token.
	env.Clock.Advance(31 * time.Minute)
	r3 := postForm(t, env, "/auth/oauth/token", refreshForm(env, rt2))
	if r3.status != 200 || r3.body["access_token"] == tok.AccessToken || r3.body["expires_in"] != 1800.0 {
		t.Fatalf("refresh after expiry: %d %s", r3.status, r3.raw)
	}
	if r := get(t, env, accountPath+"Shop.json", r3.body["access_token"].(string)); r.status != 200 {
		t.Errorf("new access token: %d", r.status)
	}
	if r := get(t, env, accountPath+"Shop.json", tok.AccessToken); r.status != 401 {
		t.Errorf("old access token: %d, want 401", r.status)
	}
	// Missing refresh token.
	if r := postForm(t, env, "/auth/oauth/token", refreshForm(env, "")); r.status != 400 || r.body["error"] != "invalid_request" {
		t.Errorf("no refresh token: %d %s", r.status, r.raw)
	}
}

func TestRefreshWithOAuth2Library(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{AccessTokenTTL: 20 * time.Second})
	tok := token(t, env)
	// oauth2 refreshes 10 s before expiry by its own (real) clock: a 20 s token is due at
	// once. The client's credentials go in the body, as R-Series documents.
	conf := *env.OAuth
	env.Clock.Advance(21 * time.Second)
	tok.Expiry = time.Now().Add(-time.Second)
	fresh, err := conf.TokenSource(env.Context(context.Background()), tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Error("refresh did not rotate both tokens")
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{})
	tok := token(t, env)
	v := url.Values{"refresh_token": {tok.RefreshToken}, "client_id": {env.OAuth.ClientID}, "client_secret": {env.OAuth.ClientSecret}}
	if r := postForm(t, env, "/auth/oauth/revoke", v); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	r := get(t, env, accountPath+"Sale.json", tok.AccessToken)
	if r.status != 401 || r.body["hint"] != "Access token has been revoked" {
		t.Errorf("revoked access token: %d %s", r.status, r.raw)
	}
	if r := postForm(t, env, "/auth/oauth/token", refreshForm(env, tok.RefreshToken)); r.status != 400 || r.body["error"] != "invalid_grant" {
		t.Errorf("revoked refresh token: %d %s", r.status, r.raw)
	}
	v.Set("refresh_token", "unknown")
	if r := postForm(t, env, "/auth/oauth/revoke", v); r.status != 200 {
		t.Errorf("revoke of an unknown token: %d", r.status)
	}
}

func TestConsentPage(t *testing.T) {
	t.Parallel()
	env := simtest.Start(t, sim.Options{Data: sim.DataOptions{Accounts: 2}})
	authURL := env.OAuth.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	page := get(t, env, strings.TrimPrefix(authURL, env.URL), "")
	if page.status != 200 || !strings.Contains(page.raw, "<form") || !strings.Contains(page.raw, "100002") {
		t.Fatalf("consent page: %d %s", page.status, page.raw)
	}
	u, _ := url.Parse(authURL)
	form := u.Query()
	tests := []struct {
		decision  string
		wantQuery string
	}{
		{decision: "approve", wantQuery: "code"},
		{decision: "deny", wantQuery: "error"},
	}
	for _, tc := range tests {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("decision", tc.decision)
		f.Set("account_id", "100002")
		c := *env.Server.Client()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.PostForm(env.URL+"/auth/oauth/authorize", f)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Query().Get(tc.wantQuery) == "" || loc.Query().Get("state") != "st" {
			t.Errorf("%s: %d %s", tc.decision, resp.StatusCode, loc)
		}
	}
	// An unknown client is shown an error, not redirected.
	if r := get(t, env, "/auth/oauth/authorize?response_type=code&client_id=nobody&redirect_uri=http://x/cb", ""); r.status != 400 {
		t.Errorf("unknown client: %d", r.status)
	}
}

// TestClientAuthenticationStyle: each product's token and revoke endpoints take the client's
// credentials only the way its documentation says (R-Series in the form body, K-Series as HTTP
// Basic) and answer the other style with 401 invalid_client, as a server following its own
// documentation would; the refused exchange does not spend the code, which then works in the
// documented style. golang.org/x/oauth2 configured with the other style fails the same way.
func TestClientAuthenticationStyle(t *testing.T) {
	t.Parallel()
	verifier := oauth2.GenerateVerifier()
	type style int
	const (
		inBody style = iota
		inBasic
		inBoth
	)
	tests := []struct {
		name       string
		restaurant bool
		style      style
		wantStatus int
		wantError  string
	}{
		{name: "R-Series, body (documented)", style: inBody, wantStatus: 200},
		{name: "R-Series, Basic", style: inBasic, wantStatus: 401, wantError: "invalid_client"},
		{name: "R-Series, both", style: inBoth, wantStatus: 400, wantError: "invalid_request"},
		{name: "K-Series, Basic (documented)", restaurant: true, style: inBasic, wantStatus: 200},
		{name: "K-Series, body", restaurant: true, style: inBody, wantStatus: 401, wantError: "invalid_client"},
		{name: "K-Series, both", restaurant: true, style: inBoth, wantStatus: 400, wantError: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := start(t, sim.Options{})
			conf, prefix := env.OAuth, "/auth/oauth/"
			if tc.restaurant {
				conf, prefix = env.Restaurant, "/oauth/"
			}
			code := env.CodeFor(t, conf, 0, verifier)
			post := func(style style, form url.Values) response {
				t.Helper()
				v := maps.Clone(form)
				auth := ""
				if style != inBasic {
					v.Set("client_id", conf.ClientID)
					v.Set("client_secret", conf.ClientSecret)
				}
				if style != inBody {
					auth = basicAuth(conf.ClientID, conf.ClientSecret)
				}
				return do(t, env, http.MethodPost, prefix+v.Get("endpoint"), auth, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
			}
			exchange := url.Values{"endpoint": {"token"}, "grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {conf.RedirectURL}}
			r := post(tc.style, exchange)
			if r.status != tc.wantStatus || (tc.wantError != "" && r.body["error"] != tc.wantError) {
				t.Fatalf("exchange: %d %s, want %d %s", r.status, r.raw, tc.wantStatus, tc.wantError)
			}
			if wantChallenge := tc.restaurant && r.status == 401; wantChallenge != strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("WWW-Authenticate %q on %d", r.header.Get("WWW-Authenticate"), r.status)
			}
			documented := inBody
			if tc.restaurant {
				documented = inBasic
			}
			if r.status != 200 {
				// The refusal came before the grant was looked at: the code still works.
				if r = post(documented, exchange); r.status != 200 {
					t.Fatalf("exchange in the documented style after a refusal: %d %s", r.status, r.raw)
				}
			}
			refresh := r.body["refresh_token"].(string)
			revoke := url.Values{"endpoint": {"revoke"}, "token": {refresh}}
			if r := post(tc.style, revoke); r.status != tc.wantStatus {
				t.Errorf("revoke: %d %s, want %d", r.status, r.raw, tc.wantStatus)
			}
			// Refused, the revocation left the grant alive; accepted, it ended it.
			r = post(documented, url.Values{"endpoint": {"token"}, "grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			if alive := r.status == 200; alive != (tc.wantStatus != 200) {
				t.Errorf("refresh after the revoke: %d %s", r.status, r.raw)
			}

			// The client library configured with the other style meets the same refusal.
			other := *conf
			other.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
			if tc.restaurant {
				other.Endpoint.AuthStyle = oauth2.AuthStyleInParams
			}
			v := oauth2.GenerateVerifier()
			_, err := other.Exchange(env.Context(context.Background()), env.CodeFor(t, conf, 0, v), oauth2.VerifierOption(v))
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
				t.Errorf("oauth2 with the undocumented style: %v, want invalid_client", err)
			}
		})
	}
}
