// Package authservice builds the auth service: each client's POS connection from consent to
// refreshed tokens, the integration status, and the OAuth callback route. main.go wires it from
// the environment; `posimport up` wires it in-process.
//
// Token margins: every access token the service hands out is valid for at least
// REFRESH_MARGIN (30 s). Asked while the stored token has less left, it refreshes; Lightspeed
// returns the same access token while it is valid, so the caller waits (without the row lock)
// until the token expires and then gets the refreshed one. A forced refresh (the caller's
// token met a 401) is done at once, unless another caller refreshed since the request began.
// The import-worker reuses a token while it stays valid for longer than its own
// TOKEN_REUSE_MARGIN (10 s), which must not exceed REFRESH_MARGIN: otherwise it would ask
// before every POS request and get the same token back (services/import-worker/README.md,
// "Access tokens").
package authservice

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"

	"github.com/posimport/posimport/pkg/lightspeed/restaurant"
	"github.com/posimport/posimport/pkg/lightspeed/retail"
	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/platform/server"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/api"
	"github.com/posimport/posimport/services/auth/internal/callback"
	"github.com/posimport/posimport/services/auth/internal/connection"
	"github.com/posimport/posimport/services/auth/internal/keyring"
	"github.com/posimport/posimport/services/auth/internal/provider"
	"github.com/posimport/posimport/services/auth/internal/provider/lsrestaurant"
	"github.com/posimport/posimport/services/auth/internal/provider/lsretail"
	"github.com/posimport/posimport/services/auth/internal/store"
)

// Schema is the service's PostgreSQL schema.
const Schema = store.Schema

// Policy is the service's role table.
var Policy authn.Policy = api.Policy

// Migrations returns the service's embedded migrations.
func Migrations() fs.FS { return store.Migrations() }

// StateTTL is how long a consent may take, from BeginConnect to the callback.
const StateTTL = connection.StateTTL

// Defaults of Config: WithDefaults gives every zero setting its default, for a configuration
// from the environment (main.go fills them in before loading it) and one built in code alike.
const (
	DefaultConfigAddr             = app.DefaultConfigAddr
	DefaultLightspeedAuthorizeURL = retail.DefaultAuthBaseURL + "/auth/oauth/authorize"
	DefaultLightspeedTokenURL     = retail.DefaultAuthBaseURL + "/auth/oauth/token"
	DefaultLightspeedRevokeURL    = retail.DefaultAuthBaseURL + "/auth/oauth/revoke"
	DefaultLightspeedAPIURL       = retail.DefaultAPIBaseURL
	// DefaultLightspeedScopes are space-separated.
	DefaultLightspeedScopes       = "employee:register"
	DefaultRestaurantAuthorizeURL = restaurant.DefaultBaseURL + "/oauth/authorize"
	DefaultRestaurantTokenURL     = restaurant.DefaultBaseURL + "/oauth/token"
	DefaultRestaurantAPIURL       = restaurant.DefaultBaseURL
	// DefaultRestaurantScopes are space-separated.
	DefaultRestaurantScopes   = "financial-api"
	DefaultRefreshMargin      = 30 * time.Second
	DefaultProviderTimeout    = 10 * time.Second
	DefaultDepartmentCheckTTL = connection.DefaultCheckTTL
)

// Config is the service's configuration. Settings left zero take their default (WithDefaults).
type Config struct {
	app.Config
	// ConfigAddr is the config service's gRPC address (client settings and departments).
	ConfigAddr string `env:"CONFIG_ADDR"`
	Lightspeed LightspeedConfig
	// Restaurant is the OAuth client registered with Lightspeed Restaurant (K-Series); without
	// a client id, clients cannot connect to it.
	Restaurant RestaurantConfig
	// CallbackURL is the OAuth redirect URI registered with the POS; the service serves its
	// path on the HTTP port.
	CallbackURL string `env:"OAUTH_CALLBACK_URL"`
	// ReturnURL is where the browser goes after the callback, with client_id, result
	// (connected, enabled or error) and reason.
	ReturnURL string `env:"OAUTH_RETURN_URL"`
	// ReconnectURL is the main app's page where a supervisor connects a client; "{client_id}"
	// is replaced. It is shown when consent is needed again.
	ReconnectURL string `env:"RECONNECT_URL"`
	// TokenKeys encrypt the tokens at rest: comma-separated kid=base64(32 bytes), newest first.
	// The first encrypts; all decrypt. Rotate by prepending a key, calling ReencryptTokens,
	// then removing the old key.
	TokenKeys secret.Secret `env:"TOKEN_KEYS"`
	// RefreshMargin is how long a handed-out access token stays valid at least; at least the
	// import-worker's TOKEN_REUSE_MARGIN (see the package doc).
	RefreshMargin time.Duration `env:"REFRESH_MARGIN"`
	// ProviderTimeout bounds each call to the POS.
	ProviderTimeout time.Duration `env:"PROVIDER_TIMEOUT"`
	// DepartmentCheckTTL is how long a department check result is reused.
	DepartmentCheckTTL time.Duration `env:"DEPARTMENT_CHECK_TTL"`
}

// WithDefaults returns c with every zero setting at its default.
func (c Config) WithDefaults() Config {
	c.ConfigAddr = cmp.Or(c.ConfigAddr, DefaultConfigAddr)
	c.Lightspeed = c.Lightspeed.withDefaults(LightspeedConfig{
		AuthorizeURL: DefaultLightspeedAuthorizeURL, TokenURL: DefaultLightspeedTokenURL, RevokeURL: DefaultLightspeedRevokeURL,
		APIBaseURL: DefaultLightspeedAPIURL, Scopes: strings.Fields(DefaultLightspeedScopes),
	})
	// K-Series documents no revocation endpoint: RevokeURL stays empty unless set.
	c.Restaurant = RestaurantConfig(LightspeedConfig(c.Restaurant).withDefaults(LightspeedConfig{
		AuthorizeURL: DefaultRestaurantAuthorizeURL, TokenURL: DefaultRestaurantTokenURL,
		APIBaseURL: DefaultRestaurantAPIURL, Scopes: strings.Fields(DefaultRestaurantScopes),
	}))
	c.RefreshMargin = cmp.Or(c.RefreshMargin, DefaultRefreshMargin)
	c.ProviderTimeout = cmp.Or(c.ProviderTimeout, DefaultProviderTimeout)
	c.DepartmentCheckTTL = cmp.Or(c.DepartmentCheckTTL, DefaultDepartmentCheckTTL)
	return c
}

// Validate reports the first setting New cannot run with, naming its variable and never
// echoing a key. It expects a configuration with its defaults.
func (c Config) Validate() error {
	if _, err := keyring.Parse(c.TokenKeys); err != nil {
		return err
	}
	cb, err := absURL("OAUTH_CALLBACK_URL", c.CallbackURL)
	if err != nil {
		return err
	}
	if cb.Path == "/" {
		return errors.New("OAUTH_CALLBACK_URL: needs a path of its own, e.g. /oauth/callback")
	}
	if _, err := absURL("OAUTH_RETURN_URL", c.ReturnURL); err != nil {
		return err
	}
	if c.Lightspeed.ClientID == "" && c.Restaurant.ClientID == "" {
		return errors.New("LIGHTSPEED_CLIENT_ID or LIGHTSPEED_RESTAURANT_CLIENT_ID: at least one POS provider is required")
	}
	if c.Restaurant.ClientID != "" {
		if err := lsrestaurant.CheckScopes(c.Restaurant.Scopes); err != nil {
			return fmt.Errorf("LIGHTSPEED_RESTAURANT_SCOPES: %w", err)
		}
	}
	if c.RefreshMargin <= 0 || c.RefreshMargin > 10*time.Minute {
		return fmt.Errorf("REFRESH_MARGIN: %v is outside (0, 10m]", c.RefreshMargin)
	}
	if c.ProviderTimeout <= 0 {
		return errors.New("PROVIDER_TIMEOUT: must be positive")
	}
	if c.DepartmentCheckTTL < 0 {
		return errors.New("DEPARTMENT_CHECK_TTL: must not be negative")
	}
	return nil
}

// LightspeedConfig is the OAuth client registered with Lightspeed Retail, and its endpoints.
type LightspeedConfig struct {
	ClientID     string        `env:"LIGHTSPEED_CLIENT_ID"`
	ClientSecret secret.Secret `env:"LIGHTSPEED_CLIENT_SECRET"`
	AuthorizeURL string        `env:"LIGHTSPEED_AUTHORIZE_URL"`
	TokenURL     string        `env:"LIGHTSPEED_TOKEN_URL"`
	RevokeURL    string        `env:"LIGHTSPEED_REVOKE_URL"`
	// APIBaseURL is the R-Series API, as the import-worker's; LIGHTSPEED_API_BASE_URL is its
	// deprecated name, read for one release.
	APIBaseURL string `env:"LIGHTSPEED_API_URL" envDeprecated:"LIGHTSPEED_API_BASE_URL"`
	// Scopes are space-separated.
	Scopes []string `env:"LIGHTSPEED_SCOPES" envSeparator:" "`
}

// withDefaults returns c with each empty setting taken from def.
func (c LightspeedConfig) withDefaults(def LightspeedConfig) LightspeedConfig {
	c.AuthorizeURL = cmp.Or(c.AuthorizeURL, def.AuthorizeURL)
	c.TokenURL = cmp.Or(c.TokenURL, def.TokenURL)
	c.RevokeURL = cmp.Or(c.RevokeURL, def.RevokeURL)
	c.APIBaseURL = cmp.Or(c.APIBaseURL, def.APIBaseURL)
	if len(c.Scopes) == 0 {
		c.Scopes = def.Scopes
	}
	return c
}

// settings are the provider settings of c, with the service's callback, HTTP client, timeout
// and clock.
func (c LightspeedConfig) settings(callback string, timeout time.Duration, d Deps) provider.Settings {
	return provider.Settings{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		AuthorizeURL: c.AuthorizeURL, TokenURL: c.TokenURL, RevokeURL: c.RevokeURL, APIBaseURL: c.APIBaseURL,
		Scopes: c.Scopes, RedirectURL: callback, HTTPClient: d.HTTPClient, Timeout: timeout, NowFunc: d.NowFunc,
	}
}

// RestaurantConfig is the OAuth client registered with Lightspeed Restaurant (K-Series), and its
// endpoints. K-Series documents no revocation endpoint: RevokeURL is empty by default, and then
// a disconnect deletes the tokens without revoking them (the refresh token lapses after 14 days).
type RestaurantConfig struct {
	ClientID     string        `env:"LIGHTSPEED_RESTAURANT_CLIENT_ID"`
	ClientSecret secret.Secret `env:"LIGHTSPEED_RESTAURANT_CLIENT_SECRET"`
	AuthorizeURL string        `env:"LIGHTSPEED_RESTAURANT_AUTHORIZE_URL"`
	TokenURL     string        `env:"LIGHTSPEED_RESTAURANT_TOKEN_URL"`
	RevokeURL    string        `env:"LIGHTSPEED_RESTAURANT_REVOKE_URL"`
	// APIBaseURL is the K-Series API, as the import-worker's; LIGHTSPEED_RESTAURANT_API_BASE_URL
	// is its deprecated name, read for one release.
	APIBaseURL string `env:"LIGHTSPEED_RESTAURANT_API_URL" envDeprecated:"LIGHTSPEED_RESTAURANT_API_BASE_URL"`
	// Scopes are space-separated and must include financial-api.
	Scopes []string `env:"LIGHTSPEED_RESTAURANT_SCOPES" envSeparator:" "`
}

// Deps are what the service runs on.
type Deps struct {
	// Pool's connections use Schema.
	Pool *pgxpool.Pool
	// Config is a client of the config service, authenticated as this service.
	Config posimportv1.ConfigServiceClient
	Logger *slog.Logger
	// HTTPClient calls the POS; nil uses the default transport. Its Timeout should be zero.
	HTTPClient *http.Client
	// NowFunc replaces the clock in tests; nil is time.Now.
	NowFunc func() time.Time
}

// Service is the auth service.
type Service struct {
	api      *api.Server
	manager  *connection.Manager
	callback *callback.Handler
	path     string
}

// New checks cfg, with its defaults, and builds the service.
func New(cfg Config, d Deps) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Pool == nil || d.Config == nil {
		return nil, errors.New("authservice: a pool and a config service client are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Transport: http.DefaultTransport}
	}
	if d.NowFunc == nil {
		d.NowFunc = time.Now
	}
	// Validate checked these.
	keys, _ := keyring.Parse(cfg.TokenKeys)
	cb, _ := absURL("OAUTH_CALLBACK_URL", cfg.CallbackURL)
	ret, _ := absURL("OAUTH_RETURN_URL", cfg.ReturnURL)
	var providers []provider.Provider
	if cfg.Lightspeed.ClientID != "" {
		providers = append(providers, lsretail.New(cfg.Lightspeed.settings(cb.String(), cfg.ProviderTimeout, d)))
	}
	if cfg.Restaurant.ClientID != "" {
		// The two configurations differ in their variables' names only.
		providers = append(providers, lsrestaurant.New(LightspeedConfig(cfg.Restaurant).settings(cb.String(), cfg.ProviderTimeout, d)))
	}
	logger := d.Logger.With("component", "auth")
	m := connection.New(connection.Options{
		Store: store.New(d.Pool), Keys: keys, Providers: providers, Config: d.Config, Logger: logger,
		Margin: cfg.RefreshMargin, CheckTTL: cfg.DepartmentCheckTTL, ReconnectURL: cfg.ReconnectURL,
		// Three attempts of ProviderTimeout each, with their backoff, fit in the budget.
		RefreshBudget: 3*cfg.ProviderTimeout + 5*time.Second,
		NowFunc:       d.NowFunc,
	})
	return &Service{api: api.New(m), manager: m, callback: callback.New(m, ret), path: cb.Path}, nil
}

// Register adds the service's gRPC and REST handlers, its OpenAPI document, its metrics and the
// OAuth callback route to srv.
func (s *Service) Register(srv *server.Server) error {
	posimportv1.RegisterAuthServiceServer(srv.GRPC(), s.api)
	doc, err := posimportv1.OpenAPI("auth")
	if err != nil {
		return err
	}
	srv.Register(posimportv1.AuthService_ServiceDesc.ServiceName,
		func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
			return posimportv1.RegisterAuthServiceHandler(ctx, mux, conn)
		}, doc)
	for _, c := range s.manager.Collectors() {
		if err := srv.Registry().Register(c); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	srv.Handle(s.path, s.callback)
	return nil
}

func absURL(name, v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%s: an absolute URL is required", name)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}
