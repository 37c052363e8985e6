package authservice_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
	"github.com/posimport/posimport/services/auth/internal/keyring"
)

// TestRevokedConsent: after the consent is withdrawn at the simulator, the next refresh (one,
// and only one) is refused and the connection turns NEEDS_REAUTH with a message and the
// re-consent link; a supervisor reconnecting to the same account returns it to ENABLED, and
// the client's configuration is untouched throughout.
func TestRevokedConsent(t *testing.T) {
	t.Parallel()
	b := setup(t, options{accessTTL: 2 * time.Second, margin: 500 * time.Millisecond})
	_, shops := b.account(0)
	b.configure(t, "c1", map[string]string{"d1": shops[0]})
	configBefore := b.clientConfig(t, "c1")
	if got := b.consent(t, "c1", ""); got.Get("result") != "connected" {
		t.Fatalf("consent: %v", got)
	}
	b.enable(t, "c1", true)
	b.connected(t, "c2", true)
	enabledAt := b.connection(t, "c1", authn.RoleViewer).EnableTime

	t.Run("on the next refresh", func(t *testing.T) {
		tok, err := b.accessToken(t, "c1", false)
		if err != nil {
			t.Fatal(err)
		}
		b.revokeConsent(t, tok.GetAccessToken())
		refreshes, refused := len(b.rec.Refreshes()), b.rec.InvalidGrants()
		// The stored token is handed out until it expires within the margin; then a call waits
		// for the expiry and refreshes.
		err = b.tokenUntilError(t, "c1")
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "https://app.example/clients/c1/pos") {
			t.Fatalf("AccessToken after the revocation: %v", err)
		}
		if n, m := len(b.rec.Refreshes())-refreshes, b.rec.InvalidGrants()-refused; n != 1 || m != 1 {
			t.Errorf("%d refreshes (%d refused), want exactly one, refused", n, m)
		}
		got := b.connection(t, "c1", authn.RoleSupervisor)
		if got.Status != "CONNECTION_STATUS_NEEDS_REAUTH" || !strings.Contains(got.LastError, "A supervisor must connect again") ||
			got.ReconnectURL != "https://app.example/clients/c1/pos" {
			t.Errorf("after the refused refresh: %+v", got)
		}
		if held, _, _ := b.storedTokens(t, "c1"); held {
			t.Error("the dead tokens are still stored")
		}
		// Asking again does not go to the provider.
		if _, err := b.accessToken(t, "c1", false); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("AccessToken again: %v", err)
		}
		if n := len(b.rec.Refreshes()) - refreshes; n != 1 {
			t.Errorf("%d refreshes after asking again", n)
		}
	})

	t.Run("on a forced refresh", func(t *testing.T) {
		// A worker whose token the API refused asks with force_refresh: no waiting.
		tok, err := b.accessToken(t, "c2", false)
		if err != nil {
			t.Fatal(err)
		}
		b.revokeConsent(t, tok.GetAccessToken())
		if st := b.apiStatus(t, tok.GetAccessToken()); st != http.StatusUnauthorized {
			t.Fatalf("the simulator still accepts the revoked token: %d", st)
		}
		if _, err := b.accessToken(t, "c2", true); status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("forced AccessToken after the revocation: %v", err)
		}
		if got := b.connection(t, "c2", authn.RoleViewer); got.Status != "CONNECTION_STATUS_NEEDS_REAUTH" {
			t.Errorf("after the refused forced refresh: %+v", got)
		}
	})

	t.Run("reconnect", func(t *testing.T) {
		if got := b.consent(t, "c1", ""); got.Get("result") != "enabled" {
			t.Fatalf("reconnect: %v", got)
		}
		got := b.connection(t, "c1", authn.RoleViewer)
		if got.Status != "CONNECTION_STATUS_ENABLED" || got.LastError != "" || got.ReconnectURL != "" ||
			got.EnableTime == nil || *got.EnableTime != *enabledAt {
			t.Errorf("after reconnecting: %+v (enabled at %v before)", got, *enabledAt)
		}
		tok, err := b.accessToken(t, "c1", false)
		if err != nil {
			t.Fatal(err)
		}
		if st := b.apiStatus(t, tok.GetAccessToken()); st != http.StatusOK {
			t.Errorf("the simulator answered %d to the new token", st)
		}
		if diff := cmp.Diff(configBefore, b.clientConfig(t, "c1")); diff != "" {
			t.Errorf("the client's configuration changed (-before +after):\n%s", diff)
		}
	})
}

// TestReconnectOtherAccount: consenting to another account while enabled needs the integration
// contact again, and the replaced grant is revoked at the POS.
func TestReconnectOtherAccount(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	acct1, _ := b.account(1)
	b.connected(t, "c1", true)
	old, err := b.accessToken(t, "c1", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.consent(t, "c1", acct1); got.Get("result") != "connected" {
		t.Fatalf("consent to the other account: %v", got)
	}
	if got := b.connection(t, "c1", authn.RoleViewer); got.Status != "CONNECTION_STATUS_CONNECTED" || got.AccountID != acct1 || got.EnableTime != nil {
		t.Errorf("after consenting to another account: %+v", got)
	}
	if st := b.apiStatus(t, old.GetAccessToken()); st != http.StatusUnauthorized {
		t.Errorf("the replaced grant's token still works: %d", st)
	}
	tok, err := b.accessToken(t, "c1", false)
	if err != nil || tok.GetAccountId() != acct1 {
		t.Errorf("AccessToken: %v, account %s", err, tok.GetAccountId())
	}
}

// TestDisconnect: Disconnect revokes at the POS and deletes the tokens; when the POS does not
// confirm the revocation nothing changes; reconnecting needs the integration contact again.
func TestDisconnect(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.connected(t, "c1", true)
	tok, err := b.accessToken(t, "c1", false)
	if err != nil {
		t.Fatal(err)
	}
	ic := b.keys.Token(t, authn.RoleIntegrationContact, "c1")

	if err := b.sim.InjectFault(sim.Fault{Kind: sim.FaultStatus, Endpoint: "/auth/oauth/revoke", Status: 503}); err != nil {
		t.Fatal(err)
	}
	before := pgtest.Snapshot(t, b.pool, authservice.Schema)
	if r := b.auth.Do(t, "POST", "/v1/clients/c1/connection:disconnect", ic, map[string]any{}); r.Status != http.StatusServiceUnavailable {
		t.Errorf("disconnect while the POS is down: %d %s", r.Status, r.Body)
	}
	if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, authservice.Schema)); diff != "" {
		t.Errorf("a failed disconnect changed the database (-before +after):\n%s", diff)
	}
	b.sim.ClearFaults()

	revokes := len(b.rec.Revocations())
	r := b.auth.Do(t, "POST", "/v1/clients/c1/connection:disconnect", b.keys.Token(t, authn.RoleSupervisor, "c1"), map[string]any{})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "CONNECTION_STATUS_DISCONNECTED") {
		t.Fatalf("disconnect: %d %s", r.Status, r.Body)
	}
	if n := len(b.rec.Revocations()) - revokes; n != 1 {
		t.Errorf("%d revocations, want 1", n)
	}
	if st := b.apiStatus(t, tok.GetAccessToken()); st != http.StatusUnauthorized {
		t.Errorf("the simulator still accepts the token: %d", st)
	}
	if held, _, _ := b.storedTokens(t, "c1"); held {
		t.Error("tokens still stored after disconnect")
	}
	if _, err := b.accessToken(t, "c1", false); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("AccessToken after disconnect: %v", err)
	}
	if got := b.connection(t, "c1", authn.RoleViewer); got.Status != "CONNECTION_STATUS_DISCONNECTED" || got.ReconnectURL == "" {
		t.Errorf("after disconnect: %+v", got)
	}
	// Again: nothing to do, nothing revoked.
	if r := b.auth.Do(t, "POST", "/v1/clients/c1/connection:disconnect", ic, map[string]any{}); r.Status != http.StatusOK {
		t.Errorf("second disconnect: %d %s", r.Status, r.Body)
	}
	if n := len(b.rec.Revocations()) - revokes; n != 1 {
		t.Errorf("%d revocations after the second disconnect", n)
	}
	if r := b.auth.Do(t, "POST", "/v1/clients/c1/connection:setEnabled", ic, map[string]any{"enabled": true}); r.Status != http.StatusBadRequest {
		t.Errorf("enable while disconnected: %d %s", r.Status, r.Body)
	}
	if got := b.consent(t, "c1", ""); got.Get("result") != "connected" {
		t.Errorf("reconnect after disconnect: %v", got)
	}
}

// TestTransientRefreshFailure: a token endpoint that fails is retried, reported in last_error
// and answered UNAVAILABLE, never NEEDS_REAUTH; the next refresh after it recovers clears the
// error.
func TestTransientRefreshFailure(t *testing.T) {
	t.Parallel()
	b := setup(t, options{accessTTL: 2 * time.Second, margin: 500 * time.Millisecond})
	b.connected(t, "c1", true)
	if err := b.sim.InjectFault(sim.Fault{Kind: sim.FaultStatus, Endpoint: "/auth/oauth/token", Status: 503}); err != nil {
		t.Fatal(err)
	}
	calls := b.tokenRequests()
	if err := b.tokenUntilError(t, "c1"); status.Code(err) != codes.Unavailable {
		t.Fatalf("AccessToken while the token endpoint fails: %v", err)
	}
	if n := b.tokenRequests() - calls; n != 3 {
		t.Errorf("%d refresh attempts, want 3", n)
	}
	got := b.connection(t, "c1", authn.RoleViewer)
	if got.Status != "CONNECTION_STATUS_ENABLED" || !strings.Contains(got.LastError, "HTTP 503") {
		t.Errorf("after the failed refresh: %+v", got)
	}
	if held, _, _ := b.storedTokens(t, "c1"); !held {
		t.Error("tokens dropped after a transient failure")
	}
	b.sim.ClearFaults()
	tok, err := b.accessToken(t, "c1", false)
	if err != nil {
		t.Fatal(err)
	}
	if st := b.apiStatus(t, tok.GetAccessToken()); st != http.StatusOK {
		t.Errorf("the simulator answered %d", st)
	}
	if got := b.connection(t, "c1", authn.RoleViewer); got.LastError != "" || got.LastRefreshTime == nil {
		t.Errorf("after recovering: %+v", got)
	}
	if reused := b.rec.ReusedRefreshTokens(); len(reused) != 0 {
		t.Errorf("the failed attempts led to %d refresh token reuses at a working endpoint", len(reused))
	}
}

// TestDepartmentCheck: GetConnection reports the departments whose POS client number is not a
// shop of the connected account, and says so when the check cannot run.
func TestDepartmentCheck(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	_, shops := b.account(0)
	b.configure(t, "c1", map[string]string{"d1": shops[0], "d2": shops[1], "d3": "999999", "d4": "", "d5": "888888"})
	b.configure(t, "c2", map[string]string{"d1": shops[0]})
	b.consent(t, "c1", "")
	b.consent(t, "c2", "")

	got := b.connection(t, "c1", authn.RoleViewer)
	if got.DepartmentCheckError != "" || len(got.DepartmentMismatches) != 2 {
		t.Fatalf("mismatches: %+v", got)
	}
	for i, want := range []struct{ dep, number string }{{"d3", "999999"}, {"d5", "888888"}} {
		m := got.DepartmentMismatches[i]
		if m.DepartmentID != want.dep || m.PosClientNumber != want.number ||
			!strings.Contains(m.Reason, "has no location "+want.number) || !strings.Contains(m.Reason, shops[0]) {
			t.Errorf("mismatch %d = %+v, want %s/%s", i, m, want.dep, want.number)
		}
	}

	if err := b.sim.InjectFault(sim.Fault{Kind: sim.FaultStatus, Endpoint: "Shop.json", Status: 500}); err != nil {
		t.Fatal(err)
	}
	got = b.connection(t, "c2", authn.RoleViewer)
	if got.Status != "CONNECTION_STATUS_CONNECTED" || !strings.Contains(got.DepartmentCheckError, "Lightspeed Retail did not list") {
		t.Errorf("check while the POS fails: %+v", got)
	}
	b.sim.ClearFaults()
	if got := b.connection(t, "c2", authn.RoleViewer); got.DepartmentCheckError != "" || len(got.DepartmentMismatches) != 0 {
		t.Errorf("check after recovery: %+v", got)
	}
}

// TestGetConnectionStatusOnly: a caller that asks for the status only (import creation) gets
// the stored status and provider without the department check and the registers: no POS
// request is made and no mismatch is reported, where the full answer reports one.
func TestGetConnectionStatusOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	_, shops := b.account(0)
	b.configure(t, "c1", map[string]string{"d1": shops[0], "d2": "999999"})
	b.consent(t, "c1", "")
	b.sim.ResetCounts()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := b.svcAuth.GetConnection(ctx, &posimportv1.GetConnectionRequest{ClientId: "c1", StatusOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	c := resp.GetConnection()
	if c.GetStatus() != posimportv1.ConnectionStatus_CONNECTION_STATUS_CONNECTED || c.GetProvider() != posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL {
		t.Errorf("status only: %v, %v", c.GetStatus(), c.GetProvider())
	}
	if len(c.GetDepartmentMismatches()) != 0 || len(c.GetBusinesses()) != 0 || c.GetDepartmentCheckError() != "" || len(c.GetRegisters()) != 0 {
		t.Errorf("status only ran the department check: %v", c)
	}
	if n := b.sim.RequestCounts(); len(n) != 0 {
		t.Errorf("status only made POS requests: %+v", n)
	}
	if got := b.connection(t, "c1", authn.RoleViewer); len(got.DepartmentMismatches) != 1 {
		t.Errorf("the full answer: %d mismatches, want 1", len(got.DepartmentMismatches))
	}
}

// TestReencryptTokens: re-encryption moves every token and consent in progress to the newest
// key, after which the old key can go; a ciphertext copied into another client's row does not
// open.
func TestReencryptTokens(t *testing.T) {
	t.Parallel()
	k1, k2 := keyring.NewKey("k1"), keyring.NewKey("k2")
	b := setup(t, options{tokenKeys: k1})
	b.configure(t, "c1", nil)
	b.configure(t, "c2", nil)
	b.consent(t, "c1", "")
	b.consent(t, "c2", "")
	pending := b.begin(t, "c1")
	before, err := b.accessToken(t, "c1", false)
	if err != nil {
		t.Fatal(err)
	}

	rotated := b.startAuth(t, b.connect(t, authservice.Schema, authservice.Migrations()), k2+","+k1)
	admin := posimportv1.NewAuthServiceClient(b.keys.Dial(t, rotated.GRPCAddr, authn.ServiceAuth))
	ctx := context.Background()
	resp, err := admin.ReencryptTokens(ctx, &posimportv1.ReencryptTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetReencrypted() != 2 || resp.GetReencryptedStates() != 1 || resp.GetKeyId() != "k2" {
		t.Errorf("ReencryptTokens = %v", resp)
	}
	for _, c := range []string{"c1", "c2"} {
		if held, a, r := b.storedTokens(t, c); !held || a != "k2" || r != "k2" {
			t.Errorf("%s: tokens under %q/%q", c, a, r)
		}
	}
	if again, err := admin.ReencryptTokens(ctx, &posimportv1.ReencryptTokensRequest{}); err != nil || again.GetReencrypted() != 0 || again.GetReencryptedStates() != 0 {
		t.Errorf("second ReencryptTokens = %v, %v", again, err)
	}

	// The old key can go: a service holding only k2 hands out the same token and finishes the
	// consent that was in progress.
	onlyNew := b.startAuth(t, b.connect(t, authservice.Schema, authservice.Migrations()), k2)
	c := posimportv1.NewAuthServiceClient(b.keys.Dial(t, onlyNew.GRPCAddr, authn.ServiceImportWorker))
	after, err := c.AccessToken(ctx, &posimportv1.AccessTokenRequest{ClientId: "c1"})
	if err != nil || after.GetAccessToken() != before.GetAccessToken() {
		t.Errorf("AccessToken under k2 only: %v (same token: %v)", err, after.GetAccessToken() == before.GetAccessToken())
	}
	q := pending.Query()
	q.Set("redirect_uri", onlyNew.HTTPBase+callbackPath)
	pending.RawQuery = q.Encode()
	if got := b.browse(t, pending); got.Get("result") != "connected" {
		t.Errorf("consent started under k1, finished under k2 only: %v", got)
	}
	// The service that knows only k1 can no longer open them.
	if _, err := b.accessToken(t, "c2", false); status.Code(err) != codes.Internal {
		t.Errorf("AccessToken under k1 only: %v", err)
	}

	// c1's ciphertexts copied into c2's row, generation and all, do not open there.
	b.exec(t, `UPDATE connections t SET access_token_enc = s.access_token_enc, refresh_token_enc = s.refresh_token_enc,
		access_token_kid = s.access_token_kid, refresh_token_kid = s.refresh_token_kid, generation = s.generation
		FROM connections s WHERE s.client_id = 'c1' AND t.client_id = 'c2'`)
	if _, err := c.AccessToken(ctx, &posimportv1.AccessTokenRequest{ClientId: "c2"}); status.Code(err) != codes.Internal {
		t.Errorf("AccessToken with another row's ciphertexts: %v", err)
	}
}

// TestListConnections: the scheduler lists connections by status, in pages.
func TestListConnections(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	for _, c := range []string{"a", "b", "c", "d"} {
		b.configure(t, c, nil)
		b.consent(t, c, "")
		if c != "c" {
			b.enable(t, c, true)
		}
	}
	ctx := context.Background()
	var ids []string
	token := ""
	for range 4 {
		resp, err := b.svcAuth.ListConnections(ctx, &posimportv1.ListConnectionsRequest{
			Status: posimportv1.ConnectionStatus_CONNECTION_STATUS_ENABLED, PageSize: 2, PageToken: token,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.GetConnections() {
			ids = append(ids, c.GetClientId())
			if c.GetStatus() != posimportv1.ConnectionStatus_CONNECTION_STATUS_ENABLED || c.GetAccountId() == "" {
				t.Errorf("listed %v", c)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if diff := cmp.Diff([]string{"a", "b", "d"}, ids); diff != "" {
		t.Errorf("enabled clients (-want +got):\n%s", diff)
	}
	all, err := b.svcAuth.ListConnections(ctx, &posimportv1.ListConnectionsRequest{})
	if err != nil || len(all.GetConnections()) != 4 || all.GetNextPageToken() != "" {
		t.Errorf("all connections: %v, %v", all, err)
	}
}

// TestForcedRefreshesCoalesce: workers whose token the API refused all ask with force_refresh
// at once; the first refreshes under the lock and the others, re-reading after it, take its
// result instead of refreshing again.
func TestForcedRefreshesCoalesce(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.connected(t, "c1", false)
	// A slow token endpoint keeps the first refresh in flight while the others arrive.
	if err := b.sim.InjectFault(sim.Fault{Kind: sim.FaultSlow, Endpoint: "/auth/oauth/token", Delay: sim.Duration(500 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	const workers = 8
	errs := make(chan error, workers)
	for range workers {
		go func() {
			_, err := b.accessToken(t, "c1", true)
			errs <- err
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(b.rec.Refreshes()); n != 1 {
		t.Errorf("%d refreshes for %d simultaneous forced requests, want 1", n, workers)
	}
	// A force asked after that refresh refreshes again: the caller may hold the new token.
	if _, err := b.accessToken(t, "c1", true); err != nil {
		t.Fatal(err)
	}
	if n := len(b.rec.Refreshes()); n != 2 {
		t.Errorf("%d refreshes after a later force, want 2", n)
	}
}

// TestCallbackMethod: the callback answers GET only.
func TestCallbackMethod(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	resp, err := http.Post(b.auth.HTTPBase+callbackPath, "application/x-www-form-urlencoded", strings.NewReader("state=a.b&code=c"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST to the callback: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
