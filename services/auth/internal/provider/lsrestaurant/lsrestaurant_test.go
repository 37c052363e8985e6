package lsrestaurant

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/pkg/pos"
	"github.com/posimport/posimport/services/auth/internal/provider"
)

// TestAccount: the account is every business the token lists, ascending; none or a refused
// token are errors that say why and carry neither token nor body.
func TestAccount(t *testing.T) {
	t.Parallel()
	business := func(id string) string {
		return `{"businessName":"B","businessId":` + id + `,"currencyCode":"EUR","businessLocations":[{"blName":"L","blID":` + id + `001,"timezone":"Europe/London"}]}`
	}
	page := func(list ...string) string {
		return `{"_embedded":{"businessList":[` + strings.Join(list, ",") + `]},"page":{"size":1000,"totalElements":1,"totalPages":1,"number":0}}`
	}
	tests := []struct {
		name    string
		status  int
		body    string
		want    string
		wantErr string
	}{
		{name: "one business", status: 200, body: page(business("300001")), want: "300001"},
		{name: "no business", status: 200, body: page(), wantErr: "the consent covers no business"},
		{name: "two businesses", status: 200, body: page(business("300002"), business("300001")), want: "300001,300002"},
		{name: "token refused", status: 401, body: `{"status":401,"error":"Unauthorized","path":"canary-body"}`, wantErr: "(token refused)"},
		{name: "scope missing", status: 403, body: `{"error":"insufficient scope canary-body"}`, wantErr: "(HTTP 403)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/f/data/businesses" || r.Header.Get("Authorization") != "Bearer canary-token" {
					http.Error(w, "wrong request", http.StatusBadRequest)
					return
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			p := New(Config{APIBaseURL: srv.URL, HTTPClient: srv.Client(), Timeout: 5 * time.Second, NowFunc: time.Now})
			got, err := p.Account(context.Background(), secret.New("canary-token"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "canary") {
					t.Fatalf("err = %v, want one with %q and no canary", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Account = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestBusinesses: the account's businesses that the token still sees, with their locations;
// businesses the token sees beyond the consent are not the connection's.
func TestBusinesses(t *testing.T) {
	t.Parallel()
	body := `{"_embedded":{"businessList":[` +
		`{"businessName":"North","businessId":300003,"businessLocations":[{"blName":"N1","blID":300003001,"timezone":"Europe/London"}]},` +
		`{"businessName":"South","businessId":300001,"businessLocations":[{"blName":"S1","blID":300001001,"timezone":"America/New_York"},{"blName":"S2","blID":300001002,"timezone":"America/New_York"}]},` +
		`{"businessName":"Later","businessId":300009,"businessLocations":[{"blName":"X","blID":300009001,"timezone":"Europe/London"}]}` +
		`]},"page":{"totalPages":1,"number":0}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }))
	t.Cleanup(srv.Close)
	p := New(Config{APIBaseURL: srv.URL, HTTPClient: srv.Client(), Timeout: 5 * time.Second, NowFunc: time.Now})
	got, err := p.Businesses(context.Background(), "300001,300003", secret.New("t"))
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.Business{
		{ID: "300001", Name: "South", Locations: []pos.Location{{ID: "300001001", Name: "S1", TimeZone: "America/New_York"}, {ID: "300001002", Name: "S2", TimeZone: "America/New_York"}}},
		{ID: "300003", Name: "North", Locations: []pos.Location{{ID: "300003001", Name: "N1", TimeZone: "Europe/London"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("businesses (-want +got):\n%s", diff)
	}
	if _, err := p.Businesses(context.Background(), "300003,300001", secret.New("t")); err == nil {
		t.Error("an account id out of order: want an error")
	}
}

func TestCheckScopes(t *testing.T) {
	t.Parallel()
	if err := CheckScopes([]string{"orders-api", "financial-api"}); err != nil {
		t.Errorf("with financial-api: %v", err)
	}
	if err := CheckScopes([]string{"orders-api"}); err == nil {
		t.Error("without financial-api: want an error")
	}
}

func TestRevokeWithoutEndpoint(t *testing.T) {
	t.Parallel()
	p := New(Config{Timeout: time.Second, NowFunc: time.Now})
	if err := p.Revoke(context.Background(), secret.New("x")); err != nil {
		t.Errorf("Revoke without an endpoint: %v, want nothing to do", err)
	}
}
