// Package llmtest is a fake LLM upstream for tests and dev mode: it replays
// wire-format fixtures of the OpenAI and Anthropic APIs, injects faults, and
// serves a deterministic echo model.
package llmtest

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

//go:embed testdata
var fixtureFS embed.FS

// Fixture is one recorded exchange with a provider: the request a client
// sends and the exact bytes the provider answers with.
//
// A fixture file is testdata/<api>/<name>.txtar. Its comment describes it;
// its sections are "request" (the JSON request body), "response" (the raw
// response body: JSON when blocking, SSE bytes when streaming), optional
// "headers" ("status: 429" and "name: value" lines) and optional "expect"
// (JSON figures for assertions, see Expect).
type Fixture struct {
	// Name is the fixture name, "<api>/<name>", e.g. "openai-chat/stream-tool".
	Name string
	// API is the directory part of Name: "openai-chat", "openai-responses"
	// or "anthropic-messages".
	API string
	// Comment is the txtar comment describing the fixture.
	Comment string
	// Request is the JSON body a client would send.
	Request []byte
	// Body is the raw upstream response body.
	Body []byte
	// Status is the response status code (200 unless the headers section
	// says otherwise).
	Status int
	// Header holds the response headers. Content-Type is always set.
	Header http.Header
	// Expect holds the figures a recorder should read from the exchange.
	Expect Expect
}

// Expect is what a gateway should record from a fixture's exchange.
type Expect struct {
	InputTokens      int64      `json:"input_tokens"`
	OutputTokens     int64      `json:"output_tokens"`
	CacheReadTokens  int64      `json:"cache_read_tokens"`
	CacheWriteTokens int64      `json:"cache_write_tokens"`
	ReasoningTokens  int64      `json:"reasoning_tokens"`
	Prompt           string     `json:"prompt"`
	ToolCalls        []ToolCall `json:"tool_calls"`
	// Reasoning is the model's reasoning or thinking text: Anthropic
	// thinking blocks, or OpenAI Responses reasoning summaries joined by
	// "\n". Empty when the exchange has none.
	Reasoning string `json:"reasoning,omitempty"`
}

// ToolCall is a tool call the model made; Arguments is its JSON text.
type ToolCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Streaming reports whether the response body is an SSE stream.
func (f Fixture) Streaming() bool {
	return strings.HasPrefix(f.Header.Get("Content-Type"), "text/event-stream")
}

// Path returns the URL path a client calls for the fixture's API.
func (f Fixture) Path() string {
	switch f.API {
	case "openai-chat":
		return "/v1/chat/completions"
	case "openai-responses":
		return "/v1/responses"
	case "anthropic-messages":
		return "/v1/messages"
	}
	return "/"
}

// Response returns a Response that replays the fixture. A streaming fixture
// is sent one event at a time, flushed after each.
func (f Fixture) Response() Response {
	return Response{
		Status: f.Status,
		Header: f.Header.Clone(),
		Body:   bytes.Clone(f.Body),
		Chunks: f.Streaming(),
	}
}

// Load returns the named fixture ("openai-chat/stream-tool"), failing the
// test if it does not exist or is malformed.
func Load(t testing.TB, name string) Fixture {
	t.Helper()
	f, err := parseFixture(name)
	if err != nil {
		t.Fatalf("llmtest: %v", err)
	}
	return f
}

// Names lists every embedded fixture, sorted.
func Names() []string {
	var names []string
	_ = fs.WalkDir(fixtureFS, "testdata", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".txtar") {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(p, "testdata/"), ".txtar"))
		}
		return nil
	})
	sort.Strings(names)
	return names
}

func parseFixture(name string) (Fixture, error) {
	raw, err := fixtureFS.ReadFile(path.Join("testdata", name+".txtar"))
	if err != nil {
		return Fixture{}, fmt.Errorf("load fixture %q: %w", name, err)
	}
	ar := txtar.Parse(raw)
	f := Fixture{
		Name:    name,
		API:     path.Dir(name),
		Comment: strings.TrimSpace(string(ar.Comment)),
		Status:  http.StatusOK,
		Header:  http.Header{},
	}
	var haveResponse bool
	for _, file := range ar.Files {
		switch file.Name {
		case "request":
			f.Request = file.Data
		case "response":
			f.Body = file.Data
			haveResponse = true
		case "headers":
			if err := parseHeaders(file.Data, &f); err != nil {
				return Fixture{}, fmt.Errorf("load fixture %q: %w", name, err)
			}
		case "expect":
			if err := json.Unmarshal(file.Data, &f.Expect); err != nil {
				return Fixture{}, fmt.Errorf("load fixture %q: parse expect: %w", name, err)
			}
		default:
			return Fixture{}, fmt.Errorf("load fixture %q: unknown section %q", name, file.Name)
		}
	}
	if !haveResponse {
		return Fixture{}, fmt.Errorf("load fixture %q: no response section", name)
	}
	if f.Header.Get("Content-Type") == "" {
		ct := "application/json"
		if looksLikeSSE(f.Body) {
			ct = "text/event-stream; charset=utf-8"
		}
		f.Header.Set("Content-Type", ct)
	}
	return f, nil
}

func parseHeaders(b []byte, f *Fixture) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return fmt.Errorf("parse headers: line %q has no colon", line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if strings.EqualFold(k, "status") {
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 || n > 999 {
				return fmt.Errorf("parse headers: bad status %q", v)
			}
			f.Status = n
			continue
		}
		f.Header.Add(k, v)
	}
	return nil
}

func looksLikeSSE(b []byte) bool {
	return bytes.HasPrefix(b, []byte("event:")) || bytes.HasPrefix(b, []byte("data:")) ||
		bytes.HasPrefix(b, []byte(":")) || bytes.HasPrefix(b, []byte("id:"))
}
