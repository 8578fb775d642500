package api

import (
	"time"

	"github.com/chatd/chatd/internal/store"
)

// The JSON shapes of docs/api.md. Store types carry secrets and hashes,
// so they are never encoded directly.

type userView struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	Role        string    `json:"role"`
	Suspended   bool      `json:"suspended"`
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func viewUser(u store.User) userView {
	return userView{
		ID:          u.ID,
		Username:    u.Username,
		Role:        string(u.Role),
		Suspended:   u.Suspended,
		HasPassword: u.PasswordHash != "",
		CreatedAt:   u.CreatedAt.UTC(),
		UpdatedAt:   u.UpdatedAt.UTC(),
	}
}

type apiKeyView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func viewAPIKey(k store.APIKey) apiKeyView {
	return apiKeyView{
		ID:         k.ID,
		Name:       k.Name,
		Kind:       string(k.Kind),
		CreatedAt:  k.CreatedAt.UTC(),
		ExpiresAt:  utcPtr(k.ExpiresAt),
		LastUsedAt: utcPtr(k.LastUsedAt),
		RevokedAt:  utcPtr(k.RevokedAt),
	}
}

type providerView struct {
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

func viewProvider(p store.Provider) providerView {
	return providerView{
		ID:         p.ID,
		Name:       p.Name,
		Type:       string(p.Type),
		BaseURL:    p.BaseURL,
		Enabled:    p.Enabled,
		HasAPIKey:  len(p.APIKeyCipher) > 0,
		APIKeyHint: p.APIKeyHint,
		CreatedAt:  p.CreatedAt.UTC(),
		UpdatedAt:  p.UpdatedAt.UTC(),
	}
}

type pricesView struct {
	Input      *float64 `json:"input"`
	Output     *float64 `json:"output"`
	CacheRead  *float64 `json:"cache_read"`
	CacheWrite *float64 `json:"cache_write"`
}

func (p pricesView) store() store.Prices {
	return store.Prices{Input: p.Input, Output: p.Output, CacheRead: p.CacheRead, CacheWrite: p.CacheWrite}
}

type modelView struct {
	ID           string     `json:"id"`
	Provider     string     `json:"provider"`
	ProviderType string     `json:"provider_type"`
	Model        string     `json:"model"`
	DisplayName  string     `json:"display_name"`
	ContextLimit int64      `json:"context_limit"`
	Prices       pricesView `json:"prices"`
	Enabled      bool       `json:"enabled"`
	Default      bool       `json:"default"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

func viewModel(m store.ModelConfig, p store.Provider) modelView {
	return modelView{
		ID:           m.ID,
		Provider:     p.Name,
		ProviderType: string(p.Type),
		Model:        m.Model,
		DisplayName:  m.DisplayName,
		ContextLimit: m.ContextLimit,
		Prices:       pricesView{Input: m.Prices.Input, Output: m.Prices.Output, CacheRead: m.Prices.CacheRead, CacheWrite: m.Prices.CacheWrite},
		Enabled:      m.Enabled,
		Default:      m.IsDefault,
		CreatedAt:    m.CreatedAt.UTC(),
		UpdatedAt:    m.UpdatedAt.UTC(),
	}
}

type providerKeyView struct {
	Provider  string    `json:"provider"`
	KeyHint   string    `json:"key_hint"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewProviderKey(k store.UserProviderKey, providerName string) providerKeyView {
	return providerKeyView{Provider: providerName, KeyHint: k.KeyHint, CreatedAt: k.CreatedAt.UTC(), UpdatedAt: k.UpdatedAt.UTC()}
}

type usageView struct {
	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	CacheReadTokens  int64 `json:"cache_read_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	ReasoningTokens  int64 `json:"reasoning_tokens"`
}

type toolCallView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type interceptionView struct {
	ID             string         `json:"id"`
	UserID         string         `json:"user_id"`
	APIKeyID       string         `json:"api_key_id"`
	Provider       string         `json:"provider"`
	ProviderType   string         `json:"provider_type"`
	Endpoint       string         `json:"endpoint"`
	Model          string         `json:"model"`
	Streaming      bool           `json:"streaming"`
	Client         string         `json:"client"`
	UserAgent      string         `json:"user_agent"`
	ChatID         string         `json:"chat_id"`
	SubchatID      string         `json:"subchat_id"`
	Source         string         `json:"source"`
	CredentialKind string         `json:"credential_kind"`
	CredentialHint string         `json:"credential_hint"`
	Status         int            `json:"status"`
	Error          string         `json:"error"`
	StartedAt      time.Time      `json:"started_at"`
	EndedAt        *time.Time     `json:"ended_at"`
	TTFBMillis     float64        `json:"ttfb_ms"`
	DurationMillis float64        `json:"duration_ms"`
	Usage          usageView      `json:"usage"`
	Prompt         string         `json:"prompt"`
	ToolCalls      []toolCallView `json:"tool_calls"`
	Reasoning      string         `json:"reasoning"`
	CostUSD        *float64       `json:"cost_usd"`
}

func viewInterception(in store.Interception) interceptionView {
	v := interceptionView{
		ID:             in.ID,
		UserID:         in.UserID,
		APIKeyID:       in.APIKeyID,
		Provider:       in.ProviderName,
		ProviderType:   string(in.ProviderType),
		Endpoint:       in.Endpoint,
		Model:          in.Model,
		Streaming:      in.Streaming,
		Client:         in.Client,
		UserAgent:      in.UserAgent,
		ChatID:         in.ChatID,
		SubchatID:      in.SubchatID,
		Source:         in.Source,
		CredentialKind: in.CredentialKind,
		CredentialHint: in.CredentialHint,
		Status:         in.Status,
		Error:          in.Error,
		StartedAt:      in.StartedAt.UTC(),
		TTFBMillis:     millis(in.TTFB),
		Usage: usageView{
			InputTokens:      in.Usage.Input,
			OutputTokens:     in.Usage.Output,
			CacheReadTokens:  in.Usage.CacheRead,
			CacheWriteTokens: in.Usage.CacheWrite,
			ReasoningTokens:  in.Usage.Reasoning,
		},
		Prompt:    in.Prompt,
		ToolCalls: make([]toolCallView, 0, len(in.ToolCalls)),
		Reasoning: in.Reasoning,
	}
	if !in.EndedAt.IsZero() {
		end := in.EndedAt.UTC()
		v.EndedAt = &end
		v.DurationMillis = millis(in.EndedAt.Sub(in.StartedAt))
	}
	for _, tc := range in.ToolCalls {
		v.ToolCalls = append(v.ToolCalls, toolCallView(tc))
	}
	if in.CostMicros != nil {
		c := microsToUSD(*in.CostMicros)
		v.CostUSD = &c
	}
	return v
}

type usageRowView struct {
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

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func microsToUSD(m int64) float64 { return float64(m) / 1e6 }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
