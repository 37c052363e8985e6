package lsretail

import (
	"encoding/base64"
	"testing"
)

func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + ".sig"
}

func TestAccountClaim(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		token   string
		want    int64
		wantErr string
	}{
		{name: "string acct", token: jwt(`{"acct":"100001","sub":"7"}`), want: 100001},
		{name: "numeric acct", token: jwt(`{"acct":100002}`), want: 100002},
		{name: "not a JWT", token: "def50200abc", wantErr: "read the account id (access token is not a JWT)"},
		{name: "payload not base64", token: "a.!!!.c", wantErr: "read the account id (access token is not a JWT)"},
		{name: "no acct", token: jwt(`{"sub":"7"}`), wantErr: "read the account id (no acct claim)"},
		{name: "acct not a number", token: jwt(`{"acct":"shop-1"}`), wantErr: "read the account id (acct claim is not an account id)"},
		{name: "acct zero", token: jwt(`{"acct":"0"}`), wantErr: "read the account id (acct claim is not an account id)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := accountClaim(tc.token)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("accountClaim = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}
