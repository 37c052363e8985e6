package authservice_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/posimport/posimport/pkg/platform/envconfig"
	"github.com/posimport/posimport/pkg/platform/secret"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
	"github.com/posimport/posimport/services/auth/internal/keyring"
)

// TestNewRefusesBadConfig: a configuration the service cannot run with is refused at start,
// naming the variable to fix and never echoing a key.
func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	// Neither is contacted: New only keeps them.
	pool, err := pgxpool.New(context.Background(), "postgres://127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	conn, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	deps := authservice.Deps{Pool: pool, Config: posimportv1.NewConfigServiceClient(conn)}
	good := func() authservice.Config {
		return authservice.Config{
			Lightspeed:  authservice.LightspeedConfig{ClientID: "posimport", ClientSecret: secret.New("s")},
			CallbackURL: "https://auth.example/oauth/callback", ReturnURL: "https://app.example/pos",
			TokenKeys: secret.New(keyring.NewKey("k1")), RefreshMargin: 30 * time.Second, ProviderTimeout: 10 * time.Second,
		}
	}
	tests := []struct {
		name    string
		change  func(*authservice.Config)
		wantErr string
	}{
		{name: "valid", change: func(*authservice.Config) {}},
		{name: "no keys", change: func(c *authservice.Config) { c.TokenKeys = secret.Secret{} }, wantErr: "TOKEN_KEYS"},
		{name: "short key", change: func(c *authservice.Config) { c.TokenKeys = secret.New("k1=c2VjcmV0LWtleS1jYW5hcnk") }, wantErr: "TOKEN_KEYS"},
		{name: "relative callback", change: func(c *authservice.Config) { c.CallbackURL = "/oauth/callback" }, wantErr: "OAUTH_CALLBACK_URL"},
		{name: "callback at the root", change: func(c *authservice.Config) { c.CallbackURL = "https://auth.example/" }, wantErr: "OAUTH_CALLBACK_URL"},
		{name: "no return URL", change: func(c *authservice.Config) { c.ReturnURL = "" }, wantErr: "OAUTH_RETURN_URL"},
		{name: "no client id", change: func(c *authservice.Config) { c.Lightspeed.ClientID = "" }, wantErr: "LIGHTSPEED_CLIENT_ID"},
		{name: "only Lightspeed Restaurant", change: func(c *authservice.Config) {
			c.Lightspeed.ClientID = ""
			c.Restaurant = authservice.RestaurantConfig{ClientID: "posimport", Scopes: []string{"financial-api", "orders-api"}}
		}},
		{name: "Restaurant without financial-api", change: func(c *authservice.Config) {
			c.Restaurant = authservice.RestaurantConfig{ClientID: "posimport", Scopes: []string{"orders-api"}}
		}, wantErr: "LIGHTSPEED_RESTAURANT_SCOPES"},
		// Zero takes the default (30s), as an unset variable does; a negative value is refused.
		{name: "zero margin", change: func(c *authservice.Config) { c.RefreshMargin = 0 }},
		{name: "negative margin", change: func(c *authservice.Config) { c.RefreshMargin = -time.Second }, wantErr: "REFRESH_MARGIN"},
		{name: "margin too long", change: func(c *authservice.Config) { c.RefreshMargin = time.Hour }, wantErr: "REFRESH_MARGIN"},
		{name: "zero timeout", change: func(c *authservice.Config) { c.ProviderTimeout = 0 }},
		{name: "negative timeout", change: func(c *authservice.Config) { c.ProviderTimeout = -time.Second }, wantErr: "PROVIDER_TIMEOUT"},
		{name: "negative department check TTL", change: func(c *authservice.Config) { c.DepartmentCheckTTL = -time.Second },
			wantErr: "DEPARTMENT_CHECK_TTL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := good()
			tc.change(&cfg)
			_, err := authservice.New(cfg, deps)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "c2VjcmV0") {
				t.Errorf("err = %v, want one naming %s", err, tc.wantErr)
			}
		})
	}
}

// TestConfigFromEnvironment: the settings are read over their defaults, as main loads them; the
// R-Series and K-Series API URLs have the import-worker's variable names, and the auth
// service's former names still set them (deprecated, for one release) unless the new ones are
// set too.
func TestConfigFromEnvironment(t *testing.T) {
	t.Parallel()
	type urls struct{ Retail, Restaurant string }
	tests := []struct {
		name    string
		environ map[string]string
		want    urls
	}{
		{name: "defaults", environ: map[string]string{},
			want: urls{"https://api.lightspeedapp.com", "https://api.lsk.lightspeed.app"}},
		{name: "the shared names", environ: map[string]string{
			"LIGHTSPEED_API_URL": "http://sim:1", "LIGHTSPEED_RESTAURANT_API_URL": "http://sim:2"},
			want: urls{"http://sim:1", "http://sim:2"}},
		{name: "the deprecated names", environ: map[string]string{
			"LIGHTSPEED_API_BASE_URL": "http://old:1", "LIGHTSPEED_RESTAURANT_API_BASE_URL": "http://old:2"},
			want: urls{"http://old:1", "http://old:2"}},
		{name: "both: the shared names win", environ: map[string]string{
			"LIGHTSPEED_API_BASE_URL": "http://old:1", "LIGHTSPEED_API_URL": "http://sim:1",
			"LIGHTSPEED_RESTAURANT_API_BASE_URL": "http://old:2", "LIGHTSPEED_RESTAURANT_API_URL": "http://sim:2"},
			want: urls{"http://sim:1", "http://sim:2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := authservice.Config{}.WithDefaults()
			if err := envconfig.LoadFrom(&cfg, tc.environ); err != nil {
				t.Fatal(err)
			}
			if got := (urls{cfg.Lightspeed.APIBaseURL, cfg.Restaurant.APIBaseURL}); got != tc.want {
				t.Errorf("API URLs = %+v, want %+v", got, tc.want)
			}
			if cfg.RefreshMargin != 30*time.Second || cfg.ProviderTimeout != 10*time.Second || cfg.DepartmentCheckTTL != time.Minute ||
				cfg.ConfigAddr != "config:9090" || strings.Join(cfg.Lightspeed.Scopes, " ") != "employee:register" ||
				strings.Join(cfg.Restaurant.Scopes, " ") != "financial-api" || cfg.Restaurant.RevokeURL != "" ||
				cfg.Lightspeed.TokenURL != "https://cloud.lightspeedapp.com/auth/oauth/token" ||
				cfg.Restaurant.TokenURL != "https://api.lsk.lightspeed.app/oauth/token" {
				t.Errorf("defaults: %+v", cfg)
			}
		})
	}
}
