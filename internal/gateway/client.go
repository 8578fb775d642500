package gateway

import "strings"

// Client names recorded on interceptions and used as a metric label, so
// they are a small fixed set.
const (
	ClientClaudeCode   = "claude-code"
	ClientCodex        = "codex"
	ClientOpenAISDK    = "openai-sdk"
	ClientAnthropicSDK = "anthropic-sdk"
	ClientFantasy      = "fantasy"
	ClientChatd        = "chatd"
	ClientOther        = "other"
	ClientUnknown      = "unknown"
)

// guessClient names the client from its User-Agent. Order matters: agent
// tools embed SDK names in their agents.
func guessClient(ua string) string {
	if ua == "" {
		return ClientUnknown
	}
	l := strings.ToLower(ua)
	switch {
	case strings.HasPrefix(l, "chatd/") || strings.Contains(l, " chatd/"):
		return ClientChatd
	case strings.Contains(l, "claude-cli") || strings.Contains(l, "claude-code"):
		return ClientClaudeCode
	case strings.Contains(l, "codex"):
		return ClientCodex
	case strings.Contains(l, "charm-fantasy") || strings.Contains(l, "fantasy/"):
		return ClientFantasy
	case strings.HasPrefix(l, "openai/"):
		return ClientOpenAISDK
	case strings.HasPrefix(l, "anthropic/"):
		return ClientAnthropicSDK
	}
	return ClientOther
}
