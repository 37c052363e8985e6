package authservice_test

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
	"github.com/posimport/posimport/services/auth/internal/keyring"
	"github.com/posimport/posimport/services/config/configservice"
)

const (
	callbackPath = "/oauth/callback"
	returnHost   = "app.example"
	returnURL    = "https://" + returnHost + "/settings/pos"
)

// testClock is the auth service's clock: real time moved by an offset, so a test can let a
// consent expire without waiting.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// realClock is the simulator's clock in tests that need real token expiry.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

type options struct {
	accessTTL    time.Duration
	margin       time.Duration
	clientSecret string
	tokenKeys    string
	// retailOnly leaves Lightspeed Restaurant unconfigured.
	retailOnly bool
	// logs, when set, receives the auth service's logs at debug level.
	logs *logging.Buffer
}

type testBundle struct {
	t         *testing.T
	opts      options
	sim       *sim.Server
	simURL    string
	rec       *simtest.Recorder
	keys      *servicetest.Keys
	dbURL     string
	pool      *pgxpool.Pool // the auth schema
	configSvc *servicetest.Running
	clock     *testClock
	auth      *servicetest.Running
	svcAuth   posimportv1.AuthServiceClient
}

// setup starts the simulator (auto-consent, two accounts with two shops each), a database,
// the real config service, and one auth service on real ports.
func setup(t *testing.T, opts options) *testBundle {
	t.Helper()
	if opts.accessTTL == 0 {
		opts.accessTTL = 30 * time.Minute
	}
	if opts.margin == 0 {
		opts.margin = 30 * time.Second
	}
	if opts.clientSecret == "" {
		opts.clientSecret = sim.DefaultClientSecret
	}
	if opts.tokenKeys == "" {
		opts.tokenKeys = keyring.NewKey("k1")
	}
	s, err := sim.New(sim.Options{
		AutoConsent: true, AccessTokenTTL: opts.accessTTL, Clock: realClock{},
		Clients:   []sim.Client{{ID: sim.DefaultClientID, Secret: opts.clientSecret}},
		Data:      sim.DataOptions{Accounts: 2, ShopsPerAccount: 2},
		RateLimit: sim.RateLimitOptions{Disabled: true},
		Restaurant: sim.RestaurantOptions{AccessTokenTTL: opts.accessTTL,
			Data: sim.RestaurantDataOptions{Businesses: 2, LocationsPerBusiness: 2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := simtest.NewRecorder(s)
	hs := httptest.NewServer(rec)
	t.Cleanup(hs.Close)

	b := &testBundle{t: t, opts: opts, sim: s, simURL: hs.URL, rec: rec, keys: servicetest.NewKeys(t), clock: &testClock{}}
	b.dbURL = pgtest.NewDatabase(t)
	configPool := b.connect(t, configservice.Schema, configservice.Migrations())
	b.configSvc = servicetest.Start(t, b.keys, configservice.Policy, nil, func(s *server.Server) error {
		svc, err := configservice.New(configservice.Config{}, configservice.Deps{Pool: configPool, Logger: logging.Discard()})
		if err != nil {
			return err
		}
		return svc.Register(s)
	})
	b.pool = b.connect(t, authservice.Schema, authservice.Migrations())
	b.auth = b.startAuth(t, b.pool, opts.tokenKeys)
	b.svcAuth = posimportv1.NewAuthServiceClient(b.keys.Dial(t, b.auth.GRPCAddr, authn.ServiceImportWorker))
	return b
}

func (b *testBundle) connect(t *testing.T, schema string, migrations fs.FS) *pgxpool.Pool {
	t.Helper()
	return pgtest.MigratedPool(t, b.dbURL, schema, migrations, 12)
}

// authConfig is the auth service's configuration against the simulator, for a server whose
// HTTP port is httpAddr.
func (b *testBundle) authConfig(httpAddr, tokenKeys string) authservice.Config {
	cfg := authservice.Config{
		Lightspeed: authservice.LightspeedConfig{
			ClientID: sim.DefaultClientID, ClientSecret: secret.New(b.opts.clientSecret),
			AuthorizeURL: b.simURL + "/auth/oauth/authorize", TokenURL: b.simURL + "/auth/oauth/token",
			RevokeURL: b.simURL + "/auth/oauth/revoke", APIBaseURL: b.simURL,
			Scopes: []string{"employee:register"},
		},
		Restaurant: authservice.RestaurantConfig{
			ClientID: sim.DefaultClientID, ClientSecret: secret.New(b.opts.clientSecret),
			AuthorizeURL: b.simURL + "/oauth/authorize", TokenURL: b.simURL + "/oauth/token",
			RevokeURL: b.simURL + "/oauth/revoke", APIBaseURL: b.simURL, Scopes: []string{sim.FinancialScope},
		},
		CallbackURL:        "http://" + httpAddr + callbackPath,
		ReturnURL:          returnURL,
		ReconnectURL:       "https://" + returnHost + "/clients/{client_id}/pos",
		TokenKeys:          secret.New(tokenKeys),
		RefreshMargin:      b.opts.margin,
		ProviderTimeout:    5 * time.Second,
		DepartmentCheckTTL: time.Minute,
	}
	if b.opts.retailOnly {
		cfg.Restaurant = authservice.RestaurantConfig{}
	}
	return cfg
}

// startAuth starts an auth service on pool (a second one shares the database).
func (b *testBundle) startAuth(t *testing.T, pool *pgxpool.Pool, tokenKeys string) *servicetest.Running {
	t.Helper()
	var logger *slog.Logger
	if b.opts.logs != nil {
		logger = slog.New(slog.NewJSONHandler(b.opts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfgClient := posimportv1.NewConfigServiceClient(b.keys.Dial(t, b.configSvc.GRPCAddr, authn.ServiceAuth))
	return servicetest.Start(t, b.keys, authservice.Policy, logger, func(s *server.Server) error {
		svc, err := authservice.New(b.authConfig(s.HTTPAddr(), tokenKeys), authservice.Deps{
			Pool: pool, Config: cfgClient, Logger: logger, NowFunc: b.clock.Now,
		})
		if err != nil {
			return err
		}
		return svc.Register(s)
	})
}

// account returns the simulator's i-th account id and its shop ids.
func (b *testBundle) account(i int) (string, []string) {
	a := b.sim.Accounts()[i]
	var shops []string
	for _, s := range a.Shops {
		shops = append(shops, strconv.FormatInt(s.ID, 10))
	}
	return strconv.FormatInt(a.ID, 10), shops
}

// configure stores a client's settings (provider Lightspeed Retail) and departments in the
// config service, as a supervisor would.
func (b *testBundle) configure(t *testing.T, client string, departments map[string]string) {
	t.Helper()
	b.configureProvider(t, client, "POS_PROVIDER_LIGHTSPEED_RETAIL", departments)
}

// configureProvider is configure with another provider.
func (b *testBundle) configureProvider(t *testing.T, client, provider string, departments map[string]string) {
	t.Helper()
	sup := b.keys.Token(t, authn.RoleSupervisor, client)
	r := b.configSvc.Do(t, "PUT", "/v1/clients/"+client+"/settings", sup, map[string]any{
		"multi_cash_registers": true, "pos_import_enabled": true, "pos_provider": provider,
	})
	if r.Status != http.StatusOK {
		t.Fatalf("configure %s: %d %s", client, r.Status, r.Body)
	}
	for dep, shop := range departments {
		r := b.configSvc.Do(t, "PUT", "/v1/clients/"+client+"/departments/"+dep, sup, map[string]any{"name": dep, "pos_client_number": shop})
		if r.Status != http.StatusOK {
			t.Fatalf("department %s: %d %s", dep, r.Status, r.Body)
		}
	}
}

// begin asks for a consent over REST as a supervisor and returns the authorize URL.
func (b *testBundle) begin(t *testing.T, client string) *url.URL {
	t.Helper()
	r := b.auth.Do(t, "POST", "/v1/clients/"+client+"/connection:begin", b.keys.Token(t, authn.RoleSupervisor, client), map[string]any{})
	if r.Status != http.StatusOK {
		t.Fatalf("begin connect: %d %s", r.Status, r.Body)
	}
	var resp struct {
		AuthorizeURL string `json:"authorize_url"`
		ExpireTime   string `json:"expire_time"`
	}
	r.JSON(t, &resp)
	u, err := url.Parse(resp.AuthorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// browse is the browser: it follows redirects from rawURL (the POS's consent page, then the
// auth service's callback) and returns the query of the return URL it ends at.
func (b *testBundle) browse(t *testing.T, u *url.URL) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == returnHost {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Host != returnHost {
		t.Fatalf("browser ended at %d %v, not the return URL", resp.StatusCode, loc)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("callback Cache-Control = %q, want no-store", cc)
	}
	return loc.Query()
}

// consent runs a whole consent for client, choosing account (when not empty) on the consent
// page, and returns the return URL's query.
func (b *testBundle) consent(t *testing.T, client, account string) url.Values {
	t.Helper()
	u := b.begin(t, client)
	if account != "" {
		q := u.Query()
		q.Set("account_id", account)
		u.RawQuery = q.Encode()
	}
	return b.browse(t, u)
}

// callback calls the callback route directly with q, as a browser (or an attacker) could.
func (b *testBundle) callback(t *testing.T, q url.Values) url.Values {
	t.Helper()
	return b.browse(t, &url.URL{Scheme: "http", Host: strings.TrimPrefix(b.auth.HTTPBase, "http://"), Path: callbackPath, RawQuery: q.Encode()})
}

// connection reads a client's connection over REST with role.
func (b *testBundle) connection(t *testing.T, client string, role authn.Role) connectionJSON {
	t.Helper()
	r := b.auth.Do(t, "GET", "/v1/clients/"+client+"/connection", b.keys.Token(t, role, client), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get connection: %d %s", r.Status, r.Body)
	}
	var resp struct {
		Connection connectionJSON `json:"connection"`
	}
	r.JSON(t, &resp)
	return resp.Connection
}

type connectionJSON struct {
	ClientID             string  `json:"client_id"`
	Status               string  `json:"status"`
	Provider             string  `json:"provider"`
	AccountID            string  `json:"account_id"`
	ConsentTime          *string `json:"consent_time"`
	LastRefreshTime      *string `json:"last_refresh_time"`
	LastError            string  `json:"last_error"`
	ReconnectURL         string  `json:"reconnect_url"`
	EnableTime           *string `json:"enable_time"`
	DepartmentCheckError string  `json:"department_check_error"`
	DepartmentMismatches []struct {
		DepartmentID    string `json:"department_id"`
		PosClientNumber string `json:"pos_client_number"`
		Reason          string `json:"reason"`
	} `json:"department_mismatches"`
	Businesses []businessJSON `json:"businesses"`
}

type businessJSON struct {
	BusinessID string `json:"business_id"`
	Name       string `json:"name"`
	Locations  []struct {
		LocationID string `json:"location_id"`
		TimeZone   string `json:"time_zone"`
	} `json:"locations"`
}

// enable enables a client's integration over REST as its integration contact.
func (b *testBundle) enable(t *testing.T, client string, on bool) {
	t.Helper()
	r := b.auth.Do(t, "POST", "/v1/clients/"+client+"/connection:setEnabled", b.keys.Token(t, authn.RoleIntegrationContact, client), map[string]any{"enabled": on})
	if r.Status != http.StatusOK {
		t.Fatalf("set enabled %v: %d %s", on, r.Status, r.Body)
	}
}

// apiStatus uses an access token on the simulator's R-Series API (Account.json) and returns
// the status.
func (b *testBundle) apiStatus(t testing.TB, token string) int {
	t.Helper()
	return b.apiGet(t, "/API/V3/Account.json", token)
}

// restaurantAPIStatus uses an access token on the simulator's K-Series API (/f/data/businesses).
func (b *testBundle) restaurantAPIStatus(t testing.TB, token string) int {
	t.Helper()
	return b.apiGet(t, "/f/data/businesses", token)
}

func (b *testBundle) apiGet(t testing.TB, path, token string) int {
	t.Helper()
	// Errorf, not Fatal: callers run in goroutines too.
	req, err := http.NewRequest(http.MethodGet, b.simURL+path, nil)
	if err != nil {
		t.Errorf("build the API request: %v", err)
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("call the simulator's API: %v", err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// accessToken asks for a token as a service.
func (b *testBundle) accessToken(t testing.TB, client string, force bool) (*posimportv1.AccessTokenResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return b.svcAuth.AccessToken(ctx, &posimportv1.AccessTokenRequest{ClientId: client, ForceRefresh: force})
}

// authorize GETs an authorize URL at the simulator and returns the callback URL it redirects
// to, without following it: the code and the state, as an attacker could capture them.
func (b *testBundle) authorize(t *testing.T, u *url.URL) *url.URL {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize answered %d %v without a code", resp.StatusCode, loc)
	}
	return loc
}

// tokenRequests counts the requests that reached the token endpoint.
func (b *testBundle) tokenRequests() int { return len(b.rec.TokenCalls()) }

// exec runs SQL on the auth schema, for tests that tamper with stored rows.
func (b *testBundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := b.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

// revokeConsent withdraws a grant at the simulator, as a merchant removing the app in
// Lightspeed does: the grant's tokens die and its refresh token is refused from then on.
func (b *testBundle) revokeConsent(t *testing.T, accessToken string) {
	t.Helper()
	form := url.Values{"client_id": {sim.DefaultClientID}, "client_secret": {b.opts.clientSecret}, "token": {accessToken}}
	resp, err := http.PostForm(b.simURL+"/auth/oauth/revoke", form)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke at the simulator: %d", resp.StatusCode)
	}
}

// storedTokens reports whether a client's row holds tokens, and under which key ids.
func (b *testBundle) storedTokens(t *testing.T, client string) (held bool, accessKid, refreshKid string) {
	t.Helper()
	var a, r *string
	err := b.pool.QueryRow(context.Background(),
		`SELECT access_token_kid, refresh_token_kid FROM connections WHERE client_id = $1`, client).Scan(&a, &r)
	if err != nil {
		t.Fatal(err)
	}
	if a == nil || r == nil {
		return false, "", ""
	}
	return true, *a, *r
}

// clientConfig returns the config service's view of a client, as the main app reads it.
func (b *testBundle) clientConfig(t *testing.T, client string) string {
	t.Helper()
	r := b.configSvc.Do(t, "GET", "/v1/clients/"+client+"/config", b.keys.Token(t, authn.RoleViewer, client), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("client config: %d %s", r.Status, r.Body)
	}
	return string(r.Body)
}

// tokenUntilError asks for a client's token every 100 ms until the call fails, as a worker
// importing all along would, and returns the error; it fails the test after 15 s.
func (b *testBundle) tokenUntilError(t *testing.T, client string) error {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	for {
		if _, err := b.accessToken(t, client, false); err != nil {
			return err
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("AccessToken kept succeeding")
		}
	}
}

// connected configures client, gives consent to the first account and, with enable, enables
// the integration: where most tests start.
func (b *testBundle) connected(t *testing.T, client string, enable bool) {
	t.Helper()
	b.configure(t, client, nil)
	if got := b.consent(t, client, ""); got.Get("result") != "connected" {
		t.Fatalf("consent %s: %v", client, got)
	}
	if enable {
		b.enable(t, client, true)
	}
}

// connectedRestaurant configures client for Lightspeed Restaurant, gives consent to the first
// business and, with enable, enables the integration.
func (b *testBundle) connectedRestaurant(t *testing.T, client string, enable bool) {
	t.Helper()
	b.configureProvider(t, client, "POS_PROVIDER_LIGHTSPEED_RESTAURANT", nil)
	if got := b.consent(t, client, ""); got.Get("result") != "connected" {
		t.Fatalf("consent %s: %v", client, got)
	}
	if enable {
		b.enable(t, client, true)
	}
}
