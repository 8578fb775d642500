package chatdebug

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRedactHeaders(t *testing.T) {
	t.Parallel()
	rd := redactor{secrets: []string{"sk-known-secret-123"}}
	tests := []struct {
		name, value, want string
	}{
		{"Authorization", "Bearer abc", Redacted},
		{"Proxy-Authorization", "Basic abc", Redacted},
		{"X-Api-Key", "sk-ant-1", Redacted},
		{"Api-Key", "azure", Redacted},
		{"X-Chatd-Governance-Token", "delegated", Redacted},
		{"Cookie", "session=1", Redacted},
		{"Set-Cookie", "session=1", Redacted},
		{"X-Goog-Api-Key", "g", Redacted},
		{"X-Custom-Secret", "s", Redacted},
		{"X-Session-Token", "t", Redacted},
		{"X-Db-Password", "p", Redacted},
		{"X-Credential-Id", "c", Redacted},
		{"Content-Type", "application/json", "application/json"},
		{"Anthropic-Version", "2023-06-01", "2023-06-01"},
		{"X-Ratelimit-Remaining-Tokens", "1000", "1000"},
		{"X-Ratelimit-Limit-Requests", "50", "50"},
		{"Anthropic-Ratelimit-Input-Tokens-Remaining", "900", "900"},
		{"Anthropic-Ratelimit-Tokens-Reset", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"Retry-After", "3", "3"},
		{"X-Echo", "saw sk-known-secret-123 here", "saw " + Redacted + " here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			h.Set(tt.name, tt.value)
			got := rd.headers(h).Get(tt.name)
			if got != tt.want {
				t.Fatalf("%s: got %q, want %q", tt.name, got, tt.want)
			}
			if h.Get(tt.name) != tt.value {
				t.Fatalf("input header changed")
			}
		})
	}
}

func TestSensitiveKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  string
		want bool
	}{
		{"api_key", true},
		{"apiKey", true},
		{"API_KEY", true},
		{"client_secret", true},
		{"access_token", true},
		{"refresh_token", true},
		{"next_page_token", true},
		{"Password", true},
		{"credentials", true},
		{"Authorization", true},
		{"auth", true},
		{"input_tokens", false},
		{"output_tokens", false},
		{"prompt_tokens", false},
		{"completion_tokens", false},
		{"total_tokens", false},
		{"cached_tokens", false},
		{"reasoning_tokens", false},
		{"cache_read_input_tokens", false},
		{"cache_creation_input_tokens", false},
		{"max_tokens", false},
		{"max_output_tokens", false},
		{"max_completion_tokens", false},
		{"prompt_tokens_details", false},
		{"completion_tokens_details", false},
		{"maxTokens", false},
		{"author", false},
		{"content", false},
		{"model", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			if got := sensitiveKey(tt.key); got != tt.want {
				t.Fatalf("sensitiveKey(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestRedactBody(t *testing.T) {
	t.Parallel()
	rd := redactor{secrets: []string{"sk-known-secret-123"}}
	tests := []struct {
		name        string
		contentType string
		body        string
		extra       int64
		want        string
	}{
		{
			name:        "json nested keys",
			contentType: "application/json",
			body:        `{"model":"m","auth":{"api_key":"k1","nested":[{"Secret":"s"},{"x":{"PASSWORD":"p"}}]},"usage":{"input_tokens":12,"output_tokens":3,"cache_read_input_tokens":5}}`,
			want:        `{"auth":"[REDACTED]","model":"m","usage":{"cache_read_input_tokens":5,"input_tokens":12,"output_tokens":3}}`,
		},
		{
			name:        "json deep array",
			contentType: "application/json; charset=utf-8",
			body:        `[{"a":[{"b":{"client_secret":"x","max_tokens":1024}}]}]`,
			want:        `[{"a":[{"b":{"client_secret":"[REDACTED]","max_tokens":1024}}]}]`,
		},
		{
			name:        "json numbers kept exactly",
			contentType: "application/json",
			body:        `{"n":12345678901234567890,"f":0.1}`,
			want:        `{"f":0.1,"n":12345678901234567890}`,
		},
		{
			name:        "known secret in a value",
			contentType: "application/json",
			body:        `{"error":{"message":"Incorrect API key provided: sk-known-secret-123."}}`,
			want:        `{"error":{"message":"Incorrect API key provided: [REDACTED]."}}`,
		},
		{
			name: "json sniffed without content type",
			body: `{"token":"t"}`,
			want: `{"token":"[REDACTED]"}`,
		},
		{
			name:        "ndjson",
			contentType: "application/x-ndjson",
			body:        "{\"a\":1,\"key\":\"k\"}\n{\"b\":2,\"output_tokens\":7}\nnot json\n",
			want:        "{\"a\":1,\"key\":\"[REDACTED]\"}\n{\"b\":2,\"output_tokens\":7}\n[non-JSON body of 8 bytes omitted]\n",
		},
		{
			name:        "sse",
			contentType: "text/event-stream",
			body:        "event: message_start\ndata: {\"type\":\"message_start\",\"usage\":{\"input_tokens\":9},\"api_key\":\"k\"}\n\n: keepalive sk-known-secret-123\n\ndata: hello sk-known-secret-123\n\ndata: [DONE]\n\n",
			want:        "event: message_start\ndata: {\"api_key\":\"[REDACTED]\",\"type\":\"message_start\",\"usage\":{\"input_tokens\":9}}\n\n:\n\ndata: [non-JSON body of 25 bytes omitted]\n\ndata: [DONE]\n\n",
		},
		{
			name:        "sse done only exactly",
			contentType: "text/event-stream",
			body:        "data: [DONE] secret\n\n",
			want:        "data: [non-JSON body of 13 bytes omitted]\n\n",
		},
		{
			name:        "plain text replaced",
			contentType: "text/plain",
			body:        "upstream says sk-known-secret-123 is wrong",
			want:        "[non-JSON body of 42 bytes omitted]",
		},
		{
			name:        "html replaced",
			contentType: "text/html",
			body:        "<html>502 Bad Gateway</html>",
			want:        "[non-JSON body of 28 bytes omitted]",
		},
		{
			name:        "cut json replaced",
			contentType: "application/json",
			body:        `{"a":"b","c`,
			extra:       100,
			want:        "[non-JSON body of 11 bytes omitted]\n[100 more bytes not captured]",
		},
		{
			name: "empty",
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := rd.body(tt.contentType, []byte(tt.body), tt.extra)
			if got != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	rd := redactor{secrets: []string{"sk-known/secret+123"}}
	tests := []struct {
		name, in, want string
	}{
		{"plain", "https://api.openai.com/v1/chat/completions", "https://api.openai.com/v1/chat/completions"},
		{"beta query kept", "https://api.anthropic.com/v1/messages?beta=true", "https://api.anthropic.com/v1/messages?beta=true"},
		{"key query", "https://g.example/v1/models?key=abc&alt=sse", "https://g.example/v1/models?alt=sse&key=%5BREDACTED%5D"},
		{"user info", "https://user:pass@example.com/x", "https://%5BREDACTED%5D@example.com/x"},
		{"secret in query value", "https://example.com/x?q=" + url.QueryEscape("sk-known/secret+123"), "https://example.com/x?q=%5BREDACTED%5D"},
		{"secret in path", "https://example.com/keys/sk-known/secret+123/x", "https://example.com/keys/" + Redacted + "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tt.in)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got := rd.url(u)
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "sk-known") {
				t.Fatalf("secret left in %q", got)
			}
		})
	}
}
