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
}

// responsesExtractor reads the final response object, which carries
// usage, every output item and reasoning summaries. Until it arrives,
// finished tool call items are kept so a broken stream still shows them.
type responsesExtractor struct {
	usage     *responsesUsage
	tools     []store.ToolCall
	reasoning textAcc
	done      bool
	final     bool
}

func (x *responsesExtractor) event(name string, data []byte) {
	switch name {
	case "response.completed", "response.incomplete", "response.failed":
	case "response.output_item.done":
		if x.final {
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
		if !bytes.Contains(data, []byte(`"response.completed"`)) && !bytes.Contains(data, []byte(`"response.incomplete"`)) && !bytes.Contains(data, []byte(`"response.failed"`)) {
			return
		}
	default:
		return
	}
	var e struct {
		Type     string          `json:"type"`
		Response responsesObject `json:"response"`
	}
	if json.Unmarshal(data, &e) != nil {
		return
	}
	switch e.Type {
	case "response.completed", "response.incomplete", "response.failed":
	default:
		return
	}
	x.done = true
	x.object(e.Response)
}

func (x *responsesExtractor) body(data []byte) {
	var r responsesObject
	if json.Unmarshal(data, &r) != nil {
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
