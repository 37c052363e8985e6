package authn

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/posimport/posimport/pkg/platform/secret"
)

// ServiceIssuer is the iss of every token posimport's services sign for themselves. A service
// key verifies tokens of this issuer only, and the main app's issuer must be another.
const ServiceIssuer = "posimport"

// Token lifetime bounds, for every signer.
const (
	// MaxTokenLifetime bounds exp − iat. A token is a bearer credential: one that leaks stops
	// working within a day. The services' own tokens live 10 minutes, the CLI's 10 minutes by
	// default; the main app's access tokens must fit too.
	MaxTokenLifetime = 24 * time.Hour
	// ClockSkew is how far the signer's clock may be from ours: exp, nbf and iat are checked
	// with this leeway, so an iat more than 30 s in the future is refused.
	ClockSkew = 30 * time.Second
)

// The service identities: each posimport service signs with a key of its own, bound to its
// name, and its tokens carry the subject ServiceSubject(name).
const (
	ServiceConfig       = "config"
	ServiceAuth         = "auth"
	ServiceBalance      = "balance"
	ServiceImportWorker = "import-worker"
)

// ServiceSubject is the sub claim of the tokens of the service named name.
func ServiceSubject(name string) string { return "service:" + name }

// Key verifies tokens. It is bound to the issuer its tokens must carry and, for a key of one
// of posimport's services, to that service's identity: only such a key verifies tokens with
// role service or clients ["*"], and only with the subject of its service.
type Key struct {
	// ID is the kid that selects the key.
	ID string
	// Public is the Ed25519 public key.
	Public ed25519.PublicKey
	// Issuer is the iss its tokens must carry: ServiceIssuer for a service key, the main
	// app's issuer for an app key.
	Issuer string
	// Service is the service identity of a service key ("import-worker"); empty for an app key.
	Service string
}

// String formats the key as its configuration entry: "kid=base64" for an app key (an item of
// JWT_APP_KEYS), "service:kid=base64" for a service key (an item of JWT_SERVICE_KEYS).
func (k Key) String() string {
	s := k.ID + "=" + base64.StdEncoding.EncodeToString(k.Public)
	if k.Service != "" {
		return k.Service + ":" + s
	}
	return s
}

// Config is the JWT part of a service's configuration.
type Config struct {
	// Audience required in every token.
	Audience string `env:"JWT_AUDIENCE" envDefault:"posimport"`
	// AppIssuer is the main app's issuer: the iss of the people's tokens its keys sign.
	AppIssuer string `env:"JWT_APP_ISSUER"`
	// AppKeys verify the main app's tokens (people's roles only): comma-separated
	// kid=base64(Ed25519 public key).
	AppKeys string `env:"JWT_APP_KEYS"`
	// ServiceKeys verify posimport's services' tokens, each bound to its service: comma-separated
	// service:kid=base64(Ed25519 public key), e.g. "import-worker:iw1=…,auth:auth1=…".
	ServiceKeys string `env:"JWT_SERVICE_KEYS"`
	// SigningKey signs this service's own tokens: kid=base64(Ed25519 seed, 32 bytes). Its public
	// half verifies too, bound to ServiceName.
	SigningKey secret.Secret `env:"JWT_SIGNING_KEY"`
	// ServiceName is this service's identity (default: the service's name).
	ServiceName string `env:"SERVICE_NAME"`
	// Keys are further verification keys given in code, not in the environment (the
	// all-in-one process's own).
	Keys []Key `env:"-"`

	// RetiredPublicKeys and RetiredIssuers are the variables that trusted any key for any
	// issuer and identity; a process that still sets them refuses to start.
	RetiredPublicKeys string `env:"JWT_PUBLIC_KEYS"`
	RetiredIssuers    string `env:"JWT_ISSUERS"`
}

var serviceNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// TrustedKeys returns every verification key of cfg, each bound to its issuer (and service),
// or an error naming the variable at fault.
func (cfg Config) TrustedKeys() ([]Key, error) {
	if cfg.RetiredPublicKeys != "" || cfg.RetiredIssuers != "" {
		return nil, errors.New("JWT_PUBLIC_KEYS and JWT_ISSUERS are retired: set JWT_APP_ISSUER and JWT_APP_KEYS " +
			"(the main app's issuer and keys) and JWT_SERVICE_KEYS (service:kid=key for each posimport service); see the README")
	}
	var keys []Key
	if cfg.AppKeys != "" && cfg.AppIssuer == "" {
		return nil, errors.New("JWT_APP_ISSUER: required with JWT_APP_KEYS")
	}
	if cfg.AppIssuer == ServiceIssuer {
		return nil, fmt.Errorf("JWT_APP_ISSUER: %q is posimport's own services' issuer; the main app needs another", ServiceIssuer)
	}
	for _, item := range splitList(cfg.AppKeys) {
		kid, pub, err := parsePublicKey(item)
		if err != nil {
			return nil, fmt.Errorf("JWT_APP_KEYS: %w", err)
		}
		keys = append(keys, Key{ID: kid, Public: pub, Issuer: cfg.AppIssuer})
	}
	for _, item := range splitList(cfg.ServiceKeys) {
		service, rest, ok := strings.Cut(item, ":")
		if !ok || !serviceNamePattern.MatchString(service) {
			return nil, errors.New("JWT_SERVICE_KEYS: want service:kid=base64(Ed25519 public key), e.g. import-worker:iw1=…")
		}
		kid, pub, err := parsePublicKey(rest)
		if err != nil {
			return nil, fmt.Errorf("JWT_SERVICE_KEYS: %w", err)
		}
		keys = append(keys, Key{ID: kid, Public: pub, Issuer: ServiceIssuer, Service: service})
	}
	if !cfg.SigningKey.IsZero() {
		s, err := NewSigner(cfg)
		if err != nil {
			return nil, err
		}
		keys = append(keys, s.Key())
	}
	keys = append(keys, cfg.Keys...)
	return dedupe(keys)
}

// dedupe drops repeated keys and refuses one kid for two different keys: a kid selects one key.
func dedupe(keys []Key) ([]Key, error) {
	byID := map[string]Key{}
	var out []Key
	for _, k := range keys {
		if k.ID == "" || len(k.Public) != ed25519.PublicKeySize || k.Issuer == "" {
			return nil, fmt.Errorf("verification key %q: a kid, an Ed25519 public key and an issuer are required", k.ID)
		}
		if (k.Issuer == ServiceIssuer) != (k.Service != "") {
			return nil, fmt.Errorf("verification key %q: a service key has issuer %q and a service, an app key neither", k.ID, ServiceIssuer)
		}
		if prev, ok := byID[k.ID]; ok {
			if !prev.Public.Equal(k.Public) || prev.Issuer != k.Issuer || prev.Service != k.Service {
				return nil, fmt.Errorf("key id %q names two different keys", k.ID)
			}
			continue
		}
		byID[k.ID] = k
		out = append(out, k)
	}
	return out, nil
}

// NewDevKeys generates a key pair and returns its configuration values: the seed (a
// JWT_SIGNING_KEY) and the public key as "kid=base64" (an item of JWT_APP_KEYS, or of
// JWT_SERVICE_KEYS after "service:"). For the all-in-one binary, tests and the demo.
func NewDevKeys(kid string) (signingKey secret.Secret, publicKey string) {
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	return secret.New(kid + "=" + base64.StdEncoding.EncodeToString(seed)),
		kid + "=" + base64.StdEncoding.EncodeToString(pub)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parsePublicKey(item string) (string, ed25519.PublicKey, error) {
	kid, raw, err := parseKeyItem(item)
	if err != nil {
		return "", nil, err
	}
	if len(raw) != ed25519.PublicKeySize {
		return "", nil, fmt.Errorf("key %q: want %d bytes, got %d", kid, ed25519.PublicKeySize, len(raw))
	}
	return kid, ed25519.PublicKey(raw), nil
}

func parseKeyItem(item string) (kid string, raw []byte, err error) {
	kid, b64, ok := strings.Cut(strings.TrimSpace(item), "=")
	if !ok || kid == "" || strings.ContainsAny(kid, ":,") {
		return "", nil, errors.New("want kid=base64")
	}
	raw, err = base64.StdEncoding.DecodeString(b64)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(b64)
	}
	if err != nil {
		return "", nil, fmt.Errorf("key %q: not base64", kid)
	}
	return kid, raw, nil
}
