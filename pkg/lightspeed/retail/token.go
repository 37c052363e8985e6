package retail

import (
	"context"
	"sync"

	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/pos"
)

// TokenSource refreshes a Lightspeed token with an oauth2.Config and can be told, through
// [pos.TokenInvalidator], that the API refused the current access token. Lightspeed refresh tokens
// rotate, so OnToken should persist every new token. It suits one process holding one
// connection (the CLI, tests); the services get tokens from the auth service instead.
type TokenSource struct {
	// OnToken, if set, is called with every token obtained by a refresh.
	OnToken func(*oauth2.Token)

	ctx  context.Context
	conf *oauth2.Config
	mu   sync.Mutex
	tok  *oauth2.Token
}

var _ pos.TokenInvalidator = (*TokenSource)(nil)

// NewTokenSource returns a source starting from tok. ctx carries the HTTP client for the token
// endpoint (oauth2.HTTPClient) and must outlive the source.
func NewTokenSource(ctx context.Context, conf *oauth2.Config, tok *oauth2.Token) *TokenSource {
	return &TokenSource{ctx: ctx, conf: conf, tok: tok}
}

// Token returns the current token, refreshing it when it has expired or was invalidated.
func (s *TokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.Valid() {
		return s.tok, nil
	}
	tok, err := s.conf.TokenSource(s.ctx, s.tok).Token()
	if err != nil {
		return nil, err
	}
	s.tok = tok
	if s.OnToken != nil {
		s.OnToken(tok)
	}
	return tok, nil
}

// InvalidateToken implements [pos.TokenInvalidator]: if accessToken is still the current one, the
// next Token call refreshes.
func (s *TokenSource) InvalidateToken(accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken == accessToken {
		t := *s.tok
		t.AccessToken = "" // an empty access token is never Valid
		s.tok = &t
	}
}
