package client

import (
	"encoding/json"
	"time"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/wire"
)

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
	Prices *wire.Prices `json:"prices,omitempty"`
	// Enabled, if nil, is true.
	Enabled *bool `json:"enabled,omitempty"`
	Default bool  `json:"default,omitempty"`
	// UseResponsesAPI calls an OpenAI-type model through the Responses API.
	UseResponsesAPI bool `json:"use_responses_api,omitempty"`
	// CompactionThresholdPercent, if nil, inherits the deployment's.
	CompactionThresholdPercent *int `json:"compaction_threshold_percent,omitempty"`
}

// UpdateModelRequest changes the non-nil fields of a model. Prices
// replaces all four prices.
type UpdateModelRequest struct {
	DisplayName  *string      `json:"display_name,omitempty"`
	ContextLimit *int64       `json:"context_limit,omitempty"`
	Prices       *wire.Prices `json:"prices,omitempty"`
	Enabled      *bool        `json:"enabled,omitempty"`
	Default      *bool        `json:"default,omitempty"`

	UseResponsesAPI *bool `json:"use_responses_api,omitempty"`
	// CompactionThreshold, if non-nil, sets the compaction threshold, or
	// with a nil Percent makes the model inherit the deployment's.
	CompactionThreshold *Threshold `json:"compaction_threshold_percent,omitempty"`
}

// Threshold is a compaction threshold in percent; a nil Percent is JSON
// null, which inherits.
type Threshold struct{ Percent *int }

// MarshalJSON writes the percent or null.
func (t Threshold) MarshalJSON() ([]byte, error) { return json.Marshal(t.Percent) }

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
