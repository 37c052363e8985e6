package authservice_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

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
		{name: "no margin", change: func(c *authservice.Config) { c.RefreshMargin = 0 }, wantErr: "REFRESH_MARGIN"},
		{name: "margin too long", change: func(c *authservice.Config) { c.RefreshMargin = time.Hour }, wantErr: "REFRESH_MARGIN"},
		{name: "no timeout", change: func(c *authservice.Config) { c.ProviderTimeout = 0 }, wantErr: "PROVIDER_TIMEOUT"},
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
