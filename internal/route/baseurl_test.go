package route

import (
	"fmt"
	"testing"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// TestDirectBaseURL: a provider's base_url is what its own SDK takes; the
// older spellings (an OpenAI bare host, an Anthropic base with "/v1") are
// mapped to it.
func TestDirectBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ        store.ProviderType
		base, want string
	}{
		{store.ProviderOpenAI, "https://api.openai.com/v1", "https://api.openai.com/v1"},
		{store.ProviderOpenAI, "https://api.openai.com/v1/", "https://api.openai.com/v1"},
		{store.ProviderOpenAI, "https://api.openai.com", "https://api.openai.com/v1"},
		{store.ProviderOpenAICompatible, "http://host/v1beta/openai", "http://host/v1beta/openai"},
		{store.ProviderOpenAICompatible, "http://host/v1beta/openai/", "http://host/v1beta/openai"},
		{store.ProviderOpenAICompatible, "http://host:8080/api/openai/v1", "http://host:8080/api/openai/v1"},
		{store.ProviderAnthropic, "https://api.anthropic.com", "https://api.anthropic.com"},
		{store.ProviderAnthropic, "https://api.anthropic.com/v1", "https://api.anthropic.com"},
		{store.ProviderAnthropic, "http://proxy/anthropic/", "http://proxy/anthropic"},
	}
	for _, tt := range tests {
		if got := directBaseURL(tt.typ, tt.base); got != tt.want {
			t.Errorf("directBaseURL(%s, %q) = %q, want %q", tt.typ, tt.base, got, tt.want)
		}
	}
}

// TestBaseURLWithPath calls a provider whose base URL has a path that does
// not end in /v1 (Gemini's OpenAI endpoint has this shape) in gateway and
// direct mode: both must reach the URL the provider's SDK would call.
func TestBaseURLWithPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ      store.ProviderType
		fixture  string
		basePath string
		wantPath string
	}{
		{store.ProviderOpenAICompatible, "openai-chat/blocking-plain", "/v1beta/openai", "/v1beta/openai/chat/completions"},
		{store.ProviderOpenAI, "openai-chat/blocking-plain", "/v1beta/openai/", "/v1beta/openai/chat/completions"},
		{store.ProviderAnthropic, "anthropic-messages/blocking-plain", "/anthropic", "/anthropic/v1/messages"},
	}
	for _, tt := range tests {
		for _, direct := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s%s/direct=%t", tt.typ, tt.basePath, direct), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				f := llmtest.Load(t, tt.fixture)
				up := llmtest.NewServer(t, f.Response())
				p := e.addProvider("prov", tt.typ, up.URL+tt.basePath)
				mc := e.addModel(p, "m", nil)
				res, err := e.router(direct, up.Client()).Model(t.Context(), Request{
					UserID: e.user.ID, ModelConfigID: mc.ID, APIKeyID: e.keyID,
				}, Options{})
				if err != nil {
					t.Fatalf("Model: %v", err)
				}
				if _, err := res.Model.Generate(t.Context(), callHello()); err != nil {
					t.Fatalf("Generate: %v", err)
				}
				reqs := up.Requests()
				if len(reqs) != 1 || reqs[0].Path != tt.wantPath {
					t.Fatalf("upstream requests %+v, want one to %s", reqs, tt.wantPath)
				}
			})
		}
	}
}
