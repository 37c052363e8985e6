// Package connection is the auth service's domain: a client's POS connection from consent to
// refreshed tokens. It starts consents (one-time state, PKCE), completes them from the OAuth
// callback, hands out access tokens and is the one place that refreshes them, moves the
// integration status, revokes on disconnect, re-encrypts under a new key, and checks the
// client's departments against the connected account.
//
// Every change of a connection happens under its row lock (store.Locked), re-reading the row
// after taking it, so any number of callers in any number of replicas refresh a connection
// once per expiry and never reuse a rotated refresh token.
package connection

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/retry"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/keyring"
	"github.com/posimport/posimport/services/auth/internal/provider"
	"github.com/posimport/posimport/services/auth/internal/store"
)

// Fields of the sealed values, in their additional data.
const (
	fieldAccess   = "access_token"
	fieldRefresh  = "refresh_token"
	fieldVerifier = "verifier"
)

// Options are a Manager's dependencies and settings.
type Options struct {
	Store     *store.Store
	Keys      *keyring.Ring
	Providers []provider.Provider
	// Config reads the client's settings (its provider) and departments.
	Config posimportv1.ConfigServiceClient
	Logger *slog.Logger
	// Margin is how long a handed-out access token stays valid at least.
	Margin time.Duration
	// RefreshAttempts is how many times a failing refresh is tried in one call (default 3).
	RefreshAttempts int
	// RefreshBudget bounds one locked refresh, retries included (default 30 s). It runs
	// detached from the caller, so a caller giving up cannot lose a rotated refresh token.
	RefreshBudget time.Duration
	// CheckTTL is how long a department check result is reused (default 1 minute).
	CheckTTL time.Duration
	// ReconnectURL is the main app's connect page; "{client_id}" is replaced.
	ReconnectURL string
	// NowFunc and SleepFunc replace the clock in tests.
	NowFunc   func() time.Time
	SleepFunc func(ctx context.Context, d time.Duration) error
}

// Manager runs the connections.
type Manager struct {
	opts      Options
	store     *store.Store
	keys      *keyring.Ring
	providers map[posimportv1.PosProvider]provider.Provider
	log       *slog.Logger
	metrics   *metrics

	checkMu sync.Mutex
	checks  map[string]cachedCheck
}

// DefaultCheckTTL is how long a department check is reused by default; authservice names it
// as its DEPARTMENT_CHECK_TTL default.
const DefaultCheckTTL = time.Minute

// New returns a Manager.
func New(opts Options) *Manager {
	if opts.NowFunc == nil {
		opts.NowFunc = time.Now
	}
	if opts.SleepFunc == nil {
		opts.SleepFunc = retry.Sleep
	}
	if opts.RefreshAttempts <= 0 {
		opts.RefreshAttempts = 3
	}
	if opts.RefreshBudget <= 0 {
		opts.RefreshBudget = 30 * time.Second
	}
	if opts.CheckTTL <= 0 {
		opts.CheckTTL = DefaultCheckTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		opts: opts, store: opts.Store, keys: opts.Keys, providers: map[posimportv1.PosProvider]provider.Provider{},
		log: opts.Logger, metrics: newMetrics(), checks: map[string]cachedCheck{},
	}
	for _, p := range opts.Providers {
		m.providers[p.ID()] = p
	}
	return m
}

func (m *Manager) now() time.Time { return m.opts.NowFunc() }

// ReconnectURL is where a supervisor of clientID gives consent.
func (m *Manager) ReconnectURL(clientID string) string {
	return strings.ReplaceAll(m.opts.ReconnectURL, "{client_id}", url.PathEscape(clientID))
}

// Get returns a client's connection (found is false when it never connected) and, for a
// connected one, the check of its departments against the POS account.
func (m *Manager) Get(ctx context.Context, clientID string) (store.Connection, bool, Check, error) {
	c, found, err := m.store.Get(ctx, clientID)
	if err != nil || !found || !holdsTokens(c.Status) {
		return c, found, Check{}, err
	}
	chk := m.checkDepartments(ctx, c)
	// The check may have refreshed the token or found the consent withdrawn.
	c, found, err = m.store.Get(ctx, clientID)
	if !holdsTokens(c.Status) {
		chk = Check{}
	}
	return c, found, chk, err
}

// Status returns a client's stored connection (found is false when it never connected),
// without Get's check of its departments.
func (m *Manager) Status(ctx context.Context, clientID string) (store.Connection, bool, error) {
	return m.store.Get(ctx, clientID)
}

// List returns a page of connections in client order, after the client id after.
func (m *Manager) List(ctx context.Context, status posimportv1.ConnectionStatus, after string, limit int32) ([]store.Connection, error) {
	return m.store.List(ctx, status, after, limit)
}

// SetEnabled enables or disables a connected integration.
func (m *Manager) SetEnabled(ctx context.Context, clientID string, enable bool) (store.Connection, error) {
	var out store.Connection
	err := m.store.Locked(ctx, clientID, func(cur *store.Connection) (*store.Connection, error) {
		if cur == nil {
			_, _, err := afterSetEnabled(notConnected, enable)
			return nil, err
		}
		status, changed, err := afterSetEnabled(cur.Status, enable)
		out = *cur
		if err != nil || !changed {
			return nil, err
		}
		out.Status, out.Enabled, out.EnableTime = status, enable, time.Time{}
		if enable {
			out.EnableTime = m.now()
		}
		return &out, nil
	})
	if err == nil {
		m.log.InfoContext(ctx, "integration status set", "client_id", clientID, "status", out.Status.String())
	}
	return out, err
}

// Disconnect revokes the grant at the POS and deletes the tokens. When the POS does not
// confirm the revocation nothing changes, so the tokens are not forgotten while still valid.
func (m *Manager) Disconnect(ctx context.Context, clientID string) (store.Connection, error) {
	var out store.Connection
	err := m.store.Locked(ctx, clientID, func(cur *store.Connection) (*store.Connection, error) {
		if cur == nil {
			_, _, err := afterDisconnect(notConnected)
			return nil, err
		}
		status, changed, err := afterDisconnect(cur.Status)
		out = *cur
		if err != nil || !changed {
			return nil, err
		}
		if cur.Refresh != nil {
			p, err := m.provider(cur.Provider)
			if err != nil {
				return nil, err
			}
			_, refresh, err := m.openTokens(*cur)
			if err != nil {
				return nil, err
			}
			// The revocation runs under the row lock, so no refresh can rotate the token
			// being revoked.
			if err := p.Revoke(ctx, refresh); err != nil {
				return nil, apierr.Unavailable(err, "%s did not confirm the revocation; nothing was changed, try again", p.Name())
			}
		}
		out.Status, out.Enabled, out.EnableTime = status, false, time.Time{}
		out.Access, out.Refresh, out.AccessExpiry = nil, nil, time.Time{}
		return &out, nil
	})
	if err == nil {
		m.log.InfoContext(ctx, "integration disconnected", "client_id", clientID)
	}
	return out, err
}

// Reencrypt re-encrypts every stored token and PKCE verifier that is not under the newest key.
func (m *Manager) Reencrypt(ctx context.Context) (conns, states int, keyID string, err error) {
	keyID = m.keys.CurrentID()
	ids, err := m.store.StaleConnections(ctx, keyID)
	if err != nil {
		return 0, 0, keyID, err
	}
	for _, id := range ids {
		err := m.store.Locked(ctx, id, func(cur *store.Connection) (*store.Connection, error) {
			if cur == nil || cur.Access == nil || (cur.Access.KeyID == keyID && cur.Refresh.KeyID == keyID) {
				return nil, nil // changed meanwhile
			}
			access, refresh, err := m.openTokens(*cur)
			if err != nil {
				return nil, err
			}
			next := m.seal(*cur, provider.Token{Access: access, Refresh: refresh, Expiry: cur.AccessExpiry})
			conns++
			return &next, nil
		})
		if err != nil {
			return conns, states, keyID, fmt.Errorf("re-encrypt the tokens of %s: %w", id, err)
		}
	}
	sids, err := m.store.StaleStates(ctx, keyID)
	if err != nil {
		return conns, states, keyID, err
	}
	for _, id := range sids {
		aad := keyring.AAD(store.StatesTable, id, fieldVerifier, 0)
		found, err := m.store.ResealState(ctx, id, func(st store.State) (keyring.Sealed, error) {
			v, err := m.keys.Open(st.Verifier, aad)
			if err != nil {
				return keyring.Sealed{}, err
			}
			return m.keys.Seal(v, aad), nil
		})
		if err != nil {
			return conns, states, keyID, fmt.Errorf("re-encrypt consent %s: %w", id, err)
		}
		if found {
			states++
		}
	}
	m.log.InfoContext(ctx, "tokens re-encrypted", "key_id", keyID, "connections", conns, "states", states)
	return conns, states, keyID, nil
}

func (m *Manager) provider(id posimportv1.PosProvider) (provider.Provider, error) {
	p, ok := m.providers[id]
	if !ok {
		return nil, fmt.Errorf("no provider %s is configured", id)
	}
	return p, nil
}

// seal returns c holding tok, sealed under the newest key at the next generation.
func (m *Manager) seal(c store.Connection, tok provider.Token) store.Connection {
	c.Generation++
	a := m.keys.Seal([]byte(tok.Access.Reveal()), keyring.AAD(store.ConnectionsTable, c.ClientID, fieldAccess, c.Generation))
	r := m.keys.Seal([]byte(tok.Refresh.Reveal()), keyring.AAD(store.ConnectionsTable, c.ClientID, fieldRefresh, c.Generation))
	c.Access, c.Refresh, c.AccessExpiry = &a, &r, tok.Expiry
	return c
}

// openTokens decrypts a connection's tokens.
func (m *Manager) openTokens(c store.Connection) (access, refresh secret.Secret, err error) {
	if c.Access == nil || c.Refresh == nil {
		return secret.Secret{}, secret.Secret{}, fmt.Errorf("connection %s holds no tokens", c.ClientID)
	}
	a, err := m.keys.Open(*c.Access, keyring.AAD(store.ConnectionsTable, c.ClientID, fieldAccess, c.Generation))
	if err != nil {
		return secret.Secret{}, secret.Secret{}, fmt.Errorf("open the access token of %s: %w", c.ClientID, err)
	}
	r, err := m.keys.Open(*c.Refresh, keyring.AAD(store.ConnectionsTable, c.ClientID, fieldRefresh, c.Generation))
	if err != nil {
		return secret.Secret{}, secret.Secret{}, fmt.Errorf("open the refresh token of %s: %w", c.ClientID, err)
	}
	return secret.New(string(a)), secret.New(string(r)), nil
}

// metrics count what operators alert on; their labels never hold a secret, and only the
// unmapped-registers gauge (a client's to fix) holds a client id.
type metrics struct {
	refreshes *prometheus.CounterVec
	callbacks *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posimport_auth_token_refreshes_total",
			Help: "POS token refreshes, by provider and result (ok, invalid_grant, error).",
		}, []string{"provider", "result"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posimport_auth_callbacks_total",
			Help: "OAuth callbacks, by result (connected, enabled, or the refusal's reason).",
		}, []string{"result"}),
	}
}

// Collectors returns the manager's metrics, for the server's registry.
func (m *Manager) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.metrics.refreshes, m.metrics.callbacks, newConnectionsGauge(m.store, m.log), newUnmappedRegistersGauge(m.store, m.log)}
}

func providerLabel(p provider.Provider) string {
	return strings.ToLower(strings.TrimPrefix(p.ID().String(), "POS_PROVIDER_"))
}
