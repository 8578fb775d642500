package gateway

import (
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		api    api
		body   string
		want   requestInfo
		errHas string // empty: no error
	}{
		{"chat string content", apiOpenAIChat,
			`{"model":"m","stream":true,"messages":[{"role":"user","content":"first"},{"role":"assistant","content":"a"},{"role":"user","content":"last \u00e9"}]}`,
			requestInfo{model: "m", stream: true, prompt: "last é"}, ""},
		{"chat parts, last user with text", apiOpenAIChat,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"one"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"two"}]},{"role":"user","content":[{"type":"image_url"}]}]}`,
			requestInfo{model: "m", prompt: "one\ntwo"}, ""},
		{"chat nulls", apiOpenAIChat, `{"model":"m","stream":null,"messages":null}`, requestInfo{model: "m"}, ""},
		{"later duplicate wins", apiOpenAIChat, `{"model":"a","model":"b"}`, requestInfo{model: "b"}, ""},
		{"unknown fields skipped", apiOpenAIChat, `{"tools":[{"x":{"y":[1,2,{}]}}],"model":"m","temperature":0.2}`, requestInfo{model: "m"}, ""},
		{"anthropic skips tool results", apiAnthropicMessages,
			`{"model":"c","messages":[{"role":"user","content":[{"type":"text","text":"ask"}]},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"r"}]}]}`,
			requestInfo{model: "c", prompt: "ask"}, ""},
		{"responses string input", apiOpenAIResponses, `{"model":"r","input":"hi"}`, requestInfo{model: "r", prompt: "hi"}, ""},
		{"responses items", apiOpenAIResponses,
			`{"model":"r","input":[{"role":"user","content":[{"type":"input_text","text":"q"}]},{"type":"function_call_output","call_id":"c","output":"o"},{"type":"message","role":"developer","content":"d"}]}`,
			requestInfo{model: "r", prompt: "q"}, ""},
		{"responses odd input ignored", apiOpenAIResponses, `{"model":"r","input":[1,2]}`, requestInfo{model: "r"}, ""},
		{"invalid JSON", apiOpenAIChat, `{"model":`, requestInfo{}, "unexpected end of JSON input"},
		{"syntax error", apiOpenAIChat, `{"model" "m"}`, requestInfo{}, "invalid character"},
		{"model wrong type", apiOpenAIChat, `{"model":5}`, requestInfo{}, "field model has the wrong type"},
		{"stream wrong type", apiAnthropicMessages, `{"model":"m","stream":"yes"}`, requestInfo{}, "field stream has the wrong type"},
		{"messages wrong type", apiOpenAIChat, `{"model":"m","messages":{}}`, requestInfo{}, "field messages has the wrong type"},
		{"role wrong type", apiOpenAIChat, `{"model":"m","messages":[{"role":1}]}`, requestInfo{}, "field messages.role has the wrong type"},
		{"array body", apiOpenAIChat, `[1]`, requestInfo{}, "request body must be a JSON object"},
		{"empty array body", apiOpenAIResponses, `[]`, requestInfo{}, "request body must be a JSON object"},
		{"null body", apiAnthropicMessages, `null`, requestInfo{}, "request body must be a JSON object"},
		{"string body", apiOpenAIChat, ` "hi" `, requestInfo{}, "request body must be a JSON object"},
		{"missing model", apiOpenAIChat, `{"messages":[]}`, requestInfo{}, "model is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, gerr := parseRequest(tc.api, []byte(tc.body))
			if tc.errHas != "" {
				if gerr == nil || !strings.Contains(gerr.Message, tc.errHas) {
					t.Fatalf("parseRequest error = %v, want one containing %q", gerr, tc.errHas)
				}
				if gerr.Status != 400 {
					t.Fatalf("status = %d, want 400", gerr.Status)
				}
				return
			}
			if gerr != nil {
				t.Fatalf("parseRequest: %v", gerr.Message)
			}
			if got.model != tc.want.model || got.stream != tc.want.stream || got.prompt != tc.want.prompt {
				t.Fatalf("parseRequest = %+v, want %+v", got, tc.want)
			}
		})
	}
}
