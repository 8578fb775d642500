package chatdebug

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"charm.land/fantasy"
	"charm.land/fantasy/providers/anthropic"
	"charm.land/fantasy/providers/openai"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

func testRun() store.DebugRun {
	return store.DebugRun{Kind: store.DebugKindChatTurn, ChatID: "c1", RootChatID: "c1", UserID: "u1", Provider: "openai", Model: "gpt-test"}
}

func newTestService(t testing.TB, runs store.DebugRuns) *Service {
	t.Helper()
	s := New(Config{Runs: runs, Clock: fixedClock(time.Now())})
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// fakeModel answers Generate and Stream from scripts.
type fakeModel struct {
	resp  *fantasy.Response
	parts []fantasy.StreamPart
	err   error
	ctxs  chan context.Context // receives each call's context, if not nil
}

func (m *fakeModel) Generate(ctx context.Context, _ fantasy.Call) (*fantasy.Response, error) {
	if m.ctxs != nil {
		m.ctxs <- ctx
	}
	return m.resp, m.err
}

func (m *fakeModel) Stream(ctx context.Context, _ fantasy.Call) (fantasy.StreamResponse, error) {
	if m.ctxs != nil {
		m.ctxs <- ctx
	}
	if m.err != nil {
		return nil, m.err
	}
	return func(yield func(fantasy.StreamPart) bool) {
		for _, p := range m.parts {
			if !yield(p) {
				return
			}
		}
	}, nil
}

func (m *fakeModel) GenerateObject(context.Context, fantasy.ObjectCall) (*fantasy.ObjectResponse, error) {
	return nil, errors.New("not supported")
}

func (m *fakeModel) StreamObject(context.Context, fantasy.ObjectCall) (fantasy.ObjectStreamResponse, error) {
	return nil, errors.New("not supported")
}

func (m *fakeModel) Provider() string { return "fake" }
func (m *fakeModel) Model() string    { return "fake-1" }

func TestRecordingOffIsNoWrapper(t *testing.T) {
	t.Parallel()
	var r *Run
	m := &fakeModel{}
	if got := r.WrapModel(m); got != fantasy.LanguageModel(m) {
		t.Fatalf("WrapModel on a nil run returned a wrapper %T", got)
	}
	base := http.DefaultTransport
	if got := r.Transport(base); got != base {
		t.Fatalf("Transport on a nil run returned a wrapper %T", got)
	}
	r.AddSecrets()
	r.Finish(context.Background(), store.DebugCompleted, "")
	if r.ID() != "" {
		t.Fatalf("nil run has an ID")
	}
}

func testCall() fantasy.Call {
	maxTokens := int64(256)
	temp := 0.5
	choice := fantasy.ToolChoiceAuto
	long := strings.Repeat("é", maxPartRunes+5)
	return fantasy.Call{
		Prompt: fantasy.Prompt{
			fantasy.NewSystemMessage("be brief"),
			fantasy.NewUserMessage(long, fantasy.FilePart{Filename: "a.png", MediaType: "image/png", Data: []byte("PNGDATA-SHOULD-NOT-APPEAR")}),
			{Role: fantasy.MessageRoleAssistant, Content: []fantasy.MessagePart{fantasy.ToolCallPart{ToolCallID: "call_1", ToolName: "get_weather", Input: `{"city":"Paris"}`}}},
			{Role: fantasy.MessageRoleTool, Content: []fantasy.MessagePart{fantasy.ToolResultPart{ToolCallID: "call_1", Output: fantasy.ToolResultOutputContentText{Text: "sunny"}}}},
		},
		MaxOutputTokens: &maxTokens,
		Temperature:     &temp,
		ToolChoice:      &choice,
		Tools: []fantasy.Tool{fantasy.FunctionTool{Name: "get_weather", Description: "Weather of a city", InputSchema: map[string]any{
			"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}},
		}}},
	}
}

// oneRun returns the only run's steps, after checking the run's status.
func oneRun(t *testing.T, f *fakeRuns, id string, want store.DebugStatus) []store.DebugStep {
	t.Helper()
	run, steps, err := f.GetDebugRun(context.Background(), id)
	if err != nil {
		t.Fatalf("get run: %v", err)
	}
	if run.Status != want {
		t.Fatalf("run status %q, want %q", run.Status, want)
	}
	return steps
}

func TestWrapModelGenerate(t *testing.T) {
	t.Parallel()
	f := newFakeRuns()
	s := newTestService(t, f)
	r := s.StartRun(context.Background(), testRun())
	if r == nil {
		t.Fatalf("StartRun returned nil")
	}
	inner := &fakeModel{ctxs: make(chan context.Context, 1), resp: &fantasy.Response{
		Content: fantasy.ResponseContent{
			fantasy.ReasoningContent{Text: "thinking"},
			fantasy.TextContent{Text: "It is sunny."},
			fantasy.ToolCallContent{ToolCallID: "call_2", ToolName: "get_weather", Input: `{"city":"Lyon"}`},
		},
		FinishReason: fantasy.FinishReasonToolCalls,
		Usage:        fantasy.Usage{InputTokens: 10, OutputTokens: 5, ReasoningTokens: 3, CacheReadTokens: 7, CacheCreationTokens: 2},
		Warnings:     []fantasy.CallWarning{{Type: fantasy.CallWarningTypeUnsupportedSetting, Setting: "top_k"}},
	}}
	m := r.WrapModel(inner)
	if m.Provider() != "fake" || m.Model() != "fake-1" {
		t.Fatalf("provider/model %q/%q", m.Provider(), m.Model())
	}
	resp, err := m.Generate(context.Background(), testCall())
	if err != nil || resp != inner.resp {
		t.Fatalf("Generate = %v, %v; want the inner response", resp, err)
	}
	if stepFrom(<-inner.ctxs) == nil {
		t.Fatalf("inner model's context has no step")
	}
	r.Finish(context.Background(), store.DebugCompleted, "ok")

	steps := oneRun(t, f, r.ID(), store.DebugCompleted)
	if len(steps) != 1 {
		t.Fatalf("%d steps, want 1", len(steps))
	}
	st := steps[0]
	if st.Number != 1 || st.Operation != OpGenerate || st.Status != store.DebugCompleted {
		t.Fatalf("step %d %q %q", st.Number, st.Operation, st.Status)
	}
	var req callRecord
	if err := json.Unmarshal(st.Request, &req); err != nil {
		t.Fatalf("request: %v", err)
	}
	if len(req.Messages) != 4 || req.Messages[1].Role != "user" {
		t.Fatalf("messages %+v", req.Messages)
	}
	user := req.Messages[1].Parts
	if got := []rune(user[0].Text); len(got) != maxPartRunes || !user[0].Truncated {
		t.Fatalf("long text kept %d runes, truncated %v", len(got), user[0].Truncated)
	}
	if user[1].Type != "file" || user[1].MediaType != "image/png" || user[1].Size != len("PNGDATA-SHOULD-NOT-APPEAR") {
		t.Fatalf("file part %+v", user[1])
	}
	if strings.Contains(string(st.Request), "PNGDATA") {
		t.Fatalf("file data stored: %s", st.Request)
	}
	if req.Messages[3].Parts[0].Text != "sunny" || req.Messages[2].Parts[0].ToolName != "get_weather" {
		t.Fatalf("tool messages %+v", req.Messages[2:])
	}
	if len(req.Tools) != 1 || req.Tools[0].Name != "get_weather" || req.Tools[0].Schema["type"] != "object" {
		t.Fatalf("tools %+v", req.Tools)
	}
	if req.Options.MaxOutputTokens == nil || *req.Options.MaxOutputTokens != 256 || req.Options.ToolChoice != "auto" || *req.Options.Temperature != 0.5 {
		t.Fatalf("options %+v", req.Options)
	}
	var resp2 responseRecord
	if err := json.Unmarshal(st.Response, &resp2); err != nil {
		t.Fatalf("response: %v", err)
	}
	if resp2.Text != "It is sunny." || resp2.Reasoning != "thinking" || resp2.FinishReason != "tool-calls" {
		t.Fatalf("response %+v", resp2)
	}
	if resp2.Usage != inner.resp.Usage {
		t.Fatalf("usage %+v, want %+v", resp2.Usage, inner.resp.Usage)
	}
	if len(resp2.ToolCalls) != 1 || resp2.ToolCalls[0].Input != `{"city":"Lyon"}` || len(resp2.Warnings) != 1 {
		t.Fatalf("tool calls %+v warnings %+v", resp2.ToolCalls, resp2.Warnings)
	}
}

func TestWrapModelStream(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 40*1024)
	parts := []fantasy.StreamPart{
		{Type: fantasy.StreamPartTypeTextStart, ID: "0"},
		{Type: fantasy.StreamPartTypeTextDelta, ID: "0", Delta: big},
		{Type: fantasy.StreamPartTypeTextDelta, ID: "0", Delta: big},
		{Type: fantasy.StreamPartTypeTextEnd, ID: "0"},
		{Type: fantasy.StreamPartTypeToolCall, ID: "call_1", ToolCallName: "get_weather", ToolCallInput: `{"city":"Paris"}`},
		{Type: fantasy.StreamPartTypeFinish, FinishReason: fantasy.FinishReasonToolCalls, Usage: fantasy.Usage{InputTokens: 3, OutputTokens: 4}},
	}
	tests := []struct {
		name       string
		err        error
		parts      []fantasy.StreamPart
		stopAfter  int // consumer stops after this many parts; 0 reads all
		wantStatus store.DebugStatus
		wantErr    string
	}{
		{name: "completed", parts: parts, wantStatus: store.DebugCompleted},
		{name: "error part", parts: []fantasy.StreamPart{{Type: fantasy.StreamPartTypeError, Error: errors.New("upstream 500")}}, wantStatus: store.DebugError, wantErr: "upstream 500"},
		{name: "cancelled", parts: []fantasy.StreamPart{{Type: fantasy.StreamPartTypeError, Error: context.Canceled}}, wantStatus: store.DebugInterrupted},
		{name: "stream refused", err: errors.New("bad request"), wantStatus: store.DebugError, wantErr: "bad request"},
		{name: "consumer left", parts: parts, stopAfter: 2, wantStatus: store.DebugInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeRuns()
			s := newTestService(t, f)
			r := s.StartRun(context.Background(), testRun())
			m := r.WrapModel(&fakeModel{parts: tt.parts, err: tt.err})
			seq, err := m.Stream(context.Background(), testCall())
			if tt.err != nil {
				if err == nil {
					t.Fatalf("Stream error lost")
				}
			} else {
				var got []fantasy.StreamPart
				for p := range seq {
					got = append(got, p)
					if len(got) == tt.stopAfter {
						break
					}
				}
				want := len(tt.parts)
				if tt.stopAfter > 0 {
					want = tt.stopAfter
				}
				if len(got) != want {
					t.Fatalf("got %d parts, want %d", len(got), want)
				}
				for i := range got {
					if got[i].Type != tt.parts[i].Type || got[i].Delta != tt.parts[i].Delta {
						t.Fatalf("part %d changed: %+v", i, got[i])
					}
				}
			}
			r.Finish(context.Background(), store.DebugCompleted, "")
			steps := oneRun(t, f, r.ID(), store.DebugCompleted)
			if len(steps) != 1 || steps[0].Operation != OpStream {
				t.Fatalf("steps %+v", steps)
			}
			st := steps[0]
			if st.Status != tt.wantStatus || !strings.Contains(st.Error, tt.wantErr) {
				t.Fatalf("step status %q error %q, want %q %q", st.Status, st.Error, tt.wantStatus, tt.wantErr)
			}
			if tt.name != "completed" {
				return
			}
			var resp responseRecord
			if err := json.Unmarshal(st.Response, &resp); err != nil {
				t.Fatalf("response: %v", err)
			}
			if len(resp.Text) != maxResponseText || !resp.TextTruncated {
				t.Fatalf("text kept %d bytes, truncated %v", len(resp.Text), resp.TextTruncated)
			}
			if resp.Usage.OutputTokens != 4 || len(resp.ToolCalls) != 1 || resp.FinishReason != "tool-calls" {
				t.Fatalf("response %+v", resp)
			}
		})
	}
}

func TestStepNumbersUnique(t *testing.T) {
	t.Parallel()
	f := newFakeRuns()
	s := newTestService(t, f)
	r := s.StartRun(context.Background(), testRun())
	m := r.WrapModel(&fakeModel{resp: &fantasy.Response{}})
	const n = 8
	done := make(chan struct{})
	for range n {
		go func() {
			defer func() { done <- struct{}{} }()
			if _, err := m.Generate(context.Background(), fantasy.Call{}); err != nil {
				t.Errorf("generate: %v", err)
			}
		}()
	}
	for range n {
		<-done
	}
	r.Finish(context.Background(), store.DebugCompleted, "")
	steps := oneRun(t, f, r.ID(), store.DebugCompleted)
	if len(steps) != n {
		t.Fatalf("%d steps, want %d", len(steps), n)
	}
	for i, st := range steps {
		if st.Number != i+1 {
			t.Fatalf("step %d numbered %d", i, st.Number)
		}
	}
}

// providerModel builds a real fantasy model of the API over c.
func providerModel(t testing.TB, api, baseURL string, c *http.Client, key string) fantasy.LanguageModel {
	t.Helper()
	var (
		p   fantasy.Provider
		err error
	)
	switch api {
	case "openai-chat":
		p, err = openai.New(openai.WithAPIKey(key), openai.WithBaseURL(baseURL+"/v1"), openai.WithHTTPClient(c))
	case "anthropic-messages":
		p, err = anthropic.New(anthropic.WithAPIKey(key), anthropic.WithBaseURL(baseURL), anthropic.WithHTTPClient(c))
	default:
		t.Fatalf("unknown api %q", api)
	}
	if err != nil {
		t.Fatalf("new provider: %v", err)
	}
	m, err := p.LanguageModel(context.Background(), "test-model")
	if err != nil {
		t.Fatalf("language model: %v", err)
	}
	return m
}

// TestRecordedProviderCalls drives real fantasy providers against fixture
// servers through the recording transport.
func TestRecordedProviderCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture   string
		stream    bool
		wantUsage fantasy.Usage
	}{
		{fixture: "openai-chat/stream-reasoning-cached", stream: true},
		{fixture: "anthropic-messages/blocking-tool"},
		{fixture: "anthropic-messages/stream-tool", stream: true},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			fx := llmtest.Load(t, tt.fixture)
			srv := llmtest.NewServer(t, fx.Response())
			f := newFakeRuns()
			s := newTestService(t, f)
			r := s.StartRun(context.Background(), testRun())
			const key = "sk-provider-key-0123456789"
			r.AddSecrets(secret.New(key))
			client := &http.Client{Transport: r.Transport(srv.Client().Transport)}
			m := r.WrapModel(providerModel(t, fx.API, srv.URL, client, key))
			call := fantasy.Call{Prompt: fantasy.Prompt{fantasy.NewUserMessage(fx.Expect.Prompt)}}
			var usage fantasy.Usage
			if tt.stream {
				seq, err := m.Stream(context.Background(), call)
				if err != nil {
					t.Fatalf("stream: %v", err)
				}
				for p := range seq {
					switch p.Type {
					case fantasy.StreamPartTypeFinish:
						usage = p.Usage
					case fantasy.StreamPartTypeError:
						t.Fatalf("stream error: %v", p.Error)
					}
				}
			} else {
				resp, err := m.Generate(context.Background(), call)
				if err != nil {
					t.Fatalf("generate: %v", err)
				}
				usage = resp.Usage
			}
			r.Finish(context.Background(), store.DebugCompleted, "done")

			steps := oneRun(t, f, r.ID(), store.DebugCompleted)
			if len(steps) != 1 {
				t.Fatalf("%d steps", len(steps))
			}
			st := steps[0]
			if st.Status != store.DebugCompleted {
				t.Fatalf("step status %q error %q", st.Status, st.Error)
			}
			var resp responseRecord
			if err := json.Unmarshal(st.Response, &resp); err != nil {
				t.Fatalf("response: %v", err)
			}
			if resp.Usage != usage || usage.OutputTokens != fx.Expect.OutputTokens || usage.CacheReadTokens != fx.Expect.CacheReadTokens {
				t.Fatalf("recorded usage %+v, model saw %+v, fixture %+v", resp.Usage, usage, fx.Expect)
			}
			if len(st.Attempts) != 1 {
				t.Fatalf("%d attempts, want 1", len(st.Attempts))
			}
			a := st.Attempts[0]
			if a.Method != http.MethodPost || a.Status != fx.Status || !strings.HasPrefix(a.URL, srv.URL) {
				t.Fatalf("attempt %s %s %d", a.Method, a.URL, a.Status)
			}
			if !strings.Contains(a.RequestBody, fx.Expect.Prompt) {
				t.Fatalf("request body lacks the prompt: %s", a.RequestBody)
			}
			if a.ResponseBody == "" || strings.Contains(a.ResponseBody, "omitted") {
				t.Fatalf("response body not kept: %q", a.ResponseBody)
			}
			if fx.Expect.OutputTokens > 0 && !strings.Contains(a.ResponseBody, "output_tokens") && !strings.Contains(a.ResponseBody, "completion_tokens") {
				t.Fatalf("token counts redacted: %s", a.ResponseBody)
			}
			if a.Duration <= 0 || a.TimeToFirstByte <= 0 || a.Duration < a.TimeToFirstByte {
				t.Fatalf("timings ttfb %v duration %v", a.TimeToFirstByte, a.Duration)
			}
			all := dump(t, f)
			if strings.Contains(all, key) {
				t.Fatalf("provider key stored")
			}
			for _, h := range []string{"Authorization", "X-Api-Key"} {
				if v := a.RequestHeader.Get(h); v != "" && v != Redacted {
					t.Fatalf("%s stored as %q", h, v)
				}
			}
		})
	}
}

// TestTransportWithoutStep passes requests with no step through unrecorded.
func TestTransportWithoutStep(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.Response{Body: []byte(`{"ok":true}`)})
	f := newFakeRuns()
	s := newTestService(t, f)
	r := s.StartRun(context.Background(), testRun())
	c := &http.Client{Transport: r.Transport(srv.Client().Transport)}
	resp, err := c.Post(srv.URL+"/v1/x", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	_ = resp.Body.Close()
	r.Finish(context.Background(), store.DebugCompleted, "")
	f.mu.Lock()
	got := len(f.attempts)
	f.mu.Unlock()
	if got != 0 {
		t.Fatalf("%d attempts recorded without a step", got)
	}
}
