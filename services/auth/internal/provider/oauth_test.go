package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/platform/secret"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestDescribe: provider failures keep their OAuth code or kind, mark invalid_grant, and never
// carry the token endpoint's response body.
func TestDescribe(t *testing.T) {
	t.Parallel()
	const body = `{"error":"invalid_grant","hint":"canary-body-3c9e"}`
	tests := []struct {
		name        string
		err         error
		want        string
		wantInvalid bool
	}{
		{name: "invalid grant", err: &oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "canary-body-3c9e", Body: []byte(body)},
			want: "refresh the access token (invalid_grant)", wantInvalid: true},
		{name: "other oauth error", err: &oauth2.RetrieveError{ErrorCode: "invalid_client", Body: []byte(body)},
			want: "refresh the access token (invalid_client)"},
		{name: "server error without a code", err: &oauth2.RetrieveError{Response: &http.Response{StatusCode: http.StatusServiceUnavailable}, Body: []byte("canary-body-3c9e")},
			want: "refresh the access token (HTTP 503)"},
		{name: "timeout", err: &net.OpError{Op: "dial", Err: timeoutErr{}}, want: "refresh the access token (timeout)"},
		{name: "deadline", err: context.DeadlineExceeded, want: "refresh the access token (timeout)"},
		{name: "unreachable", err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}, want: "refresh the access token (unreachable)"},
		{name: "anything else", err: errors.New("oauth2: canary-body-3c9e"), want: "refresh the access token (unexpected response)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := describe("refresh the access token", tc.err)
			if err.Error() != tc.want || strings.Contains(err.Error(), "canary") {
				t.Errorf("describe = %q, want %q", err, tc.want)
			}
			if errors.Is(err, ErrInvalidGrant) != tc.wantInvalid {
				t.Errorf("errors.Is(ErrInvalidGrant) = %v, want %v", !tc.wantInvalid, tc.wantInvalid)
			}
		})
	}
}

// TestClientAuthStyle: the token requests (code exchange, refresh) and the revocation carry the
// client's credentials the way the provider was built for, and only that way: HTTP Basic with
// the form-encoded id and secret (K-Series), or client_id and client_secret in the form body
// (R-Series).
func TestClientAuthStyle(t *testing.T) {
	t.Parallel()
	const id, sec = "client:1", "s=cr%t"
	for _, tc := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"basic", oauth2.AuthStyleInHeader}, {"body", oauth2.AuthStyleInParams}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var seen []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := r.ParseForm(); err != nil {
					t.Error(err)
				}
				user, pass, basic := r.BasicAuth()
				got := fmt.Sprintf("%s basic=%v body=%v", r.URL.Path, basic, r.PostForm.Has("client_id") || r.PostForm.Has("client_secret"))
				switch {
				case basic && (user != url.QueryEscape(id) || pass != url.QueryEscape(sec)):
					got += " wrong basic credentials"
				case !basic && (r.PostForm.Get("client_id") != id || r.PostForm.Get("client_secret") != sec):
					got += " wrong body credentials"
				}
				mu.Lock()
				seen = append(seen, got)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"access_token":"a","refresh_token":"r","token_type":"Bearer","expires_in":60}`))
			}))
			t.Cleanup(srv.Close)
			o := NewOAuth(Settings{ClientID: id, ClientSecret: secret.New(sec), AuthorizeURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token",
				RevokeURL: srv.URL + "/revoke", HTTPClient: srv.Client(), Timeout: 5 * time.Second, NowFunc: time.Now}, tc.style, "token")
			ctx := context.Background()
			if _, err := o.Exchange(ctx, "code", oauth2.GenerateVerifier()); err != nil {
				t.Fatal(err)
			}
			if _, err := o.Refresh(ctx, secret.New("r")); err != nil {
				t.Fatal(err)
			}
			if err := o.Revoke(ctx, secret.New("r")); err != nil {
				t.Fatal(err)
			}
			basic := tc.style == oauth2.AuthStyleInHeader
			want := []string{
				fmt.Sprintf("/token basic=%v body=%v", basic, !basic),
				fmt.Sprintf("/token basic=%v body=%v", basic, !basic),
				fmt.Sprintf("/revoke basic=%v body=%v", basic, !basic),
			}
			if diff := cmp.Diff(want, seen); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}
