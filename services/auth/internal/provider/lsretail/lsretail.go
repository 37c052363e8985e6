// Package lsretail is the Lightspeed Retail (R-Series) [provider.Provider]: the OAuth2 server at
// cloud.lightspeedapp.com and API V3 at api.lightspeedapp.com. The account id of a grant is the
// access token's acct claim, confirmed by Account.json; locations are the account's shops.
//
// NOTE: R-Series answers a refresh made while the access token is still valid with that same
// access token ("If your previous access token is still active, it will be returned instead of
// a new access token"), so a new access token exists only once the old one has expired.
package lsretail

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/lightspeed/retail"
	"github.com/posimport/posimport/pkg/platform/secret"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/provider"
)

// Config configures the provider.
type Config = provider.Settings

// Provider is Lightspeed Retail.
type Provider struct {
	provider.OAuth
	apiBase string
}

var _ provider.Provider = (*Provider)(nil)

// New returns the provider. The client authenticates with client_id and client_secret in the
// form body of the token and revoke requests, as the R-Series docs show them (Access Token,
// Refresh Token and Revoke pages of developers.lightspeedhq.com/retail/authentication/).
func New(cfg Config) *Provider {
	return &Provider{OAuth: provider.NewOAuth(cfg, oauth2.AuthStyleInParams, "refresh_token"), apiBase: cfg.APIBaseURL}
}

// ID implements provider.Provider.
func (p *Provider) ID() posimportv1.PosProvider {
	return posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return "Lightspeed Retail" }

// RenewsOnlyAfterExpiry implements provider.Provider: see the package comment.
func (p *Provider) RenewsOnlyAfterExpiry() bool { return true }

// Account implements provider.Provider: the token's acct claim, confirmed by Account.json.
func (p *Provider) Account(ctx context.Context, access secret.Secret) (string, error) {
	acct, err := accountClaim(access.Reveal())
	if err != nil {
		return "", err
	}
	c, err := p.client(acct, access)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	a, err := c.Account(ctx)
	if err != nil {
		return "", &provider.Error{Op: "confirm the account with Account.json", Code: provider.APICode(err)}
	}
	return strconv.FormatInt(a.ID, 10), nil
}

// Businesses implements provider.Provider: the account, with its name from Account.json, and
// its shops.
func (p *Provider) Businesses(ctx context.Context, accountID string, access secret.Secret) ([]provider.Business, error) {
	acct, err := strconv.ParseInt(accountID, 10, 64)
	if err != nil {
		return nil, &provider.Error{Op: "list the shops", Code: "account id is not a number"}
	}
	c, err := p.client(acct, access)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	a, err := c.Account(ctx)
	if err != nil {
		return nil, &provider.Error{Op: "read the account", Code: provider.APICode(err)}
	}
	locs, err := c.Locations(ctx)
	if err != nil {
		return nil, &provider.Error{Op: "list the shops", Code: provider.APICode(err)}
	}
	return []provider.Business{{ID: accountID, Name: a.Name, Locations: locs}}, nil
}

// client is an API client for one call with a fixed token: a refused token is reported, never
// refreshed here, since refreshing is the auth service's locked path's business.
func (p *Provider) client(acct int64, access secret.Secret) (*retail.Client, error) {
	c, err := retail.New(retail.Config{
		BaseURL: p.apiBase, AccountID: acct,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access.Reveal(), TokenType: "Bearer"}),
		HTTPClient:  p.HTTPClient, RequestTimeout: p.Timeout, MaxAttempts: 3,
		BackoffBase: 200 * time.Millisecond, BackoffMax: 2 * time.Second, MaxRetryAfter: 5 * time.Second,
	})
	if err != nil {
		return nil, &provider.Error{Op: "build the Lightspeed client", Code: "configuration"}
	}
	return c, nil
}

// accountClaim reads the acct claim of a Lightspeed access token (a JWT). The signature is not
// checked: the token came straight from the token endpoint, and Account.json confirms it.
func accountClaim(jwt string) (int64, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return 0, &provider.Error{Op: "read the account id", Code: "access token is not a JWT"}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return 0, &provider.Error{Op: "read the account id", Code: "access token is not a JWT"}
	}
	var claims struct {
		Acct json.RawMessage `json:"acct"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || len(claims.Acct) == 0 {
		return 0, &provider.Error{Op: "read the account id", Code: "no acct claim"}
	}
	// acct is a string in Lightspeed's tokens; a number is accepted too.
	s := strings.Trim(string(claims.Acct), `"`)
	acct, err := strconv.ParseInt(s, 10, 64)
	if err != nil || acct <= 0 {
		return 0, &provider.Error{Op: "read the account id", Code: "acct claim is not an account id"}
	}
	return acct, nil
}
