package connection

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/secret"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/keyring"
	"github.com/posimport/posimport/services/auth/internal/provider"
	"github.com/posimport/posimport/services/auth/internal/store"
)

// StateTTL is how long a consent may take, from BeginConnect to the callback.
const StateTTL = 10 * time.Minute

// maxActiveStates bounds the consents in progress per client, so BeginConnect cannot fill the
// table.
const maxActiveStates = 20

// Why a callback did not connect; the browser's return URL carries it as "reason".
const (
	ReasonInvalidState       = "invalid_state"       // missing, malformed, unknown, used or forged state, or a verifier not matching its challenge
	ReasonExpiredState       = "expired_state"       // the consent took longer than StateTTL
	ReasonConsentDenied      = "consent_denied"      // the person declined at the POS
	ReasonMissingCode        = "missing_code"        // the POS sent neither a code nor an error
	ReasonExchangeFailed     = "exchange_failed"     // the POS refused the code or did not answer
	ReasonAccountUnconfirmed = "account_unconfirmed" // the account id could not be learnt or confirmed
	ReasonInternal           = "internal_error"
)

// Result is the outcome of an OAuth callback.
type Result struct {
	// ClientID is empty when the state did not identify a consent.
	ClientID string
	// Status is the connection's status after a successful callback.
	Status posimportv1.ConnectionStatus
	// Reason is set when the callback did not connect.
	Reason string
}

// Begin starts a consent for clientID, asked for by subject: it stores a one-time state bound
// to them with a PKCE verifier, and returns the provider's consent URL and when the state
// expires. An unspecified provider means the client's configured one.
func (m *Manager) Begin(ctx context.Context, clientID, subject string, want posimportv1.PosProvider) (string, time.Time, error) {
	if _, ok := posimportv1.PosProvider_name[int32(want)]; !ok {
		return "", time.Time{}, apierr.Invalid("provider", "unknown provider %d", want)
	}
	if want == posimportv1.PosProvider_POS_PROVIDER_UNSPECIFIED {
		resp, err := m.opts.Config.GetClientSettings(ctx, &posimportv1.GetClientSettingsRequest{ClientId: clientID})
		if err != nil {
			return "", time.Time{}, apierr.Unavailable(err, "the client's settings could not be read; retry later")
		}
		if want = resp.GetSettings().GetPosProvider(); want == posimportv1.PosProvider_POS_PROVIDER_UNSPECIFIED {
			return "", time.Time{}, apierr.Invalid("provider", "required: the client's settings name no POS provider")
		}
	}
	p, ok := m.providers[want]
	if !ok {
		return "", time.Time{}, apierr.Invalid("provider", "%s is not configured in this installation", want)
	}
	id, sec := randomString(12), randomString(32)
	verifier := oauth2.GenerateVerifier()
	now := m.now()
	st := store.State{
		ID: id, SecretHash: hash(sec), ClientID: clientID, Provider: want, Subject: subject,
		Verifier:  m.keys.Seal([]byte(verifier), keyring.AAD(store.StatesTable, id, fieldVerifier, 0)),
		Challenge: oauth2.S256ChallengeFromVerifier(verifier),
		Created:   now, Expires: now.Add(StateTTL),
	}
	// States expired for over an hour are purged; younger ones still tell "expired" from "unknown".
	err := m.store.InsertState(ctx, st, now.Add(-time.Hour), maxActiveStates)
	if errors.Is(err, store.ErrTooManyStates) {
		return "", time.Time{}, apierr.FailedPrecondition("%d consents for client %s are in progress: finish one, or wait %v", maxActiveStates, clientID, StateTTL)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	m.log.InfoContext(ctx, "consent started", "client_id", clientID, "provider", want.String(), "subject", subject)
	return p.AuthCodeURL(id+"."+sec, verifier), st.Expires, nil
}

// errors a state check refuses with; they leave the state untouched.
var (
	errForgedState  = errors.New("state secret does not match")
	errExpiredState = errors.New("state expired")
	errBadVerifier  = errors.New("stored verifier does not match its challenge")
)

// Complete handles the OAuth callback's query. A state that is missing, unknown, used, forged
// or expired, or whose stored PKCE verifier no longer matches the challenge sent, is refused
// before any token exchange, and nothing is written. An accepted state is used up at once;
// then the code is exchanged, the account id learnt and confirmed, and the connection stored.
func (m *Manager) Complete(ctx context.Context, q url.Values) Result {
	id, sec, ok := strings.Cut(q.Get("state"), ".")
	if !ok || id == "" || sec == "" {
		return m.callbackDone(ctx, Result{Reason: ReasonInvalidState}, errors.New("state missing or malformed"))
	}
	var verifier string
	st, found, err := m.store.TakeState(ctx, id, func(st store.State) error {
		if subtle.ConstantTimeCompare(hash(sec), st.SecretHash) != 1 {
			return errForgedState
		}
		if !m.now().Before(st.Expires) {
			return errExpiredState
		}
		v, err := m.keys.Open(st.Verifier, keyring.AAD(store.StatesTable, st.ID, fieldVerifier, 0))
		if err != nil || oauth2.S256ChallengeFromVerifier(string(v)) != st.Challenge {
			return errBadVerifier
		}
		verifier = string(v)
		return nil
	})
	switch {
	case !found && err == nil:
		return m.callbackDone(ctx, Result{Reason: ReasonInvalidState}, errors.New("unknown or used state"))
	case errors.Is(err, errExpiredState):
		return m.callbackDone(ctx, Result{ClientID: st.ClientID, Reason: ReasonExpiredState}, err)
	case errors.Is(err, errForgedState), errors.Is(err, errBadVerifier):
		return m.callbackDone(ctx, Result{Reason: ReasonInvalidState}, err)
	case err != nil:
		return m.callbackDone(ctx, Result{Reason: ReasonInternal}, err)
	}
	res := Result{ClientID: st.ClientID}
	if e := q.Get("error"); e != "" {
		res.Reason = ReasonConsentDenied
		return m.callbackDone(ctx, res, &provider.Error{Op: "consent declined", Code: oauthCode(e)})
	}
	code := q.Get("code")
	if code == "" {
		res.Reason = ReasonMissingCode
		return m.callbackDone(ctx, res, errors.New("callback without code"))
	}
	p, err := m.provider(st.Provider)
	if err != nil {
		res.Reason = ReasonInternal
		return m.callbackDone(ctx, res, err)
	}
	tok, err := p.Exchange(ctx, code, verifier)
	if err != nil {
		res.Reason = ReasonExchangeFailed
		return m.callbackDone(ctx, res, err)
	}
	account, err := p.Account(ctx, tok.Access)
	if err != nil {
		m.revoke(ctx, p, st.ClientID, tok.Refresh)
		res.Reason = ReasonAccountUnconfirmed
		return m.callbackDone(ctx, res, err)
	}
	c, replaced, err := m.connect(ctx, st, p, account, tok)
	if err != nil {
		m.revoke(ctx, p, st.ClientID, tok.Refresh)
		res.Reason = ReasonInternal
		return m.callbackDone(ctx, res, err)
	}
	if !replaced.refresh.IsZero() {
		// The previous grant is of no use any more; leaving it alive would leave a valid
		// refresh token behind at the POS. It is revoked where it was granted: after a switch
		// of provider, that is the previous provider.
		if old, err := m.provider(replaced.provider); err != nil {
			m.log.WarnContext(ctx, "revoke replaced grant", "client_id", st.ClientID, "error", err)
		} else {
			m.revoke(ctx, old, st.ClientID, replaced.refresh)
		}
	}
	m.invalidateCheck(st.ClientID)
	res.Status = c.Status
	return m.callbackDone(ctx, res, nil)
}

// replacedGrant is the grant a new consent replaced: its refresh token and provider.
type replacedGrant struct {
	refresh  secret.Secret
	provider posimportv1.PosProvider
}

// connect stores the tokens of a new consent and moves the status; it returns the grant it
// replaced, if any.
func (m *Manager) connect(ctx context.Context, st store.State, p provider.Provider, account string, tok provider.Token) (store.Connection, replacedGrant, error) {
	var out store.Connection
	var replaced replacedGrant
	err := m.store.Locked(ctx, st.ClientID, func(cur *store.Connection) (*store.Connection, error) {
		next := store.Connection{
			ClientID: st.ClientID, Provider: p.ID(), AccountID: account,
			ConsentSubject: st.Subject, ConsentTime: m.now(),
		}
		if cur != nil {
			next.Generation = cur.Generation
			if cur.Refresh != nil {
				if _, r, err := m.openTokens(*cur); err == nil {
					replaced = replacedGrant{refresh: r, provider: cur.Provider}
				}
			}
		}
		next.Status, next.Enabled = afterConsent(cur, p.ID(), account)
		if next.Enabled {
			next.EnableTime = cur.EnableTime
		}
		next = m.seal(next, tok)
		out = next
		return &next, nil
	})
	return out, replaced, err
}

// revoke ends a grant the service will not keep; a failure is logged, not fatal: the grant
// then lapses at the POS on its own.
func (m *Manager) revoke(ctx context.Context, p provider.Provider, clientID string, refresh secret.Secret) {
	if err := p.Revoke(ctx, refresh); err != nil {
		m.log.WarnContext(ctx, "revoke unused grant", "client_id", clientID, "error", err)
	}
}

func (m *Manager) callbackDone(ctx context.Context, res Result, err error) Result {
	label := res.Reason
	if label == "" {
		label = strings.ToLower(strings.TrimPrefix(res.Status.String(), "CONNECTION_STATUS_"))
	}
	m.metrics.callbacks.WithLabelValues(label).Inc()
	if err != nil {
		m.log.WarnContext(ctx, "oauth callback refused", "client_id", res.ClientID, "reason", res.Reason, "error", err)
		return res
	}
	m.log.InfoContext(ctx, "consent given", "client_id", res.ClientID, "status", res.Status.String())
	return res
}

// oauthCode keeps an OAuth error code from the callback's query if it looks like one; it came
// from the browser and goes to logs.
func oauthCode(s string) string {
	if len(s) > 40 || strings.ContainsFunc(s, func(r rune) bool { return (r < 'a' || r > 'z') && r != '_' }) {
		return "unrecognised error"
	}
	return s
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
