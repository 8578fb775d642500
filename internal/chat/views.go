package chat

import (
	"encoding/json"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// EventType is the kind of a watcher event.
type EventType string

// Event types.
const (
	// EventChat carries a snapshot of the chat: status, retry state, last
	// error, title, snapshot version.
	EventChat EventType = "chat"
	// EventMessage carries a committed message.
	EventMessage EventType = "message"
	// EventQueue carries the whole queue.
	EventQueue EventType = "queue"
	// EventPart carries a live delta of the step in progress.
	EventPart EventType = "part"
	// EventHeartbeat keeps idle connections open; it has no ID.
	EventHeartbeat EventType = "heartbeat"
	// EventTruncate says an edit deleted the messages from Truncate.FromSeq
	// on; it comes before the message that replaces them. It has no ID: a
	// watcher resuming from an earlier event gets it again.
	EventTruncate EventType = "truncate"
)

// Event is one thing a watcher sees. ID is opaque; pass the last one seen
// to Subscribe to resume.
type Event struct {
	ID      string       `json:"id,omitempty"`
	Type    EventType    `json:"type"`
	Chat    *ChatView    `json:"chat,omitempty"`
	Message *MessageView `json:"message,omitempty"`
	Queue   []QueuedView `json:"queue,omitempty"`
	Part    *PartDelta   `json:"part,omitempty"`
	// Truncate is set on EventTruncate.
	Truncate *Truncation `json:"truncate,omitempty"`
}

// MarshalJSON writes a queue event's queue even when it is empty
// ("queue": []), so a watcher can tell an emptied queue from a missing
// field; other events leave the queue out.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event // without the method
	if e.Type != EventQueue {
		e.Queue = nil
		return json.Marshal(plain(e))
	}
	q := e.Queue
	if q == nil {
		q = []QueuedView{}
	}
	return json.Marshal(struct {
		plain
		Queue []QueuedView `json:"queue"`
	}{plain(e), q})
}

// Truncation tells a watcher to drop the messages it holds with Seq >=
// FromSeq: an edit deleted them.
type Truncation struct {
	FromSeq int64 `json:"from_seq"`
}

// PartKind is the kind of a live delta.
type PartKind string

// Live delta kinds.
const (
	PartTextDelta      PartKind = "text_delta"
	PartReasoningDelta PartKind = "reasoning_delta"
	// PartToolCallStart opens a tool call as the model starts writing it.
	PartToolCallStart PartKind = "tool_call_start"
	// PartToolCallDelta is a fragment of a tool call's JSON input.
	PartToolCallDelta PartKind = "tool_call_delta"
	// PartToolCall is a complete tool call.
	PartToolCall PartKind = "tool_call"
	// PartToolResult is the result of a server-side tool.
	PartToolResult PartKind = "tool_result"
	// PartRestart tells watchers to drop the live parts of the step in
	// progress: it is being retried.
	PartRestart PartKind = "restart"
)

// PartDelta is a live piece of the step in progress. Committed messages
// supersede the deltas of their step.
type PartDelta struct {
	Kind PartKind `json:"kind"`
	// Block identifies the text or reasoning block a delta extends.
	Block      string `json:"block,omitempty"`
	Delta      string `json:"delta,omitempty"`
	ToolCallID string `json:"tool_call_id,omitempty"`
	ToolName   string `json:"tool_name,omitempty"`
	Input      string `json:"input,omitempty"`
	Output     string `json:"output,omitempty"`
	IsError    bool   `json:"is_error,omitempty"`
	ClientSide bool   `json:"client_side,omitempty"`
	// Attempt is the retry attempt of a restart.
	Attempt int `json:"attempt,omitempty"`
}

// ChatView is a chat as the API shows it.
type ChatView struct {
	ID              string            `json:"id"`
	OwnerID         string            `json:"owner_id"`
	Title           string            `json:"title"`
	Status          store.ChatStatus  `json:"status"`
	Archived        bool              `json:"archived"`
	ModelConfigID   string            `json:"model_config_id"`
	ParentChatID    string            `json:"parent_chat_id,omitempty"`
	RootChatID      string            `json:"root_chat_id,omitempty"`
	APIKeyID        string            `json:"api_key_id,omitempty"`
	SnapshotVersion int64             `json:"snapshot_version"`
	LastError       string            `json:"last_error,omitempty"`
	Retry           *store.RetryState `json:"retry,omitempty"`
	DebugOverride   *bool             `json:"debug"`
	ClientTools     []store.ToolSpec  `json:"client_tools,omitempty"`
	ActionDeadline  *time.Time        `json:"action_deadline,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

// UsageView is a message's token usage.
type UsageView struct {
	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	CacheReadTokens  int64 `json:"cache_read_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	ReasoningTokens  int64 `json:"reasoning_tokens"`
}

// MessageView is a committed message as the API shows it.
type MessageView struct {
	ID            string            `json:"id"`
	ChatID        string            `json:"chat_id"`
	Seq           int64             `json:"seq"`
	Role          store.MessageRole `json:"role"`
	Parts         []store.Part      `json:"parts"`
	Usage         *UsageView        `json:"usage,omitempty"`
	CostMicros    *int64            `json:"cost_micros,omitempty"`
	ModelConfigID string            `json:"model_config_id,omitempty"`
	APIKeyID      string            `json:"api_key_id,omitempty"`
	CreatedBy     string            `json:"created_by,omitempty"`
	// SummaryThroughSeq is, on a summary message, the last seq it covers.
	SummaryThroughSeq int64     `json:"summary_through_seq,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
}

// QueuedView is a queued message as the API shows it.
type QueuedView struct {
	ID        string       `json:"id"`
	Position  int64        `json:"position"`
	Parts     []store.Part `json:"parts"`
	APIKeyID  string       `json:"api_key_id,omitempty"`
	CreatedBy string       `json:"created_by,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
}

// ViewChat returns c as the API shows it.
func ViewChat(c store.Chat) ChatView {
	return ChatView{
		ID:              c.ID,
		OwnerID:         c.OwnerID,
		Title:           c.Title,
		Status:          c.Status,
		Archived:        c.Archived,
		ModelConfigID:   c.ModelConfigID,
		ParentChatID:    c.ParentChatID,
		RootChatID:      c.RootChatID,
		APIKeyID:        c.APIKeyID,
		SnapshotVersion: c.SnapshotVersion,
		LastError:       c.LastError,
		Retry:           c.Retry,
		DebugOverride:   c.DebugOverride,
		ClientTools:     c.ClientTools,
		ActionDeadline:  c.ActionDeadline,
		CreatedAt:       c.CreatedAt,
		UpdatedAt:       c.UpdatedAt,
	}
}

// ViewMessage returns m as the API shows it.
func ViewMessage(m store.Message) MessageView {
	v := MessageView{
		ID:            m.ID,
		ChatID:        m.ChatID,
		Seq:           m.Seq,
		Role:          m.Role,
		Parts:         m.Parts,
		CostMicros:    m.CostMicros,
		ModelConfigID: m.ModelConfigID,
		APIKeyID:      m.APIKeyID,
		CreatedBy:     m.CreatedBy,
		CreatedAt:     m.CreatedAt,

		SummaryThroughSeq: m.SummaryThroughSeq,
	}
	if v.Parts == nil {
		v.Parts = []store.Part{}
	}
	if m.Usage != (store.Usage{}) {
		v.Usage = &UsageView{
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
func ViewQueued(q store.QueuedMessage) QueuedView {
	v := QueuedView{
		ID:        q.ID,
		Position:  q.Position,
		Parts:     q.Parts,
		APIKeyID:  q.APIKeyID,
		CreatedBy: q.CreatedBy,
		CreatedAt: q.CreatedAt,
	}
	if v.Parts == nil {
		v.Parts = []store.Part{}
	}
	return v
}
