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

	"github.com/posimport/posimport/pkg/lightspeed/retail"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// ErrNeedsReauth says the client must give consent in Lightspeed again: retrying cannot help.
var ErrNeedsReauth = errors.New("client must re-authorize the POS connection")

// ErrNotEnabled says the integration is not enabled (any more).
var ErrNotEnabled = errors.New("POS integration is not enabled")

// AuthTokens is an oauth2.TokenSource backed by the auth service, which alone refreshes POS
// tokens. It caches the token until shortly before it expires, and after the POS refused one
// (InvalidateToken) asks auth for a forced refresh, once per refused token.
type AuthTokens struct {
	auth    posimportv1.AuthServiceClient
	client  string
	timeout time.Duration

	mu      sync.Mutex
	tok     *oauth2.Token
	force   bool
	account string
	prov    posimportv1.PosProvider
}

var (
	_ oauth2.TokenSource      = (*AuthTokens)(nil)
	_ retail.TokenInvalidator = (*AuthTokens)(nil)
)

// NewAuthTokens returns the token source of one client.
func NewAuthTokens(auth posimportv1.AuthServiceClient, client string) *AuthTokens {
	return &AuthTokens{auth: auth, client: client, timeout: 30 * time.Second}
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
	// A minute's margin: a request started with the token must not meet its expiry.
	if a.tok != nil && !a.force && time.Until(a.tok.Expiry) > time.Minute {
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

// InvalidateToken implements retail.TokenInvalidator: the next Token call forces a refresh,
// unless the refused token was already replaced.
func (a *AuthTokens) InvalidateToken(accessToken string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tok != nil && a.tok.AccessToken == accessToken {
		a.force = true
	}
}
