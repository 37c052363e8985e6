// Package keyring encrypts the auth service's secrets at rest with AES-256-GCM under keys from
// configuration. Each ciphertext is stored with the id of the key that sealed it, so several
// keys can be readable at once while the newest writes: keys rotate by adding a new one first,
// re-encrypting, then dropping the old one. The caller's additional data binds a ciphertext to
// its place (table, row, field, generation), so a ciphertext copied elsewhere does not open.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/posimport/posimport/pkg/platform/secret"
)

// KeySize is the length of an AES-256 key.
const KeySize = 32

// ErrUnknownKey is returned for a ciphertext sealed under a key id the ring does not hold.
var ErrUnknownKey = errors.New("keyring: ciphertext sealed under an unknown key id")

// ErrOpen is returned when a ciphertext does not authenticate: wrong key, wrong additional
// data, or tampering. It deliberately says no more.
var ErrOpen = errors.New("keyring: ciphertext does not authenticate")

// Sealed is a ciphertext (nonce followed by the sealed data) and the id of its key.
type Sealed struct {
	KeyID string
	Data  []byte
}

// Ring holds the readable keys; the current one seals.
type Ring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// Parse reads keys written as "kid=base64(32 bytes)" separated by commas, newest first: the
// first key seals, every key opens.
func Parse(keys secret.Secret) (*Ring, error) {
	r := &Ring{aeads: map[string]cipher.AEAD{}}
	for _, item := range strings.Split(keys.Reveal(), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kid, b64, ok := strings.Cut(item, "=")
		if !ok || kid == "" || strings.ContainsAny(kid, " \t") {
			return nil, errors.New("TOKEN_KEYS: each key must be kid=base64(32 bytes)")
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			raw, err = base64.RawURLEncoding.DecodeString(b64)
		}
		if err != nil {
			// The key material stays out of the message.
			return nil, fmt.Errorf("TOKEN_KEYS: key %q is not base64", kid)
		}
		if len(raw) != KeySize {
			return nil, fmt.Errorf("TOKEN_KEYS: key %q must be %d bytes, got %d", kid, KeySize, len(raw))
		}
		if _, dup := r.aeads[kid]; dup {
			return nil, fmt.Errorf("TOKEN_KEYS: key id %q appears twice", kid)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("TOKEN_KEYS: key %q: %w", kid, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("TOKEN_KEYS: key %q: %w", kid, err)
		}
		r.aeads[kid] = aead
		if r.current == "" {
			r.current = kid
		}
	}
	if r.current == "" {
		return nil, errors.New("TOKEN_KEYS: at least one key is required (kid=base64 of 32 random bytes)")
	}
	return r, nil
}

// NewKey returns a fresh key item "kid=base64", for tests, the demo and operators.
func NewKey(kid string) string {
	b := make([]byte, KeySize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return kid + "=" + base64.StdEncoding.EncodeToString(b)
}

// CurrentID is the id of the key that seals.
func (r *Ring) CurrentID() string { return r.current }

// Seal encrypts plaintext under the current key with a random nonce, bound to aad.
func (r *Ring) Seal(plaintext []byte, aad string) Sealed {
	aead := r.aeads[r.current]
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return Sealed{KeyID: r.current, Data: aead.Seal(nonce, nonce, plaintext, []byte(aad))}
}

// Open decrypts s, which must have been sealed with the same aad.
func (r *Ring) Open(s Sealed, aad string) ([]byte, error) {
	aead, ok := r.aeads[s.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, s.KeyID)
	}
	n := aead.NonceSize()
	if len(s.Data) < n+aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := aead.Open(nil, s.Data[:n], s.Data[n:], []byte(aad))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// AAD is the additional data of a secret stored in table, in the row identified by row, in
// field, at the row's generation: "auth.<table>/<row>/<field>/<generation>".
func AAD(table, row, field string, generation int64) string {
	return fmt.Sprintf("auth.%s/%s/%s/%d", table, row, field, generation)
}
