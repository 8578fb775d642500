package client

import (
	"encoding/json"
	"testing"

	"github.com/chatd/chatd/internal/wire"
)

// TestRequestJSON pins request bodies the endpoint tests do not cover:
// parts and client tools as the client sends them.
func TestRequestJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
		want string
	}{
		{
			name: "create chat with parts and tools",
			v: CreateChatRequest{
				Parts:       []wire.Part{{Type: "text", Text: "a <b>"}},
				Title:       "t",
				ClientTools: []wire.Tool{{Name: "ls", Description: "list", InputSchema: json.RawMessage(`{"type":"object"}`)}, {Name: "pwd"}},
			},
			want: `{"parts":[{"type":"text","text":"a \u003cb\u003e"}],"title":"t","client_tools":[{"name":"ls","description":"list","input_schema":{"type":"object"}},{"name":"pwd"}]}`,
		},
		{
			name: "edit message",
			v:    EditMessageRequest{Parts: []wire.Part{{Type: "text", Text: "x"}}},
			want: `{"parts":[{"type":"text","text":"x"}]}`,
		},
		{
			name: "tool result error",
			v:    wire.ToolResult{ToolCallID: "t1", Output: "no", IsError: true},
			want: `{"tool_call_id":"t1","output":"no","is_error":true}`,
		},
		{
			name: "update chat",
			v:    UpdateChatRequest{},
			want: `{}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("JSON changed:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
