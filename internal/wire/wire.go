// Package wire declares the JSON shapes of the chatd HTTP API
// (docs/api.md), used by the server to write them and by the client to
// read them.
//
// The types are plain data with no behaviour beyond their JSON encoding
// and a few read-only helpers; a value is safe for concurrent reads.
// Changing a field name, a tag or an omitempty here changes the API.
package wire

import (
	"encoding/json"
	"time"

	"github.com/chatd/chatd/internal/secret"
)

// User is the API's user object.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	// Role is "admin" or "member".
	Role      string `json:"role"`
	Suspended bool   `json:"suspended"`
	// HasPassword is false for users who sign in with API keys only.
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// APIKey is the API's api_key object; it never holds the secret.
type APIKey struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is "api" for keys made on purpose, "session" for logins.
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt, LastUsedAt and RevokedAt are null when not (yet) so.
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// NewKey is a freshly issued API key: the full key, shown once, and its
// record. Key redacts itself when printed; MarshalJSON reveals it, so that
// the server can send it and a program can hand the answer on exactly as
// the server sent it.
type NewKey struct {
	Key    secret.Value
	APIKey APIKey
}

// newKeyJSON is NewKey on the wire, members in the order the server has
// always written them.
type newKeyJSON struct {
	APIKey APIKey `json:"api_key"`
	Key    string `json:"key"`
}

// MarshalJSON writes the API's {"api_key","key"} object, key included.
func (k NewKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(newKeyJSON{APIKey: k.APIKey, Key: k.Key.Reveal()})
}

// UnmarshalJSON reads the API's {"api_key","key"} object.
func (k *NewKey) UnmarshalJSON(b []byte) error {
	var w newKeyJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*k = NewKey{Key: secret.New(w.Key), APIKey: w.APIKey}
	return nil
}

// Session is the answer to a login: a session key and its user.
type Session struct {
	NewKey
	User User
}

// sessionJSON is Session on the wire, members in the order the server has
// always written them.
type sessionJSON struct {
	APIKey APIKey `json:"api_key"`
	Key    string `json:"key"`
	User   User   `json:"user"`
}

// MarshalJSON writes the API's {"api_key","key","user"} object, key
// included.
func (s Session) MarshalJSON() ([]byte, error) {
	return json.Marshal(sessionJSON{APIKey: s.APIKey, Key: s.Key.Reveal(), User: s.User})
}

// UnmarshalJSON reads the API's {"api_key","key","user"} object.
func (s *Session) UnmarshalJSON(b []byte) error {
	var w sessionJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*s = Session{NewKey: NewKey{Key: secret.New(w.Key), APIKey: w.APIKey}, User: w.User}
	return nil
}

// Provider is the API's provider object. The central key itself is never
// shown, only whether there is one and its hint.
type Provider struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Type is "openai", "anthropic" or "openai-compatible".
	Type       string    `json:"type"`
	BaseURL    string    `json:"base_url"`
	Enabled    bool      `json:"enabled"`
	HasAPIKey  bool      `json:"has_api_key"`
	APIKeyHint string    `json:"api_key_hint"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Prices are US dollars per million tokens; nil is unknown.
type Prices struct {
	Input      *float64 `json:"input"`
	Output     *float64 `json:"output"`
	CacheRead  *float64 `json:"cache_read"`
	CacheWrite *float64 `json:"cache_write"`
}

// Model is the API's model object: a model of a provider offered to
// users.
type Model struct {
	ID string `json:"id"`
	// Provider is the provider's name.
	Provider     string `json:"provider"`
	ProviderType string `json:"provider_type"`
	Model        string `json:"model"`
	DisplayName  string `json:"display_name"`
	ContextLimit int64  `json:"context_limit"`
	Prices       Prices `json:"prices"`
	Enabled      bool   `json:"enabled"`
	Default      bool   `json:"default"`
	// UseResponsesAPI makes the chat daemon call an OpenAI-type model
	// through the Responses API instead of Chat Completions.
	UseResponsesAPI bool `json:"use_responses_api"`
	// CompactionThresholdPercent is how full the context may get before a
	// chat on this model is compacted; null inherits the deployment's
	// setting, and a user's own setting overrides both.
	CompactionThresholdPercent *int      `json:"compaction_threshold_percent"`
	CreatedAt                  time.Time `json:"created_at"`
	UpdatedAt                  time.Time `json:"updated_at"`
}

// ProviderKey is the API's provider_key object: a user's own key for a
// provider (BYOK), shown only as a hint.
type ProviderKey struct {
	// Provider is the provider's name.
	Provider  string    `json:"provider"`
	KeyHint   string    `json:"key_hint"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
