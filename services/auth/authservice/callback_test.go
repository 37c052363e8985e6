package authservice_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/auth/authservice"
)

// TestCallbackRefusals: a replayed, foreign, forged, malformed, missing or expired state, and a
// stored verifier that no longer matches its challenge, are refused before any token exchange,
// and the auth schema is unchanged. A code minted for another PKCE challenge (code injection)
// can only be caught by the provider at the exchange: it is refused there and no connection is
// written.
func TestCallbackRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.configure(t, "c1", nil)
	b.configure(t, "c2", nil)

	// A consent completed once, whose callback URL is then replayed.
	used := b.authorize(t, b.begin(t, "c1"))
	if got := b.callback(t, used.Query()); got.Get("result") != "connected" {
		t.Fatalf("first use of the callback: %v", got)
	}
	// Consents in progress to refuse.
	pending := b.authorize(t, b.begin(t, "c2"))
	stateID, _, _ := strings.Cut(pending.Query().Get("state"), ".")
	swapA, swapB := b.authorize(t, b.begin(t, "c2")), b.authorize(t, b.begin(t, "c2"))
	late := b.authorize(t, b.begin(t, "c2"))

	with := func(base *url.URL, key, value string) url.Values {
		q := base.Query()
		if value == "" {
			q.Del(key)
		} else {
			q.Set(key, value)
		}
		return q
	}
	tests := []struct {
		name       string
		prepare    func(t *testing.T)
		query      url.Values
		wantReason string
		wantClient string
	}{
		{name: "replayed state", query: used.Query(), wantReason: "invalid_state"},
		{name: "missing state", query: with(pending, "state", ""), wantReason: "invalid_state"},
		{name: "malformed state", query: with(pending, "state", "not-a-state"), wantReason: "invalid_state"},
		{name: "foreign state", query: with(pending, "state", "AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), wantReason: "invalid_state"},
		{name: "forged secret for a real state id", query: with(pending, "state", stateID+".bm90LXRoZS1zZWNyZXQtb2YtdGhpcy1zdGF0ZS0xMjM0NTY"), wantReason: "invalid_state"},
		{name: "verifier no longer matches the challenge", prepare: func(t *testing.T) {
			// Swapping two states' sealed verifiers: each is bound to its own state id.
			a, _, _ := strings.Cut(swapA.Query().Get("state"), ".")
			bb, _, _ := strings.Cut(swapB.Query().Get("state"), ".")
			b.exec(t, `UPDATE connect_states s SET verifier_enc = o.verifier_enc FROM connect_states o
				WHERE (s.state_id, o.state_id) IN (($1, $2), ($2, $1))`, a, bb)
		}, query: swapA.Query(), wantReason: "invalid_state"},
		{name: "expired state", prepare: func(t *testing.T) { b.clock.Advance(authservice.StateTTL + time.Second) },
			query: late.Query(), wantReason: "expired_state", wantClient: "c2"},
	}
	for _, tc := range tests {
		// Not parallel: the cases share the database snapshot and the clock.
		t.Run(tc.name, func(t *testing.T) {
			if tc.prepare != nil {
				tc.prepare(t)
			}
			before := pgtest.Snapshot(t, b.pool, authservice.Schema)
			requests := b.tokenRequests()
			got := b.callback(t, tc.query)
			want := url.Values{"result": {"error"}, "reason": {tc.wantReason}}
			if tc.wantClient != "" {
				want.Set("client_id", tc.wantClient)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("return URL query (-want +got):\n%s", diff)
			}
			if n := b.tokenRequests() - requests; n != 0 {
				t.Errorf("%d token requests for a refused callback, want 0", n)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, authservice.Schema)); diff != "" {
				t.Errorf("a refused callback changed the database (-before +after):\n%s", diff)
			}
		})
	}
	if got := b.connection(t, "c2", authn.RoleViewer); got.Status != "CONNECTION_STATUS_NOT_CONNECTED" {
		t.Errorf("c2 after the refusals: %+v", got)
	}
}

// TestCallbackWrongVerifier: a code obtained under another PKCE challenge, brought to the
// callback with a genuine state (authorization code injection), fails the exchange because the
// stored verifier does not prove the code's challenge; no connection is written.
func TestCallbackWrongVerifier(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.configure(t, "c1", nil)
	u := b.begin(t, "c1")
	q := u.Query()
	q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
	u.RawQuery = q.Encode()
	injected := b.authorize(t, u)

	requests := b.tokenRequests()
	got := b.callback(t, injected.Query())
	if diff := cmp.Diff(url.Values{"client_id": {"c1"}, "result": {"error"}, "reason": {"exchange_failed"}}, got); diff != "" {
		t.Errorf("return URL query (-want +got):\n%s", diff)
	}
	calls := b.rec.TokenCalls()[requests:]
	if len(calls) != 1 || calls[0].Error != "invalid_grant" {
		t.Errorf("token requests %+v, want one refused with invalid_grant", calls)
	}
	if got := b.connection(t, "c1", authn.RoleViewer); got.Status != "CONNECTION_STATUS_NOT_CONNECTED" {
		t.Errorf("after the refused exchange: %+v", got)
	}
	// The state was used up by the attempt.
	if again := b.callback(t, injected.Query()); again.Get("reason") != "invalid_state" {
		t.Errorf("second use: %v", again)
	}
}

// TestCallbackConsentDeclined: the POS sends the person back with an error; the consent is
// used up, nothing is exchanged and nothing connected.
func TestCallbackConsentDeclined(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.configure(t, "c1", nil)
	u := b.begin(t, "c1")
	got := b.callback(t, url.Values{"state": {u.Query().Get("state")}, "error": {"access_denied"}})
	if diff := cmp.Diff(url.Values{"client_id": {"c1"}, "result": {"error"}, "reason": {"consent_denied"}}, got); diff != "" {
		t.Errorf("return URL query (-want +got):\n%s", diff)
	}
	if n := b.tokenRequests(); n != 0 {
		t.Errorf("%d token requests", n)
	}
	if got := b.connection(t, "c1", authn.RoleViewer); got.Status != "CONNECTION_STATUS_NOT_CONNECTED" {
		t.Errorf("after a declined consent: %+v", got)
	}
}
