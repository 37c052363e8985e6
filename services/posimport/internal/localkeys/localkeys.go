// Package localkeys keeps the secrets of a laptop or small install in posimport's data
// directory: the Ed25519 key that signs the all-in-one process's own service tokens and the
// operators' tokens, and the AES key that encrypts POS tokens at rest. They are made on first
// use, in files only their owner may read (0600), and never printed.
package localkeys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/secret"
)

// Issuer and Audience are what the all-in-one process signs and accepts.
const (
	Issuer   = "posimport"
	Audience = "posimport"
)

// File names under the data directory.
const (
	dirName        = "keys"
	signingKeyFile = "jwt-signing-key"
	tokenKeysFile  = "token-keys"
)

// ErrNoKeys says the data directory has no keys yet (posimport up makes them).
var ErrNoKeys = errors.New("no keys in the data directory")

// Keys are the data directory's secrets.
type Keys struct {
	// SigningKey is JWT_SIGNING_KEY: kid=base64(Ed25519 seed).
	SigningKey secret.Secret
	// TokenKeys is TOKEN_KEYS: kid=base64(32-byte AES key).
	TokenKeys secret.Secret
	signer    *authn.Signer
}

// LoadOrCreate reads the keys of dataDir, making the missing ones.
func LoadOrCreate(dataDir string) (*Keys, error) {
	dir := filepath.Join(dataDir, dirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	sk, err := readOrCreate(filepath.Join(dir, signingKeyFile), func() string { return "local=" + random(ed25519.SeedSize) })
	if err != nil {
		return nil, err
	}
	tk, err := readOrCreate(filepath.Join(dir, tokenKeysFile), func() string { return "local1=" + random(32) })
	if err != nil {
		return nil, err
	}
	return build(sk, tk)
}

// Load reads the keys of dataDir; ErrNoKeys when there are none.
func Load(dataDir string) (*Keys, error) {
	dir := filepath.Join(dataDir, dirName)
	sk, err := read(filepath.Join(dir, signingKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s)", ErrNoKeys, dataDir)
	}
	if err != nil {
		return nil, err
	}
	tk, err := read(filepath.Join(dir, tokenKeysFile))
	if err != nil {
		return nil, err
	}
	return build(sk, tk)
}

func build(sk, tk secret.Secret) (*Keys, error) {
	s, err := authn.NewSigner(JWTConfig(sk))
	if err != nil {
		return nil, err
	}
	return &Keys{SigningKey: sk, TokenKeys: tk, signer: s}, nil
}

// JWTConfig is the JWT configuration of a process signing with signingKey.
func JWTConfig(signingKey secret.Secret) authn.Config {
	return authn.Config{Issuers: []string{Issuer}, Audience: Audience, SigningKey: signingKey}
}

// Signer signs tokens with the signing key.
func (k *Keys) Signer() *authn.Signer { return k.signer }

// Mint signs a token for a person (subject) with role acting for clients, valid for ttl.
func (k *Keys) Mint(subject string, role authn.Role, clients []string, ttl time.Duration) (string, error) {
	if role == authn.RoleService {
		return "", errors.New("service tokens are the services' own; mint a person's role")
	}
	return k.signer.Sign(subject, role, clients, ttl)
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.StdEncoding.EncodeToString(b)
}

// readOrCreate returns the file's value, creating it with newValue first when it is missing.
// The value is written to a temporary file and linked into place, so a concurrent first run
// never reads a half-written key and both agree on one value.
func readOrCreate(path string, newValue func() string) (secret.Secret, error) {
	if v, err := read(path); !errors.Is(err, fs.ErrNotExist) {
		return v, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".new-*")
	if err != nil {
		return secret.Secret{}, fmt.Errorf("create key: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }()
	_, err = f.WriteString(newValue() + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return secret.Secret{}, fmt.Errorf("write key: %w", err)
	}
	if err := os.Link(f.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return secret.Secret{}, fmt.Errorf("store key: %w", err)
	}
	return read(path)
}

// read returns a key file's value, refusing files others may read, as ssh does.
func read(path string) (secret.Secret, error) {
	st, err := os.Stat(path)
	if err != nil {
		return secret.Secret{}, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return secret.Secret{}, fmt.Errorf("%s: readable by others (mode %v); run chmod 600 on it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return secret.Secret{}, err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return secret.Secret{}, fmt.Errorf("%s: empty key file", path)
	}
	return secret.New(v), nil
}
