package llmtest

import (
	"encoding/json"
	"net/http"
	"strings"
)

type messagesRequest struct {
	Model     string          `json:"model"`
	MaxTokens *int64          `json:"max_tokens"`
	System    json.RawMessage `json:"system"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
	Stream bool `json:"stream"`
}

type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

// parseMessages reduces a Messages request (or a count_tokens request,
// which has the same fields) to a turn.
func parseMessages(w http.ResponseWriter, r *http.Request, d *dev, needMaxTokens bool) (messagesRequest, turn, bool) {
	var req messagesRequest
	if err := readJSON(r, &req); err != nil {
		d.badRequest(w, r, err.Error())
		return req, turn{}, false
	}
	switch {
	case req.Model == "":
		d.badRequest(w, r, "model: Field required")
		return req, turn{}, false
	case len(req.Messages) == 0:
		d.badRequest(w, r, "messages: Field required")
		return req, turn{}, false
	case needMaxTokens && req.MaxTokens == nil:
		d.badRequest(w, r, "max_tokens: Field required")
		return req, turn{}, false
	}
	t := turn{model: req.Model}
	var all strings.Builder
	all.WriteString(text(req.System))
	callNames := map[string]string{}
	for i, m := range req.Messages {
		var blocks []anthropicBlock
		if json.Unmarshal(m.Content, &blocks) != nil {
			// A plain string.
			blocks = []anthropicBlock{{Type: "text", Text: text(m.Content)}}
		}
		var txt []string
		var result *toolResult
		for _, b := range blocks {
			switch b.Type {
			case "text":
				txt = append(txt, b.Text)
			case "tool_use":
				callNames[b.ID] = b.Name
			case "tool_result":
				result = &toolResult{name: callNames[b.ToolUseID], content: text(b.Content)}
				all.WriteString(result.content)
			}
		}
		joined := strings.Join(txt, "\n")
		all.WriteString(joined)
		if m.Role == "user" && len(txt) > 0 {
			t.lastUser = joined
		}
		if i == len(req.Messages)-1 && m.Role == "user" {
			t.toolResult = result
		}
	}
	for _, tl := range req.Tools {
		if tl.Type != "" && tl.Type != "custom" {
			continue // server tools (web search, computer use) are not ours to call
		}
		t.tools = append(t.tools, tool{name: tl.Name, schema: tl.InputSchema})
		all.WriteString(tl.Name)
		all.Write(tl.InputSchema)
	}
	t.inputTokens = tokens(all.String())
	t.id = hashID([]byte(all.String()))
	return req, t, true
}

func (d *dev) countTokens(w http.ResponseWriter, r *http.Request) {
	_, t, ok := parseMessages(w, r, d, false)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"input_tokens": t.inputTokens})
}

func (d *dev) messages(w http.ResponseWriter, r *http.Request) {
	req, t, ok := parseMessages(w, r, d, true)
	if !ok {
		return
	}
	a := t.answer()
	msgID := "msg_fake" + t.id
	toolID := "toolu_fake" + t.id
	usage := func(output int64) map[string]any {
		return map[string]any{"input_tokens": t.inputTokens, "cache_creation_input_tokens": 0,
			"cache_read_input_tokens": 0, "output_tokens": output}
	}
	stop := "end_turn"
	content := []any{map[string]any{"type": "text", "text": a.text}}
	if a.call != nil {
		stop = "tool_use"
		content = append(content, map[string]any{"type": "tool_use", "id": toolID, "name": a.call.Name,
			"input": json.RawMessage(a.call.Arguments)})
	}
	message := func(content []any, stop any, u map[string]any) map[string]any {
		return map[string]any{"id": msgID, "type": "message", "role": "assistant", "model": req.Model,
			"content": content, "stop_reason": stop, "stop_sequence": nil, "usage": u}
	}

	if !req.Stream {
		writeJSON(w, http.StatusOK, message(content, stop, usage(a.outputTokens)))
		return
	}

	s := d.startStream(w, r)
	ev := func(name string, fields map[string]any) {
		fields["type"] = name
		s.event(name, fields)
	}
	ev("message_start", map[string]any{"message": message([]any{}, nil, usage(1))})
	ev("content_block_start", map[string]any{"index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	ev("ping", map[string]any{})
	for _, p := range deltas(a.text) {
		s.pause()
		ev("content_block_delta", map[string]any{"index": 0, "delta": map[string]any{"type": "text_delta", "text": p}})
	}
	ev("content_block_stop", map[string]any{"index": 0})
	if a.call != nil {
		ev("content_block_start", map[string]any{"index": 1, "content_block": map[string]any{
			"type": "tool_use", "id": toolID, "name": a.call.Name, "input": map[string]any{}}})
		for _, p := range argDeltas(a.call.Arguments) {
			s.pause()
			ev("content_block_delta", map[string]any{"index": 1, "delta": map[string]any{"type": "input_json_delta", "partial_json": p}})
		}
		ev("content_block_stop", map[string]any{"index": 1})
	}
	ev("message_delta", map[string]any{"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": usage(a.outputTokens)})
	ev("message_stop", map[string]any{})
}
