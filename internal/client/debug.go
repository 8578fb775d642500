package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/chatd/chatd/internal/wire"
)

// DebugRuns lists a chat's debug runs, newest first; limit zero is the
// server's default (50).
func (c *Client) DebugRuns(ctx context.Context, chatID string, limit int) ([]wire.DebugRun, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Runs []wire.DebugRun `json:"runs"`
	}
	err := c.do(ctx, http.MethodGet, chatPath(chatID)+"/debug/runs", q, nil, &out)
	return out.Runs, err
}

// DebugRun returns one debug run of a chat with its steps and attempts.
func (c *Client) DebugRun(ctx context.Context, chatID, runID string) (wire.DebugRunDetail, error) {
	var out wire.DebugRunDetail
	err := c.do(ctx, http.MethodGet, chatPath(chatID)+"/debug/runs/"+url.PathEscape(runID), nil, nil, &out)
	return out, err
}

// SetChatDebug switches debug recording of a chat on or off, or back to
// the user's and deployment's choice (nil).
func (c *Client) SetChatDebug(ctx context.Context, chatID string, on *bool) (wire.ChatWithQueue, error) {
	var out wire.ChatWithQueue
	err := c.do(ctx, http.MethodPatch, chatPath(chatID), nil, map[string]*bool{"debug": on}, &out)
	return out, err
}
