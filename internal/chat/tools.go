package chat

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Tool is a tool the server runs for the model.
type Tool interface {
	Name() string
	Description() string
	// Schema is the JSON schema of the tool's input object.
	Schema() json.RawMessage
	// Run executes a call with the model's JSON input. An error becomes
	// an error result the model sees; it does not fail the turn.
	Run(ctx context.Context, call ToolCall) (string, error)
}

// ToolCall is what a Tool runs.
type ToolCall struct {
	ChatID string
	ID     string
	Input  string
}

// CurrentTime is a harmless built-in tool: it tells the model the time.
type CurrentTime struct {
	// Now; if nil, time.Now.
	Now func() time.Time
}

// Name implements Tool.
func (CurrentTime) Name() string { return "current_time" }

// Description implements Tool.
func (CurrentTime) Description() string {
	return "Returns the current date and time in UTC (RFC 3339)."
}

// Schema implements Tool.
func (CurrentTime) Schema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`)
}

// Run implements Tool.
func (t CurrentTime) Run(context.Context, ToolCall) (string, error) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	return now().UTC().Format(time.RFC3339), nil
}

// sortedTools returns the server tools in name order, so prompts are
// stable (and cacheable) from call to call.
func (s *Service) sortedTools() []Tool {
	out := make([]Tool, 0, len(s.tools))
	for _, t := range s.tools {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Tool) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}
