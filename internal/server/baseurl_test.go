package server

import (
	"testing"

	"github.com/chatd/chatd/internal/store"
)

func TestBaseURLWarning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  store.ProviderType
		base string
		warn bool
	}{
		{store.ProviderOpenAI, "https://api.openai.com/v1", false},
		{store.ProviderOpenAI, "https://api.openai.com/v1/", false},
		{store.ProviderOpenAI, "https://api.openai.com", false},
		{store.ProviderOpenAICompatible, "http://localhost:11434", false},
		{store.ProviderOpenAICompatible, "https://api.groq.com/openai", true},
		{store.ProviderOpenAICompatible, "https://openrouter.ai/api", true},
		{store.ProviderOpenAICompatible, "https://generativelanguage.googleapis.com/v1beta/openai", true},
		{store.ProviderAnthropic, "https://api.anthropic.com", false},
		{store.ProviderAnthropic, "https://proxy.example/anthropic", false},
	}
	for _, tt := range tests {
		if got := baseURLWarning(store.Provider{Type: tt.typ, BaseURL: tt.base}) != ""; got != tt.warn {
			t.Errorf("%s %s: warning %t, want %t", tt.typ, tt.base, got, tt.warn)
		}
	}
}
