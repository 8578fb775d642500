package api

import (
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// The views turn store rows into the JSON shapes of docs/api.md (package
// wire). Store types carry secrets and hashes, so they are never encoded
// directly; times are written in UTC.

func viewUser(u store.User) wire.User {
	return wire.User{
		ID:          u.ID,
		Username:    u.Username,
		Role:        string(u.Role),
		Suspended:   u.Suspended,
		HasPassword: u.PasswordHash != "",
		CreatedAt:   u.CreatedAt.UTC(),
		UpdatedAt:   u.UpdatedAt.UTC(),
	}
}

func viewAPIKey(k store.APIKey) wire.APIKey {
	return wire.APIKey{
		ID:         k.ID,
		Name:       k.Name,
		Kind:       string(k.Kind),
		CreatedAt:  k.CreatedAt.UTC(),
		ExpiresAt:  utcPtr(k.ExpiresAt),
		LastUsedAt: utcPtr(k.LastUsedAt),
		RevokedAt:  utcPtr(k.RevokedAt),
	}
}

func viewProvider(p store.Provider) wire.Provider {
	return wire.Provider{
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

// storePrices is the inverse of the prices in viewModel.
func storePrices(p wire.Prices) store.Prices {
	return store.Prices{Input: p.Input, Output: p.Output, CacheRead: p.CacheRead, CacheWrite: p.CacheWrite}
}

func viewModel(m store.ModelConfig, p store.Provider) wire.Model {
	return wire.Model{
		ID:           m.ID,
		Provider:     p.Name,
		ProviderType: string(p.Type),
		Model:        m.Model,
		DisplayName:  m.DisplayName,
		ContextLimit: m.ContextLimit,
		Prices:       wire.Prices{Input: m.Prices.Input, Output: m.Prices.Output, CacheRead: m.Prices.CacheRead, CacheWrite: m.Prices.CacheWrite},
		Enabled:      m.Enabled,
		Default:      m.IsDefault,

		UseResponsesAPI:            m.UseResponsesAPI,
		CompactionThresholdPercent: m.CompactionThresholdPercent,
		CreatedAt:                  m.CreatedAt.UTC(),
		UpdatedAt:                  m.UpdatedAt.UTC(),
	}
}

func viewProviderKey(k store.UserProviderKey, providerName string) wire.ProviderKey {
	return wire.ProviderKey{Provider: providerName, KeyHint: k.KeyHint, CreatedAt: k.CreatedAt.UTC(), UpdatedAt: k.UpdatedAt.UTC()}
}

func viewInterception(in store.Interception) wire.Interception {
	v := wire.Interception{
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
		Usage: wire.Usage{
			InputTokens:      in.Usage.Input,
			OutputTokens:     in.Usage.Output,
			CacheReadTokens:  in.Usage.CacheRead,
			CacheWriteTokens: in.Usage.CacheWrite,
			ReasoningTokens:  in.Usage.Reasoning,
		},
		Prompt:    in.Prompt,
		ToolCalls: make([]wire.ToolCall, 0, len(in.ToolCalls)),
		Reasoning: in.Reasoning,
	}
	if !in.EndedAt.IsZero() {
		end := in.EndedAt.UTC()
		v.EndedAt = &end
		v.DurationMillis = millis(in.EndedAt.Sub(in.StartedAt))
	}
	for _, tc := range in.ToolCalls {
		v.ToolCalls = append(v.ToolCalls, wire.ToolCall(tc))
	}
	if in.CostMicros != nil {
		c := microsToUSD(*in.CostMicros)
		v.CostUSD = &c
	}
	return v
}

// viewUsageRow returns one row of GET /gateway/usage; username names
// row.UserID.
func viewUsageRow(row store.UsageRow, username string) wire.UsageRow {
	return wire.UsageRow{
		Day:              row.Day,
		UserID:           row.UserID,
		Username:         username,
		Model:            row.Model,
		Calls:            row.Calls,
		InputTokens:      row.Usage.Input,
		OutputTokens:     row.Usage.Output,
		CacheReadTokens:  row.Usage.CacheRead,
		CacheWriteTokens: row.Usage.CacheWrite,
		ReasoningTokens:  row.Usage.Reasoning,
		CostUSD:          microsToUSD(row.CostMicros),
	}
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
