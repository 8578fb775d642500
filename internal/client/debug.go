package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DebugRun is one recorded chat turn or quick generation.
type DebugRun struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind"`
	ChatID        string     `json:"chat_id"`
	RootChatID    string     `json:"root_chat_id,omitempty"`
	ParentChatID  string     `json:"parent_chat_id,omitempty"`
	MessageID     string     `json:"message_id,omitempty"`
	ModelConfigID string     `json:"model_config_id,omitempty"`
	Provider      string     `json:"provider,omitempty"`
	Model         string     `json:"model,omitempty"`
	Status        string     `json:"status"`
	Summary       string     `json:"summary,omitempty"`
	StartedAt     time.Time  `json:"started_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
}

// DebugStep is one recorded model call, with its HTTP attempts.
type DebugStep struct {
	ID         string          `json:"id"`
	Number     int             `json:"number"`
	Operation  string          `json:"operation"`
	Status     string          `json:"status"`
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

// DebugRuns lists a chat's debug runs, newest first; limit zero is the
// server's default (50).
func (c *Client) DebugRuns(ctx context.Context, chatID string, limit int) ([]DebugRun, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Runs []DebugRun `json:"runs"`
	}
	err := c.do(ctx, http.MethodGet, chatPath(chatID)+"/debug/runs", q, nil, &out)
	return out.Runs, err
}

// DebugRun returns one debug run of a chat with its steps and attempts.
func (c *Client) DebugRun(ctx context.Context, chatID, runID string) (DebugRunDetail, error) {
	var out DebugRunDetail
	err := c.do(ctx, http.MethodGet, chatPath(chatID)+"/debug/runs/"+url.PathEscape(runID), nil, nil, &out)
	return out, err
}

// SetChatDebug switches debug recording of a chat on or off, or back to
// the user's and deployment's choice (nil).
func (c *Client) SetChatDebug(ctx context.Context, chatID string, on *bool) (ChatWithQueue, error) {
	var out ChatWithQueue
	err := c.do(ctx, http.MethodPatch, chatPath(chatID), nil, map[string]*bool{"debug": on}, &out)
	return out, err
}
