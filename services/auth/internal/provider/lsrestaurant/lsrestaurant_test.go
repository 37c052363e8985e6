package lsrestaurant

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/secret"
)

// TestAccount: the account is the one business the token lists; none, several, or a refused
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
		{name: "two businesses", status: 200, body: page(business("300001"), business("300002")),
			wantErr: "the consent covers 2 businesses (300001, 300002); connect a user of one business"},
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
