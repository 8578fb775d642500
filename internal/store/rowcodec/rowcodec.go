// Package rowcodec holds what every store backend does to a row apart from
// its SQL: defaults for IDs and times, and the JSON encodings of headers,
// documents and tool calls, so that the backends store the same values.
package rowcodec

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/chatd/chatd/internal/store"
)

// NewID returns a new time-ordered row ID (UUIDv7).
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// OrNewID returns id, or a new ID when id is empty.
func OrNewID(id string) string {
	if id == "" {
		return NewID()
	}
	return id
}

// Time brings t to stored precision (microseconds) and UTC; a zero t is
// the current time.
func Time(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// TimePtr is Time for an optional time, except that nil stays nil.
func TimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}

// Micros is a duration stored as whole microseconds.
func Micros(n int64) time.Duration { return time.Duration(n) * time.Microsecond }

// Listing bounds for store.DebugRuns.ListDebugRuns.
const (
	defaultDebugRunLimit = 50
	maxDebugRunLimit     = 500
)

// DebugRunLimit is the listing size for a requested limit: zero or less is
// 50, more than 500 is 500.
func DebugRunLimit(limit int) int {
	if limit <= 0 {
		return defaultDebugRunLimit
	}
	return min(limit, maxDebugRunLimit)
}

// DebugRun fills in r's defaults as CreateDebugRun stores them: an empty ID
// is generated, an empty Status is in_progress, a zero StartedAt is now and
// a zero UpdatedAt is StartedAt; times are brought to stored precision.
func DebugRun(r store.DebugRun) store.DebugRun {
	r.ID = OrNewID(r.ID)
	if r.Status == "" {
		r.Status = store.DebugInProgress
	}
	r.StartedAt = Time(r.StartedAt)
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.StartedAt
	}
	r.UpdatedAt = Time(r.UpdatedAt)
	r.FinishedAt = TimePtr(r.FinishedAt)
	return r
}

// DebugStep fills in s's defaults as DebugRun does, and those of each of
// its attempts, which it ties to s.
func DebugStep(s store.DebugStep) store.DebugStep {
	s.ID = OrNewID(s.ID)
	if s.Status == "" {
		s.Status = store.DebugInProgress
	}
	s.StartedAt = Time(s.StartedAt)
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = s.StartedAt
	}
	s.UpdatedAt = Time(s.UpdatedAt)
	s.FinishedAt = TimePtr(s.FinishedAt)
	if len(s.Attempts) > 0 {
		// A copy: the caller's slice is not ours to change.
		attempts := make([]store.DebugAttempt, len(s.Attempts))
		for i, a := range s.Attempts {
			a.StepID = s.ID
			attempts[i] = DebugAttempt(a)
		}
		s.Attempts = attempts
	}
	return s
}

// DebugAttempt fills in a's ID and start time and brings its times and
// durations to stored precision.
func DebugAttempt(a store.DebugAttempt) store.DebugAttempt {
	a.ID = OrNewID(a.ID)
	a.StartedAt = Time(a.StartedAt)
	a.Duration = a.Duration.Truncate(time.Microsecond)
	a.TimeToFirstByte = a.TimeToFirstByte.Truncate(time.Microsecond)
	return a
}

// DebugAbandoned is the error and summary FinalizeStaleDebugRuns records.
func DebugAbandoned(before time.Time) string {
	return "abandoned: no update since " + before.UTC().Format(time.RFC3339)
}

// StatusArg is a status patch as an SQL argument: nil (NULL, no change)
// for a nil or empty status.
func StatusArg(s *store.DebugStatus) *string {
	if s == nil || *s == "" {
		return nil
	}
	v := string(*s)
	return &v
}

// OptJSON stores an absent document as NULL so that nil round-trips as
// nil.
func OptJSON(m json.RawMessage) *string {
	if len(m) == 0 {
		return nil
	}
	s := string(m)
	return &s
}

// RawJSON reads back a document OptJSON stored.
func RawJSON(s *string) json.RawMessage {
	if s == nil {
		return nil
	}
	return json.RawMessage(*s)
}

// EncodeHeaders returns a's request and response headers as JSON.
func EncodeHeaders(a store.DebugAttempt) (req, resp string, err error) {
	b, err := json.Marshal(a.RequestHeader)
	if err != nil {
		return "", "", fmt.Errorf("encode request header: %w", err)
	}
	c, err := json.Marshal(a.ResponseHeader)
	if err != nil {
		return "", "", fmt.Errorf("encode response header: %w", err)
	}
	return string(b), string(c), nil
}

// DecodeHeaders sets a's headers from the JSON EncodeHeaders wrote.
func DecodeHeaders(a *store.DebugAttempt, req, resp string) error {
	var rq, rs http.Header
	if err := json.Unmarshal([]byte(req), &rq); err != nil {
		return fmt.Errorf("decode request header of attempt %q: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(resp), &rs); err != nil {
		return fmt.Errorf("decode response header of attempt %q: %w", a.ID, err)
	}
	a.RequestHeader, a.ResponseHeader = rq, rs
	return nil
}

// EncodeToolCalls returns calls as JSON, or nil (NULL) when there are none.
// If clean is not nil, it is applied to every text field first.
func EncodeToolCalls(calls []store.ToolCall, clean func(string) string) ([]byte, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	if clean != nil {
		cleaned := make([]store.ToolCall, len(calls))
		for i, c := range calls {
			cleaned[i] = store.ToolCall{ID: clean(c.ID), Name: clean(c.Name), Arguments: clean(c.Arguments)}
		}
		calls = cleaned
	}
	b, err := json.Marshal(calls)
	if err != nil {
		return nil, fmt.Errorf("encode tool calls: %w", err)
	}
	return b, nil
}

// DecodeToolCalls reads back what EncodeToolCalls wrote; empty is none.
func DecodeToolCalls(b []byte) ([]store.ToolCall, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var calls []store.ToolCall
	if err := json.Unmarshal(b, &calls); err != nil {
		return nil, err
	}
	return calls, nil
}

// DecodeChat sets c's retry state and client tools from their JSON
// columns; a nil retry is none.
func DecodeChat(c *store.Chat, retry *string, tools string) error {
	c.Retry = nil
	if retry != nil {
		c.Retry = new(store.RetryState)
		if err := json.Unmarshal([]byte(*retry), c.Retry); err != nil {
			return fmt.Errorf("decode retry state: %w", err)
		}
		c.Retry.NextAt = c.Retry.NextAt.UTC()
	}
	if err := json.Unmarshal([]byte(tools), &c.ClientTools); err != nil {
		return fmt.Errorf("decode client tools: %w", err)
	}
	return nil
}
