// Package lsrestaurant is the Lightspeed Restaurant (K-Series) [provider.Provider]: the OAuth2
// server and Financial API at api.lsk.lightspeed.app. The account id of a grant is the id of
// the one business that GET /f/data/businesses lists for its token; locations are the
// business's locations, the departments' POS client numbers.
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
	"strings"
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

// Account implements provider.Provider: the one business the token gives access to.
func (p *Provider) Account(ctx context.Context, access secret.Secret) (string, error) {
	c, err := p.client(0, access)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	bs, err := c.Businesses(ctx)
	if err != nil {
		return "", &provider.Error{Op: "learn the business from /f/data/businesses", Code: provider.APICode(err)}
	}
	switch len(bs) {
	case 0:
		return "", &provider.Error{Op: "learn the business from /f/data/businesses", Code: "the consent covers no business"}
	case 1:
		return strconv.FormatInt(bs[0].ID, 10), nil
	}
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = strconv.FormatInt(b.ID, 10)
	}
	return "", &provider.Error{Op: "learn the business from /f/data/businesses",
		Code: "the consent covers " + strconv.Itoa(len(bs)) + " businesses (" + strings.Join(ids, ", ") + "); connect a user of one business"}
}

// Locations implements provider.Provider: the business's locations.
func (p *Provider) Locations(ctx context.Context, accountID string, access secret.Secret) ([]pos.Location, error) {
	id, err := strconv.ParseInt(accountID, 10, 64)
	if err != nil || id <= 0 {
		return nil, &provider.Error{Op: "list the business locations", Code: "account id is not a business id"}
	}
	c, err := p.client(id, access)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	locs, err := c.Locations(ctx)
	if err != nil {
		return nil, &provider.Error{Op: "list the business locations", Code: provider.APICode(err)}
	}
	return locs, nil
}

// client is an API client for one call with a fixed token: a refused token is reported, never
// refreshed here, since refreshing is the auth service's locked path's business.
func (p *Provider) client(business int64, access secret.Secret) (*restaurant.Client, error) {
	c, err := restaurant.New(restaurant.Config{
		BaseURL: p.apiBase, BusinessID: business,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access.Reveal(), TokenType: "Bearer"}),
		HTTPClient:  p.HTTPClient, RequestTimeout: p.Timeout, MaxAttempts: 3,
		BackoffBase: 200 * time.Millisecond, BackoffMax: 2 * time.Second, MaxRetryAfter: 5 * time.Second,
	})
	if err != nil {
		return nil, &provider.Error{Op: "build the Lightspeed client", Code: "configuration"}
	}
	return c, nil
}
