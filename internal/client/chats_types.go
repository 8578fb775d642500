package client

import (
	"encoding/json"
	"strings"
	"time"
)

// Chat statuses.
const (
	ChatWaiting        = "waiting"
	ChatRunning        = "running"
	ChatInterrupting   = "interrupting"
	ChatRequiresAction = "requires_action"
	ChatError          = "error"
)

// Chat event types of a chat stream.
const (
	EventChat      = "chat"
	EventMessage   = "message"
	EventQueue     = "queue"
	EventPart      = "part"
	EventHeartbeat = "heartbeat"
)

// Kinds of live part deltas.
const (
	PartTextDelta      = "text_delta"
	PartReasoningDelta = "reasoning_delta"
	PartToolCallStart  = "tool_call_start"
	PartToolCallDelta  = "tool_call_delta"
	PartToolCall       = "tool_call"
	PartToolResult     = "tool_result"
	PartRestart        = "restart"
)

// Chat is the API's chat object.
type Chat struct {
	ID              string      `json:"id"`
	OwnerID         string      `json:"owner_id"`
	Title           string      `json:"title"`
	Status          string      `json:"status"`
	Archived        bool        `json:"archived"`
	ModelConfigID   string      `json:"model_config_id"`
	ParentChatID    string      `json:"parent_chat_id,omitempty"`
	RootChatID      string      `json:"root_chat_id,omitempty"`
	APIKeyID        string      `json:"api_key_id,omitempty"`
	SnapshotVersion int64       `json:"snapshot_version"`
	LastError       string      `json:"last_error,omitempty"`
	Retry           *RetryState `json:"retry,omitempty"`
	ClientTools     []ChatTool  `json:"client_tools,omitempty"`
	ActionDeadline  *time.Time  `json:"action_deadline,omitempty"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	DebugOverride   *bool       `json:"debug_override,omitempty"`
}

// Busy reports whether a turn is running or waiting on the client.
func (c Chat) Busy() bool {
	return c.Status == ChatRunning || c.Status == ChatInterrupting || c.Status == ChatRequiresAction
}

// RetryState is shown while a turn waits to retry a failed model call.
type RetryState struct {
	Attempt int       `json:"attempt"`
	NextAt  time.Time `json:"next_at"`
	Error   string    `json:"error"`
}

// ChatTool is a tool the API client declares on a chat and runs itself.
type ChatTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
}

// ChatWithQueue is a chat with its queued messages.
type ChatWithQueue struct {
	Chat  Chat         `json:"chat"`
	Queue []ChatQueued `json:"queue"`
}

// ChatPart is one typed piece of a message.
type ChatPart struct {
	Type       string `json:"type"`
	Text       string `json:"text,omitempty"`
	ToolCallID string `json:"tool_call_id,omitempty"`
	ToolName   string `json:"tool_name,omitempty"`
	Input      string `json:"input,omitempty"`
	Output     string `json:"output,omitempty"`
	IsError    bool   `json:"is_error,omitempty"`
	ClientSide bool   `json:"client_side,omitempty"`
}

// ChatMessage is a committed message.
type ChatMessage struct {
	ID            string     `json:"id"`
	ChatID        string     `json:"chat_id"`
	Seq           int64      `json:"seq"`
	Role          string     `json:"role"`
	Parts         []ChatPart `json:"parts"`
	Usage         *Usage     `json:"usage,omitempty"`
	CostMicros    *int64     `json:"cost_micros,omitempty"`
	ModelConfigID string     `json:"model_config_id,omitempty"`
	APIKeyID      string     `json:"api_key_id,omitempty"`
	CreatedBy     string     `json:"created_by,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
}

// Text joins the message's text parts.
func (m ChatMessage) Text() string {
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// ChatQueued is a message waiting for the running turn to end.
type ChatQueued struct {
	ID        string     `json:"id"`
	Position  int64      `json:"position"`
	Parts     []ChatPart `json:"parts"`
	APIKeyID  string     `json:"api_key_id,omitempty"`
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// ChatPartDelta is a live piece of the step in progress; the committed
// message supersedes the deltas of its step.
type ChatPartDelta struct {
	Kind       string `json:"kind"`
	Block      string `json:"block,omitempty"`
	Delta      string `json:"delta,omitempty"`
	ToolCallID string `json:"tool_call_id,omitempty"`
	ToolName   string `json:"tool_name,omitempty"`
	Input      string `json:"input,omitempty"`
	Output     string `json:"output,omitempty"`
	IsError    bool   `json:"is_error,omitempty"`
	ClientSide bool   `json:"client_side,omitempty"`
	Attempt    int    `json:"attempt,omitempty"`
}

// ChatEvent is one event of a chat stream; Type says which field is set.
type ChatEvent struct {
	ID      string         `json:"id,omitempty"`
	Type    string         `json:"type"`
	Chat    *Chat          `json:"chat,omitempty"`
	Message *ChatMessage   `json:"message,omitempty"`
	Queue   []ChatQueued   `json:"queue,omitempty"`
	Part    *ChatPartDelta `json:"part,omitempty"`
}

// MarshalJSON writes a queue event's queue even when it is empty
// ("queue": []), as the server does; other events leave it out.
func (e ChatEvent) MarshalJSON() ([]byte, error) {
	type plain ChatEvent // without the method
	if e.Type != EventQueue {
		e.Queue = nil
		return json.Marshal(plain(e))
	}
	q := e.Queue
	if q == nil {
		q = []ChatQueued{}
	}
	return json.Marshal(struct {
		plain
		Queue []ChatQueued `json:"queue"`
	}{plain(e), q})
}

// CreateChatRequest starts a chat. Set Message or Parts.
type CreateChatRequest struct {
	Message string     `json:"message,omitempty"`
	Parts   []ChatPart `json:"parts,omitempty"`
	// Model is a model config id; empty is the default model.
	Model       string     `json:"model,omitempty"`
	Title       string     `json:"title,omitempty"`
	ClientTools []ChatTool `json:"client_tools,omitempty"`
}

// UpdateChatRequest changes the non-nil fields of a chat.
type UpdateChatRequest struct {
	Title    *string `json:"title,omitempty"`
	Archived *bool   `json:"archived,omitempty"`
}

// Send modes.
const (
	SendQueue     = "queue"
	SendInterrupt = "interrupt"
)

// SendMessageRequest sends a message. Set Message or Parts. Mode is
// SendQueue (the default) or SendInterrupt.
type SendMessageRequest struct {
	Message string     `json:"message,omitempty"`
	Parts   []ChatPart `json:"parts,omitempty"`
	Mode    string     `json:"mode,omitempty"`
}

// EditMessageRequest replaces a user message. Set Message or Parts.
type EditMessageRequest struct {
	Message string     `json:"message,omitempty"`
	Parts   []ChatPart `json:"parts,omitempty"`
}

// SendResult is a sent message: committed (Message) or queued (Queued).
type SendResult struct {
	Chat    Chat         `json:"chat"`
	Message *ChatMessage `json:"message,omitempty"`
	Queued  *ChatQueued  `json:"queued,omitempty"`
}

// ToolResult answers a client tool call.
type ToolResult struct {
	ToolCallID string `json:"tool_call_id"`
	Output     string `json:"output"`
	IsError    bool   `json:"is_error,omitempty"`
}
