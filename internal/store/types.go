package store

import (
	"fmt"
	"time"
)

// Role is what a user may do.
type Role string

// Roles.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleMember }

// User is a person who signs in to chatd.
type User struct {
	ID        string
	Username  string
	Role      Role
	Suspended bool
	// PasswordHash is a bcrypt hash, or empty when the user has no password
	// (API keys only).
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// UserPatch changes the non-nil fields of a user.
type UserPatch struct {
	Role         *Role
	Suspended    *bool
	PasswordHash *string
}

// APIKeyKind tells keys made by hand from keys made by `chatd login`.
type APIKeyKind string

// API key kinds.
const (
	APIKeyKindAPI     APIKeyKind = "api"
	APIKeyKindSession APIKeyKind = "session"
)

// APIKey is a chatd API key. The secret itself is never stored.
type APIKey struct {
	ID     string
	UserID string
	Name   string
	Kind   APIKeyKind
	// SecretHash is SHA-256 of the high-entropy secret.
	SecretHash []byte
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// ProviderType is the wire protocol a provider speaks.
type ProviderType string

// Provider types.
const (
	ProviderOpenAI           ProviderType = "openai"
	ProviderAnthropic        ProviderType = "anthropic"
	ProviderOpenAICompatible ProviderType = "openai-compatible"
)

// Valid reports whether t is a known provider type.
func (t ProviderType) Valid() bool {
	switch t {
	case ProviderOpenAI, ProviderAnthropic, ProviderOpenAICompatible:
		return true
	}
	return false
}

// Provider is an upstream LLM API the gateway routes to by Name.
type Provider struct {
	ID      string
	Name    string
	Type    ProviderType
	BaseURL string
	Enabled bool
	// APIKeyCipher is the central key sealed by package secret; nil when
	// no central key is set.
	APIKeyCipher []byte
	// APIKeyHint is a masked form such as "sk-a…wxyz".
	APIKeyHint string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ProviderPatch changes the non-nil fields of a provider. ClearAPIKey
// removes the central key.
type ProviderPatch struct {
	Name         *string
	BaseURL      *string
	Enabled      *bool
	APIKeyCipher []byte
	APIKeyHint   *string
	ClearAPIKey  bool
}

// Prices are US dollars per million tokens. A nil price is unknown, which
// is different from free.
type Prices struct {
	Input      *float64
	Output     *float64
	CacheRead  *float64
	CacheWrite *float64
}

// ModelConfig is a model offered to users, on one provider.
type ModelConfig struct {
	ID           string
	ProviderID   string
	Model        string
	DisplayName  string
	ContextLimit int64
	Prices       Prices
	Enabled      bool
	IsDefault    bool
	// UseResponsesAPI makes chatd call an OpenAI-type model through the
	// Responses API instead of Chat Completions.
	UseResponsesAPI bool
	// CompactionThresholdPercent is how full, from 1 to 100 percent, the
	// context window of a chat on this model may get before the chat is
	// compacted. A user's own threshold setting overrides it; nil inherits
	// the deployment's setting.
	CompactionThresholdPercent *int
	CreatedAt                  time.Time
	UpdatedAt                  time.Time
}

// ModelPatch changes the non-nil fields of a model config. Prices replaces
// all four prices when non-nil. ClearCompactionThreshold sets the
// model's threshold back to nil (inherit); it cannot go with a new
// CompactionThresholdPercent.
type ModelPatch struct {
	DisplayName                *string
	ContextLimit               *int64
	Prices                     *Prices
	Enabled                    *bool
	IsDefault                  *bool
	UseResponsesAPI            *bool
	CompactionThresholdPercent *int
	ClearCompactionThreshold   bool
}

// CheckThreshold refuses a compaction threshold outside 1 to 100 percent
// with ErrInvalid; nil (inherit) is valid.
func CheckThreshold(pct *int) error {
	if pct != nil && (*pct < 1 || *pct > 100) {
		return fmt.Errorf("%w: compaction threshold %d%% is not from 1 to 100", ErrInvalid, *pct)
	}
	return nil
}

// Check refuses a patch that can never apply, with ErrInvalid.
func (p ModelPatch) Check() error {
	if p.ClearCompactionThreshold && p.CompactionThresholdPercent != nil {
		return fmt.Errorf("%w: a patch cannot both set and clear the compaction threshold", ErrInvalid)
	}
	return CheckThreshold(p.CompactionThresholdPercent)
}

// UserProviderKey is a user's own key for a provider (BYOK).
type UserProviderKey struct {
	UserID     string
	ProviderID string
	KeyCipher  []byte
	KeyHint    string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Credential kinds recorded on interceptions.
const (
	CredentialCentral = "central"
	CredentialBYOK    = "byok"
)

// Interception sources.
const (
	SourceExternal = "external"
	SourceAgents   = "agents"
)

// ToolCall is a tool call the model made, as recorded by the gateway.
type ToolCall struct {
	ID        string `json:"id,omitempty"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Usage counts tokens. Reasoning tokens are part of Output.
type Usage struct {
	Input      int64
	Output     int64
	CacheRead  int64
	CacheWrite int64
	Reasoning  int64
}

// Interception is the gateway's record of one model call.
type Interception struct {
	ID             string
	UserID         string
	APIKeyID       string
	ProviderName   string
	ProviderType   ProviderType
	Endpoint       string // e.g. "/v1/chat/completions"
	Model          string
	Streaming      bool
	Client         string // guessed from User-Agent
	UserAgent      string
	ChatID         string
	SubchatID      string
	Source         string // SourceExternal or SourceAgents
	CredentialKind string // CredentialCentral or CredentialBYOK
	CredentialHint string
	Status         int // HTTP status sent to the client; 0 if none
	Error          string
	StartedAt      time.Time
	EndedAt        time.Time
	// TTFB is the time to the first response byte; zero if none arrived.
	TTFB      time.Duration
	Usage     Usage
	Prompt    string
	ToolCalls []ToolCall
	Reasoning string
	// CostMicros is the cost in millionths of a US dollar; nil when the
	// model is not priced.
	CostMicros *int64
}

// InterceptionFilter narrows a listing. Zero fields match everything.
type InterceptionFilter struct {
	UserID       string
	ProviderName string
	Model        string
	ChatID       string
	Since        time.Time
	Until        time.Time
	// Limit caps the rows returned; zero means 100.
	Limit int
	// Before pages backwards: only rows started strictly before it.
	Before time.Time
}

// UsageRow sums one day of one user's use of one model.
type UsageRow struct {
	Day        string // YYYY-MM-DD in UTC
	UserID     string
	Model      string
	Calls      int64
	Usage      Usage
	CostMicros int64
}
