package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

func TestWithIncludeUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string // want "": no edit
	}{
		{"absent", `{"model":"m","stream":true}`, `{"stream_options":{"include_usage":true},"model":"m","stream":true}`},
		{"absent, leading space", ` { "model":"m","stream":true}`, ` {"stream_options":{"include_usage":true}, "model":"m","stream":true}`},
		{"null", `{"model":"m","stream":true,"stream_options":null}`, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{"empty object", `{"model":"m","stream_options":{ },"stream":true}`, `{"model":"m","stream_options":{"include_usage":true },"stream":true}`},
		{"other option", `{"model":"m","stream":true,"stream_options":{"include_obfuscation":false}}`,
			`{"model":"m","stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false}}`},
		{"false", `{"model":"m","stream":true,"stream_options":{"include_usage":false}}`, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{"null flag", `{"model":"m","stream":true,"stream_options":{"include_usage": null}}`, `{"model":"m","stream":true,"stream_options":{"include_usage": true}}`},
		{"last duplicate is the one read", `{"model":"m","stream":true,"stream_options":{"include_usage":true},"stream_options":{}}`,
			`{"model":"m","stream":true,"stream_options":{"include_usage":true},"stream_options":{"include_usage":true}}`},
		{"asked", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, ``},
		{"asked, last duplicate", `{"model":"m","stream":true,"stream_options":{"include_usage":false,"include_usage":true}}`, ``},
		{"wrong type left to the provider", `{"model":"m","stream":true,"stream_options":"yes"}`, ``},
		{"wrong flag type left to the provider", `{"model":"m","stream":true,"stream_options":{"include_usage":1}}`, ``},
		{"escaped key", `{"model":"m","stream":true,"stream_\u006fptions":{}}`, `{"model":"m","stream":true,"stream_\u006fptions":{"include_usage":true}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ri, gerr := parseRequest(apiOpenAIChat, []byte(tt.in))
			if gerr != nil {
				t.Fatal(gerr)
			}
			if got := string(ri.usageBody); got != tt.want {
				t.Fatalf("usage body = %s\nwant %s", got, tt.want)
			}
			if tt.want == "" {
				return
			}
			// The provider, reading the last member as encoding/json does,
			// sees include_usage true and everything else unchanged.
			var before, after map[string]any
			if err := json.Unmarshal([]byte(tt.in), &before); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(ri.usageBody, &after); err != nil {
				t.Fatalf("edited body is not JSON: %v", err)
			}
			so, _ := after["stream_options"].(map[string]any)
			if so["include_usage"] != true {
				t.Fatalf("stream_options = %v", after["stream_options"])
			}
			delete(before, "stream_options")
			delete(after, "stream_options")
			if b1, b2 := mustJSON(t, before), mustJSON(t, after); b1 != b2 {
				t.Fatalf("other members changed: %s -> %s", b1, b2)
			}
		})
	}
	// Not streamed, or another API: never edited.
	for _, c := range []struct {
		a    api
		body string
	}{{apiOpenAIChat, `{"model":"m"}`}, {apiOpenAIResponses, `{"model":"m","stream":true}`}, {apiAnthropicMessages, `{"model":"m","stream":true}`}} {
		if ri, _ := parseRequest(c.a, []byte(c.body)); ri.usageBody != nil {
			t.Errorf("%s edited to %s", c.body, ri.usageBody)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUsageFilter feeds streams to the filter split at every offset: the
// usage-only chunk goes, every other byte stays, in order.
func TestUsageFilter(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "openai-chat/stream-plain")
	events := llmtest.SplitEvents(f.Body)
	var usage int
	for i, ev := range events {
		if bytes.Contains(ev, []byte(`"choices":[]`)) {
			usage = i
		}
	}
	want := bytes.Join(append(append([][]byte{}, events[:usage]...), events[usage+1:]...), nil)
	crlf := bytes.ReplaceAll(f.Body, []byte("\n"), []byte("\r\n"))
	wantCRLF := bytes.ReplaceAll(want, []byte("\n"), []byte("\r\n"))
	spaced := bytes.ReplaceAll(f.Body, []byte(`"choices":[]`), []byte(`"choices": []`))
	wantSpaced := bytes.ReplaceAll(want, []byte(`"choices":[]`), []byte(`"choices": []`))
	for _, tc := range []struct {
		name     string
		in, want []byte
		step     int // cut at every step-th offset
	}{
		{"lf", f.Body, want, 1},
		{"crlf", crlf, wantCRLF, 1},
		{"spaced", spaced, wantSpaced, 7},
		{"no usage chunk", want, want, 7},
		{"cut short", f.Body[:len(f.Body)-3], want[:len(want)-3], 7},
		{"choices in content", []byte("data: {\"choices\":[{\"delta\":{\"content\":\"\\\"choices\\\":[]\"}}],\"usage\":{}}\n\n"),
			[]byte("data: {\"choices\":[{\"delta\":{\"content\":\"\\\"choices\\\":[]\"}}],\"usage\":{}}\n\n"), 1},
	} {
		for cut := 0; cut <= len(tc.in); cut += tc.step {
			var uf usageFilter
			var got []byte
			got = append(got, uf.feed(tc.in[:cut])...)
			got = append(got, uf.feed(tc.in[cut:])...)
			got = append(got, uf.flush()...)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("%s, cut at %d: got\n%q\nwant\n%q", tc.name, cut, got, tc.want)
			}
		}
	}
}

// TestStreamUsageForClientsThatDidNotAsk: a streamed Chat Completions call
// without stream_options.include_usage (curl, SDKs outside chatd) was
// recorded with no tokens and a cost of 0. The gateway asks for usage,
// records it and keeps the usage chunk from the client.
func TestStreamUsageForClientsThatDidNotAsk(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "openai-chat/stream-reasoning-cached")
	clientReq := withoutStreamOptions(t, f)

	up := llmtest.NewServer(t, f.Response())
	e := newEnv(t, envOptions{})
	p := e.addProvider("p", store.ProviderOpenAI, up.URL)
	in, out, cached := 1.1, 4.4, 0.275
	if _, err := e.store.CreateModel(t.Context(), store.ModelConfig{ProviderID: p.ID, Model: "o4-mini", Enabled: true,
		Prices: store.Prices{Input: &in, Output: &out, CacheRead: &cached}}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do(http.MethodPost, "/gateway/p/v1/chat/completions", clientReq, e.bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := gjson.GetBytes(up.Requests()[0].Body, "stream_options.include_usage"); got.Type != gjson.True {
		t.Fatalf("upstream include_usage = %s", got.Raw)
	}
	var want []byte
	for _, ev := range llmtest.SplitEvents(f.Body) {
		if !bytes.Contains(ev, []byte(`"choices":[]`)) {
			want = append(want, ev...)
		}
	}
	if !bytes.Equal(body, want) {
		t.Fatalf("client got\n%s\nwant the stream without the usage chunk\n%s", body, want)
	}
	rec := e.oneRecord()
	if rec.Usage.Input != f.Expect.InputTokens || rec.Usage.Output != f.Expect.OutputTokens || rec.Usage.CacheRead != f.Expect.CacheReadTokens {
		t.Fatalf("usage = %+v", rec.Usage)
	}
	if rec.CostMicros == nil || *rec.CostMicros != 1596 {
		t.Fatalf("cost = %v, want 1596", rec.CostMicros)
	}
	if rec.Error != "" {
		t.Fatalf("error = %q", rec.Error)
	}
}

// TestUnknownUsageHasNoCost: when a provider sends no usage (a compatible
// server that ignores include_usage), a priced model's record has no cost
// rather than a cost of 0. Token counts cannot say "unknown" in the store
// and stay 0.
func TestUnknownUsageHasNoCost(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "openai-chat/stream-plain")
	r := f.Response()
	var body []byte
	for _, ev := range llmtest.SplitEvents(f.Body) {
		if !bytes.Contains(ev, []byte(`"choices":[]`)) {
			body = append(body, ev...)
		}
	}
	r.Body = body
	up := llmtest.NewServer(t, r)
	e := newEnv(t, envOptions{})
	p := e.addProvider("p", store.ProviderOpenAI, up.URL)
	price := 1.0
	if _, err := e.store.CreateModel(t.Context(), store.ModelConfig{ProviderID: p.ID, Model: "gpt-4o-mini", Enabled: true,
		Prices: store.Prices{Input: &price, Output: &price}}); err != nil {
		t.Fatal(err)
	}
	resp, got := e.do(http.MethodPost, "/gateway/p/v1/chat/completions", f.Request, e.bearer())
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("status %d, body %s", resp.StatusCode, got)
	}
	rec := e.oneRecord()
	if rec.CostMicros != nil {
		t.Fatalf("cost = %d, want none (usage unknown)", *rec.CostMicros)
	}
	if rec.Usage != (store.Usage{}) || rec.Error != "" || !strings.HasPrefix(rec.Model, "gpt-4o-mini") {
		t.Fatalf("record = %+v", rec)
	}
}

// TestStreamUsageFilterDropsLength: an upstream that announces its SSE
// body's length would make the client wait for bytes the usage filter
// dropped; the length goes, and the client reads a clean end.
func TestStreamUsageFilterDropsLength(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "openai-chat/stream-reasoning-cached")
	clientReq := withoutStreamOptions(t, f)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
		_, _ = w.Write(f.Body)
	}))
	t.Cleanup(up.Close)
	e := newEnv(t, envOptions{})
	e.addProvider("p", store.ProviderOpenAI, up.URL)
	resp, body := e.do(http.MethodPost, "/gateway/p/v1/chat/completions", clientReq, e.bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if resp.ContentLength != -1 {
		t.Fatalf("Content-Length %d relayed with a filtered stream", resp.ContentLength)
	}
	if bytes.Contains(body, []byte(`"choices":[]`)) || !bytes.Contains(body, []byte("[DONE]")) {
		t.Fatalf("client got %s", body)
	}
}

// TestCompatibleRequestUnchanged: an OpenAI-compatible server may refuse
// stream_options, so a request to one goes upstream byte for byte.
func TestCompatibleRequestUnchanged(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "openai-chat/stream-plain")
	clientReq := withoutStreamOptions(t, f)
	up := llmtest.NewServer(t, f.Response())
	e := newEnv(t, envOptions{})
	e.addProvider("p", store.ProviderOpenAICompatible, up.URL)
	resp, body := e.do(http.MethodPost, "/gateway/p/v1/chat/completions", clientReq, e.bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := up.Requests()[0].Body; !bytes.Equal(got, clientReq) {
		t.Fatalf("upstream got\n%s\nwant the client's request unchanged\n%s", got, clientReq)
	}
}

// withoutStreamOptions is f's request as a client that did not ask for
// usage sends it.
func withoutStreamOptions(t *testing.T, f llmtest.Fixture) []byte {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(f.Request, &req); err != nil {
		t.Fatal(err)
	}
	delete(req, "stream_options")
	return []byte(mustJSON(t, req))
}
