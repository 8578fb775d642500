package client

import (
	"encoding/json"
	"time"

	"github.com/chatd/chatd/internal/secret"
)

// User is the API's user object.
type User struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	Role        string    `json:"role"`
	Suspended   bool      `json:"suspended"`
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// APIKey is the API's api_key object; it never holds the secret.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Provider is the API's provider object.
type Provider struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
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

// Model is the API's model object.
type Model struct {
	ID           string    `json:"id"`
	Provider     string    `json:"provider"`
	ProviderType string    `json:"provider_type"`
	Model        string    `json:"model"`
	DisplayName  string    `json:"display_name"`
	ContextLimit int64     `json:"context_limit"`
	Prices       Prices    `json:"prices"`
	Enabled      bool      `json:"enabled"`
	Default      bool      `json:"default"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// ProviderKey is the API's provider_key object: a user's own key for a
// provider (BYOK), shown only as a hint.
type ProviderKey struct {
	Provider  string    `json:"provider"`
	KeyHint   string    `json:"key_hint"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Usage counts the tokens of one interception.
type Usage struct {
	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	CacheReadTokens  int64 `json:"cache_read_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	ReasoningTokens  int64 `json:"reasoning_tokens"`
}

// ToolCall is a tool call the model made.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Interception is the gateway's record of one model call.
type Interception struct {
	ID             string     `json:"id"`
	UserID         string     `json:"user_id"`
	APIKeyID       string     `json:"api_key_id"`
	Provider       string     `json:"provider"`
	ProviderType   string     `json:"provider_type"`
	Endpoint       string     `json:"endpoint"`
	Model          string     `json:"model"`
	Streaming      bool       `json:"streaming"`
	Client         string     `json:"client"`
	UserAgent      string     `json:"user_agent"`
	ChatID         string     `json:"chat_id"`
	SubchatID      string     `json:"subchat_id"`
	Source         string     `json:"source"`
	CredentialKind string     `json:"credential_kind"`
	CredentialHint string     `json:"credential_hint"`
	Status         int        `json:"status"`
	Error          string     `json:"error"`
	StartedAt      time.Time  `json:"started_at"`
	EndedAt        time.Time  `json:"ended_at"`
	TTFBMillis     float64    `json:"ttfb_ms"`
	DurationMillis float64    `json:"duration_ms"`
	Usage          Usage      `json:"usage"`
	Prompt         string     `json:"prompt"`
	ToolCalls      []ToolCall `json:"tool_calls"`
	Reasoning      string     `json:"reasoning"`
	CostUSD        *float64   `json:"cost_usd"`
}

// UsageRow sums one day of one user's use of one model.
type UsageRow struct {
	Day              string  `json:"day"`
	UserID           string  `json:"user_id"`
	Username         string  `json:"username"`
	Model            string  `json:"model"`
	Calls            int64   `json:"calls"`
	InputTokens      int64   `json:"input_tokens"`
	OutputTokens     int64   `json:"output_tokens"`
	CacheReadTokens  int64   `json:"cache_read_tokens"`
	CacheWriteTokens int64   `json:"cache_write_tokens"`
	ReasoningTokens  int64   `json:"reasoning_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// NewKey is a freshly issued API key: the full key, shown once, and its
// record. Key redacts itself when printed; MarshalJSON reveals it, so that
// a program can hand the answer on exactly as the server sent it.
type NewKey struct {
	Key    secret.Value
	APIKey APIKey
}

type newKeyWire struct {
	Key    string `json:"key"`
	APIKey APIKey `json:"api_key"`
}

// MarshalJSON writes the API's {"key","api_key"} object, key included.
func (k NewKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(newKeyWire{Key: k.Key.Reveal(), APIKey: k.APIKey})
}

// UnmarshalJSON reads the API's {"key","api_key"} object.
func (k *NewKey) UnmarshalJSON(b []byte) error {
	var w newKeyWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*k = NewKey{Key: secret.New(w.Key), APIKey: w.APIKey}
	return nil
}

// Session is the answer to Login: a session key and its user.
type Session struct {
	NewKey
	User User
}

// MarshalJSON writes the API's {"key","api_key","user"} object.
func (s Session) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		newKeyWire
		User User `json:"user"`
	}{newKeyWire{s.Key.Reveal(), s.APIKey}, s.User})
}

// UnmarshalJSON reads the API's {"key","api_key","user"} object.
func (s *Session) UnmarshalJSON(b []byte) error {
	var w struct {
		newKeyWire
		User User `json:"user"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*s = Session{NewKey: NewKey{Key: secret.New(w.Key), APIKey: w.APIKey}, User: w.User}
	return nil
}

// LoginRequest exchanges a password for a session key.
type LoginRequest struct {
	Username string
	Password secret.Value
	// KeyName names the session key; if empty, the server picks a name.
	KeyName string
}

// MarshalJSON writes the wire form, password included.
func (r LoginRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Username string `json:"username"`
		Password string `json:"password"`
		KeyName  string `json:"key_name,omitempty"`
	}{r.Username, r.Password.Reveal(), r.KeyName})
}

// CreateUserRequest creates a user.
type CreateUserRequest struct {
	Username string
	// Role is "admin" or "member"; if empty, the server makes a member.
	Role string
	// Password, if zero, leaves the user without one (API keys only).
	Password secret.Value
}

// MarshalJSON writes the wire form, password included.
func (r CreateUserRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Username string `json:"username"`
		Role     string `json:"role,omitempty"`
		Password string `json:"password,omitempty"`
	}{r.Username, r.Role, r.Password.Reveal()})
}

// UpdateUserRequest changes the non-nil fields of a user.
type UpdateUserRequest struct {
	Role      *string
	Suspended *bool
	Password  *secret.Value
}

// MarshalJSON writes the wire form, password included.
func (r UpdateUserRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Role      *string `json:"role,omitempty"`
		Suspended *bool   `json:"suspended,omitempty"`
		Password  *string `json:"password,omitempty"`
	}{r.Role, r.Suspended, revealPtr(r.Password)})
}

// CreateKeyRequest creates an API key for the caller.
type CreateKeyRequest struct {
	Name string `json:"name"`
	// ExpiresAt, if nil, makes a key that does not expire.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// CreateProviderRequest creates a provider.
type CreateProviderRequest struct {
	Name    string
	Type    string
	BaseURL string
	// Enabled, if nil, is true.
	Enabled *bool
	// APIKey, if zero, creates the provider without a central key.
	APIKey secret.Value
}

// MarshalJSON writes the wire form, key included.
func (r CreateProviderRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name    string `json:"name"`
		Type    string `json:"type"`
		BaseURL string `json:"base_url"`
		Enabled *bool  `json:"enabled,omitempty"`
		APIKey  string `json:"api_key,omitempty"`
	}{r.Name, r.Type, r.BaseURL, r.Enabled, r.APIKey.Reveal()})
}

// UpdateProviderRequest changes the non-nil fields of a provider. An
// APIKey pointing at the zero Value removes the central key.
type UpdateProviderRequest struct {
	Name    *string
	BaseURL *string
	Enabled *bool
	APIKey  *secret.Value
}

// MarshalJSON writes the wire form, key included.
func (r UpdateProviderRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name    *string `json:"name,omitempty"`
		BaseURL *string `json:"base_url,omitempty"`
		Enabled *bool   `json:"enabled,omitempty"`
		APIKey  *string `json:"api_key,omitempty"`
	}{r.Name, r.BaseURL, r.Enabled, revealPtr(r.APIKey)})
}

// CreateModelRequest offers a model of a provider to users.
type CreateModelRequest struct {
	Provider    string `json:"provider"`
	Model       string `json:"model"`
	DisplayName string `json:"display_name,omitempty"`
	// ContextLimit, if zero, comes from the catalogue.
	ContextLimit int64 `json:"context_limit,omitempty"`
	// Prices, if nil, come from the catalogue.
	Prices *Prices `json:"prices,omitempty"`
	// Enabled, if nil, is true.
	Enabled *bool `json:"enabled,omitempty"`
	Default bool  `json:"default,omitempty"`
}

// UpdateModelRequest changes the non-nil fields of a model. Prices
// replaces all four prices.
type UpdateModelRequest struct {
	DisplayName  *string `json:"display_name,omitempty"`
	ContextLimit *int64  `json:"context_limit,omitempty"`
	Prices       *Prices `json:"prices,omitempty"`
	Enabled      *bool   `json:"enabled,omitempty"`
	Default      *bool   `json:"default,omitempty"`
}

// InterceptionFilter narrows Interceptions. Zero fields match everything.
type InterceptionFilter struct {
	User     string
	Provider string
	Model    string
	Chat     string
	Since    time.Time
	Until    time.Time
	// Limit, if zero, is left to the server.
	Limit int
	// Before pages backwards: only interceptions started before it.
	Before time.Time
}

// UsageFilter narrows Usage. Zero fields match everything.
type UsageFilter struct {
	User     string
	Provider string
	Model    string
	Since    time.Time
	Until    time.Time
}

func revealPtr(v *secret.Value) *string {
	if v == nil {
		return nil
	}
	s := v.Reveal()
	return &s
}
