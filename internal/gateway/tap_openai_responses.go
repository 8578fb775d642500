package gateway

import (
	"bytes"
	"encoding/json"

	"github.com/chatd/chatd/internal/store"
)

// OpenAI Responses: https://platform.openai.com/docs/api-reference/responses

type responsesUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

type responsesItem struct {
	Type      string `json:"type"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	Input     string `json:"input"` // custom_tool_call
	Summary   []struct {
		Text string `json:"text"`
	} `json:"summary"`
}

type responsesObject struct {
	Usage  *responsesUsage `json:"usage"`
	Output []responsesItem `json:"output"`
	Error  *responsesError `json:"error"` // set on response.failed
}

type responsesError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e responsesError) String() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Code + ": " + e.Message
}

// responsesExtractor reads the final response object, which carries
// usage, every output item and reasoning summaries. Until it arrives,
// finished tool call items are kept so a broken stream still shows them.
type responsesExtractor struct {
	deepGuard
	usage     *responsesUsage
	tools     []store.ToolCall
	reasoning textAcc
	done      bool
	final     bool
	errText   string
}

// responsesTerminal are the types of the events that end a stream, as
// they appear in data when a server omits "event:" lines.
var responsesTerminal = [][]byte{
	[]byte(`"response.completed"`), []byte(`"response.incomplete"`), []byte(`"response.failed"`),
	[]byte(`"type":"error"`), []byte(`"type": "error"`),
}

func (x *responsesExtractor) event(name string, data []byte) {
	switch name {
	case "response.completed", "response.incomplete", "response.failed", "error":
	case "response.output_item.done":
		if x.final || !x.ok(data) {
			return
		}
		var e struct {
			Item responsesItem `json:"item"`
		}
		if json.Unmarshal(data, &e) == nil {
			x.item(e.Item)
		}
		return
	case "":
		// Servers that omit "event:" lines still name the type in data.
		if !containsAny(data, responsesTerminal) {
			return
		}
	default:
		return
	}
	if !x.ok(data) {
		return
	}
	var e struct {
		Type     string          `json:"type"`
		Code     string          `json:"code"`
		Message  string          `json:"message"`
		Response responsesObject `json:"response"`
	}
	if json.Unmarshal(data, &e) != nil {
		if name == "error" {
			x.done = true
			x.errText = string(data[:min(len(data), upstreamErrorLimit)])
		}
		return
	}
	switch {
	case name == "error" || e.Type == "error":
		// A stream that fails before or instead of response.failed.
		x.done = true
		x.errText = responsesError{Code: e.Code, Message: e.Message}.String()
		return
	case e.Type == "response.failed":
		x.errText = "response failed"
		if e.Response.Error != nil {
			x.errText = e.Response.Error.String()
		}
	case e.Type == "response.completed", e.Type == "response.incomplete":
	default:
		return
	}
	x.done = true
	x.object(e.Response)
}

func containsAny(b []byte, subs [][]byte) bool {
	for _, s := range subs {
		if bytes.Contains(b, s) {
			return true
		}
	}
	return false
}

func (x *responsesExtractor) body(data []byte) {
	var r responsesObject
	if !x.ok(data) || json.Unmarshal(data, &r) != nil {
		return
	}
	x.done = true
	x.object(r)
}

func (x *responsesExtractor) object(r responsesObject) {
	x.final = true
	x.usage = r.Usage
	x.tools = nil
	x.reasoning = textAcc{}
	for _, it := range r.Output {
		x.item(it)
	}
}

func (x *responsesExtractor) item(it responsesItem) {
	switch it.Type {
	case "function_call":
		if len(x.tools) < maxToolCalls {
			x.tools = append(x.tools, store.ToolCall{ID: it.CallID, Name: it.Name, Arguments: clip(it.Arguments)})
		}
	case "custom_tool_call":
		if len(x.tools) < maxToolCalls {
			x.tools = append(x.tools, store.ToolCall{ID: it.CallID, Name: it.Name, Arguments: clip(it.Input)})
		}
	case "reasoning":
		for _, s := range it.Summary {
			if x.reasoning.b.Len() > 0 {
				x.reasoning.add("\n")
			}
			x.reasoning.add(s.Text)
		}
	}
}

func (x *responsesExtractor) complete() bool { return x.done }

func (x *responsesExtractor) usageKnown() bool { return x.usage != nil }

func (x *responsesExtractor) streamError() string { return x.errText }

func (x *responsesExtractor) fill(in *store.Interception) {
	if u := x.usage; u != nil {
		in.Usage = store.Usage{
			Input:     u.InputTokens,
			Output:    u.OutputTokens,
			CacheRead: u.InputTokensDetails.CachedTokens,
			Reasoning: u.OutputTokensDetails.ReasoningTokens,
		}
	}
	in.ToolCalls = x.tools
	in.Reasoning = x.reasoning.String()
}
