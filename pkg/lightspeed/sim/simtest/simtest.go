// Package simtest starts the Lightspeed simulator for tests and runs the OAuth code flow
// against it with a real golang.org/x/oauth2 config.
package simtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
)

// Env is a running simulator.
type Env struct {
	Sim    *sim.Server
	Server *httptest.Server
	// URL is the simulator's base URL, for the API and OAuth alike.
	URL string
	// Clock is the simulator's clock, when Start was given none (a ManualClock at
	// 2026-01-01T00:00:00Z); nil otherwise.
	Clock *sim.ManualClock
	// OAuth is a config for the default client with the simulator's R-Series endpoints
	// (client credentials in the form body).
	OAuth *oauth2.Config
	// Restaurant is the same client's config for the K-Series endpoints (scope financial-api;
	// client credentials as HTTP Basic).
	Restaurant *oauth2.Config
}

// Start serves a simulator with opts until the test ends. Unless opts has a Clock it gets a
// ManualClock, and unless opts has Clients it uses the default client.
func Start(tb testing.TB, opts sim.Options) *Env {
	tb.Helper()
	env := &Env{}
	if opts.Clock == nil {
		env.Clock = sim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		opts.Clock = env.Clock
	}
	s, err := sim.New(opts)
	if err != nil {
		tb.Fatalf("start simulator: %v", err)
	}
	env.Sim = s
	env.Server = httptest.NewServer(s)
	tb.Cleanup(env.Server.Close)
	env.URL = env.Server.URL
	id, secret := sim.DefaultClientID, sim.DefaultClientSecret
	if len(opts.Clients) > 0 {
		id, secret = opts.Clients[0].ID, opts.Clients[0].Secret
	}
	env.OAuth = &oauth2.Config{
		ClientID: id, ClientSecret: secret,
		Endpoint: oauth2.Endpoint{
			AuthURL: env.URL + "/auth/oauth/authorize", TokenURL: env.URL + "/auth/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: "http://127.0.0.1:1/callback",
		Scopes:      []string{"employee:register", "employee:reports"},
	}
	env.Restaurant = &oauth2.Config{
		ClientID: id, ClientSecret: secret,
		Endpoint: oauth2.Endpoint{
			AuthURL: env.URL + "/oauth/authorize", TokenURL: env.URL + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		RedirectURL: "http://127.0.0.1:1/callback",
		Scopes:      []string{sim.FinancialScope},
	}
	return env
}

// Context returns a context whose oauth2 HTTP client talks to the simulator.
func (e *Env) Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, e.Server.Client())
}

// Code runs the authorize step for account (0: the first) with PKCE and returns the code. The
// simulator must have AutoConsent set.
func (e *Env) Code(tb testing.TB, account int64, verifier string) string {
	tb.Helper()
	return e.CodeFor(tb, e.OAuth, account, verifier)
}

// CodeFor runs the authorize step of conf (e.OAuth or e.Restaurant) for account (0: the
// first) with PKCE and returns the code.
func (e *Env) CodeFor(tb testing.TB, conf *oauth2.Config, account int64, verifier string) string {
	tb.Helper()
	return e.codeFor(tb, conf, []int64{account}, verifier)
}

func (e *Env) codeFor(tb testing.TB, conf *oauth2.Config, accounts []int64, verifier string) string {
	tb.Helper()
	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = strconv.FormatInt(a, 10)
	}
	opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("account_id", strings.Join(ids, ","))}
	if verifier != "" {
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	loc, err := e.Authorize(conf.AuthCodeURL("state-123", opts...))
	if err != nil {
		tb.Fatal(err)
	}
	if got := loc.Query().Get("state"); got != "state-123" {
		tb.Fatalf("authorize returned state %q", got)
	}
	code := loc.Query().Get("code")
	if code == "" {
		tb.Fatalf("authorize returned no code: %s", loc)
	}
	return code
}

// Authorize GETs an authorize URL and returns where it redirects to.
func (e *Env) Authorize(authURL string) (*url.URL, error) {
	c := *e.Server.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL)
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("authorize: status %d, want 302", resp.StatusCode)
	}
	return url.Parse(resp.Header.Get("Location"))
}

// Token runs the whole R-Series code flow for account (0: the first) and returns the token.
func (e *Env) Token(tb testing.TB, account int64) *oauth2.Token {
	tb.Helper()
	return e.token(tb, e.OAuth, account)
}

// RestaurantToken runs the whole K-Series code flow for business (0: the first) and returns
// the token.
func (e *Env) RestaurantToken(tb testing.TB, business int64) *oauth2.Token {
	tb.Helper()
	return e.token(tb, e.Restaurant, business)
}

// RestaurantTokenOf runs the K-Series code flow for a consent covering businesses (a user who
// sees several) and returns the token.
func (e *Env) RestaurantTokenOf(tb testing.TB, businesses ...int64) *oauth2.Token {
	tb.Helper()
	return e.token(tb, e.Restaurant, businesses...)
}

func (e *Env) token(tb testing.TB, conf *oauth2.Config, accounts ...int64) *oauth2.Token {
	tb.Helper()
	verifier := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(e.Context(context.Background()), e.codeFor(tb, conf, accounts, verifier), oauth2.VerifierOption(verifier))
	if err != nil {
		tb.Fatalf("exchange code: %v", err)
	}
	return tok
}
