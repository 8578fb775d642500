package gateway

import (
	"bytes"
	"sort"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/chatd/chatd/internal/store"
)

// OpenAI Chat Completions: https://platform.openai.com/docs/api-reference/chat

// chatUsage is the usage object of a response or a final chunk.
type chatUsage struct {
	PromptTokens, CompletionTokens, CachedTokens, ReasoningTokens int64
}

// chatUsageOf reads a usage object; nil when absent or null.
func chatUsageOf(v gjson.Result) *chatUsage {
	if !v.IsObject() {
		return nil
	}
	return &chatUsage{
		PromptTokens:     v.Get("prompt_tokens").Int(),
		CompletionTokens: v.Get("completion_tokens").Int(),
		CachedTokens:     v.Get("prompt_tokens_details.cached_tokens").Int(),
		ReasoningTokens:  v.Get("completion_tokens_details.reasoning_tokens").Int(),
	}
}

func (u *chatUsage) usage() store.Usage {
	return store.Usage{
		Input:     u.PromptTokens,
		Output:    u.CompletionTokens,
		CacheRead: u.CachedTokens,
		Reasoning: u.ReasoningTokens,
	}
}

// chatExtractor reads usage, tool calls and reasoning text (the
// reasoning_content or reasoning fields that OpenAI-compatible servers add)
// from Chat Completions responses.
type chatExtractor struct {
	deepGuard
	usage     *chatUsage
	tools     map[int]*toolAcc // by index; choice 0 only
	reasoning textAcc
	done      bool
	finished  bool
	errText   string
	blocking  []store.ToolCall
}

var (
	chatDone         = []byte("[DONE]")
	chatInteresting  = [][]byte{[]byte(`"tool_calls"`), []byte(`"usage":{`), []byte(`"usage": {`), []byte(`"reasoning`), []byte(`"finish_reason":"`), []byte(`"finish_reason": "`), []byte(`"error"`)}
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
	if !x.ok(data) || !gjson.ValidBytes(data) {
		return
	}
	c := gjson.ParseBytes(data)
	if e := c.Get("error"); e.Exists() && e.Type != gjson.Null {
		// OpenAI and compatible servers end a failing stream with an
		// error object instead of a chunk.
		x.done = true
		x.errText = chatErrorText(e)
		return
	}
	if u := chatUsageOf(c.Get("usage")); u != nil {
		x.usage = u
	}
	c.Get("choices").ForEach(func(_, ch gjson.Result) bool {
		if ch.Get("index").Int() != 0 {
			return true
		}
		if ch.Get("finish_reason").String() != "" {
			x.finished = true
		}
		d := ch.Get("delta")
		x.reasoning.add(d.Get("reasoning_content").String())
		x.reasoning.add(d.Get("reasoning").String())
		d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			i := int(tc.Get("index").Int())
			if x.tools == nil {
				x.tools = map[int]*toolAcc{}
			}
			a := x.tools[i]
			if a == nil {
				if len(x.tools) >= maxToolCalls {
					return true
				}
				a = &toolAcc{}
				x.tools[i] = a
			}
			// Strings kept in the record are cloned: gjson's are
			// substrings of a copy of the whole event.
			if id := tc.Get("id").String(); id != "" {
				a.id = strings.Clone(id)
			}
			fn := tc.Get("function")
			if name := fn.Get("name").String(); name != "" {
				a.name += strings.Clone(name)
			}
			a.appendArgs(fn.Get("arguments").String())
			return true
		})
		return true
	})
}

func (x *chatExtractor) body(data []byte) {
	if !x.ok(data) || !gjson.ValidBytes(data) {
		return
	}
	r := gjson.ParseBytes(data)
	x.usage = chatUsageOf(r.Get("usage"))
	x.done = true
	r.Get("choices").ForEach(func(_, ch gjson.Result) bool {
		if ch.Get("index").Int() != 0 {
			return true
		}
		m := ch.Get("message")
		x.reasoning.add(m.Get("reasoning_content").String())
		x.reasoning.add(m.Get("reasoning").String())
		m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			if len(x.blocking) < maxToolCalls {
				fn := tc.Get("function")
				// Cloned: gjson's strings are substrings of a copy of
				// the whole body, which the record would keep alive.
				x.blocking = append(x.blocking, store.ToolCall{
					ID:        strings.Clone(tc.Get("id").String()),
					Name:      strings.Clone(fn.Get("name").String()),
					Arguments: strings.Clone(clip(fn.Get("arguments").String())),
				})
			}
			return true
		})
		return true
	})
}

// complete: "[DONE]" ends every OpenAI stream; some compatible servers
// stop after the finish_reason chunk instead.
func (x *chatExtractor) complete() bool { return x.done || x.finished }

func (x *chatExtractor) usageKnown() bool { return x.usage != nil }

func (x *chatExtractor) streamError() string { return x.errText }

// chatErrorText reads an error member: an object with a message (and a
// type or code), or, from some compatible servers, a bare string.
func chatErrorText(e gjson.Result) string {
	if !e.IsObject() {
		return e.String()
	}
	msg := e.Get("message").String()
	kind := e.Get("type").String()
	if kind == "" {
		kind = e.Get("code").String()
	}
	if kind == "" {
		return msg
	}
	return kind + ": " + msg
}

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
