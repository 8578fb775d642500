package chat

import (
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// The views turn store rows into the JSON shapes watchers and the API
// show (package wire). Times pass through as the store gives them.

// ViewChat returns c as the API shows it.
func ViewChat(c store.Chat) wire.Chat {
	v := wire.Chat{
		ID:              c.ID,
		OwnerID:         c.OwnerID,
		Title:           c.Title,
		Status:          string(c.Status),
		Archived:        c.Archived,
		ModelConfigID:   c.ModelConfigID,
		ParentChatID:    c.ParentChatID,
		RootChatID:      c.RootChatID,
		APIKeyID:        c.APIKeyID,
		SnapshotVersion: c.SnapshotVersion,
		LastError:       c.LastError,
		DebugOverride:   c.DebugOverride,
		ActionDeadline:  c.ActionDeadline,
		CreatedAt:       c.CreatedAt,
		UpdatedAt:       c.UpdatedAt,
	}
	if c.Retry != nil {
		v.Retry = &wire.RetryState{Attempt: c.Retry.Attempt, NextAt: c.Retry.NextAt, Error: c.Retry.Error}
	}
	if c.ClientTools != nil {
		v.ClientTools = make([]wire.Tool, len(c.ClientTools))
		for i, t := range c.ClientTools {
			v.ClientTools[i] = wire.Tool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema}
		}
	}
	return v
}

// ViewMessage returns m as the API shows it.
func ViewMessage(m store.Message) wire.Message {
	v := wire.Message{
		ID:            m.ID,
		ChatID:        m.ChatID,
		Seq:           m.Seq,
		Role:          string(m.Role),
		Parts:         viewParts(m.Parts),
		CostMicros:    m.CostMicros,
		ModelConfigID: m.ModelConfigID,
		APIKeyID:      m.APIKeyID,
		CreatedBy:     m.CreatedBy,
		CreatedAt:     m.CreatedAt,

		SummaryThroughSeq: m.SummaryThroughSeq,
		EndReason:         string(m.EndReason),
	}
	if m.Usage != (store.Usage{}) {
		v.Usage = &wire.Usage{
			InputTokens:      m.Usage.Input,
			OutputTokens:     m.Usage.Output,
			CacheReadTokens:  m.Usage.CacheRead,
			CacheWriteTokens: m.Usage.CacheWrite,
			ReasoningTokens:  m.Usage.Reasoning,
		}
	}
	return v
}

// ViewQueued returns q as the API shows it.
func ViewQueued(q store.QueuedMessage) wire.QueuedMessage {
	return wire.QueuedMessage{
		ID:        q.ID,
		Position:  q.Position,
		Parts:     viewParts(q.Parts),
		APIKeyID:  q.APIKeyID,
		CreatedBy: q.CreatedBy,
		CreatedAt: q.CreatedAt,
	}
}

// viewParts returns ps as the API shows them: never null.
func viewParts(ps []store.Part) []wire.Part {
	out := make([]wire.Part, len(ps))
	for i, p := range ps {
		out[i] = wire.Part{
			Type:             string(p.Type),
			Text:             p.Text,
			ToolCallID:       p.ToolCallID,
			ToolName:         p.ToolName,
			Input:            p.Input,
			Output:           p.Output,
			IsError:          p.IsError,
			ClientSide:       p.ClientSide,
			ProviderMetadata: p.ProviderMetadata,
		}
	}
	return out
}
