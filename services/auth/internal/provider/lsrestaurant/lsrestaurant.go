// Package lsrestaurant is the Lightspeed Restaurant (K-Series) [provider.Provider]: the OAuth2
// server and Financial API at api.lsk.lightspeed.app. The account id of a grant lists every
// business that GET /f/data/businesses shows its token, ascending and comma-separated
// (restaurant.AccountID; a user of a restaurant group sees several); locations are those
// businesses' locations, the departments' POS client numbers.
//
// NOTE: K-Series refresh tokens are single use and every refresh returns a new access token,
// so a refresh is never early. K-Series documents no revocation endpoint: with RevokeURL empty,
// Revoke does nothing and a disconnected grant's refresh token lapses after 14 days unused.
package lsrestaurant

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/lightspeed/restaurant"
	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/pos"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/provider"
)

// Config configures the provider.
type Config = provider.Settings

// CheckScopes refuses scopes without financial-api, which reading sales needs.
func CheckScopes(scopes []string) error {
	if !slices.Contains(scopes, restaurant.Scope) {
		return fmt.Errorf("%q is required to read sales", restaurant.Scope)
	}
	return nil
}

// Provider is Lightspeed Restaurant.
type Provider struct {
	provider.OAuth
	apiBase string
}

var _ provider.Provider = (*Provider)(nil)

// New returns the provider. The client authenticates with HTTP Basic at the token (and revoke)
// endpoint: the K-Series Authorization Overview says the client id and secret "must be base64
// encoded and passed as the authorization header" (client_id:client_secret).
func New(cfg Config) *Provider {
	return &Provider{OAuth: provider.NewOAuth(cfg, oauth2.AuthStyleInHeader, "token"), apiBase: cfg.APIBaseURL}
}

// ID implements provider.Provider.
func (p *Provider) ID() posimportv1.PosProvider {
	return posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return "Lightspeed Restaurant" }

// RenewsOnlyAfterExpiry implements provider.Provider: every refresh returns a new access token.
func (p *Provider) RenewsOnlyAfterExpiry() bool { return false }

// Revoke implements provider.Provider; without a revocation endpoint there is nothing to call.
func (p *Provider) Revoke(ctx context.Context, refresh secret.Secret) error {
	if p.RevokeURL == "" {
		return nil
	}
	return p.OAuth.Revoke(ctx, refresh)
}

// Account implements provider.Provider: every business the token gives access to, as
// restaurant.AccountID lists them ("300001,300002"; one business's id alone).
func (p *Provider) Account(ctx context.Context, access secret.Secret) (string, error) {
	c, err := p.client(nil, access)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	bs, err := c.Businesses(ctx)
	if err != nil {
		return "", &provider.Error{Op: "learn the businesses from /f/data/businesses", Code: provider.APICode(err)}
	}
	if len(bs) == 0 {
		return "", &provider.Error{Op: "learn the businesses from /f/data/businesses", Code: "the consent covers no business"}
	}
	ids := make([]int64, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
	}
	return restaurant.AccountID(ids), nil
}

// Businesses implements provider.Provider: the consent's businesses that the token still sees,
// with their locations.
func (p *Provider) Businesses(ctx context.Context, accountID string, access secret.Secret) ([]provider.Business, error) {
	ids, err := restaurant.ParseAccountID(accountID)
	if err != nil {
		return nil, &provider.Error{Op: "list the business locations", Code: "account id is not a list of business ids"}
	}
	c, err := p.client(ids, access)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	bs, err := c.Consented(ctx)
	if err != nil {
		return nil, &provider.Error{Op: "list the business locations", Code: provider.APICode(err)}
	}
	out := make([]provider.Business, len(bs))
	for i, b := range bs {
		out[i] = provider.Business{ID: strconv.FormatInt(b.ID, 10), Name: b.Name}
		for _, l := range b.Locations {
			out[i].Locations = append(out[i].Locations, pos.Location{ID: strconv.FormatInt(l.ID, 10), Name: l.Name, TimeZone: l.TimeZone})
		}
	}
	return out, nil
}

// client is an API client for one call with a fixed token: a refused token is reported, never
// refreshed here, since refreshing is the auth service's locked path's business.
func (p *Provider) client(businesses []int64, access secret.Secret) (*restaurant.Client, error) {
	c, err := restaurant.New(restaurant.Config{
		BaseURL: p.apiBase, BusinessIDs: businesses,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access.Reveal(), TokenType: "Bearer"}),
		HTTPClient:  p.HTTPClient, RequestTimeout: p.Timeout, MaxAttempts: 3,
		BackoffBase: 200 * time.Millisecond, BackoffMax: 2 * time.Second, MaxRetryAfter: 5 * time.Second,
	})
	if err != nil {
		return nil, &provider.Error{Op: "build the Lightspeed client", Code: "configuration"}
	}
	return c, nil
}
