package authn

import (
	"crypto/sha256"
	"errors"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/posimport/posimport/pkg/platform/apierr"
)

// Claims are the JWT claims posimport reads.
type Claims struct {
	jwt.RegisteredClaims
	// Clients the caller may act for; "*" (services only) means all.
	Clients []string `json:"clients"`
	// Role of the caller.
	Role Role `json:"role"`
}

// Verifier checks bearer tokens.
type Verifier struct {
	keys     map[string]Key
	audience string
	now      func() time.Time
	cache    verifiedCache
}

// NewVerifier builds a verifier from cfg's keys (Config.TrustedKeys). The signing key's public
// half is trusted too, bound to cfg.ServiceName, so a service always accepts its own tokens.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Audience == "" {
		return nil, errors.New("JWT_AUDIENCE: required")
	}
	keys, err := cfg.TrustedKeys()
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("JWT_APP_KEYS, JWT_SERVICE_KEYS: at least one verification key is required")
	}
	v := &Verifier{keys: make(map[string]Key, len(keys)), audience: cfg.Audience, now: time.Now}
	for _, k := range keys {
		v.keys[k.ID] = k
	}
	return v, nil
}

// Verify checks a token's signature, algorithm, issuer (the one its key is bound to),
// audience, expiry, issue time and lifetime, and what its key may claim, and returns the
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

// errUnknownKey is the keyfunc's answer to a kid no key has.
var errUnknownKey = errors.New("unknown key id")

func (v *Verifier) verify(token string) (Principal, time.Time, error) {
	var (
		c   Claims
		key Key
	)
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := v.keys[kid]
		if !ok {
			return nil, errUnknownKey
		}
		key = k
		return k.Public, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(ClockSkew),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return Principal{}, time.Time{}, invalid(describeJWTError(err))
	}
	// Issuer, lifetime and identity are checked against the key that verified the signature:
	// a key vouches only for what it is bound to.
	switch {
	case c.Issuer != key.Issuer:
		return Principal{}, time.Time{}, invalid("issuer not accepted for its key")
	case c.IssuedAt == nil:
		return Principal{}, time.Time{}, invalid("issued-at (iat) is required")
	case c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxTokenLifetime:
		return Principal{}, time.Time{}, invalid("lifetime longer than " + MaxTokenLifetime.String())
	case c.Subject == "" || c.Role == "":
		return Principal{}, time.Time{}, invalid("subject and role are required")
	}
	if key.Service != "" {
		if c.Role != RoleService || c.Subject != ServiceSubject(key.Service) {
			return Principal{}, time.Time{}, invalid("a service key signs only its service's identity")
		}
	} else {
		if c.Role == RoleService {
			return Principal{}, time.Time{}, invalid("only posimport's service keys sign the service role")
		}
		if slices.Contains(c.Clients, AllClients) {
			return Principal{}, time.Time{}, invalid("only services may act for all clients")
		}
	}
	// Expiry is required by the parser options, so ExpiresAt is set here.
	return Principal{Subject: c.Subject, Role: c.Role, Clients: c.Clients, Service: key.Service}, c.ExpiresAt.Time, nil
}

func invalid(reason string) error {
	return apierr.Unauthenticated("invalid bearer token: %s", reason)
}

func describeJWTError(err error) string {
	switch {
	case errors.Is(err, errUnknownKey):
		return "unknown key"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "issued in the future"
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
