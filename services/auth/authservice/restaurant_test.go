package authservice_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/platform/authn"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// TestRestaurantFullFlow runs the consent for a Lightspeed Restaurant client over real HTTP
// against the simulator: BeginConnect (the client's configured provider) → authorize with
// scope financial-api → callback → CONNECTED with the business as account → departments
// checked against the business's locations → ENABLED → AccessToken used on the Financial API →
// Disconnect revokes at the K-Series endpoint.
func TestRestaurantFullFlow(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.configureProvider(t, "c1", "POS_PROVIDER_LIGHTSPEED_RESTAURANT", map[string]string{
		"d1": "300001001", "d2": "300001002", "d3": "300002001",
	})
	u := b.begin(t, "c1")
	q := u.Query()
	if u.Path != "/oauth/authorize" || q.Get("scope") != "financial-api" || q.Get("code_challenge_method") != "S256" ||
		q.Get("redirect_uri") != b.auth.HTTPBase+callbackPath {
		t.Errorf("authorize URL %s is not K-Series's with scope financial-api, PKCE and the callback", u)
	}
	if ret := b.browse(t, u); ret.Get("result") != "connected" {
		t.Fatalf("return URL query %v", ret)
	}
	got := b.connection(t, "c1", authn.RoleSupervisor)
	if got.Status != "CONNECTION_STATUS_CONNECTED" || got.Provider != "POS_PROVIDER_LIGHTSPEED_RESTAURANT" || got.AccountID != "300001" {
		t.Fatalf("after consent: %+v", got)
	}
	// d3 is a location of another business.
	if len(got.DepartmentMismatches) != 1 || got.DepartmentMismatches[0].DepartmentID != "d3" ||
		!strings.Contains(got.DepartmentMismatches[0].Reason, "Lightspeed Restaurant account 300001 has no location 300002001 (its locations: 300001001, 300001002)") ||
		got.DepartmentCheckError != "" {
		t.Errorf("department check: %+v, error %q", got.DepartmentMismatches, got.DepartmentCheckError)
	}
	b.enable(t, "c1", true)
	tok, err := b.accessToken(t, "c1", false)
	if err != nil {
		t.Fatal(err)
	}
	if tok.GetAccountId() != "300001" || tok.GetProvider() != posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT ||
		tok.GetStatus() != posimportv1.ConnectionStatus_CONNECTION_STATUS_ENABLED {
		t.Errorf("access token response: account %s provider %s status %s", tok.GetAccountId(), tok.GetProvider(), tok.GetStatus())
	}
	if st := b.restaurantAPIStatus(t, tok.GetAccessToken()); st != http.StatusOK {
		t.Errorf("the simulator answered %d to the handed-out token", st)
	}
	// A forced refresh (the POS refused the token) uses the single-use refresh token once.
	forced, err := b.accessToken(t, "c1", true)
	if err != nil || forced.GetAccessToken() == tok.GetAccessToken() {
		t.Fatalf("forced refresh: %v (new token: %v)", err, forced.GetAccessToken() != tok.GetAccessToken())
	}
	if n, reused := len(b.rec.Refreshes()), b.rec.ReusedRefreshTokens(); n != 1 || len(reused) != 0 {
		t.Errorf("%d refreshes, %d reused refresh tokens", n, len(reused))
	}
	r := b.auth.Do(t, "POST", "/v1/clients/c1/connection:disconnect", b.keys.Token(t, authn.RoleSupervisor, "c1"), map[string]any{})
	if r.Status != http.StatusOK {
		t.Fatalf("disconnect: %d %s", r.Status, r.Body)
	}
	calls := b.rec.Revocations()
	if len(calls) != 1 || calls[0].Path != "/oauth/revoke" {
		t.Errorf("revocations %+v, want one at the K-Series endpoint", calls)
	}
	if st := b.restaurantAPIStatus(t, forced.GetAccessToken()); st != http.StatusUnauthorized {
		t.Errorf("after disconnect the simulator answered %d, want 401", st)
	}
}

// TestSwitchProvider: a client connected to Lightspeed Retail switches to Lightspeed
// Restaurant by a new consent: the connection takes the new provider and business, waits for
// the integration contact again, and the Retail grant is revoked at the Retail endpoint (never
// sent to the Restaurant one).
func TestSwitchProvider(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.connected(t, "c1", true)
	retailRefresh := b.rec.TokenCalls()[0].Refresh
	b.configureProvider(t, "c1", "POS_PROVIDER_LIGHTSPEED_RESTAURANT", nil)
	// While the connection is Retail's, AccessToken still answers for Retail: the import
	// refuses the mismatch, not auth.
	if tok, err := b.accessToken(t, "c1", false); err != nil || tok.GetProvider() != posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL {
		t.Fatalf("before the switch: %v %v", tok.GetProvider(), err)
	}
	if ret := b.consent(t, "c1", ""); ret.Get("result") != "connected" {
		t.Fatalf("reconnect: %v", ret)
	}
	got := b.connection(t, "c1", authn.RoleViewer)
	if got.Status != "CONNECTION_STATUS_CONNECTED" || got.Provider != "POS_PROVIDER_LIGHTSPEED_RESTAURANT" || got.AccountID != "300001" || got.EnableTime != nil {
		t.Errorf("after the switch: %+v", got)
	}
	want := []simtest.Revocation{{Path: "/auth/oauth/revoke", Token: retailRefresh}}
	if diff := cmp.Diff(want, b.rec.Revocations()); diff != "" {
		t.Errorf("revocations (-want +got):\n%s", diff)
	}
	b.enable(t, "c1", true)
	tok, err := b.accessToken(t, "c1", false)
	if err != nil || tok.GetProvider() != posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT {
		t.Fatalf("after the switch: %v %v", tok.GetProvider(), err)
	}
	if st := b.restaurantAPIStatus(t, tok.GetAccessToken()); st != http.StatusOK {
		t.Errorf("the Restaurant token: %d", st)
	}
	// An explicit provider in BeginConnect wins over the configured one.
	r := b.auth.Do(t, "POST", "/v1/clients/c1/connection:begin", b.keys.Token(t, authn.RoleSupervisor, "c1"),
		map[string]any{"provider": "POS_PROVIDER_LIGHTSPEED_RETAIL"})
	var resp struct {
		AuthorizeURL string `json:"authorize_url"`
	}
	r.JSON(t, &resp)
	if u, err := url.Parse(resp.AuthorizeURL); err != nil || u.Path != "/auth/oauth/authorize" {
		t.Errorf("BeginConnect with provider RETAIL: %d %s", r.Status, r.Body)
	}
}

// TestRestaurantSeveralBusinesses: a Lightspeed Restaurant user who sees two businesses gives
// one consent for both. The connection's account lists both; departments may map to locations
// of either, and only one of a third business is a mismatch; GetConnection shows both
// businesses with their locations; AccessToken hands out the same account. A later consent
// covering one business only is another account: the integration contact must enable again.
func TestRestaurantSeveralBusinesses(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.configureProvider(t, "c1", "POS_PROVIDER_LIGHTSPEED_RESTAURANT", map[string]string{
		"d1": "300001001", "d3": "300002002", "d4": "300003001",
	})
	if ret := b.consent(t, "c1", "300002,300001"); ret.Get("result") != "connected" {
		t.Fatalf("return URL query %v", ret)
	}
	got := b.connection(t, "c1", authn.RoleViewer)
	if got.Status != "CONNECTION_STATUS_CONNECTED" || got.AccountID != "300001,300002" {
		t.Fatalf("after consent: %+v", got)
	}
	if len(got.DepartmentMismatches) != 1 || got.DepartmentMismatches[0].DepartmentID != "d4" ||
		!strings.Contains(got.DepartmentMismatches[0].Reason, "account 300001,300002 has no location 300003001 (its locations: 300001001, 300001002, 300002001, 300002002)") {
		t.Errorf("department check: %+v", got.DepartmentMismatches)
	}
	var listed []string
	for _, bs := range got.Businesses {
		listed = append(listed, bs.BusinessID+" "+bs.Name)
		for _, l := range bs.Locations {
			listed = append(listed, "  "+l.LocationID+" "+l.TimeZone)
		}
	}
	want := []string{"300001 Simulated Restaurant Group 1", "  300001001 Europe/London", "  300001002 Europe/Copenhagen",
		"300002 Simulated Restaurant Group 2", "  300002001 America/New_York", "  300002002 Australia/Sydney"}
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("businesses (-want +got):\n%s", diff)
	}
	b.enable(t, "c1", true)
	tok, err := b.accessToken(t, "c1", false)
	if err != nil || tok.GetAccountId() != "300001,300002" {
		t.Fatalf("access token: %v, account %q", err, tok.GetAccountId())
	}
	// A consent covering one of the businesses only is another data source.
	if ret := b.consent(t, "c1", "300001"); ret.Get("result") != "connected" {
		t.Fatalf("second consent: %v", ret)
	}
	if got := b.connection(t, "c1", authn.RoleViewer); got.Status != "CONNECTION_STATUS_CONNECTED" || got.AccountID != "300001" || len(got.DepartmentMismatches) != 2 {
		t.Errorf("after a consent for one business: %s %s, %d mismatches", got.Status, got.AccountID, len(got.DepartmentMismatches))
	}
}
