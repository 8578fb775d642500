package llmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/sse"
)

// Names and labels of the built-in fake model. Anything that shows a model
// list shows these, so nobody mistakes the dev fake for a real provider.
const (
	DevModelID          = "fake-echo"
	DevModelDisplayName = "Fake echo model (built-in, for development)"
	// DevHeader is set to "1" on every response of the dev fake.
	DevHeader = "X-Chatd-Fake"
)

// DevConfig configures the dev fake.
type DevConfig struct {
	// Latency is waited before each streamed delta. Zero means none.
	Latency time.Duration
	// Now returns the time for "created" fields. If nil, time.Now is used.
	Now func() time.Time
}

// NewDev returns a deterministic fake provider for dev mode. It speaks the
// OpenAI Chat Completions (/v1/chat/completions), OpenAI Responses
// (/v1/responses) and Anthropic Messages (/v1/messages,
// /v1/messages/count_tokens) APIs, blocking and streaming, and lists its one
// model at GET /v1/models (in Anthropic's shape when the request carries an
// anthropic-version header, else OpenAI's). The same paths without "/v1"
// work too.
//
// It echoes the last user message ("You said: ..."). If the request declares
// tools and the last user message names one, or mentions "tool", it calls
// that tool (else the first) with arguments built from the schema's required
// properties. If the last message is a tool result, it summarises it. Token
// counts are computed from text lengths, so they are deterministic.
//
// The handler is safe for concurrent use.
func NewDev(c DevConfig) http.Handler {
	d := &dev{latency: c.Latency, now: c.Now}
	if d.now == nil {
		d.now = time.Now
	}
	mux := http.NewServeMux()
	for _, prefix := range []string{"/v1", ""} {
		mux.HandleFunc("POST "+prefix+"/chat/completions", d.chat)
		mux.HandleFunc("POST "+prefix+"/responses", d.responses)
		mux.HandleFunc("POST "+prefix+"/messages", d.messages)
		mux.HandleFunc("POST "+prefix+"/messages/count_tokens", d.countTokens)
		mux.HandleFunc("GET "+prefix+"/models", d.models)
		mux.HandleFunc("GET "+prefix+"/models/{id}", d.model)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d.fail(w, r, http.StatusNotFound, "not_found_error", fmt.Sprintf("the fake provider has no %s %s", r.Method, r.URL.Path))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(DevHeader, "1")
		mux.ServeHTTP(w, r)
	})
}

type dev struct {
	latency time.Duration
	now     func() time.Time
}

// turn is a request reduced to what the echo model looks at.
type turn struct {
	model      string
	lastUser   string
	toolResult *toolResult // set when the last message is a tool result
	tools      []tool
	// inputTokens is estimated from the request's messages, system prompt
	// and tools.
	inputTokens int64
	id          string // derived from the request body
}

type tool struct {
	name   string
	schema json.RawMessage
}

type toolResult struct {
	name    string // empty when the request does not say
	content string
}

// reply is what the echo model answers: text, or a tool call.
type reply struct {
	text         string
	call         *ToolCall
	outputTokens int64
}

func (t *turn) answer() reply {
	var r reply
	switch {
	case t.toolResult != nil:
		name := "tool"
		if t.toolResult.name != "" {
			name = t.toolResult.name + " tool"
		}
		r.text = fmt.Sprintf("The %s returned: %s", name, clip(strings.TrimSpace(t.toolResult.content), 500))
	case t.pickTool() != nil:
		tl := t.pickTool()
		r.call = &ToolCall{Name: tl.name, Arguments: argumentsFor(tl.schema, clip(t.lastUser, 200))}
		r.text = fmt.Sprintf("Calling the %s tool.", tl.name)
	default:
		said := strings.TrimSpace(t.lastUser)
		if said == "" {
			said = "(nothing)"
		}
		r.text = "You said: " + said
	}
	r.outputTokens = tokens(r.text)
	if r.call != nil {
		r.outputTokens = tokens(r.call.Name + r.call.Arguments)
	}
	return r
}

func (t *turn) pickTool() *tool {
	if len(t.tools) == 0 {
		return nil
	}
	msg := strings.ToLower(t.lastUser)
	for i := range t.tools {
		if t.tools[i].name != "" && strings.Contains(msg, strings.ToLower(t.tools[i].name)) {
			return &t.tools[i]
		}
	}
	if strings.Contains(msg, "tool") {
		return &t.tools[0]
	}
	return nil
}

// argumentsFor builds a JSON object with every required property of schema:
// strings get value (or their first enum value), other types a neutral
// value.
func argumentsFor(schema json.RawMessage, value string) string {
	var s struct {
		Properties map[string]struct {
			Type json.RawMessage `json:"type"`
			Enum []any           `json:"enum"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	_ = json.Unmarshal(schema, &s)
	var b strings.Builder
	b.WriteByte('{')
	for i, name := range s.Required {
		p := s.Properties[name]
		var typ string
		if json.Unmarshal(p.Type, &typ) != nil {
			var types []string
			_ = json.Unmarshal(p.Type, &types)
			if len(types) > 0 {
				typ = types[0]
			}
		}
		var v any
		switch {
		case len(p.Enum) > 0:
			v = p.Enum[0]
		case typ == "integer" || typ == "number":
			v = 1
		case typ == "boolean":
			v = true
		case typ == "array":
			v = []any{}
		case typ == "object":
			v = map[string]any{}
		default:
			v = value
		}
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		val, _ := json.Marshal(v)
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.String()
}

// tokens estimates a token count the usual rough way: four bytes a token.
func tokens(s string) int64 {
	return max(1, int64(len(s)+3)/4)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func hashID(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("%016x", h.Sum64())
}

// deltas splits s into small pieces, a word (with its leading space) each.
func deltas(s string) []string {
	var out []string
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i] == ' ' && s[i-1] != ' ' {
			out = append(out, s[start:i])
			start = i
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// argDeltas splits JSON arguments into a few fragments, as providers do.
func argDeltas(s string) []string {
	var out []string
	for len(s) > 0 {
		n := min(len(s), 8)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n++
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// text extracts the text of a message content that is a string or an array
// of parts with "text" fields (OpenAI text/input_text/output_text parts,
// Anthropic text blocks).
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b []string
	for _, p := range parts {
		if p.Text != "" {
			b = append(b, p.Text)
		}
	}
	return strings.Join(b, "\n")
}

func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("request body is not valid JSON: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func isAnthropic(r *http.Request) bool {
	return r.Header.Get("Anthropic-Version") != "" || strings.Contains(r.URL.Path, "/messages")
}

// fail answers with an error in the shape of the API the request used.
func (d *dev) fail(w http.ResponseWriter, r *http.Request, status int, typ, msg string) {
	if isAnthropic(r) {
		writeJSON(w, status, map[string]any{
			"type":       "error",
			"error":      map[string]any{"type": typ, "message": msg},
			"request_id": "req_fake_" + hashID([]byte(msg)),
		})
		return
	}
	if typ == "not_found_error" {
		typ = "invalid_request_error"
	}
	writeJSON(w, status, map[string]any{
		"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil},
	})
}

func (d *dev) badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	d.fail(w, r, http.StatusBadRequest, "invalid_request_error", msg)
}

func (d *dev) models(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Anthropic-Version") != "" {
		m := d.anthropicModel()
		writeJSON(w, http.StatusOK, map[string]any{
			"data": []any{m}, "has_more": false, "first_id": DevModelID, "last_id": DevModelID,
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{d.openaiModel()}})
}

func (d *dev) model(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != DevModelID {
		d.fail(w, r, http.StatusNotFound, "not_found_error", fmt.Sprintf("model %q does not exist", r.PathValue("id")))
		return
	}
	if r.Header.Get("Anthropic-Version") != "" {
		writeJSON(w, http.StatusOK, d.anthropicModel())
		return
	}
	writeJSON(w, http.StatusOK, d.openaiModel())
}

var devModelCreated = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func (d *dev) openaiModel() map[string]any {
	return map[string]any{"id": DevModelID, "object": "model", "created": devModelCreated.Unix(), "owned_by": "chatd (fake)"}
}

func (d *dev) anthropicModel() map[string]any {
	return map[string]any{"type": "model", "id": DevModelID, "display_name": DevModelDisplayName,
		"created_at": devModelCreated.Format(time.RFC3339)}
}

// stream writes SSE events and flushes after each.
type stream struct {
	ctx     context.Context
	w       http.ResponseWriter
	rc      *http.ResponseController
	latency time.Duration
	err     error
}

func (d *dev) startStream(w http.ResponseWriter, r *http.Request) *stream {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	s := &stream{ctx: r.Context(), w: w, rc: http.NewResponseController(w), latency: d.latency}
	_ = s.rc.Flush()
	return s
}

// event writes one event; name may be empty (OpenAI Chat Completions).
func (s *stream) event(name string, v any) {
	if s.err != nil {
		return
	}
	data, ok := v.([]byte)
	if !ok {
		data, s.err = json.Marshal(v)
		if s.err != nil {
			return
		}
	}
	if s.err = sse.WriteEvent(s.w, sse.Event{Event: name, Data: data}); s.err != nil {
		return
	}
	s.err = s.rc.Flush()
}

// pause waits the configured latency before a delta.
func (s *stream) pause() {
	if s.err != nil || s.latency <= 0 {
		return
	}
	t := time.NewTimer(s.latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ctx.Done():
		s.err = s.ctx.Err()
	}
}
