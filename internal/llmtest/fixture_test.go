package llmtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/chatd/chatd/internal/sse"
)

var requiredFixtures = []string{
	"openai-chat/blocking-plain", "openai-chat/blocking-tool", "openai-chat/stream-plain", "openai-chat/stream-tool",
	"openai-responses/blocking-plain", "openai-responses/blocking-tool", "openai-responses/stream-plain", "openai-responses/stream-tool",
	"anthropic-messages/blocking-plain", "anthropic-messages/blocking-tool", "anthropic-messages/stream-plain", "anthropic-messages/stream-tool",
	"anthropic-messages/stream-thinking", "anthropic-messages/blocking-cache", "openai-chat/stream-reasoning-cached",
	"openai-chat/error-429", "openai-chat/error-500", "anthropic-messages/error-429", "anthropic-messages/error-529",
	"openai-responses/stream-reasoning",
}

func TestFixturesWellFormed(t *testing.T) {
	t.Parallel()
	names := Names()
	for _, want := range requiredFixtures {
		if !slices.Contains(names, want) {
			t.Errorf("fixture %q missing", want)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := Load(t, name)
			if f.Comment == "" {
				t.Errorf("no comment")
			}
			if !json.Valid(f.Request) {
				t.Errorf("request is not JSON")
			}
			if !f.Streaming() {
				if !json.Valid(f.Body) {
					t.Fatalf("response is not JSON")
				}
				return
			}
			if f.Status != 200 {
				t.Errorf("streaming fixture has status %d", f.Status)
			}
			events := readAll(t, f.Body)
			last := events[len(events)-1]
			switch f.API {
			case "openai-chat":
				if string(last.Data) != "[DONE]" {
					t.Errorf("last event %q, want [DONE]", last.Data)
				}
			case "openai-responses":
				if last.Event != "response.completed" {
					t.Errorf("last event %q, want response.completed", last.Event)
				}
			case "anthropic-messages":
				if last.Event != "message_stop" {
					t.Errorf("last event %q, want message_stop", last.Event)
				}
			}
			for _, e := range events {
				if string(e.Data) == "[DONE]" {
					continue
				}
				var v struct {
					Type string `json:"type"`
				}
				if err := json.Unmarshal(e.Data, &v); err != nil {
					t.Fatalf("event %q: %v", e.Data, err)
				}
				if e.Event != "" && v.Type != e.Event {
					t.Errorf("event line %q but type %q", e.Event, v.Type)
				}
			}
		})
	}
}

func readAll(t *testing.T, body []byte) []sse.Event {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(body))
	var events []sse.Event
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read events: %v", err)
		}
		events = append(events, e)
	}
	if len(events) == 0 {
		t.Fatalf("no events")
	}
	return events
}

// got is what a client read from an exchange, to compare with Expect.
type got struct {
	Expect
	status int
}

// TestFixturesWithSDKs replays every fixture to the official SDKs and checks
// that they decode it and read the figures the fixture expects.
func TestFixturesWithSDKs(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := Load(t, name)
			s := NewServer(t, f.Response())
			var g got
			switch f.API {
			case "openai-chat":
				g = callOpenAIChat(t, s, f)
			case "openai-responses":
				g = callOpenAIResponses(t, s, f)
			case "anthropic-messages":
				g = callAnthropic(t, s, f)
			default:
				t.Fatalf("unknown API %q", f.API)
			}
			if g.status != f.Status {
				t.Fatalf("status %d, want %d", g.status, f.Status)
			}
			if f.Status != 200 {
				return
			}
			compareExpect(t, f.API, g.Expect, f.Expect)
			reqs := s.Requests()
			if len(reqs) != 1 || reqs[0].Path != f.Path() {
				t.Fatalf("requests %+v, want one to %s", reqs, f.Path())
			}
		})
	}
}

func compareExpect(t *testing.T, api string, got, want Expect) {
	t.Helper()
	got.Prompt, want.Prompt = "", ""
	if api == "openai-chat" {
		// The SDK has no field for the reasoning text some compatible
		// servers add to Chat Completions.
		got.Reasoning, want.Reasoning = "", ""
	}
	for i := range got.ToolCalls {
		got.ToolCalls[i].Arguments = compact(t, got.ToolCalls[i].Arguments)
	}
	for i := range want.ToolCalls {
		want.ToolCalls[i].Arguments = compact(t, want.ToolCalls[i].Arguments)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Fatalf("client read %s, fixture expects %s", gj, wj)
	}
}

func compact(t *testing.T, s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("arguments %q: %v", s, err)
	}
	return b.String()
}

func statusOf(err error) int {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return oe.StatusCode
	}
	var ae *anthropic.Error
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return -1
}

func openaiClient(s *Server) openai.Client {
	return openai.NewClient(option.WithAPIKey("sk-test"), option.WithBaseURL(s.URL+"/v1"),
		option.WithHTTPClient(s.Client()), option.WithMaxRetries(0))
}

func callOpenAIChat(t *testing.T, s *Server, f Fixture) got {
	ctx := context.Background()
	c := openaiClient(s)
	body := option.WithRequestBody("application/json", f.Request)
	var cc openai.ChatCompletion
	if f.Streaming() {
		st := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{}, body)
		var acc openai.ChatCompletionAccumulator
		for st.Next() {
			acc.AddChunk(st.Current())
		}
		if err := st.Err(); err != nil {
			t.Fatalf("stream: %v", err)
		}
		cc = acc.ChatCompletion
	} else {
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{}, body)
		if err != nil {
			return got{status: statusOf(err)}
		}
		cc = *resp
	}
	g := got{status: 200}
	g.InputTokens = cc.Usage.PromptTokens
	g.OutputTokens = cc.Usage.CompletionTokens
	g.CacheReadTokens = cc.Usage.PromptTokensDetails.CachedTokens
	g.ReasoningTokens = cc.Usage.CompletionTokensDetails.ReasoningTokens
	for _, tc := range cc.Choices[0].Message.ToolCalls {
		g.ToolCalls = append(g.ToolCalls, ToolCall{Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return g
}

func callOpenAIResponses(t *testing.T, s *Server, f Fixture) got {
	ctx := context.Background()
	c := openaiClient(s)
	body := option.WithRequestBody("application/json", f.Request)
	var r responses.Response
	if f.Streaming() {
		st := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{}, body)
		var completed bool
		for st.Next() {
			ev := st.Current()
			if ev.Type == "response.completed" {
				r = ev.AsResponseCompleted().Response
				completed = true
			}
		}
		if err := st.Err(); err != nil {
			t.Fatalf("stream: %v", err)
		}
		if !completed {
			t.Fatalf("no response.completed")
		}
	} else {
		resp, err := c.Responses.New(ctx, responses.ResponseNewParams{}, body)
		if err != nil {
			return got{status: statusOf(err)}
		}
		r = *resp
	}
	g := got{status: 200}
	g.InputTokens = r.Usage.InputTokens
	g.OutputTokens = r.Usage.OutputTokens
	g.CacheReadTokens = r.Usage.InputTokensDetails.CachedTokens
	g.ReasoningTokens = r.Usage.OutputTokensDetails.ReasoningTokens
	var reasoning []string
	for _, item := range r.Output {
		switch item.Type {
		case "function_call":
			fc := item.AsFunctionCall()
			g.ToolCalls = append(g.ToolCalls, ToolCall{Name: fc.Name, Arguments: fc.Arguments})
		case "reasoning":
			for _, s := range item.AsReasoning().Summary {
				reasoning = append(reasoning, s.Text)
			}
		}
	}
	g.Reasoning = strings.Join(reasoning, "\n")
	return g
}

func callAnthropic(t *testing.T, s *Server, f Fixture) got {
	ctx := context.Background()
	c := anthropic.NewClient(aoption.WithAPIKey("sk-ant-test"), aoption.WithBaseURL(s.URL),
		aoption.WithHTTPClient(s.Client()), aoption.WithMaxRetries(0))
	body := aoption.WithRequestBody("application/json", f.Request)
	var m anthropic.Message
	if f.Streaming() {
		st := c.Messages.NewStreaming(ctx, anthropic.MessageNewParams{}, body)
		var stopped bool
		for st.Next() {
			ev := st.Current()
			if err := m.Accumulate(ev); err != nil {
				t.Fatalf("accumulate: %v", err)
			}
			stopped = ev.Type == "message_stop"
		}
		if err := st.Err(); err != nil {
			t.Fatalf("stream: %v", err)
		}
		if !stopped {
			t.Fatalf("stream did not end with message_stop")
		}
	} else {
		resp, err := c.Messages.New(ctx, anthropic.MessageNewParams{}, body)
		if err != nil {
			return got{status: statusOf(err)}
		}
		m = *resp
	}
	g := got{status: 200}
	g.InputTokens = m.Usage.InputTokens
	g.OutputTokens = m.Usage.OutputTokens
	g.CacheReadTokens = m.Usage.CacheReadInputTokens
	g.CacheWriteTokens = m.Usage.CacheCreationInputTokens
	for _, b := range m.Content {
		if b.Type == "tool_use" {
			g.ToolCalls = append(g.ToolCalls, ToolCall{Name: b.Name, Arguments: string(b.Input)})
		}
		if b.Type == "thinking" {
			if b.Signature == "" || !strings.Contains(b.Thinking, "391") {
				t.Errorf("thinking block %+v incomplete", b)
			}
			g.Reasoning += b.Thinking
		}
	}
	return g
}
