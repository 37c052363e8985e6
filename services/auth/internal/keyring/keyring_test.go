package keyring_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/posimport/posimport/pkg/platform/secret"
	"github.com/posimport/posimport/services/auth/internal/keyring"
)

func TestParse(t *testing.T) {
	t.Parallel()
	k1, k2 := keyring.NewKey("k1"), keyring.NewKey("k2")
	tests := []struct {
		name        string
		keys        string
		wantCurrent string
		wantErr     string
	}{
		{name: "one key", keys: k1, wantCurrent: "k1"},
		{name: "newest first writes", keys: k2 + "," + k1, wantCurrent: "k2"},
		{name: "spaces and empty items", keys: " " + k1 + " ,, ", wantCurrent: "k1"},
		{name: "empty", keys: "", wantErr: "at least one key"},
		{name: "no kid", keys: "=AAAA", wantErr: "kid=base64"},
		{name: "not base64", keys: "k1=!!!", wantErr: `key "k1" is not base64`},
		{name: "short key", keys: "k1=AAAA", wantErr: "must be 32 bytes, got 3"},
		{name: "duplicate id", keys: k1 + "," + strings.Replace(k2, "k2=", "k1=", 1), wantErr: "appears twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := keyring.Parse(secret.New(tc.keys))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.CurrentID() != tc.wantCurrent {
				t.Errorf("current = %q, want %q", r.CurrentID(), tc.wantCurrent)
			}
		})
	}
}

// TestParseErrorsHideKeys: a malformed key's material never appears in the error.
func TestParseErrorsHideKeys(t *testing.T) {
	t.Parallel()
	const canary = "Y2FuYXJ5LWtleS1tYXRlcmlhbA"
	_, err := keyring.Parse(secret.New("k1=" + canary))
	if err == nil || strings.Contains(err.Error(), canary) {
		t.Errorf("err = %v", err)
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k1, k2 := keyring.NewKey("k1"), keyring.NewKey("k2")
	old, err := keyring.Parse(secret.New(k1))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := keyring.Parse(secret.New(k2 + "," + k1))
	if err != nil {
		t.Fatal(err)
	}
	onlyNew, err := keyring.Parse(secret.New(k2))
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("refresh-token-value")
	aad := keyring.AAD("connections", "c1", "refresh_token", 3)
	sealed := old.Seal(plain, aad)
	if sealed.KeyID != "k1" || bytes.Contains(sealed.Data, plain) {
		t.Fatalf("sealed = %q / %x", sealed.KeyID, sealed.Data)
	}
	if again := old.Seal(plain, aad); bytes.Equal(again.Data, sealed.Data) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	tamper := func(s keyring.Sealed) keyring.Sealed {
		d := bytes.Clone(s.Data)
		d[len(d)-1] ^= 1
		return keyring.Sealed{KeyID: s.KeyID, Data: d}
	}
	tests := []struct {
		name    string
		ring    *keyring.Ring
		sealed  keyring.Sealed
		aad     string
		wantErr error
	}{
		{name: "same ring", ring: old, sealed: sealed, aad: aad},
		{name: "old key still readable after rotation", ring: rotated, sealed: sealed, aad: aad},
		{name: "old key dropped", ring: onlyNew, sealed: sealed, aad: aad, wantErr: keyring.ErrUnknownKey},
		{name: "other row", ring: old, sealed: sealed, aad: keyring.AAD("connections", "c2", "refresh_token", 3), wantErr: keyring.ErrOpen},
		{name: "other field", ring: old, sealed: sealed, aad: keyring.AAD("connections", "c1", "access_token", 3), wantErr: keyring.ErrOpen},
		{name: "older generation", ring: old, sealed: sealed, aad: keyring.AAD("connections", "c1", "refresh_token", 2), wantErr: keyring.ErrOpen},
		{name: "tampered", ring: old, sealed: tamper(sealed), aad: aad, wantErr: keyring.ErrOpen},
		{name: "truncated", ring: old, sealed: keyring.Sealed{KeyID: "k1", Data: sealed.Data[:5]}, aad: aad, wantErr: keyring.ErrOpen},
		{name: "relabelled key id", ring: rotated, sealed: keyring.Sealed{KeyID: "k2", Data: sealed.Data}, aad: aad, wantErr: keyring.ErrOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.ring.Open(tc.sealed, tc.aad)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("open = %q, %v", got, err)
			}
		})
	}
	if s := rotated.Seal(plain, aad); s.KeyID != "k2" {
		t.Errorf("rotated ring seals under %q, want k2", s.KeyID)
	}
}

func TestAAD(t *testing.T) {
	t.Parallel()
	if got, want := keyring.AAD("connections", "c1", "access_token", 7), "auth.connections/c1/access_token/7"; got != want {
		t.Errorf("AAD = %q, want %q", got, want)
	}
}
