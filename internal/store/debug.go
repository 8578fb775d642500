package store

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Debug run kinds.
const (
	DebugKindChatTurn   = "chat_turn"
	DebugKindTitle      = "title"
	DebugKindQuickgen   = "quickgen"
	DebugKindCompaction = "compaction"
)

// DebugStatus is where a debug run or step stands. Statuses only move
// forward: in_progress, then one of the final ones; a late update never
// moves a final status back to in_progress.
type DebugStatus string

// Debug statuses.
const (
	DebugInProgress  DebugStatus = "in_progress"
	DebugCompleted   DebugStatus = "completed"
	DebugError       DebugStatus = "error"
	DebugInterrupted DebugStatus = "interrupted"
)

// Final reports whether s is an end state.
func (s DebugStatus) Final() bool { return s != DebugInProgress && s != "" }

// DebugRun records one chat turn or one quick generation.
type DebugRun struct {
	ID            string
	Kind          string
	ChatID        string
	RootChatID    string
	ParentChatID  string
	MessageID     string // the message that triggered the run
	UserID        string
	ModelConfigID string
	Provider      string
	Model         string
	Status        DebugStatus
	Summary       string
	StartedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time
}

// DebugStep records one model call of a run.
type DebugStep struct {
	ID        string
	RunID     string
	Number    int    // unique within the run
	Operation string // "stream" or "generate"
	Status    DebugStatus
	// Request and Response are the normalised, redacted call and answer.
	Request  json.RawMessage
	Response json.RawMessage
	Error    string
	// Attempts are the HTTP attempts of the step, in order.
	Attempts   []DebugAttempt
	StartedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// DebugAttempt records one HTTP exchange of a step, redacted.
type DebugAttempt struct {
	ID              string
	StepID          string
	Number          int
	Method          string
	URL             string
	Status          int
	RequestHeader   http.Header
	RequestBody     string
	ResponseHeader  http.Header
	ResponseBody    string
	Error           string
	StartedAt       time.Time
	Duration        time.Duration
	TimeToFirstByte time.Duration
}

// DebugRunPatch finishes or updates a run. A Status that would move a
// final status backwards is ignored.
type DebugRunPatch struct {
	Status     *DebugStatus
	Summary    *string
	FinishedAt *time.Time
}

// DebugStepPatch finishes or updates a step, with the same rule.
type DebugStepPatch struct {
	Status     *DebugStatus
	Response   json.RawMessage
	Error      *string
	FinishedAt *time.Time
}

// DebugRuns stores debug recordings.
type DebugRuns interface {
	CreateDebugRun(ctx context.Context, r DebugRun) (DebugRun, error)
	UpdateDebugRun(ctx context.Context, id string, p DebugRunPatch) (DebugRun, error)
	// CreateDebugStep inserts a step; a Number already used in the run is
	// ErrConflict.
	CreateDebugStep(ctx context.Context, s DebugStep) (DebugStep, error)
	UpdateDebugStep(ctx context.Context, id string, p DebugStepPatch) (DebugStep, error)
	AddDebugAttempt(ctx context.Context, a DebugAttempt) (DebugAttempt, error)
	// ListDebugRuns lists a chat's runs, newest first, at most limit
	// (zero: 50).
	ListDebugRuns(ctx context.Context, chatID string, limit int) ([]DebugRun, error)
	// GetDebugRun returns a run with its steps and their attempts.
	GetDebugRun(ctx context.Context, id string) (DebugRun, []DebugStep, error)
	// DeleteDebugRunsAfter deletes a chat's runs started at or after from
	// and before before (the turns an edit truncated; before keeps the
	// runs of the turn that replaced them).
	DeleteDebugRunsAfter(ctx context.Context, chatID string, from, before time.Time) (int64, error)
	// DeleteDebugRunsForChats deletes every run of the given chats.
	DeleteDebugRunsForChats(ctx context.Context, chatIDs []string) (int64, error)
	// FinalizeStaleDebugRuns marks runs and steps still in_progress and not
	// updated since before as error ("abandoned").
	FinalizeStaleDebugRuns(ctx context.Context, before time.Time) (int64, error)
	// PurgeDebugRuns deletes runs started before cutoff.
	PurgeDebugRuns(ctx context.Context, before time.Time) (int64, error)
}

// UserSettings is a per-user key/value table (debug recording toggle,
// model overrides).
type UserSettings interface {
	// GetUserSetting returns ErrNotFound when the key was never set.
	GetUserSetting(ctx context.Context, userID, key string) (string, error)
	PutUserSetting(ctx context.Context, userID, key, value string) error
	DeleteUserSetting(ctx context.Context, userID, key string) error
}
