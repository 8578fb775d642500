package llmtest

import (
	"encoding/json"
	"net/http"
	"strings"
)

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (d *dev) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := readJSON(r, &req); err != nil {
		d.badRequest(w, r, err.Error())
		return
	}
	if req.Model == "" {
		d.badRequest(w, r, "you must provide a model parameter")
		return
	}
	if len(req.Messages) == 0 {
		d.badRequest(w, r, "'messages' must contain at least one message")
		return
	}
	t := turn{model: req.Model}
	var all strings.Builder
	callNames := map[string]string{}
	for _, m := range req.Messages {
		txt := text(m.Content)
		all.WriteString(txt)
		for _, tc := range m.ToolCalls {
			callNames[tc.ID] = tc.Function.Name
		}
		if m.Role == "user" {
			t.lastUser = txt
		}
	}
	last := req.Messages[len(req.Messages)-1]
	if last.Role == "tool" {
		t.toolResult = &toolResult{name: callNames[last.ToolCallID], content: text(last.Content)}
	}
	for _, tl := range req.Tools {
		t.tools = append(t.tools, tool{name: tl.Function.Name, schema: tl.Function.Parameters})
		all.WriteString(tl.Function.Name)
		all.Write(tl.Function.Parameters)
	}
	t.inputTokens = tokens(all.String())
	t.id = hashID([]byte(all.String()))
	a := t.answer()

	id := "chatcmpl-fake" + t.id
	created := d.now().Unix()
	usage := map[string]any{
		"prompt_tokens":             t.inputTokens,
		"completion_tokens":         a.outputTokens,
		"total_tokens":              t.inputTokens + a.outputTokens,
		"prompt_tokens_details":     map[string]any{"cached_tokens": 0},
		"completion_tokens_details": map[string]any{"reasoning_tokens": 0},
	}
	finish := "stop"
	var toolCalls []any
	if a.call != nil {
		finish = "tool_calls"
		toolCalls = []any{map[string]any{
			"id": "call_fake" + t.id, "type": "function",
			"function": map[string]any{"name": a.call.Name, "arguments": a.call.Arguments},
		}}
	}

	if !req.Stream {
		msg := map[string]any{"role": "assistant", "content": a.text, "refusal": nil}
		if a.call != nil {
			msg["content"] = nil
			msg["tool_calls"] = toolCalls
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
			"usage":   usage,
		})
		return
	}

	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	s := d.startStream(w, r)
	chunk := func(delta map[string]any, finishReason any) {
		c := map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finishReason}},
		}
		if includeUsage {
			c["usage"] = nil
		}
		s.event("", c)
	}
	if a.call != nil {
		chunk(map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
			"index": 0, "id": "call_fake" + t.id, "type": "function",
			"function": map[string]any{"name": a.call.Name, "arguments": ""},
		}}}, nil)
		for _, p := range argDeltas(a.call.Arguments) {
			s.pause()
			chunk(map[string]any{"tool_calls": []any{map[string]any{
				"index": 0, "function": map[string]any{"arguments": p},
			}}}, nil)
		}
	} else {
		chunk(map[string]any{"role": "assistant", "content": ""}, nil)
		for _, p := range deltas(a.text) {
			s.pause()
			chunk(map[string]any{"content": p}, nil)
		}
	}
	chunk(map[string]any{}, finish)
	if includeUsage {
		s.event("", map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": []any{}, "usage": usage,
		})
	}
	s.event("", []byte("[DONE]"))
}

type responsesRequest struct {
	Model        string          `json:"model"`
	Input        json.RawMessage `json:"input"`
	Instructions string          `json:"instructions"`
	Tools        []struct {
		Type       string          `json:"type"`
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"tools"`
	Stream bool `json:"stream"`
}

type responsesItem struct {
	Type    string          `json:"type"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	CallID  string          `json:"call_id"`
	Name    string          `json:"name"`
	Output  json.RawMessage `json:"output"`
}

func (d *dev) responses(w http.ResponseWriter, r *http.Request) {
	var req responsesRequest
	if err := readJSON(r, &req); err != nil {
		d.badRequest(w, r, err.Error())
		return
	}
	if req.Model == "" {
		d.badRequest(w, r, "Missing required parameter: 'model'.")
		return
	}
	if len(req.Input) == 0 || string(req.Input) == "null" {
		d.badRequest(w, r, "Missing required parameter: 'input'.")
		return
	}
	t := turn{model: req.Model}
	var all strings.Builder
	all.WriteString(req.Instructions)
	var s string
	if json.Unmarshal(req.Input, &s) == nil {
		t.lastUser = s
		all.WriteString(s)
	} else {
		var items []responsesItem
		if err := json.Unmarshal(req.Input, &items); err != nil || len(items) == 0 {
			d.badRequest(w, r, "Invalid value for 'input': expected a string or a non-empty array of input items.")
			return
		}
		callNames := map[string]string{}
		for _, it := range items {
			switch {
			case it.Type == "function_call":
				callNames[it.CallID] = it.Name
			case it.Type == "function_call_output":
				all.WriteString(text(it.Output))
			case it.Role != "":
				txt := text(it.Content)
				all.WriteString(txt)
				if it.Role == "user" {
					t.lastUser = txt
				}
			}
		}
		if last := items[len(items)-1]; last.Type == "function_call_output" {
			t.toolResult = &toolResult{name: callNames[last.CallID], content: text(last.Output)}
		}
	}
	for _, tl := range req.Tools {
		if tl.Type != "function" {
			continue
		}
		t.tools = append(t.tools, tool{name: tl.Name, schema: tl.Parameters})
		all.WriteString(tl.Name)
		all.Write(tl.Parameters)
	}
	t.inputTokens = tokens(all.String())
	t.id = hashID([]byte(all.String()))
	a := t.answer()

	created := d.now().Unix()
	respID := "resp_fake" + t.id
	msgID := "msg_fake" + t.id
	fcID := "fc_fake" + t.id
	callID := "call_fake" + t.id
	response := func(status string, output []any, usage any) map[string]any {
		return map[string]any{
			"id": respID, "object": "response", "created_at": created, "status": status,
			"error": nil, "incomplete_details": nil, "instructions": nil, "model": req.Model,
			"output": output, "parallel_tool_calls": true, "tool_choice": "auto", "tools": []any{},
			"text": map[string]any{"format": map[string]any{"type": "text"}}, "usage": usage, "metadata": map[string]any{},
		}
	}
	usage := map[string]any{
		"input_tokens":          t.inputTokens,
		"input_tokens_details":  map[string]any{"cached_tokens": 0},
		"output_tokens":         a.outputTokens,
		"output_tokens_details": map[string]any{"reasoning_tokens": 0},
		"total_tokens":          t.inputTokens + a.outputTokens,
	}
	part := func(txt string) map[string]any {
		return map[string]any{"type": "output_text", "text": txt, "annotations": []any{}, "logprobs": []any{}}
	}
	message := func(status string, content []any) map[string]any {
		return map[string]any{"id": msgID, "type": "message", "status": status, "role": "assistant", "content": content}
	}
	call := func(status, args string) map[string]any {
		return map[string]any{"id": fcID, "type": "function_call", "status": status, "call_id": callID,
			"name": a.call.Name, "arguments": args}
	}
	var done map[string]any
	if a.call != nil {
		done = call("completed", a.call.Arguments)
	} else {
		done = message("completed", []any{part(a.text)})
	}

	if !req.Stream {
		writeJSON(w, http.StatusOK, response("completed", []any{done}, usage))
		return
	}

	st := d.startStream(w, r)
	seq := 0
	ev := func(name string, fields map[string]any) {
		fields["type"] = name
		fields["sequence_number"] = seq
		seq++
		st.event(name, fields)
	}
	ev("response.created", map[string]any{"response": response("in_progress", []any{}, nil)})
	ev("response.in_progress", map[string]any{"response": response("in_progress", []any{}, nil)})
	if a.call != nil {
		ev("response.output_item.added", map[string]any{"output_index": 0, "item": call("in_progress", "")})
		for _, p := range argDeltas(a.call.Arguments) {
			st.pause()
			ev("response.function_call_arguments.delta", map[string]any{"item_id": fcID, "output_index": 0, "delta": p})
		}
		ev("response.function_call_arguments.done", map[string]any{"item_id": fcID, "output_index": 0,
			"name": a.call.Name, "arguments": a.call.Arguments})
	} else {
		ev("response.output_item.added", map[string]any{"output_index": 0, "item": message("in_progress", []any{})})
		ev("response.content_part.added", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "part": part("")})
		for _, p := range deltas(a.text) {
			st.pause()
			ev("response.output_text.delta", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0,
				"delta": p, "logprobs": []any{}})
		}
		ev("response.output_text.done", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0,
			"text": a.text, "logprobs": []any{}})
		ev("response.content_part.done", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "part": part(a.text)})
	}
	ev("response.output_item.done", map[string]any{"output_index": 0, "item": done})
	ev("response.completed", map[string]any{"response": response("completed", []any{done}, usage)})
}
