package wire

import (
	"encoding/json"
	"strings"
	"time"
)

// Chat statuses, the values of Chat.Status.
const (
	ChatWaiting        = "waiting"
	ChatRunning        = "running"
	ChatInterrupting   = "interrupting"
	ChatRequiresAction = "requires_action"
	ChatError          = "error"
)

// Message roles, the values of Message.Role.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
	// RoleSummary marks a compaction summary: the history up to its
	// SummaryThroughSeq, condensed.
	RoleSummary = "summary"
)

// EndInterrupted is the value of Message.EndReason on an assistant
// answer an interrupt cut short: its parts are what arrived before it.
const EndInterrupted = "interrupted"

// PartText is the type of a text part, the one part clients write.
const PartText = "text"

// Chat is the API's chat object.
type Chat struct {
	ID      string `json:"id"`
	OwnerID string `json:"owner_id"`
	Title   string `json:"title"`
	// Status is one of ChatWaiting, ChatRunning, ChatInterrupting,
	// ChatRequiresAction and ChatError.
	Status        string `json:"status"`
	Archived      bool   `json:"archived"`
	ModelConfigID string `json:"model_config_id"`
	// ParentChatID and RootChatID are set on subagent chats.
	ParentChatID string `json:"parent_chat_id,omitempty"`
	RootChatID   string `json:"root_chat_id,omitempty"`
	// APIKeyID is the key that started the latest turn.
	APIKeyID string `json:"api_key_id,omitempty"`
	// SnapshotVersion grows with every change of the chat.
	SnapshotVersion int64  `json:"snapshot_version"`
	LastError       string `json:"last_error,omitempty"`
	// Retry is set while a turn waits to retry a failed model call.
	Retry *RetryState `json:"retry,omitempty"`
	// DebugOverride switches debug recording for this chat; null inherits
	// the user's and deployment's settings.
	DebugOverride *bool  `json:"debug"`
	ClientTools   []Tool `json:"client_tools,omitempty"`
	// ActionDeadline is when a requires_action wait gives up.
	ActionDeadline *time.Time `json:"action_deadline,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
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

// Tool is a tool an API client declares on a chat and runs itself.
type Tool struct {
	// Name matches ^[a-zA-Z0-9_-]{1,64}$.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// InputSchema is a JSON Schema object.
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
}

// Part is one typed piece of a message's content.
type Part struct {
	// Type is "text", "reasoning", "tool_call" or "tool_result".
	Type string `json:"type"`
	// Text of a text or reasoning part.
	Text string `json:"text,omitempty"`
	// ToolCallID links a tool call and its result.
	ToolCallID string `json:"tool_call_id,omitempty"`
	ToolName   string `json:"tool_name,omitempty"`
	// Input is a tool call's JSON arguments, as the model wrote them.
	Input string `json:"input,omitempty"`
	// Output is a tool result's content.
	Output string `json:"output,omitempty"`
	// IsError marks a tool result that reports a failure.
	IsError bool `json:"is_error,omitempty"`
	// ClientSide marks a call of a tool the API client runs itself.
	ClientSide bool `json:"client_side,omitempty"`
	// ProviderMetadata is what a provider needs back verbatim on the next
	// call (reasoning signatures), opaque to chatd and its clients.
	ProviderMetadata json.RawMessage `json:"provider_metadata,omitempty"`
}

// Message is a committed message of a chat.
type Message struct {
	ID     string `json:"id"`
	ChatID string `json:"chat_id"`
	// Seq orders a chat's messages.
	Seq int64 `json:"seq"`
	// Role is one of RoleUser, RoleAssistant, RoleTool and RoleSummary.
	Role  string `json:"role"`
	Parts []Part `json:"parts"`
	// Usage and CostMicros are set on messages that record a model call.
	Usage         *Usage `json:"usage,omitempty"`
	CostMicros    *int64 `json:"cost_micros,omitempty"`
	ModelConfigID string `json:"model_config_id,omitempty"`
	// APIKeyID is, on a user message, the key that sent it.
	APIKeyID  string `json:"api_key_id,omitempty"`
	CreatedBy string `json:"created_by,omitempty"`
	// SummaryThroughSeq is, on a summary message, the last seq it covers.
	SummaryThroughSeq int64 `json:"summary_through_seq,omitempty"`
	// EndReason is set on an assistant message that did not end
	// normally: EndInterrupted. Empty (omitted) means it ended normally.
	EndReason string    `json:"end_reason,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Text joins the message's text parts.
func (m Message) Text() string {
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Type == PartText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// QueuedMessage is a message waiting for the running turn to end.
type QueuedMessage struct {
	ID        string    `json:"id"`
	Position  int64     `json:"position"`
	Parts     []Part    `json:"parts"`
	APIKeyID  string    `json:"api_key_id,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// ChatWithQueue is a chat with its queued messages, the answer of most
// chat endpoints.
type ChatWithQueue struct {
	Chat  Chat            `json:"chat"`
	Queue []QueuedMessage `json:"queue"`
}

// SendResult is a sent or edited message: committed (Message) or queued
// (Queued), with the chat.
type SendResult struct {
	Chat    Chat           `json:"chat"`
	Message *Message       `json:"message,omitempty"`
	Queued  *QueuedMessage `json:"queued,omitempty"`
}

// MessagePage is a page of a chat's messages.
type MessagePage struct {
	Messages []Message `json:"messages"`
	// NextAfter is where the following page starts; null after the last.
	NextAfter *int64 `json:"next_after"`
}

// ToolResult answers a client tool call.
type ToolResult struct {
	ToolCallID string `json:"tool_call_id"`
	Output     string `json:"output"`
	IsError    bool   `json:"is_error,omitempty"`
}
