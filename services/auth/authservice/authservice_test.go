package authservice_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/servicetest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestPolicyCoversEveryRPC(t *testing.T) {
	t.Parallel()
	if missing := authservice.Policy.Missing(posimportv1.AuthService_ServiceDesc); len(missing) > 0 {
		t.Errorf("RPCs without a rule: %v", missing)
	}
}

// TestFullFlow runs the consent over real HTTP against the simulator: BeginConnect →
// authorize (auto-consent) → callback → CONNECTED → SetEnabled → ENABLED → AccessToken, and
// uses the token on the simulator's API.
func TestFullFlow(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.configure(t, "c1", nil)
	account, _ := b.account(0)

	if got := b.connection(t, "c1", authn.RoleViewer); got.Status != "CONNECTION_STATUS_NOT_CONNECTED" || got.ReconnectURL != "https://app.example/clients/c1/pos" {
		t.Fatalf("before consent: %+v", got)
	}
	u := b.begin(t, "c1")
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("client_id") != "posimport" ||
		q.Get("redirect_uri") != b.auth.HTTPBase+callbackPath || q.Get("scope") != "employee:register" {
		t.Errorf("authorize URL %s lacks PKCE S256, client, redirect or scope", u)
	}
	if id, sec, ok := strings.Cut(q.Get("state"), "."); !ok || len(id) != 16 || len(sec) != 43 {
		t.Errorf("state %q is not id.secret with 96 + 256 random bits", q.Get("state"))
	}
	if u.Host != strings.TrimPrefix(b.simURL, "http://") || u.Path != "/auth/oauth/authorize" {
		t.Errorf("authorize URL %s is not the provider's", u)
	}

	ret := b.browse(t, u)
	if diff := cmp.Diff(url.Values{"client_id": {"c1"}, "result": {"connected"}}, ret); diff != "" {
		t.Fatalf("return URL query (-want +got):\n%s", diff)
	}
	got := b.connection(t, "c1", authn.RoleSupervisor)
	if got.Status != "CONNECTION_STATUS_CONNECTED" || got.AccountID != account || got.Provider != "POS_PROVIDER_LIGHTSPEED_RETAIL" ||
		got.ConsentTime == nil || got.EnableTime != nil || got.ReconnectURL != "" || got.LastError != "" {
		t.Fatalf("after consent: %+v", got)
	}

	b.enable(t, "c1", true)
	if got := b.connection(t, "c1", authn.RoleIntegrationContact); got.Status != "CONNECTION_STATUS_ENABLED" || got.EnableTime == nil {
		t.Fatalf("after enable: %+v", got)
	}

	tok, err := b.accessToken(t, "c1", false)
	if err != nil {
		t.Fatal(err)
	}
	if tok.GetAccountId() != account || tok.GetProvider() != posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL ||
		tok.GetStatus() != posimportv1.ConnectionStatus_CONNECTION_STATUS_ENABLED ||
		time.Until(tok.GetExpireTime().AsTime()) < 29*time.Minute {
		t.Errorf("access token response: account %s provider %s status %s expires %v",
			tok.GetAccountId(), tok.GetProvider(), tok.GetStatus(), tok.GetExpireTime().AsTime())
	}
	if st := b.apiStatus(t, tok.GetAccessToken()); st != http.StatusOK {
		t.Errorf("the simulator answered %d to the handed-out token", st)
	}
	// A valid token is handed out again without a refresh.
	again, err := b.accessToken(t, "c1", false)
	if err != nil || again.GetAccessToken() != tok.GetAccessToken() {
		t.Errorf("second AccessToken: %v (same token: %v)", err, again.GetAccessToken() == tok.GetAccessToken())
	}
	if n := len(b.rec.Refreshes()); n != 0 {
		t.Errorf("%d refreshes for a fresh token", n)
	}

	// Disabling returns to CONNECTED.
	b.enable(t, "c1", false)
	if got := b.connection(t, "c1", authn.RoleViewer); got.Status != "CONNECTION_STATUS_CONNECTED" || got.EnableTime != nil {
		t.Errorf("after disable: %+v", got)
	}
}

// TestRoleTable calls every RPC with every role over gRPC: a role outside the RPC's rule is
// refused with PermissionDenied, a role inside it is not (it may fail for other reasons, e.g.
// not connected).
func TestRoleTable(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.configure(t, "c1", nil)
	calls := map[string]func(ctx context.Context, c posimportv1.AuthServiceClient) error{
		posimportv1.AuthService_BeginConnect_FullMethodName: func(ctx context.Context, c posimportv1.AuthServiceClient) error {
			_, err := c.BeginConnect(ctx, &posimportv1.BeginConnectRequest{ClientId: "c1"})
			return err
		},
		posimportv1.AuthService_GetConnection_FullMethodName: func(ctx context.Context, c posimportv1.AuthServiceClient) error {
			_, err := c.GetConnection(ctx, &posimportv1.GetConnectionRequest{ClientId: "c1"})
			return err
		},
		posimportv1.AuthService_ListConnections_FullMethodName: func(ctx context.Context, c posimportv1.AuthServiceClient) error {
			_, err := c.ListConnections(ctx, &posimportv1.ListConnectionsRequest{})
			return err
		},
		posimportv1.AuthService_SetEnabled_FullMethodName: func(ctx context.Context, c posimportv1.AuthServiceClient) error {
			_, err := c.SetEnabled(ctx, &posimportv1.SetEnabledRequest{ClientId: "c1", Enabled: true})
			return err
		},
		posimportv1.AuthService_Disconnect_FullMethodName: func(ctx context.Context, c posimportv1.AuthServiceClient) error {
			_, err := c.Disconnect(ctx, &posimportv1.DisconnectRequest{ClientId: "c1"})
			return err
		},
		posimportv1.AuthService_AccessToken_FullMethodName: func(ctx context.Context, c posimportv1.AuthServiceClient) error {
			_, err := c.AccessToken(ctx, &posimportv1.AccessTokenRequest{ClientId: "c1"})
			return err
		},
		posimportv1.AuthService_ReencryptTokens_FullMethodName: func(ctx context.Context, c posimportv1.AuthServiceClient) error {
			_, err := c.ReencryptTokens(ctx, &posimportv1.ReencryptTokensRequest{})
			return err
		},
		posimportv1.AuthService_ReportRegisters_FullMethodName: func(ctx context.Context, c posimportv1.AuthServiceClient) error {
			_, err := c.ReportRegisters(ctx, &posimportv1.ReportRegistersRequest{ClientId: "c1", AccountId: "100001", ImportId: "imp-1"})
			return err
		},
	}
	if len(calls) != len(authservice.Policy) {
		t.Fatalf("the test calls %d RPCs, the policy has %d", len(calls), len(authservice.Policy))
	}
	type caller struct {
		token   string
		role    authn.Role
		service string
	}
	callers := map[string]caller{
		"supervisor":          {token: b.keys.Token(t, authn.RoleSupervisor, "c1"), role: authn.RoleSupervisor},
		"regional_supervisor": {token: b.keys.Token(t, authn.RoleRegionalSupervisor, "c1"), role: authn.RoleRegionalSupervisor},
		"integration_contact": {token: b.keys.Token(t, authn.RoleIntegrationContact, "c1"), role: authn.RoleIntegrationContact},
		"viewer":              {token: b.keys.Token(t, authn.RoleViewer, "c1"), role: authn.RoleViewer},
	}
	for _, name := range servicetest.Services {
		callers["service:"+name] = caller{token: b.keys.ServiceToken(t, name), service: name}
	}
	for method, rule := range authservice.Policy {
		for name, c := range callers {
			t.Run(method[strings.LastIndex(method, "/")+1:]+"/"+name, func(t *testing.T) {
				t.Parallel()
				client := posimportv1.NewAuthServiceClient(servicetest.DialAs(t, b.auth.GRPCAddr, c.token))
				err := calls[method](context.Background(), client)
				allowed := slices.Contains(rule.Roles, c.role) || (c.service != "" && slices.Contains(rule.Services, c.service))
				switch code := status.Code(err); {
				case !allowed && code != codes.PermissionDenied:
					t.Errorf("%s may not call it, got %v", name, err)
				case allowed && (code == codes.PermissionDenied || code == codes.Unauthenticated):
					t.Errorf("%s may call it, got %v", name, err)
				}
			})
		}
	}
	// The reproduction of the probe: the main app's key claiming the service role, a service
	// subject and every client. It is no service's key, so it is refused before any RPC runs;
	// so are a service's key claiming another service, and keys nobody trusts.
	forged := map[string]servicetest.Forgery{
		"main app as service:anything":    {Key: "app", Issuer: servicetest.MainAppIssuer, Subject: "service:anything", Role: authn.RoleService, Clients: []string{"*"}},
		"main app as the import-worker":   {Key: "app", Issuer: servicetest.MainAppIssuer, Subject: "service:import-worker", Role: authn.RoleService, Clients: []string{"*"}},
		"main app, posimport's issuer":    {Key: "app", Issuer: authn.ServiceIssuer, Subject: "service:import-worker", Role: authn.RoleService, Clients: []string{"*"}},
		"a person with the service role":  {Key: "app", Issuer: servicetest.MainAppIssuer, Subject: "user-42", Role: authn.RoleService, Clients: []string{"c1"}},
		"balance as the import-worker":    {Key: authn.ServiceBalance, Issuer: authn.ServiceIssuer, Subject: "service:import-worker", Role: authn.RoleService, Clients: []string{"*"}},
		"import-worker, the app's issuer": {Key: authn.ServiceImportWorker, Issuer: servicetest.MainAppIssuer, Subject: "service:import-worker", Role: authn.RoleService, Clients: []string{"*"}},
		"unknown key":                     {Issuer: authn.ServiceIssuer, Subject: "service:import-worker", Role: authn.RoleService, Clients: []string{"*"}},
	}
	for _, method := range []string{
		posimportv1.AuthService_AccessToken_FullMethodName,
		posimportv1.AuthService_ListConnections_FullMethodName,
		posimportv1.AuthService_ReencryptTokens_FullMethodName,
		posimportv1.AuthService_GetConnection_FullMethodName,
		posimportv1.AuthService_ReportRegisters_FullMethodName,
	} {
		for name, f := range forged {
			t.Run(method[strings.LastIndex(method, "/")+1:]+"/"+name, func(t *testing.T) {
				t.Parallel()
				c := posimportv1.NewAuthServiceClient(servicetest.DialAs(t, b.auth.GRPCAddr, b.keys.Forge(t, f)))
				if err := calls[method](context.Background(), c); status.Code(err) != codes.Unauthenticated {
					t.Errorf("got %v, want Unauthenticated", err)
				}
			})
		}
	}
	t.Run("AccessToken/no token", func(t *testing.T) {
		t.Parallel()
		c := posimportv1.NewAuthServiceClient(servicetest.DialAs(t, b.auth.GRPCAddr, ""))
		if err := calls[posimportv1.AuthService_AccessToken_FullMethodName](context.Background(), c); status.Code(err) != codes.Unauthenticated {
			t.Errorf("got %v, want Unauthenticated", err)
		}
	})
}
