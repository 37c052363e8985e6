package authservice_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
)

// TestRefusals checks every refusal of the API: the status, the field named for bad input, and
// that the auth schema is unchanged afterwards.
func TestRefusals(t *testing.T) {
	t.Parallel()
	// Without Lightspeed Restaurant configured, BeginConnect refuses it.
	b := setup(t, options{retailOnly: true})
	b.configure(t, "c1", nil)
	// c3 has 20 consents in progress: the most a client may have.
	b.configure(t, "c3", nil)
	for range 20 {
		b.begin(t, "c3")
	}
	sup := b.keys.Token(t, authn.RoleSupervisor, "c1")
	ic := b.keys.Token(t, authn.RoleIntegrationContact, "c1")

	rest := []struct {
		name       string
		method     string
		path       string
		token      string
		body       any
		wantStatus int
		wantField  string
	}{
		{name: "no token", method: "POST", path: "/v1/clients/c1/connection:begin", body: map[string]any{}, wantStatus: 401},
		{name: "other client's supervisor", method: "POST", path: "/v1/clients/c1/connection:begin",
			token: b.keys.Token(t, authn.RoleSupervisor, "c2"), body: map[string]any{}, wantStatus: 403},
		{name: "viewer begins", method: "POST", path: "/v1/clients/c1/connection:begin",
			token: b.keys.Token(t, authn.RoleViewer, "c1"), body: map[string]any{}, wantStatus: 403},
		{name: "unknown provider", method: "POST", path: "/v1/clients/c1/connection:begin", token: sup,
			body: map[string]any{"provider": 99}, wantStatus: 400, wantField: "provider"},
		{name: "provider not configured", method: "POST", path: "/v1/clients/c1/connection:begin", token: sup,
			body: map[string]any{"provider": "POS_PROVIDER_LIGHTSPEED_RESTAURANT"}, wantStatus: 400, wantField: "provider"},
		{name: "no provider configured", method: "POST", path: "/v1/clients/c2/connection:begin",
			token: b.keys.Token(t, authn.RoleSupervisor, "c2"), body: map[string]any{}, wantStatus: 400, wantField: "provider"},
		{name: "too many consents in progress", method: "POST", path: "/v1/clients/c3/connection:begin",
			token: b.keys.Token(t, authn.RoleSupervisor, "c3"), body: map[string]any{}, wantStatus: 400},
		{name: "malformed json", method: "POST", path: "/v1/clients/c1/connection:begin", token: sup, body: `{"provider": `, wantStatus: 400},
		{name: "unknown json field", method: "POST", path: "/v1/clients/c1/connection:begin", token: sup,
			body: map[string]any{"account": "1"}, wantStatus: 400},
		{name: "bad client id", method: "POST", path: "/v1/clients/c1%20x/connection:begin",
			token: b.keys.Token(t, authn.RoleSupervisor, "c1 x"), body: map[string]any{}, wantStatus: 400, wantField: "client_id"},
		{name: "enable before consent", method: "POST", path: "/v1/clients/c1/connection:setEnabled", token: ic,
			body: map[string]any{"enabled": true}, wantStatus: 400},
		{name: "supervisor enables", method: "POST", path: "/v1/clients/c1/connection:setEnabled", token: sup,
			body: map[string]any{"enabled": true}, wantStatus: 403},
		{name: "disconnect before consent", method: "POST", path: "/v1/clients/c1/connection:disconnect", token: ic,
			body: map[string]any{}, wantStatus: 400},
		{name: "viewer disconnects", method: "POST", path: "/v1/clients/c1/connection:disconnect",
			token: b.keys.Token(t, authn.RoleViewer, "c1"), body: map[string]any{}, wantStatus: 403},
		{name: "other client reads", method: "GET", path: "/v1/clients/c2/connection", token: sup, wantStatus: 403},
	}
	for _, tc := range rest {
		t.Run(tc.name, func(t *testing.T) {
			before := pgtest.Snapshot(t, b.pool, authservice.Schema)
			r := b.auth.Do(t, tc.method, tc.path, tc.token, tc.body)
			if r.Status != tc.wantStatus {
				t.Errorf("status = %d, want %d: %s", r.Status, tc.wantStatus, r.Body)
			}
			if tc.wantField != "" && r.Field() != tc.wantField {
				t.Errorf("field = %q, want %q: %s", r.Field(), tc.wantField, r.Body)
			}
			if tc.wantStatus == 400 && r.Message() == "" {
				t.Errorf("no message: %s", r.Body)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, authservice.Schema)); diff != "" {
				t.Errorf("refused request changed the database (-before +after):\n%s", diff)
			}
		})
	}

	grpcCases := []struct {
		name      string
		call      func(ctx context.Context) error
		wantCode  codes.Code
		wantField string
	}{
		{name: "token before consent", call: func(ctx context.Context) error {
			_, err := b.svcAuth.AccessToken(ctx, &posimportv1.AccessTokenRequest{ClientId: "c1"})
			return err
		}, wantCode: codes.FailedPrecondition},
		{name: "token without client", call: func(ctx context.Context) error {
			_, err := b.svcAuth.AccessToken(ctx, &posimportv1.AccessTokenRequest{})
			return err
		}, wantCode: codes.InvalidArgument, wantField: "client_id"},
		{name: "list page too large", call: func(ctx context.Context) error {
			_, err := b.svcAuth.ListConnections(ctx, &posimportv1.ListConnectionsRequest{PageSize: 5000})
			return err
		}, wantCode: codes.InvalidArgument, wantField: "page_size"},
		{name: "list unknown status", call: func(ctx context.Context) error {
			_, err := b.svcAuth.ListConnections(ctx, &posimportv1.ListConnectionsRequest{Status: 99})
			return err
		}, wantCode: codes.InvalidArgument, wantField: "status"},
		{name: "list never connected", call: func(ctx context.Context) error {
			_, err := b.svcAuth.ListConnections(ctx, &posimportv1.ListConnectionsRequest{Status: posimportv1.ConnectionStatus_CONNECTION_STATUS_NOT_CONNECTED})
			return err
		}, wantCode: codes.InvalidArgument, wantField: "status"},
	}
	for _, tc := range grpcCases {
		t.Run(tc.name, func(t *testing.T) {
			before := pgtest.Snapshot(t, b.pool, authservice.Schema)
			err := tc.call(context.Background())
			if status.Code(err) != tc.wantCode {
				t.Errorf("got %v, want %s", err, tc.wantCode)
			}
			if tc.wantField != "" && apierr.FieldOf(err) != tc.wantField {
				t.Errorf("field = %q, want %q (%v)", apierr.FieldOf(err), tc.wantField, err)
			}
			if diff := cmp.Diff(before, pgtest.Snapshot(t, b.pool, authservice.Schema)); diff != "" {
				t.Errorf("refused request changed the database (-before +after):\n%s", diff)
			}
		})
	}
	if r := b.auth.Do(t, "GET", "/v1/clients/c1/connection", sup, nil); r.Status != http.StatusOK {
		t.Errorf("reads still work: %d %s", r.Status, r.Body)
	}
}
