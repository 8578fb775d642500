// Package secret holds secrets in memory without leaking them through
// formatting or logs, and seals them at rest with AES-256-GCM.
package secret

import (
	"fmt"
	"log/slog"
)

const redacted = "<redacted>"

// Value is a secret string (a provider key, an API key). Every way of
// printing it, fmt verbs of any kind, slog and JSON, shows "<redacted>";
// only Reveal returns the text.
//
// The zero Value is empty. Values are immutable and safe for concurrent use.
type Value struct {
	// p points at the text rather than holding it: when a Value sits in an
	// unexported struct field, fmt cannot call its methods and prints the
	// field raw, which then shows an address, not the secret.
	p *string
}

// New wraps s.
func New(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{p: &s}
}

// Reveal returns the secret. Call it only where the secret leaves the
// process on purpose (an upstream auth header, a hash).
func (v Value) Reveal() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

// IsZero reports whether the secret is empty.
func (v Value) IsZero() bool { return v.p == nil }

// String implements fmt.Stringer.
func (Value) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (Value) GoString() string { return redacted }

// Format implements fmt.Formatter so that every verb, including %x and %q,
// prints the placeholder.
func (Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (Value) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON keeps secrets out of JSON encodings by accident.
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText keeps secrets out of text encodings by accident.
func (Value) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Hint returns a masked form of a key that is safe to show: the first
// four and last four characters around an ellipsis ("sk-a…wxyz"), or only
// "…" plus the last two for short keys.
func Hint(key string) string {
	r := []rune(key)
	switch {
	case len(r) == 0:
		return ""
	case len(r) < 12:
		if len(r) <= 4 {
			return "…"
		}
		return "…" + string(r[len(r)-2:])
	default:
		return string(r[:4]) + "…" + string(r[len(r)-4:])
	}
}
