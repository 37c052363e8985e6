package authn

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/platform/secret"
)

// Signer issues tokens: a service's own (NewSigner), or people's in the main app's stead
// (NewAppSigner: tests, the demo, the CLI). It signs only what a verifier trusting its key
// accepts.
type Signer struct {
	kid     string
	key     ed25519.PrivateKey
	issuer  string
	aud     string
	service string
	now     func() time.Time
}

// NewSigner returns the signer of this service's own tokens: cfg.SigningKey, bound to the
// identity cfg.ServiceName, with issuer ServiceIssuer.
func NewSigner(cfg Config) (*Signer, error) {
	if !serviceNamePattern.MatchString(cfg.ServiceName) {
		return nil, fmt.Errorf("SERVICE_NAME: %q is not a service name (lowercase letters, digits and '-')", cfg.ServiceName)
	}
	return newSigner(cfg.SigningKey, ServiceIssuer, cfg.Audience, cfg.ServiceName)
}

// NewAppSigner returns a signer of people's tokens with issuer (the main app's, or the
// all-in-one's operator issuer), for audience.
func NewAppSigner(signingKey secret.Secret, issuer, audience string) (*Signer, error) {
	if issuer == "" || issuer == ServiceIssuer {
		return nil, fmt.Errorf("app signer: the issuer must be set and not %q", ServiceIssuer)
	}
	return newSigner(signingKey, issuer, audience, "")
}

func newSigner(signingKey secret.Secret, issuer, audience, service string) (*Signer, error) {
	kid, raw, err := parseKeyItem(signingKey.Reveal())
	if err != nil {
		return nil, errors.New("JWT_SIGNING_KEY: want kid=base64(32-byte Ed25519 seed)")
	}
	if len(raw) != ed25519.SeedSize {
		return nil, fmt.Errorf("JWT_SIGNING_KEY: want a %d-byte Ed25519 seed", ed25519.SeedSize)
	}
	return &Signer{kid: kid, key: ed25519.NewKeyFromSeed(raw), issuer: issuer, aud: audience, service: service, now: time.Now}, nil
}

// Key is the verification key of the signer's tokens, bound as a verifier must trust it.
func (s *Signer) Key() Key {
	return Key{ID: s.kid, Public: s.key.Public().(ed25519.PublicKey), Issuer: s.issuer, Service: s.service}
}

// Service is the identity of a service's signer ("" for an app signer).
func (s *Signer) Service() string { return s.service }

// Sign issues a token for subject with role and clients, valid for ttl (at most
// MaxTokenLifetime). A service's signer signs only its own identity; an app signer only
// people's roles, for named clients.
func (s *Signer) Sign(subject string, role Role, clients []string, ttl time.Duration) (string, error) {
	if ttl > MaxTokenLifetime {
		return "", fmt.Errorf("token lifetime %v is longer than the %v every verifier allows", ttl, MaxTokenLifetime)
	}
	if s.service != "" && (role != RoleService || subject != ServiceSubject(s.service)) {
		return "", fmt.Errorf("the key of service %q signs only its own identity", s.service)
	}
	if s.service == "" && (role == RoleService || slices.Contains(clients, AllClients)) {
		return "", errors.New("an app key signs people's roles for named clients only")
	}
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

// SignService issues the service's own token: its identity, acting for all clients.
func (s *Signer) SignService(ttl time.Duration) (string, error) {
	if s.service == "" {
		return "", errors.New("an app signer has no service identity")
	}
	return s.Sign(ServiceSubject(s.service), RoleService, []string{AllClients}, ttl)
}
