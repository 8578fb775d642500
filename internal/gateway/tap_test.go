package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// TestStreamErrorEvents: a provider that ends a stream with an error event
// (and no final event) was recorded as "ended before its final event",
// losing its message, and the client's stream was broken. The error event
// is terminal: the client gets the stream as sent, ending cleanly, and the
// record keeps the message, scrubbed of keys.
func TestStreamErrorEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		typ     store.ProviderType
		fixture string
		keep    int // events of the fixture sent before the error
		errEv   string
		want    string
	}{
		{"anthropic error", store.ProviderAnthropic, "anthropic-messages/stream-plain", 3,
			"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded, key " + centralKey + "\"}}\n\n",
			"provider stream error: overloaded_error: Overloaded, key [REDACTED]"},
		{"responses error", store.ProviderOpenAI, "openai-responses/stream-plain", 2,
			"event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"The server had an error\",\"param\":null,\"sequence_number\":3}\n\n",
			"provider stream error: server_error: The server had an error"},
		{"responses failed", store.ProviderOpenAI, "openai-responses/stream-plain", 2,
			"event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_1\",\"status\":\"failed\",\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"Slow down\"},\"output\":[],\"usage\":null}}\n\n",
			"provider stream error: rate_limit_exceeded: Slow down"},
		{"responses error, no event line", store.ProviderOpenAI, "openai-responses/stream-plain", 2,
			"data: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"boom\"}\n\n",
			"provider stream error: server_error: boom"},
		{"chat error object", store.ProviderOpenAI, "openai-chat/stream-plain", 2,
			"data: {\"error\":{\"message\":\"The model is overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
			"provider stream error: server_error: The model is overloaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := llmtest.Load(t, tt.fixture)
			r := f.Response()
			var body []byte
			for _, ev := range llmtest.SplitEvents(f.Body)[:tt.keep] {
				body = append(body, ev...)
			}
			body = append(body, tt.errEv...)
			r.Body = body
			up := llmtest.NewServer(t, r)
			e := newEnv(t, envOptions{})
			e.addProvider("p", tt.typ, up.URL)
			resp := startStream(t, e, t.Context(), f)
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("client stream broke: %v", err)
			}
			if string(got) != string(body) {
				t.Fatalf("client got\n%s\nwant\n%s", got, body)
			}
			in := e.oneRecord()
			if in.Status != http.StatusOK || in.Error != tt.want {
				t.Fatalf("record status %d, error %q; want 200, %q", in.Status, in.Error, tt.want)
			}
			if strings.Contains(in.Error, centralKey) {
				t.Fatal("record error holds the central key")
			}
		})
	}
}
