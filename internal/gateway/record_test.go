package gateway

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// TestCanary plants a central key and a BYOK key, drives successful,
// failing and refused calls, and checks that neither key shows up in
// logs, records, metrics or anything a client received.
func TestCanary(t *testing.T) {
	t.Parallel()
	stream := llmtest.Load(t, "openai-chat/stream-tool")
	blocking := llmtest.Load(t, "anthropic-messages/blocking-tool")
	upOA := llmtest.NewServer(t, stream.Response(), echoKeyResponse(centralKey), stream.Response(), echoKeyResponse(byokKey))
	upAN := llmtest.NewServer(t, blocking.Response(), blocking.Response())
	e := newEnv(t, envOptions{})
	e.addProvider("oa", store.ProviderOpenAI, upOA.URL)
	e.addProvider("an", store.ProviderAnthropic, upAN.URL)

	var seen strings.Builder
	call := func(path string, body []byte, hdr map[string]string) {
		resp, b := e.do(http.MethodPost, path, body, hdr)
		fmt.Fprintf(&seen, "%d %v %s\n", resp.StatusCode, resp.Header, b)
	}
	call("/gateway/oa/v1/chat/completions", stream.Request, e.bearer())
	call("/gateway/oa/v1/chat/completions", stream.Request, e.bearer()) // upstream 401 quoting the key
	call("/gateway/oa/v1/chat/completions", stream.Request, map[string]string{GovernanceHeader: e.key, "Authorization": "Bearer " + byokKey})
	call("/gateway/oa/v1/chat/completions", stream.Request, map[string]string{GovernanceHeader: e.key, "Authorization": "Bearer " + byokKey}) // upstream 401 quoting the BYOK key
	call("/gateway/an/v1/messages", blocking.Request, map[string]string{"X-Api-Key": e.key})
	call("/gateway/an/v1/messages", blocking.Request, map[string]string{GovernanceHeader: e.key, "X-Api-Key": byokKey})
	call("/gateway/an/v1/messages", []byte("{bad"), map[string]string{GovernanceHeader: e.key, "X-Api-Key": byokKey})
	call("/gateway/an/v1/messages", blocking.Request, map[string]string{GovernanceHeader: "ck-bogus-" + byokKey, "X-Api-Key": byokKey})

	ins := e.records()
	if len(ins) != 6 {
		t.Fatalf("got %d records, want 6", len(ins))
	}
	places := map[string]string{
		"responses": seen.String(),
		"logs":      e.logs.String(),
		"records":   fmt.Sprintf("%+v", ins),
		"metrics":   e.metricsText(),
	}
	for where, text := range places {
		for _, k := range []string{centralKey, byokKey, "CANARY"} {
			if strings.Contains(text, k) {
				t.Errorf("%s contain %q:\n%s", where, k, text)
			}
		}
	}
	if !strings.Contains(places["metrics"], "chatd_gateway_interceptions_total") || !strings.Contains(places["metrics"], `type="output"`) {
		t.Fatalf("metrics missing:\n%s", places["metrics"])
	}
}

// echoKeyResponse is a careless provider's 401 quoting the key it refused.
func echoKeyResponse(key string) llmtest.Response {
	return llmtest.Response{
		Status: http.StatusUnauthorized,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"error":{"message":"Incorrect API key provided: ` + key + `","type":"invalid_request_error","code":"invalid_api_key"}}`),
	}
}

func TestRecordContentOff(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "anthropic-messages/stream-tool")
	up := llmtest.NewServer(t, f.Response())
	e := newEnv(t, envOptions{noContent: true})
	e.addProvider("p", store.ProviderAnthropic, up.URL)
	e.do(http.MethodPost, "/gateway/p/v1/messages", f.Request, e.bearer())
	in := e.oneRecord()
	if in.Prompt != "" || in.Reasoning != "" || len(in.ToolCalls) != 1 || in.ToolCalls[0].Arguments != "" || in.ToolCalls[0].Name == "" {
		t.Fatalf("content kept: %+v", in)
	}
	if in.Usage.Input != f.Expect.InputTokens || in.Usage.Output != f.Expect.OutputTokens {
		t.Fatalf("usage = %+v", in.Usage)
	}
}

func TestCost(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "openai-chat/stream-reasoning-cached")
	up := llmtest.NewServer(t, f.Response())
	e := newEnv(t, envOptions{})
	p := e.addProvider("p", store.ProviderOpenAI, up.URL)
	in, out, cached := 1.1, 4.4, 0.275
	if _, err := e.store.CreateModel(t.Context(), store.ModelConfig{ProviderID: p.ID, Model: "o4-mini", Enabled: true,
		Prices: store.Prices{Input: &in, Output: &out, CacheRead: &cached}}); err != nil {
		t.Fatal(err)
	}
	e.do(http.MethodPost, "/gateway/p/v1/chat/completions", f.Request, e.bearer())
	rec := e.oneRecord()
	// (1843-1664)*1.1 + 214*4.4 + 1664*0.275 = 196.9 + 941.6 + 457.6
	if rec.CostMicros == nil || *rec.CostMicros != 1596 {
		t.Fatalf("cost = %v, want 1596", rec.CostMicros)
	}
}

func TestCostUnpriced(t *testing.T) {
	t.Parallel()
	in := 3.0
	tests := []struct {
		name string
		p    *store.Prices
	}{
		{"no model", nil},
		{"no output price", &store.Prices{Input: &in}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if c := costMicros(tt.p, store.Usage{Input: 10, Output: 10}, store.ProviderAnthropic); c != nil {
				t.Fatalf("cost = %d, want nil", *c)
			}
		})
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	old := time.Now().Add(-90 * 24 * time.Hour)
	for _, at := range []time.Time{old, time.Now()} {
		if _, err := e.store.CreateInterception(t.Context(), store.Interception{UserID: e.user.ID, APIKeyID: e.keyID, ProviderName: "p",
			ProviderType: store.ProviderOpenAI, Source: store.SourceExternal, CredentialKind: store.CredentialCentral, StartedAt: at, EndedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := e.gw.Purge(t.Context(), 60*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("purge = %d, %v; want 1", n, err)
	}
}

// TestCloseWaitsForRecords: records queued when Close is called are all
// written before it returns.
func TestCloseWaitsForRecords(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "openai-chat/blocking-plain")
	const n = 20
	rs := make([]llmtest.Response, n)
	for i := range rs {
		rs[i] = f.Response()
	}
	up := llmtest.NewServer(t, rs...)
	e := newEnv(t, envOptions{})
	e.addProvider("p", store.ProviderOpenAI, up.URL)
	for range n {
		resp, _ := e.do(http.MethodPost, "/gateway/p/v1/chat/completions", f.Request, e.bearer())
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	if got := len(e.records()); got != n {
		t.Fatalf("got %d records, want %d", got, n)
	}
}

// TestCallerRedactsBYOKKey checks that the caller the gateway keeps for a
// BYOK request cannot print the caller's provider key, however it is
// formatted or logged.
func TestCallerRedactsBYOKKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, h := range []map[string]string{
		{GovernanceHeader: e.key, "Authorization": "Bearer " + byokKey},
		{GovernanceHeader: e.key, "X-Api-Key": byokKey},
	} {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/gateway/p/v1/messages", nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		c, gerr := e.gw.authenticate(t.Context(), r, "")
		if gerr != nil {
			t.Fatalf("authenticate: %v", gerr)
		}
		if !c.byok || c.byokKey.Reveal() != byokKey {
			t.Fatalf("caller byok = %v, key kept = %v", c.byok, c.byokKey.Reveal() == byokKey)
		}
		var logs strings.Builder
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("caller", "caller", c, "key", c.byokKey)
		for _, text := range []string{fmt.Sprintf("%v %+v %#v %s", c, c, c, c.byokKey), logs.String()} {
			if strings.Contains(text, byokKey) {
				t.Fatalf("caller prints the BYOK key: %s", text)
			}
		}
	}
}

// TestRecordStringsDoNotPinBodies: strings read from a body with gjson
// are substrings of a copy of the whole body, and a record queued with
// one kept that copy alive (up to 32 MiB a request, 16384 records
// queued). Records must hold copies of just what they keep.
func TestRecordStringsDoNotPinBodies(t *testing.T) {
	// Not parallel: it measures the heap.
	pad := strings.Repeat(" ", 1<<20)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	var keep []string
	for i := range 8 {
		ri, gerr := parseRequest(apiOpenAIChat, []byte(`{"model":"m`+strconv.Itoa(i)+`",`+pad+`"messages":[{"role":"user","content":"hi"}]}`))
		if gerr != nil {
			t.Fatal(gerr)
		}
		var x chatExtractor
		x.body([]byte(`{"choices":[{"index":0,"message":{"tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]}}],` + pad + `"usage":{}}`))
		var s chatExtractor
		s.event("", []byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]}}],`+pad+`"usage":null}`))
		var blocking, streamed store.Interception
		x.fill(&blocking)
		s.fill(&streamed)
		if len(blocking.ToolCalls) != 1 || len(streamed.ToolCalls) != 1 {
			t.Fatalf("tool calls %+v, %+v", blocking.ToolCalls, streamed.ToolCalls)
		}
		for _, tc := range append(blocking.ToolCalls, streamed.ToolCalls...) {
			keep = append(keep, tc.ID, tc.Name, tc.Arguments)
		}
		keep = append(keep, ri.model, ri.prompt)
	}
	// Pinned, the bodies would hold 3 copies of 8 × 1 MiB.
	if grew := int64(heap()) - int64(before); grew > 6<<20 {
		t.Fatalf("heap grew by %d MiB keeping a few short strings of 8 bodies of 1 MiB", grew>>20)
	}
	runtime.KeepAlive(keep)
}
