package gateway

import (
	"net/http"
	"testing"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// TestHeaderPolicy states the whole header policy: what reaches the
// provider, what is replaced, what is removed, and what the client gets
// back. A want value of "" means the header must be absent.
func TestHeaderPolicy(t *testing.T) {
	t.Parallel()
	const chatdKey = "{chatd}" // replaced by the env's real key
	tests := []struct {
		name     string
		typ      store.ProviderType
		send     map[string]string
		upstream map[string]string
	}{
		{"user agent kept", store.ProviderOpenAI,
			map[string]string{"Authorization": "Bearer " + chatdKey, "User-Agent": "OpenAI/Go 3.50.0"},
			map[string]string{"User-Agent": "OpenAI/Go 3.50.0"}},
		{"provider headers kept", store.ProviderAnthropic,
			map[string]string{"X-Api-Key": chatdKey, "Anthropic-Version": "2023-06-01", "Anthropic-Beta": "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14", "X-Stainless-Lang": "go", "X-Unknown-Vendor": "v"},
			map[string]string{"Anthropic-Version": "2023-06-01", "Anthropic-Beta": "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14", "X-Stainless-Lang": "go", "X-Unknown-Vendor": "v"}},
		{"openai beta kept", store.ProviderOpenAI,
			map[string]string{"Authorization": "Bearer " + chatdKey, "OpenAI-Beta": "responses=v1", "Openai-Organization": "org-1"},
			map[string]string{"Openai-Beta": "responses=v1", "Openai-Organization": "org-1"}},
		{"central openai replaces bearer", store.ProviderOpenAI,
			map[string]string{"Authorization": "Bearer " + chatdKey},
			map[string]string{"Authorization": "Bearer " + centralKey, "X-Api-Key": ""}},
		{"central openai from x-api-key", store.ProviderOpenAI,
			map[string]string{"X-Api-Key": chatdKey},
			map[string]string{"Authorization": "Bearer " + centralKey, "X-Api-Key": ""}},
		{"central anthropic from bearer", store.ProviderAnthropic,
			map[string]string{"Authorization": "Bearer " + chatdKey, "Anthropic-Version": "2023-06-01"},
			map[string]string{"X-Api-Key": centralKey, "Authorization": ""}},
		{"central anthropic from x-api-key", store.ProviderAnthropic,
			map[string]string{"X-Api-Key": chatdKey},
			map[string]string{"X-Api-Key": centralKey, "Authorization": ""}},
		{"byok openai keeps bearer", store.ProviderOpenAI,
			map[string]string{GovernanceHeader: chatdKey, "Authorization": "Bearer " + byokKey},
			map[string]string{"Authorization": "Bearer " + byokKey, GovernanceHeader: ""}},
		{"byok anthropic keeps x-api-key", store.ProviderAnthropic,
			map[string]string{GovernanceHeader: chatdKey, "X-Api-Key": byokKey},
			map[string]string{"X-Api-Key": byokKey, "Authorization": "", GovernanceHeader: ""}},
		{"byok anthropic keeps oauth bearer", store.ProviderAnthropic,
			map[string]string{GovernanceHeader: chatdKey, "Authorization": "Bearer " + byokKey},
			map[string]string{"Authorization": "Bearer " + byokKey, "X-Api-Key": ""}},
		{"cookies removed", store.ProviderOpenAI,
			map[string]string{"Authorization": "Bearer " + chatdKey, "Cookie": "session=1"},
			map[string]string{"Cookie": ""}},
		{"hop-by-hop removed", store.ProviderOpenAI,
			map[string]string{"Authorization": "Bearer " + chatdKey, "Connection": "X-Hop", "X-Hop": "1", "Keep-Alive": "timeout=5", "Proxy-Authorization": "Basic eA==", "Te": "gzip"},
			map[string]string{"X-Hop": "", "Keep-Alive": "", "Proxy-Authorization": "", "Te": ""}},
		{"forwarding headers removed", store.ProviderOpenAI,
			map[string]string{"Authorization": "Bearer " + chatdKey, "Forwarded": "for=10.0.0.1", "X-Forwarded-For": "10.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "chatd.example"},
			map[string]string{"Forwarded": "", "X-Forwarded-For": "", "X-Forwarded-Proto": "", "X-Forwarded-Host": ""}},
		{"chatd headers removed", store.ProviderOpenAI,
			map[string]string{"Authorization": "Bearer " + chatdKey, "X-Chatd-Chat-Id": "c1", "X-Chatd-Subchat-Id": "s1", "X-Chatd-Other": "x"},
			map[string]string{"X-Chatd-Chat-Id": "", "X-Chatd-Subchat-Id": "", "X-Chatd-Other": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, path := "openai-chat/blocking-plain", "/v1/chat/completions"
			if tt.typ == store.ProviderAnthropic {
				api, path = "anthropic-messages/blocking-plain", "/v1/messages"
			}
			f := llmtest.Load(t, api)
			r := f.Response()
			r.Header.Add("Set-Cookie", "affinity=abc")
			r.Header.Set("X-Request-Id", "req_1")
			up := llmtest.NewServer(t, r)
			e := newEnv(t, envOptions{})
			e.addProvider("p", tt.typ, up.URL)
			hdr := map[string]string{}
			for k, v := range tt.send {
				if v == chatdKey {
					v = e.key
				} else if v == "Bearer "+chatdKey {
					v = "Bearer " + e.key
				}
				hdr[k] = v
			}
			resp, body := e.do(http.MethodPost, "/gateway/p"+path+"?beta=true", f.Request, hdr)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := up.Requests()[0]
			for k, want := range tt.upstream {
				if v := got.Header.Get(k); v != want {
					t.Errorf("upstream %s = %q, want %q", k, v, want)
				}
			}
			if got.RawQuery != "beta=true" {
				t.Errorf("upstream query = %q, want beta=true", got.RawQuery)
			}
			if got.Path != path {
				t.Errorf("upstream path = %q, want %q", got.Path, path)
			}
			if v := resp.Header.Get("Set-Cookie"); v != "" {
				t.Errorf("client got Set-Cookie %q", v)
			}
			if v := resp.Header.Get("X-Request-Id"); v != "req_1" {
				t.Errorf("client X-Request-Id = %q, want req_1", v)
			}
			if resp.Header.Get(InterceptionHeader) == "" {
				t.Errorf("no %s", InterceptionHeader)
			}
			in := e.oneRecord()
			if hdr["X-Chatd-Chat-Id"] != "" && (in.ChatID != "c1" || in.SubchatID != "s1") {
				t.Errorf("record chat %q subchat %q", in.ChatID, in.SubchatID)
			}
			wantKind := store.CredentialCentral
			if _, ok := tt.send[GovernanceHeader]; ok {
				wantKind = store.CredentialBYOK
			}
			if in.CredentialKind != wantKind {
				t.Errorf("credential kind = %q, want %q", in.CredentialKind, wantKind)
			}
		})
	}
}

// TestUpstreamURL: base_url is what the provider's own SDK takes, and
// the gateway calls what that SDK would call.
func TestUpstreamURL(t *testing.T) {
	t.Parallel()
	const (
		oa  = store.ProviderOpenAI
		oac = store.ProviderOpenAICompatible
		an  = store.ProviderAnthropic
	)
	tests := []struct {
		name  string
		typ   store.ProviderType
		base  string
		path  string
		query string
		want  string
	}{
		{"openai sdk base", oa, "https://api.openai.com/v1", "/v1/chat/completions", "", "https://api.openai.com/v1/chat/completions"},
		{"trailing slash", oa, "https://api.openai.com/v1/", "/v1/responses", "", "https://api.openai.com/v1/responses"},
		{"bare host gets v1", oa, "https://api.openai.com", "/v1/chat/completions", "", "https://api.openai.com/v1/chat/completions"},
		{"gemini shape", oac, "http://host/v1beta/openai", "/v1/chat/completions", "", "http://host/v1beta/openai/chat/completions"},
		{"gemini shape models", oac, "http://host/v1beta/openai/", "/v1/models/gemini-2.5-pro", "", "http://host/v1beta/openai/models/gemini-2.5-pro"},
		{"path prefix", oac, "http://llm.internal/openai", "/v1/models", "", "http://llm.internal/openai/models"},
		{"anthropic", an, "https://api.anthropic.com", "/v1/messages", "beta=true", "https://api.anthropic.com/v1/messages?beta=true"},
		{"anthropic legacy v1", an, "https://api.anthropic.com/v1/", "/v1/messages/count_tokens", "", "https://api.anthropic.com/v1/messages/count_tokens"},
		{"anthropic prefix", an, "http://proxy.internal/anthropic", "/v1/models", "", "http://proxy.internal/anthropic/v1/models"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := upstreamURL(tt.typ, tt.base, tt.path, tt.query); got != tt.want {
				t.Fatalf("upstreamURL = %q, want %q", got, tt.want)
			}
		})
	}
}
