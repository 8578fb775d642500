package gateway

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/chatd/chatd/internal/store"
)

// OpenAI Chat Completions: https://platform.openai.com/docs/api-reference/chat

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func parseChatRequest(body []byte) (requestInfo, error) {
	var r struct {
		Model    string        `json:"model"`
		Stream   bool          `json:"stream"`
		Messages []chatMessage `json:"messages"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return requestInfo{}, err
	}
	ri := requestInfo{model: r.Model, stream: r.Stream}
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if m := r.Messages[i]; m.Role == "user" {
			if s := textOf(m.Content, "text"); s != "" {
				ri.prompt = s
				break
			}
		}
	}
	return ri, nil
}

type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func (u *chatUsage) usage() store.Usage {
	return store.Usage{
		Input:     u.PromptTokens,
		Output:    u.CompletionTokens,
		CacheRead: u.PromptTokensDetails.CachedTokens,
		Reasoning: u.CompletionTokensDetails.ReasoningTokens,
	}
}

type chatToolCall struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// chatExtractor reads usage, tool calls and reasoning text (the
// reasoning_content or reasoning fields that OpenAI-compatible servers add)
// from Chat Completions responses.
type chatExtractor struct {
	usage     *chatUsage
	tools     map[int]*toolAcc // by index; choice 0 only
	reasoning textAcc
	done      bool
	finished  bool
	blocking  []store.ToolCall
}

var (
	chatDone         = []byte("[DONE]")
	chatInteresting  = [][]byte{[]byte(`"tool_calls"`), []byte(`"usage":{`), []byte(`"usage": {`), []byte(`"reasoning`), []byte(`"finish_reason":"`), []byte(`"finish_reason": "`)}
	chatPlainContent = []byte(`"content"`)
)

func (x *chatExtractor) event(_ string, data []byte) {
	if bytes.Equal(bytes.TrimSpace(data), chatDone) {
		x.done = true
		return
	}
	// Most chunks carry only content; skip decoding those.
	interesting := false
	for _, k := range chatInteresting {
		if bytes.Contains(data, k) {
			interesting = true
			break
		}
	}
	if !interesting && bytes.Contains(data, chatPlainContent) {
		return
	}
	var c struct {
		Choices []struct {
			Index int `json:"index"`
			Delta struct {
				ReasoningContent string         `json:"reasoning_content"`
				Reasoning        string         `json:"reasoning"`
				ToolCalls        []chatToolCall `json:"tool_calls"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *chatUsage `json:"usage"`
	}
	if json.Unmarshal(data, &c) != nil {
		return
	}
	if c.Usage != nil {
		x.usage = c.Usage
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			x.finished = true
		}
		x.reasoning.add(ch.Delta.ReasoningContent)
		x.reasoning.add(ch.Delta.Reasoning)
		for _, tc := range ch.Delta.ToolCalls {
			if x.tools == nil {
				x.tools = map[int]*toolAcc{}
			}
			a := x.tools[tc.Index]
			if a == nil {
				if len(x.tools) >= maxToolCalls {
					continue
				}
				a = &toolAcc{}
				x.tools[tc.Index] = a
			}
			if tc.ID != "" {
				a.id = tc.ID
			}
			if tc.Function.Name != "" {
				a.name += tc.Function.Name
			}
			a.appendArgs(tc.Function.Arguments)
		}
	}
}

func (x *chatExtractor) body(data []byte) {
	var r struct {
		Choices []struct {
			Index   int `json:"index"`
			Message struct {
				ReasoningContent string         `json:"reasoning_content"`
				Reasoning        string         `json:"reasoning"`
				ToolCalls        []chatToolCall `json:"tool_calls"`
			} `json:"message"`
		} `json:"choices"`
		Usage *chatUsage `json:"usage"`
	}
	if json.Unmarshal(data, &r) != nil {
		return
	}
	x.usage = r.Usage
	x.done = true
	for _, ch := range r.Choices {
		if ch.Index != 0 {
			continue
		}
		x.reasoning.add(ch.Message.ReasoningContent)
		x.reasoning.add(ch.Message.Reasoning)
		for _, tc := range ch.Message.ToolCalls {
			if len(x.blocking) < maxToolCalls {
				x.blocking = append(x.blocking, store.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: clip(tc.Function.Arguments)})
			}
		}
	}
}

// complete: "[DONE]" ends every OpenAI stream; some compatible servers
// stop after the finish_reason chunk instead.
func (x *chatExtractor) complete() bool { return x.done || x.finished }

func (x *chatExtractor) fill(in *store.Interception) {
	if x.usage != nil {
		in.Usage = x.usage.usage()
	}
	in.ToolCalls = x.blocking
	if len(x.tools) > 0 {
		idx := make([]int, 0, len(x.tools))
		for i := range x.tools {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			in.ToolCalls = append(in.ToolCalls, x.tools[i].toolCall())
		}
	}
	in.Reasoning = x.reasoning.String()
}
