package chat

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/store"
)

// summaryPrefix introduces a compaction summary in the prompt.
const summaryPrefix = "Summary of the conversation so far:\n\n"

// interruptedMarker ends, in the prompt only, an answer an interrupt cut
// short, so that the model does not take the partial text for a whole
// answer. It names no one: a parent agent interrupts subagents too.
const interruptedMarker = "[interrupted before the answer was finished]"

// buildPrompt turns a chat's visible history into a prompt. A summary
// message replaces the messages it covers (see promptHistory). A tool call
// left without a result (a crash between commits) gets an error result,
// since providers refuse a dangling call.
func buildPrompt(history []store.Message) fantasy.Prompt {
	history = promptHistory(history)
	answered := map[string]bool{}
	for _, m := range history {
		for _, p := range m.Parts {
			if p.Type == store.PartToolResult {
				answered[p.ToolCallID] = true
			}
		}
	}
	var prompt fantasy.Prompt
	for i, m := range history {
		switch m.Role {
		case store.RoleSummary:
			prompt = append(prompt, summaryMessage(m, history[i+1:]))
		case store.RoleUser:
			var parts []fantasy.MessagePart
			for _, p := range m.Parts {
				if p.Type == store.PartText {
					parts = append(parts, fantasy.TextPart{Text: p.Text})
				}
			}
			if len(parts) > 0 {
				prompt = append(prompt, fantasy.Message{Role: fantasy.MessageRoleUser, Content: parts})
			}
		case store.RoleAssistant:
			var parts []fantasy.MessagePart
			var missing []fantasy.MessagePart
			for _, p := range m.Parts {
				switch p.Type {
				case store.PartText:
					if p.Text != "" {
						parts = append(parts, fantasy.TextPart{Text: p.Text, ProviderOptions: decodeMetadata(p.ProviderMetadata)})
					}
				case store.PartReasoning:
					parts = append(parts, fantasy.ReasoningPart{Text: p.Text, ProviderOptions: decodeMetadata(p.ProviderMetadata)})
				case store.PartToolCall:
					parts = append(parts, fantasy.ToolCallPart{
						ToolCallID:      p.ToolCallID,
						ToolName:        p.ToolName,
						Input:           cmpInput(p.Input),
						ProviderOptions: decodeMetadata(p.ProviderMetadata),
					})
					if !answered[p.ToolCallID] {
						missing = append(missing, fantasy.ToolResultPart{
							ToolCallID: p.ToolCallID,
							Output:     fantasy.ToolResultOutputContentError{Error: errors.New("the tool call was abandoned")},
						})
					}
				}
			}
			parts = joinTexts(parts)
			if m.EndReason == store.EndInterrupted {
				parts = markInterrupted(parts)
			}
			if len(parts) > 0 {
				prompt = append(prompt, fantasy.Message{Role: fantasy.MessageRoleAssistant, Content: parts})
			}
			if len(missing) > 0 {
				prompt = append(prompt, fantasy.Message{Role: fantasy.MessageRoleTool, Content: missing})
			}
		case store.RoleTool:
			var parts []fantasy.MessagePart
			for _, p := range m.Parts {
				if p.Type != store.PartToolResult {
					continue
				}
				var out fantasy.ToolResultOutputContent = fantasy.ToolResultOutputContentText{Text: p.Output}
				if p.IsError {
					out = fantasy.ToolResultOutputContentError{Error: errors.New(p.Output)}
				}
				parts = append(parts, fantasy.ToolResultPart{ToolCallID: p.ToolCallID, Output: out})
			}
			if len(parts) > 0 {
				prompt = append(prompt, fantasy.Message{Role: fantasy.MessageRoleTool, Content: parts})
			}
		}
	}
	return prompt
}

// joinTexts merges an assistant message's text parts into its first one
// when none carries provider metadata. fantasy's Chat Completions
// conversion keeps only the last text part of an assistant message, so
// an answer of several text blocks (an Anthropic one, if the chat later
// moved to an OpenAI model) would lose all but its last block. Messages
// with text metadata (Responses item ids) or reasoning (whose order with
// the text a provider may check against its signatures) are left as
// they are.
func joinTexts(parts []fantasy.MessagePart) []fantasy.MessagePart {
	first, texts := -1, 0
	for i, p := range parts {
		if _, ok := p.(fantasy.ReasoningPart); ok {
			return parts
		}
		if tp, ok := p.(fantasy.TextPart); ok {
			if len(tp.ProviderOptions) > 0 {
				return parts
			}
			if first < 0 {
				first = i
			}
			texts++
		}
	}
	if texts < 2 {
		return parts
	}
	var b strings.Builder
	out := make([]fantasy.MessagePart, 0, len(parts)-texts+1)
	for i, p := range parts {
		tp, ok := p.(fantasy.TextPart)
		if !ok {
			out = append(out, p)
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(tp.Text)
		if i == first {
			out = append(out, nil) // filled below
		}
	}
	for i, p := range out {
		if p == nil {
			out[i] = fantasy.TextPart{Text: b.String()}
		}
	}
	return out
}

// markInterrupted appends interruptedMarker, in place, to the last text
// part of an assistant message, or adds it as a text part when there is
// none (only reasoning arrived). It extends the text instead of adding a
// part because fantasy's Chat Completions conversion keeps only the last
// text part of an assistant message: a separate marker part would replace
// the partial answer.
func markInterrupted(parts []fantasy.MessagePart) []fantasy.MessagePart {
	for i, p := range slices.Backward(parts) {
		if tp, ok := p.(fantasy.TextPart); ok {
			tp.Text += "\n\n" + interruptedMarker
			parts[i] = tp
			return parts
		}
	}
	return append(parts, fantasy.TextPart{Text: interruptedMarker})
}

// cmpInput gives a tool call with no arguments an empty object, which
// every provider accepts.
func cmpInput(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

func textOf(parts []store.Part) string {
	var s string
	for _, p := range parts {
		if p.Type == store.PartText {
			s += p.Text
		}
	}
	return s
}

// encodeMetadata keeps provider metadata (reasoning signatures) as JSON;
// each value carries its registered type so decodeMetadata restores it.
func encodeMetadata(md fantasy.ProviderMetadata) json.RawMessage {
	if len(md) == 0 {
		return nil
	}
	b, err := json.Marshal(md)
	if err != nil {
		return nil
	}
	return b
}

func decodeMetadata(raw json.RawMessage) fantasy.ProviderOptions {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	md, err := fantasy.UnmarshalProviderMetadata(m)
	if err != nil {
		return nil
	}
	return fantasy.ProviderOptions(md)
}

var emptySchema = map[string]any{"type": "object", "properties": map[string]any{}}

func schemaMap(raw json.RawMessage) map[string]any {
	if len(raw) == 0 {
		return emptySchema
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return emptySchema
	}
	return m
}

// callTools lists the server tools offered to the chat and the chat's
// client tools.
func (s *Service) callTools(c store.Chat) []fantasy.Tool {
	var out []fantasy.Tool
	for _, t := range s.sortedTools() {
		if ct, ok := t.(ChatTool); ok && !ct.AvailableFor(c) {
			continue
		}
		out = append(out, fantasy.FunctionTool{Name: t.Name(), Description: t.Description(), InputSchema: schemaMap(t.Schema())})
	}
	for _, t := range c.ClientTools {
		out = append(out, fantasy.FunctionTool{Name: t.Name, Description: t.Description, InputSchema: schemaMap(t.InputSchema)})
	}
	return out
}
