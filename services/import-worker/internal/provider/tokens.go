package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/pos"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// ErrNeedsReauth says the client must give consent in Lightspeed again: retrying cannot help.
var ErrNeedsReauth = errors.New("client must re-authorize the POS connection")

// ErrNotEnabled says the integration is not enabled (any more).
var ErrNotEnabled = errors.New("POS integration is not enabled")

// DefaultTokenMargin is how long a cached access token must still be valid to be used for
// one more POS request. A source takes the token right before it sends a request (after any
// rate-limit wait) and the POS checks it when the request arrives, so the margin covers the
// request's way there and clock skew, not its whole duration.
//
// NOTE: it must not exceed the auth service's REFRESH_MARGIN (30 s by default). Asked for a
// token within its margin, auth refreshes; Lightspeed renews only after expiry, so auth waits
// until then (at most this margin) and hands out the new token. Asked earlier, auth returns
// the same token, and a larger margin here would only cost one call to auth per request.
const DefaultTokenMargin = 10 * time.Second

// TokenOptions shape an AuthTokens.
type TokenOptions struct {
	// Margin: a cached token is reused while it stays valid for longer than this (default
	// DefaultTokenMargin).
	Margin time.Duration
	// NowFunc is the clock; nil is time.Now.
	NowFunc func() time.Time
}

// AuthTokens is an oauth2.TokenSource backed by the auth service, which alone refreshes POS
// tokens. It reuses a token while it is valid for more than the margin, and after the POS
// refused one (InvalidateToken) asks auth for a forced refresh, once per refused token.
type AuthTokens struct {
	auth    posimportv1.AuthServiceClient
	client  string
	margin  time.Duration
	now     func() time.Time
	timeout time.Duration

	mu      sync.Mutex
	tok     *oauth2.Token
	force   bool
	account string
	prov    posimportv1.PosProvider
}

var (
	_ oauth2.TokenSource   = (*AuthTokens)(nil)
	_ pos.TokenInvalidator = (*AuthTokens)(nil)
)

// NewAuthTokens returns the token source of one client.
func NewAuthTokens(auth posimportv1.AuthServiceClient, client string, o TokenOptions) *AuthTokens {
	if o.Margin <= 0 {
		o.Margin = DefaultTokenMargin
	}
	if o.NowFunc == nil {
		o.NowFunc = time.Now
	}
	// Auth may wait out the rest of the old token's life (at most the margin) before it refreshes.
	return &AuthTokens{auth: auth, client: client, margin: o.Margin, now: o.NowFunc, timeout: 30*time.Second + o.Margin}
}

// Account fetches a token and returns the account it is for. Errors wrap ErrNeedsReauth or
// ErrNotEnabled when retrying cannot help.
func (a *AuthTokens) Account(ctx context.Context) (Account, error) {
	if _, err := a.token(ctx); err != nil {
		return Account{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return Account{Provider: a.prov, ID: a.account, Tokens: a}, nil
}

// Token implements oauth2.TokenSource.
func (a *AuthTokens) Token() (*oauth2.Token, error) { return a.token(context.Background()) }

func (a *AuthTokens) token(ctx context.Context) (*oauth2.Token, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tok != nil && !a.force && a.tok.Expiry.Sub(a.now()) > a.margin {
		return a.tok, nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	resp, err := a.auth.AccessToken(ctx, &posimportv1.AccessTokenRequest{ClientId: a.client, ForceRefresh: a.force})
	if err != nil {
		switch status.Code(err) {
		case codes.FailedPrecondition:
			// NOTE: the message is auth's, written for a person, and holds no secret.
			return nil, fmt.Errorf("%w: %s", ErrNeedsReauth, status.Convert(err).Message())
		case codes.NotFound, codes.PermissionDenied:
			return nil, fmt.Errorf("%w: %s", ErrNeedsReauth, status.Convert(err).Message())
		}
		return nil, fmt.Errorf("ask auth for an access token: %s", status.Code(err))
	}
	if st := resp.GetStatus(); st != posimportv1.ConnectionStatus_CONNECTION_STATUS_ENABLED &&
		st != posimportv1.ConnectionStatus_CONNECTION_STATUS_UNSPECIFIED {
		return nil, fmt.Errorf("%w (status %s)", ErrNotEnabled, st)
	}
	a.tok = &oauth2.Token{AccessToken: resp.GetAccessToken(), TokenType: "Bearer", Expiry: resp.GetExpireTime().AsTime()}
	a.force = false
	a.account, a.prov = resp.GetAccountId(), resp.GetProvider()
	return a.tok, nil
}

// InvalidateToken implements pos.TokenInvalidator: the next Token call forces a refresh,
// unless the refused token was already replaced.
func (a *AuthTokens) InvalidateToken(accessToken string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tok != nil && a.tok.AccessToken == accessToken {
		a.force = true
	}
}
