// Package localkeys keeps the secrets of a laptop or small install in posimport's data
// directory: the root of the JWT keys and the AES key that encrypts POS tokens at rest. They
// are made on first use, in files only their owner may read (0600), and never printed.
//
// From the root, one Ed25519 key per service (config, auth, balance, import-worker) and one
// for the operators' tokens are derived (HKDF-SHA256, the name as info): each service of the
// all-in-one process signs with its own key, bound to its identity, as its separate
// deployment would, and the operators' tokens come from a key that vouches for people only.
package localkeys

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
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

// Audience is what the all-in-one process's tokens are for, and what it requires.
const Audience = "posimport"

// OperatorIssuer is the issuer of the operators' tokens (posimport token and the CLI's own):
// people's roles for named clients, never a service's.
const OperatorIssuer = "posimport-operator"

// Services are the service identities the keys are derived for.
var Services = []string{authn.ServiceConfig, authn.ServiceAuth, authn.ServiceBalance, authn.ServiceImportWorker}

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
	// SigningKey is the root of the JWT keys: kid=base64(32 random bytes).
	SigningKey secret.Secret
	// TokenKeys is TOKEN_KEYS: kid=base64(32-byte AES key).
	TokenKeys secret.Secret
	services  map[string]*authn.Signer
	seeds     map[string]secret.Secret
	operator  *authn.Signer
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
	_, b64, ok := strings.Cut(sk.Reveal(), "=")
	root, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(root) < 32 {
		return nil, fmt.Errorf("%s: want kid=base64(32 random bytes)", signingKeyFile)
	}
	k := &Keys{SigningKey: sk, TokenKeys: tk, services: map[string]*authn.Signer{}, seeds: map[string]secret.Secret{}}
	for _, name := range Services {
		seed, err := derive(root, name)
		if err != nil {
			return nil, err
		}
		s, err := authn.NewSigner(authn.Config{SigningKey: seed, ServiceName: name, Audience: Audience})
		if err != nil {
			return nil, err
		}
		k.services[name], k.seeds[name] = s, seed
	}
	seed, err := derive(root, "operator")
	if err != nil {
		return nil, err
	}
	if k.operator, err = authn.NewAppSigner(seed, OperatorIssuer, Audience); err != nil {
		return nil, err
	}
	return k, nil
}

// derive returns the signing key named name, "local-<name>=base64(seed)", from the root.
func derive(root []byte, name string) (secret.Secret, error) {
	seed, err := hkdf.Key(sha256.New, root, nil, "posimport jwt key "+name, ed25519.SeedSize)
	if err != nil {
		return secret.Secret{}, fmt.Errorf("derive the %s key: %w", name, err)
	}
	return secret.New("local-" + name + "=" + base64.StdEncoding.EncodeToString(seed)), nil
}

// Service returns the signer of the service named name (one of Services), or nil.
func (k *Keys) Service(name string) *authn.Signer { return k.services[name] }

// ServiceSigningKey is the JWT_SIGNING_KEY of the service named name, for a process of its own
// joining the all-in-one one (posimport bench's workers).
func (k *Keys) ServiceSigningKey(name string) secret.Secret { return k.seeds[name] }

// VerificationKeys are the keys the all-in-one process trusts: each service's, bound to it,
// and the operators', which vouch for people only.
func (k *Keys) VerificationKeys() []authn.Key {
	out := []authn.Key{k.operator.Key()}
	for _, name := range Services {
		out = append(out, k.services[name].Key())
	}
	return out
}

// Mint signs a token for a person (subject) with role acting for clients, valid for ttl (at
// most authn.MaxTokenLifetime): a people's role for named clients only.
func (k *Keys) Mint(subject string, role authn.Role, clients []string, ttl time.Duration) (string, error) {
	if role == authn.RoleService {
		return "", errors.New("service tokens are the services' own; mint a person's role")
	}
	for _, c := range clients {
		if c == authn.AllClients {
			return "", errors.New(`a person's token names its clients: "*" (all clients) is for the services' own tokens`)
		}
	}
	return k.operator.Sign(subject, role, clients, ttl)
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
