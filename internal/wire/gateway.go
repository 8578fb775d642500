package wire

import "time"

// Usage counts the tokens of one model call: an interception's, or a
// message's.
type Usage struct {
	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	CacheReadTokens  int64 `json:"cache_read_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	ReasoningTokens  int64 `json:"reasoning_tokens"`
}

// ToolCall is a tool call the model made, as the gateway saw it.
type ToolCall struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Arguments is the call's JSON input as the model wrote it.
	Arguments string `json:"arguments"`
}

// Interception is the gateway's record of one model call.
type Interception struct {
	ID           string `json:"id"`
	UserID       string `json:"user_id"`
	APIKeyID     string `json:"api_key_id"`
	Provider     string `json:"provider"`
	ProviderType string `json:"provider_type"`
	Endpoint     string `json:"endpoint"`
	Model        string `json:"model"`
	Streaming    bool   `json:"streaming"`
	Client       string `json:"client"`
	UserAgent    string `json:"user_agent"`
	// ChatID and SubchatID name the chat a call was made for.
	ChatID    string `json:"chat_id"`
	SubchatID string `json:"subchat_id"`
	// Source is "external" or "agents".
	Source string `json:"source"`
	// CredentialKind is "central" or "byok".
	CredentialKind string    `json:"credential_kind"`
	CredentialHint string    `json:"credential_hint"`
	Status         int       `json:"status"`
	Error          string    `json:"error"`
	StartedAt      time.Time `json:"started_at"`
	// EndedAt is null while the call is in flight.
	EndedAt        *time.Time `json:"ended_at"`
	TTFBMillis     float64    `json:"ttfb_ms"`
	DurationMillis float64    `json:"duration_ms"`
	Usage          Usage      `json:"usage"`
	Prompt         string     `json:"prompt"`
	ToolCalls      []ToolCall `json:"tool_calls"`
	Reasoning      string     `json:"reasoning"`
	// CostUSD is null when the model has no price.
	CostUSD *float64 `json:"cost_usd"`
}

// UsageRow sums one day of one user's use of one model.
type UsageRow struct {
	// Day is YYYY-MM-DD in UTC.
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
