package gateway

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/chatd/chatd/internal/store"
)

// Anthropic Messages: https://docs.anthropic.com/en/api/messages and
// https://docs.anthropic.com/en/docs/build-with-claude/streaming

// anthropicUsage has pointers because message_delta repeats only some
// counts; a missing one keeps its earlier value.
type anthropicUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

func (u *anthropicUsage) into(dst *store.Usage) {
	if u == nil {
		return
	}
	set := func(d *int64, s *int64) {
		if s != nil {
			*d = *s
		}
	}
	set(&dst.Input, u.InputTokens)
	set(&dst.Output, u.OutputTokens)
	set(&dst.CacheWrite, u.CacheCreationInputTokens)
	set(&dst.CacheRead, u.CacheReadInputTokens)
}

type anthropicBlock struct {
	Type     string          `json:"type"`
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
	Thinking string          `json:"thinking"`
}

// anthropicExtractor reads usage, tool_use blocks and thinking text.
type anthropicExtractor struct {
	deepGuard
	usage     store.Usage
	sawUsage  bool
	tools     map[int]*toolAcc // by content block index
	blocking  []store.ToolCall
	reasoning textAcc
	done      bool
	errText   string
}

var anthropicTextDelta = []byte(`"text_delta"`)

func (x *anthropicExtractor) event(name string, data []byte) {
	switch name {
	case "message_start", "content_block_start", "message_delta", "error":
		if !x.ok(data) {
			return
		}
	}
	switch name {
	case "message_start":
		var e struct {
			Message struct {
				Usage *anthropicUsage `json:"usage"`
			} `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil {
			x.addUsage(e.Message.Usage)
		}
	case "content_block_start":
		var e struct {
			Index        int            `json:"index"`
			ContentBlock anthropicBlock `json:"content_block"`
		}
		if json.Unmarshal(data, &e) != nil {
			return
		}
		switch b := e.ContentBlock; b.Type {
		case "tool_use", "server_tool_use":
			if x.tools == nil {
				x.tools = map[int]*toolAcc{}
			}
			if len(x.tools) < maxToolCalls {
				x.tools[e.Index] = &toolAcc{id: b.ID, name: b.Name}
			}
		case "thinking":
			x.reasoning.add(b.Thinking)
		}
	case "content_block_delta":
		if bytes.Contains(data, anthropicTextDelta) {
			return // the answer text itself is not recorded
		}
		if !x.ok(data) {
			return
		}
		var e struct {
			Index int `json:"index"`
			Delta struct {
				Type        string `json:"type"`
				PartialJSON string `json:"partial_json"`
				Thinking    string `json:"thinking"`
			} `json:"delta"`
		}
		if json.Unmarshal(data, &e) != nil {
			return
		}
		switch e.Delta.Type {
		case "input_json_delta":
			if a := x.tools[e.Index]; a != nil {
				a.appendArgs(e.Delta.PartialJSON)
			}
		case "thinking_delta":
			x.reasoning.add(e.Delta.Thinking)
		}
	case "message_delta":
		var e struct {
			Usage *anthropicUsage `json:"usage"`
		}
		if json.Unmarshal(data, &e) == nil {
			x.addUsage(e.Usage)
		}
	case "message_stop":
		x.done = true
	case "error":
		// Anthropic ends a failing stream (overloaded_error and the like)
		// with this event and no message_stop.
		x.done = true
		var e struct {
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error.Message == "" && e.Error.Type == "" {
			x.errText = string(data[:min(len(data), upstreamErrorLimit)])
			return
		}
		x.errText = e.Error.Type + ": " + e.Error.Message
	}
}

func (x *anthropicExtractor) addUsage(u *anthropicUsage) {
	if u != nil {
		x.sawUsage = true
		u.into(&x.usage)
	}
}

func (x *anthropicExtractor) body(data []byte) {
	var r struct {
		Content []anthropicBlock `json:"content"`
		Usage   *anthropicUsage  `json:"usage"`
	}
	if !x.ok(data) || json.Unmarshal(data, &r) != nil {
		return
	}
	x.done = true
	x.addUsage(r.Usage)
	for _, b := range r.Content {
		switch b.Type {
		case "tool_use", "server_tool_use":
			if len(x.blocking) < maxToolCalls {
				x.blocking = append(x.blocking, store.ToolCall{ID: b.ID, Name: b.Name, Arguments: clip(string(compactJSON(b.Input)))})
			}
		case "thinking":
			x.reasoning.add(b.Thinking)
		}
	}
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func (x *anthropicExtractor) complete() bool { return x.done }

func (x *anthropicExtractor) usageKnown() bool { return x.sawUsage }

func (x *anthropicExtractor) streamError() string { return x.errText }

func (x *anthropicExtractor) fill(in *store.Interception) {
	in.Usage = x.usage
	in.ToolCalls = x.blocking
	if len(x.tools) > 0 {
		idx := make([]int, 0, len(x.tools))
		for i := range x.tools {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			tc := x.tools[i].toolCall()
			if tc.Arguments == "" {
				tc.Arguments = "{}" // a tool without parameters streams no deltas
			}
			in.ToolCalls = append(in.ToolCalls, tc)
		}
	}
	in.Reasoning = x.reasoning.String()
}
