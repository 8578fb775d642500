package wire

import "encoding/json"

// EventType is the kind of a chat stream event.
type EventType string

// Chat stream event types.
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

// Event is one event of a chat stream; Type says which field is set. ID
// is opaque; pass the last one seen to resume.
type Event struct {
	ID      string          `json:"id,omitempty"`
	Type    EventType       `json:"type"`
	Chat    *Chat           `json:"chat,omitempty"`
	Message *Message        `json:"message,omitempty"`
	Queue   []QueuedMessage `json:"queue,omitempty"`
	Part    *PartDelta      `json:"part,omitempty"`
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
		q = []QueuedMessage{}
	}
	return json.Marshal(struct {
		plain
		Queue []QueuedMessage `json:"queue"`
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
