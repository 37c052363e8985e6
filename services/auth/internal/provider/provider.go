// Package provider is the auth service's seam to the POS providers' OAuth. A [Provider] knows
// where its consent page and token endpoint are, which scopes to ask for, how the account id
// of a grant is learnt, how a grant is revoked, and how to list the account's locations for the
// department check. The rest of the service is provider-neutral: a second POS product is one
// more implementation of this interface.
//
// [OAuth] holds the mechanics every OAuth2 provider shares (authorize URL with PKCE, code
// exchange, one-shot refresh, revoke) on golang.org/x/oauth2, and turns their failures into
// errors that never carry a token endpoint's response body.
package provider

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/pos"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// Token is a grant's tokens. They redact themselves wherever they could be printed.
type Token struct {
	Access  secret.Secret
	Refresh secret.Secret
	// Expiry is when the access token expires, on this service's clock.
	Expiry time.Time
}

// ErrInvalidGrant says the provider refused a refresh token or code for good (OAuth
// invalid_grant): the consent was withdrawn or expired, and only a new consent helps.
var ErrInvalidGrant = errors.New("the provider refused the grant (invalid_grant)")

// Provider is one POS product's OAuth and account API, as the auth service needs them.
type Provider interface {
	// ID is the provider in the contract.
	ID() posimportv1.PosProvider
	// Name is the product's name for people, e.g. in "give consent in <Name> again".
	Name() string
	// AuthCodeURL is the consent page URL for state, with the S256 challenge of verifier.
	AuthCodeURL(state, verifier string) string
	// Exchange trades an authorization code for tokens, proving verifier.
	Exchange(ctx context.Context, code, verifier string) (Token, error)
	// Refresh uses a refresh token once and returns the new tokens. It returns an error
	// wrapping ErrInvalidGrant when the provider refused the refresh token for good; any other
	// error is transient.
	Refresh(ctx context.Context, refresh secret.Secret) (Token, error)
	// Revoke ends the grant of a refresh token at the provider.
	Revoke(ctx context.Context, refresh secret.Secret) error
	// Account learns the account id an access token was granted for, confirmed by the
	// provider's API: what the consent covers, in a form that compares equal for the same
	// coverage (a Lightspeed Restaurant consent of several businesses lists them all).
	Account(ctx context.Context, access secret.Secret) (string, error)
	// Businesses lists what the account covers, with their locations (shops, business
	// locations): the one account of Lightspeed Retail, the businesses of a Lightspeed
	// Restaurant consent.
	Businesses(ctx context.Context, accountID string, access secret.Secret) ([]Business, error)
	// RenewsOnlyAfterExpiry reports that a refresh returns the same access token while it is
	// still valid, so a new access token can only be had once the current one has expired.
	RenewsOnlyAfterExpiry() bool
}

// Business is a business an account covers, with its locations.
type Business struct {
	ID        string
	Name      string
	Locations []pos.Location
}

// Error is a provider failure worded for logs and for people: it names what failed and the
// OAuth error code or HTTP status, never a token or a response body.
type Error struct {
	Op   string
	Code string
	err  error
}

// Error implements error: "<what failed> (<code>)".
func (e *Error) Error() string {
	if e.Code == "" {
		return e.Op
	}
	return e.Op + " (" + e.Code + ")"
}

// Unwrap returns ErrInvalidGrant for refused grants, else nil: the underlying error may hold a
// response body and is not kept.
func (e *Error) Unwrap() error { return e.err }

// APICode names a POS API failure (the shared error types of package pos) without its details,
// for an [Error]'s Code.
func APICode(err error) string {
	var se *pos.StatusError
	var rl *pos.RateLimitError
	switch {
	case errors.Is(err, pos.ErrUnauthorized):
		return "token refused"
	case errors.As(err, &rl):
		return "rate limited"
	case errors.As(err, &se):
		return "HTTP " + strconv.Itoa(se.Status)
	case errors.As(err, new(*pos.DataError)), errors.As(err, new(*pos.SyntaxError)):
		return "malformed response"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "unreachable"
}
