package wire

import (
	"encoding/json"
	"net/http"
	"time"
)

// DebugRun is one recorded chat turn or quick generation.
type DebugRun struct {
	ID string `json:"id"`
	// Kind is "chat_turn", "title", "quickgen" or "compaction".
	Kind          string `json:"kind"`
	ChatID        string `json:"chat_id"`
	RootChatID    string `json:"root_chat_id,omitempty"`
	ParentChatID  string `json:"parent_chat_id,omitempty"`
	MessageID     string `json:"message_id,omitempty"`
	ModelConfigID string `json:"model_config_id,omitempty"`
	Provider      string `json:"provider,omitempty"`
	Model         string `json:"model,omitempty"`
	// Status is "in_progress", "completed", "error" or "interrupted".
	Status string `json:"status"`
	// Summary is one line about the run: its steps, or its error.
	Summary    string     `json:"summary,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// DebugStep is one recorded model call, with its HTTP attempts.
type DebugStep struct {
	ID     string `json:"id"`
	Number int    `json:"number"`
	// Operation is "stream" or "generate".
	Operation string `json:"operation"`
	Status    string `json:"status"`
	// Request is a JSON object; Response a JSON value or null.
	Request    json.RawMessage `json:"request"`
	Response   json.RawMessage `json:"response"`
	Error      string          `json:"error,omitempty"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
	Attempts   []DebugAttempt  `json:"attempts"`
}

// DebugAttempt is one recorded HTTP exchange, already redacted.
type DebugAttempt struct {
	Number          int         `json:"number"`
	Method          string      `json:"method"`
	URL             string      `json:"url"`
	Status          int         `json:"status"`
	RequestHeaders  http.Header `json:"request_headers"`
	RequestBody     string      `json:"request_body"`
	ResponseHeaders http.Header `json:"response_headers"`
	ResponseBody    string      `json:"response_body"`
	Error           string      `json:"error,omitempty"`
	StartedAt       time.Time   `json:"started_at"`
	DurationMS      float64     `json:"duration_ms"`
	TTFBMS          float64     `json:"ttfb_ms"`
}

// DebugRunDetail is a run with its steps.
type DebugRunDetail struct {
	Run   DebugRun    `json:"run"`
	Steps []DebugStep `json:"steps"`
}

// DebugEvent is the data of a debug stream's "run" event: a run or step
// of the chat changed; the watcher reloads what it shows.
type DebugEvent struct {
	Kind   string `json:"kind"`
	ChatID string `json:"chat_id"`
	RunID  string `json:"run_id"`
	StepID string `json:"step_id,omitempty"`
	Status string `json:"status,omitempty"`
}
