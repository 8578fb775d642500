package gateway

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

func TestJSONTooDeep(t *testing.T) {
	t.Parallel()
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"empty", ``, false},
		{"flat", `{"a":1,"b":[1,2,3]}`, false},
		{"at the limit", nest(maxJSONDepth), false},
		{"over the limit", nest(maxJSONDepth + 1), true},
		{"objects", strings.Repeat(`{"a":`, maxJSONDepth+1), true},
		{"brackets in strings", `["` + strings.Repeat("[", 2000) + `"]`, false},
		{"escaped quote in string", `["\"` + strings.Repeat("[", 2000) + `"]`, false},
		{"escaped backslash ends string", `["\\",` + strings.Repeat("[", 2000), true},
		{"unterminated string", `["` + strings.Repeat("[", 2000), false},
		{"siblings do not add up", strings.Repeat(`[[]],`, 2000), false},
		{"malformed closers", strings.Repeat("]", 2000) + nest(10), false},
	}
	for _, tt := range tests {
		if got := jsonTooDeep([]byte(tt.in)); got != tt.want {
			t.Errorf("%s: jsonTooDeep = %t, want %t", tt.name, got, tt.want)
		}
	}
}

// TestDeepRequestBody sends a body of 30 MB of '[' through the handler.
// gjson's validator recursed once per level and overflowed the goroutine
// stack, killing the process; the gateway must refuse it with a 400 in
// the provider's shape and call no provider.
func TestDeepRequestBody(t *testing.T) {
	t.Parallel()
	deep := bytes.Repeat([]byte("["), 30<<20)
	tests := []struct {
		name      string
		typ       store.ProviderType
		path      string
		body      []byte
		anthropic bool
	}{
		{"chat completions", store.ProviderOpenAI, "/v1/chat/completions", deep, false},
		{"responses, inside an object", store.ProviderOpenAI, "/v1/responses", append([]byte(`{"model":"m","input":`), deep...), false},
		{"messages", store.ProviderAnthropic, "/v1/messages", append([]byte(`{"model":"m","messages":[{"role":"user","content":`), deep...), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := llmtest.NewServer(t) // any call fails the test
			e := newEnv(t, envOptions{})
			e.addProvider("p", tt.typ, up.URL)
			resp, b := e.do(http.MethodPost, "/gateway/p"+tt.path, tt.body, e.bearer())
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body %.200s", resp.StatusCode, b)
			}
			checkErrorShape(t, b, tt.anthropic)
			if msg, _ := errorBody(t, b); !strings.Contains(msg, "deeper than 512") {
				t.Fatalf("message = %q", msg)
			}
		})
	}
}

// TestDeepResponse: a provider answer nested deeper than maxJSONDepth is
// relayed byte for byte but not parsed (the blocking and streamed Chat
// Completions cases overflowed the stack in gjson), and the skip is
// logged. What else the stream says is still read.
func TestDeepResponse(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("[", 15<<20)
	deep := strings.Repeat(`{"a":`, maxJSONDepth+100)
	chatStream := llmtest.Load(t, "openai-chat/stream-plain")
	anthStream := llmtest.Load(t, "anthropic-messages/stream-plain")
	respStream := llmtest.Load(t, "openai-responses/stream-plain")
	tests := []struct {
		name      string
		typ       store.ProviderType
		fixture   llmtest.Fixture
		body      []byte
		ctype     string
		wantUsage bool // the tokens of the fixture are still read
	}{
		{"chat blocking", store.ProviderOpenAI, llmtest.Load(t, "openai-chat/blocking-plain"),
			[]byte(`{"id":"x","choices":` + huge), "application/json", false},
		{"chat stream", store.ProviderOpenAI, chatStream,
			append([]byte("data: "+huge+"\n\n"), chatStream.Body...), "text/event-stream", true},
		{"anthropic blocking", store.ProviderAnthropic, llmtest.Load(t, "anthropic-messages/blocking-plain"),
			[]byte(`{"type":"message","content":` + deep), "application/json", false},
		{"anthropic stream", store.ProviderAnthropic, anthStream,
			append([]byte("event: message_delta\ndata: "+deep+"\n\n"), anthStream.Body...), "text/event-stream", true},
		{"responses stream", store.ProviderOpenAI, respStream,
			append([]byte("event: response.output_item.done\ndata: "+deep+"\n\n"), respStream.Body...), "text/event-stream", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := llmtest.NewServer(t, llmtest.Response{Header: http.Header{"Content-Type": {tt.ctype}}, Body: tt.body})
			e := newEnv(t, envOptions{})
			e.addProvider("p", tt.typ, up.URL)
			resp, b := e.do(http.MethodPost, "/gateway/p"+tt.fixture.Path(), tt.fixture.Request, e.bearer())
			if resp.StatusCode != http.StatusOK || !bytes.Equal(b, tt.body) {
				t.Fatalf("status %d, client got %d bytes, want the provider's %d", resp.StatusCode, len(b), len(tt.body))
			}
			in := e.oneRecord()
			if tt.wantUsage && in.Usage.Output != tt.fixture.Expect.OutputTokens {
				t.Fatalf("usage = %+v, want the fixture's", in.Usage)
			}
			if !strings.Contains(e.logs.String(), "too deeply") {
				t.Fatalf("skip not logged:\n%s", e.logs.String())
			}
		})
	}
}
