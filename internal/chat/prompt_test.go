package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"charm.land/fantasy"
	"charm.land/fantasy/providers/anthropic"
	"charm.land/fantasy/providers/openai"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// partsString renders a prompt message's parts as "type:text|...".
func partsString(m fantasy.Message) string {
	var out []string
	for _, p := range m.Content {
		switch p := p.(type) {
		case fantasy.TextPart:
			out = append(out, "text:"+p.Text)
		case fantasy.ReasoningPart:
			out = append(out, "reasoning:"+p.Text)
		default:
			out = append(out, fmt.Sprintf("%T", p))
		}
	}
	return strings.Join(out, "|")
}

func TestPromptMarksInterruptedAnswer(t *testing.T) {
	t.Parallel()
	reasoning := func(s string) store.Part { return store.Part{Type: store.PartReasoning, Text: s} }
	txt := func(s string) store.Part { return store.Part{Type: store.PartText, Text: s} }
	mark := "\n\n" + interruptedMarker
	tests := []struct {
		name  string
		end   store.EndReason
		parts []store.Part
		want  string
	}{
		{"complete answer", "", []store.Part{txt("Hello")}, "text:Hello"},
		{"partial text", store.EndInterrupted, []store.Part{txt("Hel")}, "text:Hel" + mark},
		{"last text block", store.EndInterrupted, []store.Part{txt("a"), reasoning("r"), txt("b")}, "text:a|reasoning:r|text:b" + mark},
		{"text then reasoning", store.EndInterrupted, []store.Part{txt("a"), reasoning("r")}, "text:a" + mark + "|reasoning:r"},
		{"reasoning only", store.EndInterrupted, []store.Part{reasoning("r")}, "reasoning:r|text:" + interruptedMarker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			history := []store.Message{
				{Seq: 1, Role: store.RoleUser, Parts: text("hi")},
				{Seq: 2, Role: store.RoleAssistant, Parts: tt.parts, EndReason: tt.end},
				{Seq: 3, Role: store.RoleUser, Parts: text("go on")},
			}
			stored := slices.Clone(tt.parts)
			p := buildPrompt(history)
			if len(p) != 3 || p[1].Role != fantasy.MessageRoleAssistant {
				t.Fatalf("prompt = %+v", p)
			}
			if got := partsString(p[1]); got != tt.want {
				t.Fatalf("assistant message = %q, want %q", got, tt.want)
			}
			if !reflect.DeepEqual(history[1].Parts, stored) {
				t.Fatalf("the stored parts changed: %+v", history[1].Parts)
			}
		})
	}
}

// TestInterruptedMarkerReachesEveryAPI sends a prompt holding an
// interrupted answer through fantasy's provider for each API chatd
// speaks: each must send the partial text and the marker as the
// assistant's turn. (fantasy's Chat Completions conversion keeps only an
// assistant message's last text part, so a separate marker part would
// have replaced the partial text there.)
func TestInterruptedMarkerReachesEveryAPI(t *testing.T) {
	t.Parallel()
	history := []store.Message{
		{Seq: 1, Role: store.RoleUser, Parts: text("hi")},
		{Seq: 2, Role: store.RoleAssistant, EndReason: store.EndInterrupted, Parts: []store.Part{
			{Type: store.PartReasoning, Text: "thinking"},
			{Type: store.PartText, Text: "Hel"},
		}},
		{Seq: 3, Role: store.RoleUser, Parts: text("go on")},
	}
	want := "Hel\n\n" + interruptedMarker
	for _, api := range []string{"openai-chat", "openai-responses", "anthropic-messages"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			up := llmtest.NewServer(t, llmtest.Load(t, api+"/stream-plain").Response())
			model := apiModel(t, api, up)
			resp, err := model.Stream(t.Context(), fantasy.Call{Prompt: buildPrompt(history)})
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			for part := range resp {
				if part.Type == fantasy.StreamPartTypeError {
					t.Fatalf("stream: %v", part.Error)
				}
			}
			reqs := up.Requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream got %d requests", len(reqs))
			}
			var body map[string]any
			if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
				t.Fatalf("decode request: %v", err)
			}
			items, _ := body["messages"].([]any)
			if api == "openai-responses" {
				items, _ = body["input"].([]any)
			}
			var said []string
			for _, it := range items {
				if m, ok := it.(map[string]any); ok && m["role"] == "assistant" {
					said = appendStrings(said, m["content"])
				}
			}
			if !slices.Contains(said, want) {
				t.Fatalf("the assistant's turn says %q, want %q in it\nrequest: %s", said, want, reqs[0].Body)
			}
		})
	}
}

// appendStrings appends every string found in v, depth first.
func appendStrings(out []string, v any) []string {
	switch v := v.(type) {
	case string:
		out = append(out, v)
	case []any:
		for _, x := range v {
			out = appendStrings(out, x)
		}
	case map[string]any:
		for _, x := range v {
			out = appendStrings(out, x)
		}
	}
	return out
}

// apiModel is a fantasy model of api calling up, configured as the router
// configures it.
func apiModel(t *testing.T, api string, up *llmtest.Server) fantasy.LanguageModel {
	t.Helper()
	var (
		p   fantasy.Provider
		err error
	)
	switch api {
	case "openai-chat":
		p, err = openai.New(openai.WithAPIKey("sk-test"), openai.WithBaseURL(up.URL+"/v1"), openai.WithHTTPClient(up.Client()))
	case "openai-responses":
		p, err = openai.New(openai.WithAPIKey("sk-test"), openai.WithBaseURL(up.URL+"/v1"), openai.WithHTTPClient(up.Client()),
			openai.WithUseResponsesAPI(), openai.WithResponsesAPIFunc(func(string) bool { return true }))
	case "anthropic-messages":
		p, err = anthropic.New(anthropic.WithAPIKey("sk-ant-test"), anthropic.WithBaseURL(up.URL), anthropic.WithHTTPClient(up.Client()))
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

// TestEveryTextBlockReachesEveryAPI: an assistant answer of several text
// blocks around a tool call keeps all its text on every API (fantasy's
// Chat Completions conversion alone would keep only the last block).
func TestEveryTextBlockReachesEveryAPI(t *testing.T) {
	t.Parallel()
	history := []store.Message{
		{Seq: 1, Role: store.RoleUser, Parts: text("hi")},
		{Seq: 2, Role: store.RoleAssistant, Parts: []store.Part{
			{Type: store.PartText, Text: "BLOCK-ONE"},
			{Type: store.PartToolCall, ToolCallID: "call_1", ToolName: "t", Input: "{}"},
			{Type: store.PartText, Text: "BLOCK-TWO"},
		}},
		{Seq: 3, Role: store.RoleTool, Parts: []store.Part{{Type: store.PartToolResult, ToolCallID: "call_1", ToolName: "t", Output: "ok"}}},
		{Seq: 4, Role: store.RoleUser, Parts: text("go on")},
	}
	for _, api := range []string{"openai-chat", "openai-responses", "anthropic-messages"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			up := llmtest.NewServer(t, llmtest.Load(t, api+"/stream-plain").Response())
			resp, err := apiModel(t, api, up).Stream(t.Context(), fantasy.Call{Prompt: buildPrompt(history)})
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			for part := range resp {
				if part.Type == fantasy.StreamPartTypeError {
					t.Fatalf("stream: %v", part.Error)
				}
			}
			body := string(up.Requests()[0].Body)
			for _, want := range []string{"BLOCK-ONE", "BLOCK-TWO"} {
				if !strings.Contains(body, want) {
					t.Fatalf("request lacks %s: %s", want, body)
				}
			}
		})
	}
}
