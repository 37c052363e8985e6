package connection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/retry"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/provider"
	"github.com/posimport/posimport/services/auth/internal/store"
)

// Token is an access token handed out, with what the caller needs to use it.
type Token struct {
	Access    secret.Secret
	Expiry    time.Time
	AccountID string
	Provider  posimportv1.PosProvider
	Status    posimportv1.ConnectionStatus
}

// maxRounds bounds AccessToken's rounds: a refresh that yields a token inside the margin (a
// provider that renews only after expiry, or a force on a valid token) is followed by one more.
const maxRounds = 3

// AccessToken returns an access token of clientID valid for at least the margin. It refreshes
// only when the stored token expires within the margin, or when force is set and nobody
// refreshed since the call began (the caller's token was refused by the POS).
//
// The refresh runs under the connection's row lock, re-reading the row after taking it: of
// many concurrent callers, in any replica, the first refreshes and the others find its token.
// The rotated refresh token is committed before the new access token is returned. A provider
// that renews only after expiry is not asked early (it would return the same token): callers
// inside the margin wait, without holding the lock, until the token expires.
func (m *Manager) AccessToken(ctx context.Context, clientID string, force bool) (Token, error) {
	return m.accessToken(ctx, clientID, force, m.opts.Margin)
}

// accessToken is AccessToken for a token valid for at least need.
func (m *Manager) accessToken(ctx context.Context, clientID string, force bool, need time.Duration) (Token, error) {
	asked := m.now()
	for range maxRounds {
		c, found, err := m.store.Get(ctx, clientID)
		if err != nil {
			return Token{}, err
		}
		c.ClientID = clientID
		p, err := m.usable(c, found)
		if err != nil {
			return Token{}, err
		}
		if !force && m.fresh(c, need) {
			return m.token(c)
		}
		if !force && p.RenewsOnlyAfterExpiry() {
			if wait := c.AccessExpiry.Sub(m.now()); wait > 0 {
				if err := m.opts.SleepFunc(ctx, wait+time.Millisecond); err != nil {
					return Token{}, err
				}
			}
		}
		tok, err := m.refresh(ctx, clientID, force, asked, need)
		if err != nil {
			return Token{}, err
		}
		if tok.Expiry.Sub(m.now()) >= need {
			return tok, nil
		}
		force = false
	}
	return Token{}, apierr.Unavailable(nil, "no access token valid for %v could be had for client %s; retry later", need, clientID)
}

// fresh reports whether c's access token is valid for at least need.
func (m *Manager) fresh(c store.Connection, need time.Duration) bool {
	return c.Access != nil && c.AccessExpiry.Sub(m.now()) >= need
}

// usable returns c's provider when c can hand out tokens, else the refusal.
func (m *Manager) usable(c store.Connection, found bool) (provider.Provider, error) {
	if !found {
		return nil, apierr.FailedPrecondition("client %s is not connected to a POS: a supervisor must give consent first", c.ClientID)
	}
	p, err := m.provider(c.Provider)
	if err != nil {
		return nil, err
	}
	switch c.Status {
	case needsReauth:
		return nil, apierr.FailedPrecondition("client %s must give consent in %s again (status NEEDS_REAUTH): %s", c.ClientID, p.Name(), m.ReconnectURL(c.ClientID))
	case disconnected:
		return nil, apierr.FailedPrecondition("client %s is disconnected from %s", c.ClientID, p.Name())
	}
	return p, nil
}

func (m *Manager) token(c store.Connection) (Token, error) {
	access, _, err := m.openTokens(c)
	if err != nil {
		return Token{}, err
	}
	return Token{Access: access, Expiry: c.AccessExpiry, AccountID: c.AccountID, Provider: c.Provider, Status: c.Status}, nil
}

// refresh takes the row lock and refreshes unless, re-read, the row shows that another caller
// already did. It runs detached from ctx and bounded by the refresh budget: once the provider
// has rotated the refresh token, the new one must reach the database even if the caller left.
func (m *Manager) refresh(ctx context.Context, clientID string, force bool, asked time.Time, need time.Duration) (Token, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.opts.RefreshBudget)
	defer cancel()
	var out Token
	err := m.store.Locked(rctx, clientID, func(cur *store.Connection) (*store.Connection, error) {
		if cur == nil {
			_, err := m.usable(store.Connection{ClientID: clientID}, false)
			return nil, err
		}
		p, err := m.usable(*cur, true)
		if err != nil {
			return nil, err
		}
		obtained := cur.LastRefreshTime
		if cur.ConsentTime.After(obtained) {
			obtained = cur.ConsentTime
		}
		if (!force && m.fresh(*cur, need)) || (force && !obtained.Before(asked) && cur.AccessExpiry.After(m.now())) {
			// Another caller refreshed (or consent was given) while this one waited.
			out, err = m.token(*cur)
			return nil, err
		}
		next, err := m.refreshLocked(rctx, p, *cur)
		if next != nil && err == nil {
			out, err = m.token(*next)
		}
		return next, err
	})
	return out, err
}

// refreshLocked refreshes under the lock, retrying transient failures. It returns the row to
// write: the new tokens; NEEDS_REAUTH without tokens when the provider refused the grant; or
// the unchanged tokens with last_error when the provider could not be reached.
func (m *Manager) refreshLocked(ctx context.Context, p provider.Provider, cur store.Connection) (*store.Connection, error) {
	_, refresh, err := m.openTokens(cur)
	if err != nil {
		return nil, err
	}
	label := providerLabel(p)
	var tok provider.Token
	var last error
	err = retry.Do(ctx, retry.Policy{
		MaxAttempts: m.opts.RefreshAttempts, SleepFunc: m.opts.SleepFunc,
		// Full jitter below 200 ms, 400 ms, … at most 2 s.
		Backoff:    retry.Backoff{Base: 200 * time.Millisecond, Max: 2 * time.Second},
		NotifyFunc: retry.Warn(ctx, m.log, "token refresh failed; retrying", "client_id", cur.ClientID),
	}, func(ctx context.Context, _ int) error {
		var err error
		tok, err = p.Refresh(ctx, refresh)
		switch {
		case err == nil:
			m.metrics.refreshes.WithLabelValues(label, "ok").Inc()
			return nil
		case errors.Is(err, provider.ErrInvalidGrant):
			m.metrics.refreshes.WithLabelValues(label, "invalid_grant").Inc()
			return retry.Permanent(err)
		}
		m.metrics.refreshes.WithLabelValues(label, "error").Inc()
		last = err
		return err
	})
	switch {
	case err == nil:
		next := m.seal(cur, tok)
		next.LastRefreshTime, next.LastError, next.LastErrorTime = m.now(), "", time.Time{}
		m.log.InfoContext(ctx, "access token refreshed", "client_id", cur.ClientID, "account_id", cur.AccountID,
			"generation", next.Generation, "expire_time", tok.Expiry)
		return &next, nil
	case errors.Is(err, provider.ErrInvalidGrant):
		m.log.WarnContext(ctx, "consent refused by the provider; connection needs reauthorization",
			"client_id", cur.ClientID, "account_id", cur.AccountID, "error", err)
		next := cur
		next.Status, next.Access, next.Refresh, next.AccessExpiry = needsReauth, nil, nil, time.Time{}
		next.LastError = fmt.Sprintf("%s no longer accepts this connection's authorization: the consent was withdrawn or has expired. A supervisor must connect again.", p.Name())
		next.LastErrorTime = m.now()
		_, err := m.usable(next, true)
		return &next, err
	}
	m.log.ErrorContext(ctx, "token refresh failed", "client_id", cur.ClientID, "attempts", m.opts.RefreshAttempts, "error", last)
	next := cur
	next.LastError = fmt.Sprintf("Could not renew the %s access: %v. It is retried; nothing to do unless this persists.", p.Name(), last)
	next.LastErrorTime = m.now()
	return &next, apierr.Unavailable(last, "%s did not answer the token refresh; retry later", p.Name())
}
