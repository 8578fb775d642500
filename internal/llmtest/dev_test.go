package llmtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"charm.land/fantasy"
	"charm.land/fantasy/providers/anthropic"
	"charm.land/fantasy/providers/openai"

	"github.com/chatd/chatd/internal/sse"
)

func devModel(t *testing.T, api string, srv *httptest.Server) fantasy.LanguageModel {
	t.Helper()
	return fantasyModel(t, api, srv.URL, srv.Client())
}

// fantasyModel builds a fantasy model for api whose provider is at baseURL
// (without "/v1").
func fantasyModel(t *testing.T, api, baseURL string, c *http.Client) fantasy.LanguageModel {
	t.Helper()
	var (
		p   fantasy.Provider
		err error
	)
	switch api {
	case "openai-chat":
		p, err = openai.New(openai.WithAPIKey("sk-dev"), openai.WithBaseURL(baseURL+"/v1"), openai.WithHTTPClient(c))
	case "openai-responses":
		p, err = openai.New(openai.WithAPIKey("sk-dev"), openai.WithBaseURL(baseURL+"/v1"), openai.WithHTTPClient(c),
			// WithUseResponsesAPI alone applies only to model IDs fantasy
			// knows; the filter makes it apply to every model.
			openai.WithUseResponsesAPI(), openai.WithResponsesAPIFunc(func(string) bool { return true }))
	case "anthropic-messages":
		p, err = anthropic.New(anthropic.WithAPIKey("sk-ant-dev"), anthropic.WithBaseURL(baseURL), anthropic.WithHTTPClient(c))
	}
	if err != nil {
		t.Fatalf("new provider: %v", err)
	}
	m, err := p.LanguageModel(context.Background(), DevModelID)
	if err != nil {
		t.Fatalf("language model: %v", err)
	}
	return m
}

type weatherInput struct {
	City string `json:"city" description:"City name"`
}

// TestDevWithFantasy runs fantasy agents against the dev fake over every API,
// blocking and streaming, with and without a tool round trip: fantasy must
// accept the answers (streams that end properly, usage read).
func TestDevWithFantasy(t *testing.T) {
	t.Parallel()
	for _, api := range []string{"openai-chat", "openai-responses", "anthropic-messages"} {
		for _, streaming := range []bool{false, true} {
			for _, withTool := range []bool{false, true} {
				name := api + "/blocking"
				if streaming {
					name = api + "/stream"
				}
				if withTool {
					name += "-tool"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					var mu sync.Mutex
					var paths []string
					dev := NewDev(DevConfig{})
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						mu.Lock()
						paths = append(paths, r.URL.Path)
						mu.Unlock()
						dev.ServeHTTP(w, r)
					}))
					t.Cleanup(srv.Close)
					var toolInputs []string
					weather := fantasy.NewAgentTool("get_weather", "Get the current weather for a city.",
						func(ctx context.Context, in weatherInput, _ fantasy.ToolCall) (fantasy.ToolResponse, error) {
							mu.Lock()
							toolInputs = append(toolInputs, in.City)
							mu.Unlock()
							return fantasy.NewTextResponse("sunny and 21 degrees"), nil
						})
					agent := fantasy.NewAgent(devModel(t, api, srv), fantasy.WithTools(weather),
						fantasy.WithMaxRetries(0), fantasy.WithStopConditions(fantasy.StepCountIs(4)))
					prompt := "hello there, fake model"
					if withTool {
						prompt = "Please use the get_weather tool for Paris"
					}

					ctx := context.Background()
					var res *fantasy.AgentResult
					var err error
					var deltas int
					if streaming {
						res, err = agent.Stream(ctx, fantasy.AgentStreamCall{
							Prompt: prompt,
							OnTextDelta: func(id, text string) error {
								mu.Lock()
								deltas++
								mu.Unlock()
								return nil
							},
						})
					} else {
						res, err = agent.Generate(ctx, fantasy.AgentCall{Prompt: prompt})
					}
					if err != nil {
						t.Fatalf("agent: %v", err)
					}
					got := res.Response.Content.Text()
					want := "You said: " + prompt
					wantSteps := 1
					if withTool {
						want = "The get_weather tool returned: sunny and 21 degrees"
						wantSteps = 2
						mu.Lock()
						inputs := strings.Join(toolInputs, "|")
						mu.Unlock()
						if inputs != prompt {
							t.Errorf("tool inputs %q, want %q", inputs, prompt)
						}
					}
					if got != want {
						t.Fatalf("final text %q, want %q", got, want)
					}
					if len(res.Steps) != wantSteps {
						t.Fatalf("%d steps, want %d", len(res.Steps), wantSteps)
					}
					if streaming && deltas < 3 {
						t.Errorf("%d text deltas, want several", deltas)
					}
					wantPath := Fixture{API: api}.Path()
					mu.Lock()
					gotPaths := strings.Join(paths, " ")
					mu.Unlock()
					if want := strings.TrimSpace(strings.Repeat(wantPath+" ", wantSteps)); gotPaths != want {
						t.Fatalf("fantasy called %q, want %q", gotPaths, want)
					}
					u := res.TotalUsage
					if u.InputTokens <= 0 || u.OutputTokens <= 0 {
						t.Fatalf("usage %+v not read", u)
					}
				})
			}
		}
	}
}

func devDo(t *testing.T, h http.Handler, method, path, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestDevErrors(t *testing.T) {
	t.Parallel()
	h := NewDev(DevConfig{})
	tests := []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantJSON   string // a dotted path that must be present
	}{
		{name: "chat bad json", path: "/v1/chat/completions", body: "{", wantStatus: 400, wantJSON: "error.message"},
		{name: "chat no model", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"hi"}]}`, wantStatus: 400, wantJSON: "error.type"},
		{name: "chat no messages", path: "/v1/chat/completions", body: `{"model":"fake-echo"}`, wantStatus: 400, wantJSON: "error.message"},
		{name: "responses no input", path: "/v1/responses", body: `{"model":"fake-echo"}`, wantStatus: 400, wantJSON: "error.message"},
		{name: "messages bad json", path: "/v1/messages", body: "nope", wantStatus: 400, wantJSON: "error.type"},
		{name: "messages no max_tokens", path: "/v1/messages", body: `{"model":"fake-echo","messages":[{"role":"user","content":"hi"}]}`, wantStatus: 400, wantJSON: "error.type"},
		{name: "messages no messages", path: "/v1/messages", body: `{"model":"fake-echo","max_tokens":10}`, wantStatus: 400, wantJSON: "error.type"},
		{name: "unknown path", path: "/v1/embeddings", body: `{}`, wantStatus: 404, wantJSON: "error.message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := devDo(t, h, http.MethodPost, tt.path, tt.body, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if resp.Header.Get(DevHeader) != "1" {
				t.Fatalf("no %s header", DevHeader)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if strings.HasPrefix(tt.path, "/v1/messages") && v["type"] != "error" {
				t.Fatalf("anthropic error body %s lacks type error", body)
			}
			var cur any = v
			for _, k := range strings.Split(tt.wantJSON, ".") {
				m, _ := cur.(map[string]any)
				cur = m[k]
			}
			if s, _ := cur.(string); s == "" {
				t.Fatalf("body %s has no %s", body, tt.wantJSON)
			}
		})
	}
}

func TestDevModelsAndCountTokens(t *testing.T) {
	t.Parallel()
	h := NewDev(DevConfig{})

	_, body := devDo(t, h, http.MethodGet, "/v1/models", "", nil)
	var oa struct {
		Object string `json:"object"`
		Data   []struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &oa); err != nil || oa.Object != "list" || len(oa.Data) != 1 ||
		oa.Data[0].ID != DevModelID || oa.Data[0].Object != "model" {
		t.Fatalf("openai models %s (%v)", body, err)
	}

	_, body = devDo(t, h, http.MethodGet, "/v1/models", "", http.Header{"Anthropic-Version": {"2023-06-01"}})
	var an struct {
		Data []struct {
			Type        string `json:"type"`
			ID          string `json:"id"`
			DisplayName string `json:"display_name"`
		} `json:"data"`
		HasMore bool `json:"has_more"`
	}
	if err := json.Unmarshal([]byte(body), &an); err != nil || len(an.Data) != 1 || an.Data[0].Type != "model" ||
		an.Data[0].DisplayName != DevModelDisplayName {
		t.Fatalf("anthropic models %s (%v)", body, err)
	}

	req := `{"model":"fake-echo","messages":[{"role":"user","content":"count these words please"}]}`
	_, body = devDo(t, h, http.MethodPost, "/v1/messages/count_tokens", req, nil)
	var ct struct {
		InputTokens int64 `json:"input_tokens"`
	}
	if err := json.Unmarshal([]byte(body), &ct); err != nil || ct.InputTokens <= 0 {
		t.Fatalf("count_tokens %s (%v)", body, err)
	}
	// The count matches what a Messages call with the same content reports.
	_, body = devDo(t, h, http.MethodPost, "/v1/messages", strings.Replace(req, `{"model"`, `{"max_tokens":100,"model"`, 1), nil)
	var msg struct {
		Usage struct {
			InputTokens int64 `json:"input_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.Usage.InputTokens != ct.InputTokens {
		t.Fatalf("messages usage %s, count_tokens said %d", body, ct.InputTokens)
	}
}

func TestDevChatStreamUsageOption(t *testing.T) {
	t.Parallel()
	h := NewDev(DevConfig{})
	tests := []struct {
		name      string
		body      string
		wantUsage bool
	}{
		{name: "without include_usage", body: `{"model":"fake-echo","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{name: "with include_usage", body: `{"model":"fake-echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := devDo(t, h, http.MethodPost, "/v1/chat/completions", tt.body, nil)
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("content type %q", ct)
			}
			events := readAll(t, []byte(body))
			if string(events[len(events)-1].Data) != "[DONE]" {
				t.Fatalf("stream does not end with [DONE]")
			}
			gotUsage := strings.Contains(body, `"prompt_tokens"`)
			if gotUsage != tt.wantUsage {
				t.Fatalf("usage chunk present %v, want %v", gotUsage, tt.wantUsage)
			}
		})
	}
}

// TestDevStreamsEndProperly checks the terminal event of every streaming
// API, read with the SSE reader as a gateway tap would.
func TestDevStreamsEndProperly(t *testing.T) {
	t.Parallel()
	h := NewDev(DevConfig{})
	tests := []struct {
		path, body, wantLast string
	}{
		{"/v1/responses", `{"model":"fake-echo","stream":true,"input":"hi there"}`, "response.completed"},
		{"/v1/messages", `{"model":"fake-echo","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi there"}]}`, "message_stop"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			_, body := devDo(t, h, http.MethodPost, tt.path, tt.body, nil)
			r := sse.NewReader(strings.NewReader(body))
			var last sse.Event
			for {
				e, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				last = e
			}
			if last.Event != tt.wantLast {
				t.Fatalf("last event %q, want %q", last.Event, tt.wantLast)
			}
		})
	}
}
