package authn

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/secret"
)

// Claims are the JWT claims posimport reads.
type Claims struct {
	jwt.RegisteredClaims
	// Clients the caller may act for; "*" (services only) means all.
	Clients []string `json:"clients"`
	// Role of the caller.
	Role Role `json:"role"`
}

// Config is the JWT part of a service's configuration.
type Config struct {
	// Issuers accepted (the main app's and posimport's own).
	Issuers []string `env:"JWT_ISSUERS" envSeparator:"," envDefault:"posimport"`
	// Audience required in every token.
	Audience string `env:"JWT_AUDIENCE" envDefault:"posimport"`
	// PublicKeys verify tokens: comma-separated kid=base64(Ed25519 public key).
	PublicKeys string `env:"JWT_PUBLIC_KEYS"`
	// SigningKey signs this service's own tokens: kid=base64(Ed25519 seed, 32 bytes).
	SigningKey secret.Secret `env:"JWT_SIGNING_KEY"`
	// ServiceName is the subject of this service's own tokens.
	ServiceName string `env:"SERVICE_NAME"`
}

// Verifier checks bearer tokens.
type Verifier struct {
	keys     map[string]ed25519.PublicKey
	issuers  []string
	audience string
	now      func() time.Time
	cache    verifiedCache
}

// NewVerifier builds a verifier from cfg. The signing key's public half is trusted too, so a
// service always accepts its own tokens.
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{keys: map[string]ed25519.PublicKey{}, issuers: cfg.Issuers, audience: cfg.Audience, now: time.Now}
	if cfg.Audience == "" {
		return nil, errors.New("JWT_AUDIENCE: required")
	}
	for _, item := range splitList(cfg.PublicKeys) {
		kid, raw, err := parseKeyItem(item)
		if err != nil {
			return nil, fmt.Errorf("JWT_PUBLIC_KEYS: %w", err)
		}
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("JWT_PUBLIC_KEYS: key %q: want %d bytes, got %d", kid, ed25519.PublicKeySize, len(raw))
		}
		v.keys[kid] = ed25519.PublicKey(raw)
	}
	if !cfg.SigningKey.IsZero() {
		s, err := NewSigner(cfg)
		if err != nil {
			return nil, err
		}
		v.keys[s.kid] = s.key.Public().(ed25519.PublicKey)
	}
	if len(v.keys) == 0 {
		return nil, errors.New("JWT_PUBLIC_KEYS: at least one verification key is required")
	}
	return v, nil
}

// Verify checks a token's signature, algorithm, issuer, audience and expiry and returns the
// caller. Errors are Unauthenticated and never echo the token.
func (v *Verifier) Verify(token string) (Principal, error) {
	// The main app sends the same token with every request of a session; an Ed25519
	// verification per request was the largest single cost of a REST read.
	key := sha256.Sum256([]byte(token))
	if p, ok := v.cache.get(key, v.now()); ok {
		return p, nil
	}
	p, exp, err := v.verify(token)
	if err != nil {
		return Principal{}, err
	}
	v.cache.put(key, p, exp)
	return p, nil
}

func (v *Verifier) verify(token string) (Principal, time.Time, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := v.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return k, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(30*time.Second),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return Principal{}, time.Time{}, apierr.Unauthenticated("invalid bearer token: %s", describeJWTError(err))
	}
	if !slices.Contains(v.issuers, c.Issuer) {
		return Principal{}, time.Time{}, apierr.Unauthenticated("invalid bearer token: issuer not accepted")
	}
	if c.Subject == "" || c.Role == "" {
		return Principal{}, time.Time{}, apierr.Unauthenticated("invalid bearer token: subject and role are required")
	}
	if slices.Contains(c.Clients, AllClients) && c.Role != RoleService {
		return Principal{}, time.Time{}, apierr.Unauthenticated("invalid bearer token: only services may act for all clients")
	}
	// Expiry is required by the parser options, so ExpiresAt is set here.
	return Principal{Subject: c.Subject, Role: c.Role, Clients: c.Clients}, c.ExpiresAt.Time, nil
}

func describeJWTError(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "signature not verifiable"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	default:
		return "rejected"
	}
}

// Signer issues tokens: a service's own, and in tests and the demo, people's.
type Signer struct {
	kid    string
	key    ed25519.PrivateKey
	issuer string
	aud    string
	now    func() time.Time
}

// NewSigner builds a signer from cfg.SigningKey.
func NewSigner(cfg Config) (*Signer, error) {
	kid, raw, err := parseKeyItem(cfg.SigningKey.Reveal())
	if err != nil {
		return nil, errors.New("JWT_SIGNING_KEY: want kid=base64(32-byte Ed25519 seed)")
	}
	if len(raw) != ed25519.SeedSize {
		return nil, fmt.Errorf("JWT_SIGNING_KEY: want a %d-byte Ed25519 seed", ed25519.SeedSize)
	}
	issuer := "posimport"
	if len(cfg.Issuers) > 0 {
		issuer = cfg.Issuers[0]
	}
	return &Signer{kid: kid, key: ed25519.NewKeyFromSeed(raw), issuer: issuer, aud: cfg.Audience, now: time.Now}, nil
}

// Sign issues a token for subject with role and clients, valid for ttl.
func (s *Signer) Sign(subject string, role Role, clients []string, ttl time.Duration) (string, error) {
	now := s.now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{s.aud},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        uuid.NewString(),
		},
		Clients: clients,
		Role:    role,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = s.kid
	return t.SignedString(s.key)
}

// NewDevKeys generates a key pair and returns the configuration values for it:
// JWT_SIGNING_KEY and JWT_PUBLIC_KEYS. For the all-in-one binary, tests and the demo.
func NewDevKeys(kid string) (signingKey secret.Secret, publicKeys string) {
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

func parseKeyItem(item string) (kid string, raw []byte, err error) {
	kid, b64, ok := strings.Cut(strings.TrimSpace(item), "=")
	if !ok || kid == "" {
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
