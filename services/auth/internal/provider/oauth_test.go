package provider

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
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
		{name: "server error without a code", err: &oauth2.RetrieveError{Response: &http.Response{StatusCode: 503}, Body: []byte("canary-body-3c9e")},
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
