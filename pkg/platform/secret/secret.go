// Package secret provides a string type for credentials that redacts itself wherever it could
// be printed: fmt verbs, slog, JSON and text marshalling. Only Reveal returns the value, so a
// leak needs an explicit call that reviewers can grep for.
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what a Secret prints as.
const Redacted = "[REDACTED]"

// Secret holds a credential (token, key, password).
type Secret struct{ v string }

// New wraps a value.
func New(v string) Secret { return Secret{v: v} }

// Reveal returns the value. Call it only where the value is sent to its destination.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// String implements fmt.Stringer.
func (s Secret) String() string { return s.mask() }

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return s.mask() }

// Format implements fmt.Formatter, so no verb prints the value.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.mask())) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.mask()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.mask() + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

// UnmarshalText implements encoding.TextUnmarshaler, so configuration loaders can fill it.
func (s *Secret) UnmarshalText(b []byte) error {
	s.v = string(b)
	return nil
}

func (s Secret) mask() string {
	if s.v == "" {
		return ""
	}
	return Redacted
}
