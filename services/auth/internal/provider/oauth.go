package provider

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/platform/secret"
)

// DefaultLifetime is assumed for an access token whose response has no expires_in.
const DefaultLifetime = 5 * time.Minute

// OAuth is the OAuth2 part every provider shares. It never uses oauth2's auto-refreshing token
// sources: refresh tokens rotate, and only the caller can persist the rotated one.
type OAuth struct {
	// Config holds the client credentials, endpoints, scopes and redirect URL.
	Config oauth2.Config
	// ClientSecret is sent to the token and revoke endpoints; Config.ClientSecret stays empty
	// so that the configuration can be printed.
	ClientSecret secret.Secret
	// RevokeURL is the revocation endpoint and RevokeParam the form field carrying the refresh
	// token there ("token" in RFC 7009, "refresh_token" at Lightspeed).
	RevokeURL   string
	RevokeParam string
	// HTTPClient sends every request; its Timeout should be zero (Timeout bounds each call).
	HTTPClient *http.Client
	// Timeout bounds each call to the provider.
	Timeout time.Duration
	// NowFunc is the clock expiries are computed on.
	NowFunc func() time.Time
}

// Settings are a provider's OAuth client registration, endpoints and API host, as configured.
type Settings struct {
	ClientID     string
	ClientSecret secret.Secret
	// AuthorizeURL, TokenURL and RevokeURL are the OAuth endpoints (RevokeURL may be empty
	// where the provider has none); APIBaseURL is the API host.
	AuthorizeURL, TokenURL, RevokeURL, APIBaseURL string
	Scopes                                        []string
	// RedirectURL is the auth service's callback, registered with the provider.
	RedirectURL string
	HTTPClient  *http.Client
	// Timeout bounds each call.
	Timeout time.Duration
	NowFunc func() time.Time
}

// NewOAuth returns the OAuth mechanics for s. style is how the product's token (and revoke)
// endpoint authenticates the client, as it documents it: oauth2.AuthStyleInHeader for HTTP
// Basic (RFC 6749 §2.3.1), oauth2.AuthStyleInParams for client_id and client_secret in the
// form body; never AuthStyleAutoDetect, whose probing request a strict server answers with
// invalid_client. revokeParam is the revocation form's field for the token.
func NewOAuth(s Settings, style oauth2.AuthStyle, revokeParam string) OAuth {
	return OAuth{
		Config: oauth2.Config{
			ClientID:    s.ClientID,
			Endpoint:    oauth2.Endpoint{AuthURL: s.AuthorizeURL, TokenURL: s.TokenURL, AuthStyle: style},
			RedirectURL: s.RedirectURL,
			Scopes:      s.Scopes,
		},
		ClientSecret: s.ClientSecret,
		RevokeURL:    s.RevokeURL,
		RevokeParam:  revokeParam,
		HTTPClient:   s.HTTPClient,
		Timeout:      s.Timeout,
		NowFunc:      s.NowFunc,
	}
}

// AuthCodeURL returns the consent page URL for state with the S256 challenge of verifier; it
// implements Provider.AuthCodeURL for the providers that embed OAuth.
func (o *OAuth) AuthCodeURL(state, verifier string) string {
	return o.Config.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// call returns a context for one call: the HTTP client for oauth2 and the timeout.
func (o *OAuth) call(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, o.HTTPClient)
	return context.WithTimeout(ctx, o.Timeout)
}

func (o *OAuth) config() *oauth2.Config {
	c := o.Config
	c.ClientSecret = o.ClientSecret.Reveal()
	return &c
}

// Exchange trades an authorization code for tokens, proving the PKCE verifier.
func (o *OAuth) Exchange(ctx context.Context, code, verifier string) (Token, error) {
	ctx, cancel := o.call(ctx)
	defer cancel()
	tok, err := o.config().Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Token{}, describe("exchange the authorization code", err)
	}
	return o.token(tok)
}

// Refresh uses a refresh token once.
func (o *OAuth) Refresh(ctx context.Context, refresh secret.Secret) (Token, error) {
	ctx, cancel := o.call(ctx)
	defer cancel()
	// An expired token without an access token makes the source refresh exactly once; the
	// source is dropped afterwards, so nothing refreshes behind the caller's back.
	tok, err := o.config().TokenSource(ctx, &oauth2.Token{RefreshToken: refresh.Reveal(), Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return Token{}, describe("refresh the access token", err)
	}
	return o.token(tok)
}

func (o *OAuth) token(tok *oauth2.Token) (Token, error) {
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		return Token{}, &Error{Op: "token response without an access and a refresh token"}
	}
	// oauth2 computes the expiry on the system clock; it is moved to the service's clock.
	exp := o.NowFunc().Add(DefaultLifetime)
	if !tok.Expiry.IsZero() {
		exp = o.NowFunc().Add(time.Until(tok.Expiry))
	}
	return Token{Access: secret.New(tok.AccessToken), Refresh: secret.New(tok.RefreshToken), Expiry: exp}, nil
}

// Revoke ends the grant of a refresh token. An unknown token is not an error (RFC 7009). The
// client authenticates the way it does at the token endpoint.
func (o *OAuth) Revoke(ctx context.Context, refresh secret.Secret) error {
	ctx, cancel := o.call(ctx)
	defer cancel()
	form := url.Values{o.RevokeParam: {refresh.Reveal()}}
	basic := o.Config.Endpoint.AuthStyle == oauth2.AuthStyleInHeader
	if !basic {
		form.Set("client_id", o.Config.ClientID)
		form.Set("client_secret", o.ClientSecret.Reveal())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.RevokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return &Error{Op: "build the revoke request"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		// RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding, as
		// golang.org/x/oauth2 does at the token endpoint.
		req.SetBasicAuth(url.QueryEscape(o.Config.ClientID), url.QueryEscape(o.ClientSecret.Reveal()))
	}
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		return describe("revoke the grant", err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return &Error{Op: "revoke the grant", Code: "HTTP " + strconv.Itoa(resp.StatusCode)}
	}
	return nil
}

// describe turns an oauth2 or network error into an *Error that keeps the OAuth error code or
// the kind of failure, and drops the rest: a RetrieveError's text holds the response body.
func describe(op string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" && re.Response != nil {
			code = "HTTP " + strconv.Itoa(re.Response.StatusCode)
		}
		e := &Error{Op: op, Code: code}
		if re.ErrorCode == "invalid_grant" {
			e.err = ErrInvalidGrant
		}
		return e
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &Error{Op: op, Code: "timeout"}
	case errors.Is(err, context.Canceled):
		return &Error{Op: op, Code: "canceled"}
	case errors.As(err, &ne):
		return &Error{Op: op, Code: "unreachable"}
	}
	return &Error{Op: op, Code: "unexpected response"}
}
