package route

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

const redacted = "<redacted>"

// ProviderAuth is a provider credential and the header it travels in: the
// user's own key when delegated (BYOK), a placeholder for the gateway, or
// the central key in direct mode. It prints "<redacted>" under every fmt
// verb and as a slog value, so it can sit in any struct that gets logged.
//
// A ProviderAuth is immutable and safe for concurrent use.
type ProviderAuth struct {
	// Header is "Authorization" (OpenAI types) or "X-Api-Key" (Anthropic).
	Header string
	// Scheme prefixes the key in Header, "Bearer " for Authorization.
	Scheme string
	// Key is the credential.
	Key secret.Value
}

// authFor puts key in the header that provider type t reads.
func authFor(t store.ProviderType, key secret.Value) ProviderAuth {
	if t == store.ProviderAnthropic {
		return ProviderAuth{Header: "X-Api-Key", Key: key}
	}
	return ProviderAuth{Header: "Authorization", Scheme: "Bearer ", Key: key}
}

// apply sets the credential on h and removes the other provider auth
// header, which an SDK may have filled from the environment.
func (a ProviderAuth) apply(h http.Header) {
	h.Del("Authorization")
	h.Del("X-Api-Key")
	h.Set(a.Header, a.Scheme+a.Key.Reveal())
}

// String implements fmt.Stringer.
func (ProviderAuth) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (ProviderAuth) GoString() string { return redacted }

// Format implements fmt.Formatter: every verb prints the placeholder.
func (ProviderAuth) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (ProviderAuth) LogValue() slog.Value { return slog.StringValue(redacted) }
