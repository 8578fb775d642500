package store

import (
	"context"
	"encoding/json"
	"time"
)

// ChatStatus is where a chat's execution stands.
type ChatStatus string

// Chat statuses. A chat that is "running" with no live worker lease is
// runnable: a worker will acquire it.
const (
	ChatWaiting        ChatStatus = "waiting"
	ChatRunning        ChatStatus = "running"
	ChatInterrupting   ChatStatus = "interrupting"
	ChatRequiresAction ChatStatus = "requires_action"
	ChatError          ChatStatus = "error"
)

// MessageRole says who produced a message.
type MessageRole string

// Message roles. Tool results are "tool" messages.
const (
	RoleUser      MessageRole = "user"
	RoleAssistant MessageRole = "assistant"
	RoleTool      MessageRole = "tool"
	// RoleSummary marks a compaction boundary: history before it is
	// replaced by its text when building the next prompt.
	RoleSummary MessageRole = "summary"
)

// EndReason says how an assistant message ended when it did not end as
// the model meant it to.
type EndReason string

// End reasons. The empty reason is a message that ended normally.
const (
	// EndInterrupted is a partial answer kept when an interrupt stopped
	// its turn mid-stream.
	EndInterrupted EndReason = "interrupted"
)

// PartType is the kind of a message part.
type PartType string

// Part types.
const (
	PartText       PartType = "text"
	PartReasoning  PartType = "reasoning"
	PartToolCall   PartType = "tool_call"
	PartToolResult PartType = "tool_result"
)

// Part is one typed piece of a message's content.
type Part struct {
	Type PartType `json:"type"`
	// Text of a text or reasoning part.
	Text string `json:"text,omitempty"`
	// ToolCallID links a tool call and its result.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// ToolName of a tool call or result.
	ToolName string `json:"tool_name,omitempty"`
	// Input is a tool call's JSON arguments, as the model wrote them.
	Input string `json:"input,omitempty"`
	// Output is a tool result's content.
	Output string `json:"output,omitempty"`
	// IsError marks a tool result that reports a failure.
	IsError bool `json:"is_error,omitempty"`
	// ClientSide marks a call of a tool the API client runs itself.
	ClientSide bool `json:"client_side,omitempty"`
	// ProviderMetadata carries what a provider needs back verbatim on the
	// next call (reasoning signatures), opaque to chatd.
	ProviderMetadata json.RawMessage `json:"provider_metadata,omitempty"`
}

// ToolSpec is a tool an API client declares on a chat and runs itself.
type ToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
}

// RetryState is shown to watchers while a turn waits to retry.
type RetryState struct {
	Attempt int       `json:"attempt"`
	NextAt  time.Time `json:"next_at"`
	Error   string    `json:"error"`
}

// Chat is a conversation with an agent and its execution state.
type Chat struct {
	ID            string
	OwnerID       string
	Title         string
	Status        ChatStatus
	Archived      bool
	ModelConfigID string
	// ParentChatID and RootChatID are set on subagent chats.
	ParentChatID string
	RootChatID   string
	// APIKeyID is the key that initiated the latest turn.
	APIKeyID string
	// WorkerID owns the chat while its lease lasts.
	WorkerID       string
	LeaseExpiresAt *time.Time
	// SnapshotVersion is bumped by every transition.
	SnapshotVersion int64
	LastError       string
	Retry           *RetryState
	// DebugOverride switches debug recording for this chat; nil inherits.
	DebugOverride *bool
	ClientTools   []ToolSpec
	// ActionDeadline is when a requires_action wait gives up.
	ActionDeadline *time.Time
	// OrphanCostMicros is what the chat's model calls that left no
	// message cost (see Chats.AddOrphanSpend); nil while none was priced.
	OrphanCostMicros *int64
	// OrphanUnpricedCalls counts those calls whose model has no price.
	OrphanUnpricedCalls int64
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Message is a committed message of a chat. Seq orders a chat's messages
// and never repeats within it.
type Message struct {
	ID            string
	ChatID        string
	Seq           int64
	Role          MessageRole
	Parts         []Part
	Usage         Usage
	CostMicros    *int64
	ModelConfigID string
	// APIKeyID is the key that sent a user message.
	APIKeyID  string
	CreatedBy string
	// SummaryThroughSeq is, on a summary message, the last seq it covers:
	// later messages (sent while it was written) stay in the prompt. Zero
	// means everything before the summary.
	SummaryThroughSeq int64
	// EndReason is set on an assistant message cut short; empty means it
	// ended normally.
	EndReason EndReason
	DeletedAt *time.Time
	CreatedAt time.Time
}

// QueuedMessage waits for the running turn to end.
type QueuedMessage struct {
	ID        string
	ChatID    string
	Position  int64
	Parts     []Part
	APIKeyID  string
	CreatedBy string
	CreatedAt time.Time
}

// NewChat is what CreateChat needs.
type NewChat struct {
	OwnerID       string
	Title         string
	ModelConfigID string
	ParentChatID  string
	RootChatID    string
	ClientTools   []ToolSpec
	DebugOverride *bool
	// First is the first user message; when empty the chat starts waiting.
	First    []Part
	APIKeyID string
}

// SendMode says what Send does when the chat is busy.
type SendMode string

// Send modes.
const (
	SendQueue     SendMode = "queue"
	SendInterrupt SendMode = "interrupt"
)

// SendResult tells whether a message was committed or queued.
type SendResult struct {
	Chat    Chat
	Message *Message       // set when committed
	Queued  *QueuedMessage // set when queued
	// Started is set when the send started a turn with the head of the
	// queue instead, queueing the message behind it: a chat in error
	// keeps its queue, and what was queued first runs first.
	Started *Message
}

// ChatFilter narrows ListChats.
type ChatFilter struct {
	OwnerID string
	// Archived selects archived chats when true, live ones when false;
	// nil lists both.
	Archived *bool
	// ParentChatID lists a chat's children; empty lists root chats only.
	ParentChatID string
	Limit        int // zero: 100
}

// Chats stores chats, their messages and queues, and performs every change
// of a chat's state as one transition: a transaction that locks the chat,
// checks the current status (refusing with a *TransitionError, which
// matches ErrConflict, when the change is invalid), writes, and bumps
// SnapshotVersion. Worker transitions also check that workerID holds the
// lease, refusing with ErrLeaseLost otherwise.
type Chats interface {
	CreateChat(ctx context.Context, nc NewChat) (Chat, error)
	GetChat(ctx context.Context, id string) (Chat, error)
	ListChats(ctx context.Context, f ChatFilter) ([]Chat, error)
	// ListMessages returns visible messages with Seq > afterSeq in order.
	ListMessages(ctx context.Context, chatID string, afterSeq int64, limit int) ([]Message, error)
	// ListAllMessages is ListMessages with the soft-deleted messages
	// (DeletedAt set) included: an edit drops messages from the history,
	// not what their model calls cost.
	ListAllMessages(ctx context.Context, chatID string, afterSeq int64, limit int) ([]Message, error)
	ListQueued(ctx context.Context, chatID string) ([]QueuedMessage, error)

	// User transitions.

	// Send adds a user message. A waiting chat commits it, starting a
	// turn. A chat in error does too when its queue is empty; otherwise
	// the head of its queue starts the turn (SendResult.Started) and the
	// message is queued behind what was queued before it. A busy chat
	// queues it at the tail. With SendInterrupt it runs next instead: a
	// running or interrupting chat queues it at the head and interrupts
	// the turn, a chat waiting on the client cancels the pending calls
	// and commits it, and an idle chat commits it at once, ahead of any
	// queue.
	Send(ctx context.Context, chatID string, parts []Part, apiKeyID, createdBy string, mode SendMode) (SendResult, error)
	EditMessage(ctx context.Context, chatID, messageID string, parts []Part, apiKeyID string) (Chat, Message, error)
	DeleteQueued(ctx context.Context, chatID, queuedID string) (Chat, error)
	PromoteQueued(ctx context.Context, chatID, queuedID string) (Chat, error)
	Interrupt(ctx context.Context, chatID string) (Chat, error)
	SubmitToolResults(ctx context.Context, chatID string, results []Part) (Chat, error)
	SetArchived(ctx context.Context, chatID string, archived bool) (Chat, error)
	SetTitle(ctx context.Context, chatID, title string) (Chat, error)
	SetDebugOverride(ctx context.Context, chatID string, on *bool) (Chat, error)
	DeleteChat(ctx context.Context, chatID string) error

	// Worker transitions.
	AcquireChat(ctx context.Context, workerID string, lease time.Duration) (Chat, bool, error)
	Heartbeat(ctx context.Context, chatID, workerID string, lease time.Duration) error
	ReleaseChat(ctx context.Context, chatID, workerID string) error
	CommitStep(ctx context.Context, chatID, workerID string, msgs []Message) (Chat, []Message, error)
	SetRetry(ctx context.Context, chatID, workerID string, r *RetryState) (Chat, error)
	FinishTurn(ctx context.Context, chatID, workerID string) (Chat, error)
	FinishWithError(ctx context.Context, chatID, workerID, msg string) (Chat, error)
	EnterRequiresAction(ctx context.Context, chatID, workerID string, deadline time.Time) (Chat, error)
	// CancelRequiresAction gives up waiting for client tool results: it
	// inserts an error result for each pending call and makes the chat
	// runnable again. Anyone may call it once the deadline has passed, by
	// the database's clock; before, it is refused (*TransitionError).
	CancelRequiresAction(ctx context.Context, chatID string) (Chat, error)
	// ExpiredActions lists chats whose requires_action deadline passed.
	ExpiredActions(ctx context.Context, limit int) ([]string, error)
	// AddOrphanSpend records a model call of the chat that left no
	// message (a compaction summary that failed after the provider
	// reported its usage, or whose commit was refused), so the chat's cost
	// still covers it: a non-nil cost is added to OrphanCostMicros, a nil
	// one (a model with no price) adds one to OrphanUnpricedCalls. It is
	// not a transition: every chat takes it whatever its state, archived
	// or not, and SnapshotVersion and UpdatedAt stay. An unknown chat is
	// ErrNotFound.
	AddOrphanSpend(ctx context.Context, chatID string, cost *int64) error
	// CountBusySubagents counts child chats with a turn in progress or
	// waiting on the client (running, interrupting, requires_action):
	// those of ownerID and all of them, across every replica.
	CountBusySubagents(ctx context.Context, ownerID string) (mine, total int64, err error)

	// CommitSummary appends a compaction summary (role summary) covering
	// the visible messages up to throughSeq, which must be visible and
	// above any earlier summary's (else ErrConflict). With a workerID it
	// is a worker transition of the running turn (OpCommitStep); with ""
	// a user transition (OpCompact) that leaves the status as it is.
	CommitSummary(ctx context.Context, chatID, workerID string, summary Message, throughSeq int64) (Chat, Message, error)
}
