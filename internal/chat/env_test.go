package chat

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
	"github.com/chatd/chatd/internal/wire"
)

// waitTimeout bounds how long a test waits for an event before failing.
const waitTimeout = 20 * time.Second

// env is a real SQLite store, the real gateway and router in front of a
// fake upstream, a user with two API keys, and a priced model.
type env struct {
	t      *testing.T
	db     *sqlite.DB
	gw     *gateway.Gateway
	router *route.Router
	up     *llmtest.Server
	log    *slog.Logger
	user   store.User
	key    string // API key id
	key2   string
	model  store.ModelConfig
	prov   store.Provider
	kr     *secret.Keyring
	closed bool
}

func newEnv(t *testing.T, responses ...llmtest.Response) *env {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "chatd.db"), Logger: log})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	k := make([]byte, secret.KeySize)
	_, _ = rand.Read(k)
	kr, err := secret.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Store: db, Auth: auth.New(auth.Config{Store: db, Logger: log}), Keyring: kr, Logger: log})
	if err != nil {
		t.Fatalf("new gateway: %v", err)
	}
	e := &env{t: t, db: db, gw: gw, log: log, kr: kr}
	t.Cleanup(func() { _ = e.closeGateway() })
	e.router = route.New(route.Config{Store: db, Keyring: kr, Gateway: gw, Logger: log})
	e.up = llmtest.NewServer(t, responses...)
	e.user, err = db.CreateUser(ctx, store.User{Username: "alice", Role: store.RoleMember})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	e.key, e.key2 = e.addKey("one"), e.addKey("two")
	central, err := kr.Seal(secret.New("sk-central"))
	if err != nil {
		t.Fatal(err)
	}
	e.prov, err = db.CreateProvider(ctx, store.Provider{Name: "fake", Type: store.ProviderOpenAI, BaseURL: e.up.URL + "/v1", Enabled: true, APIKeyCipher: central, APIKeyHint: "sk-…"})
	if err != nil {
		t.Fatalf("create provider: %v", err)
	}
	in, out := 1.0, 2.0
	e.model, err = db.CreateModel(ctx, store.ModelConfig{ProviderID: e.prov.ID, Model: "gpt-4o-mini", DisplayName: "mini", Enabled: true, Prices: store.Prices{Input: &in, Output: &out}})
	if err != nil {
		t.Fatalf("create model: %v", err)
	}
	return e
}

func (e *env) addKey(name string) string {
	e.t.Helper()
	id, _, hash := auth.NewKey()
	if _, err := e.db.CreateAPIKey(e.t.Context(), store.APIKey{ID: id, UserID: e.user.ID, Name: name, Kind: store.APIKeyKindAPI, SecretHash: hash}); err != nil {
		e.t.Fatalf("create key: %v", err)
	}
	return id
}

func (e *env) closeGateway() error {
	if e.closed {
		return nil
	}
	e.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.gw.Close(ctx)
}

// records flushes the gateway and returns its records, oldest first.
func (e *env) records() []store.Interception {
	e.t.Helper()
	if err := e.closeGateway(); err != nil {
		e.t.Fatalf("close gateway: %v", err)
	}
	ins, err := e.db.ListInterceptions(e.t.Context(), store.InterceptionFilter{Limit: 100})
	if err != nil {
		e.t.Fatalf("list interceptions: %v", err)
	}
	for i, j := 0, len(ins)-1; i < j; i, j = i+1, j-1 {
		ins[i], ins[j] = ins[j], ins[i]
	}
	return ins
}

// service returns a Service over the env; mutate adjusts its config.
func (e *env) service(mutate func(*Config)) *Service {
	e.t.Helper()
	c := Config{
		Store: e.db, Chats: e.db, Router: e.router, Logger: e.log,
		Workers: 2, PollInterval: 20 * time.Millisecond, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond,
		Lease: 5 * time.Second,
	}
	if mutate != nil {
		mutate(&c)
	}
	s, err := New(c)
	if err != nil {
		e.t.Fatalf("new service: %v", err)
	}
	return s
}

// run starts s and returns a function that stops it and waits.
func run(t *testing.T, s *Service) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(ctx) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

func text(s string) []store.Part { return []store.Part{{Type: store.PartText, Text: s}} }

// newChat creates a titled chat (no title generation) with a first message.
func (e *env) newChat(s *Service, first string, tools ...store.ToolSpec) store.Chat {
	e.t.Helper()
	c, err := s.CreateChat(e.t.Context(), store.NewChat{
		OwnerID: e.user.ID, Title: "test", ModelConfigID: e.model.ID,
		First: text(first), APIKeyID: e.key, ClientTools: tools,
	})
	if err != nil {
		e.t.Fatalf("create chat: %v", err)
	}
	return c
}

func (e *env) messages(chatID string) []store.Message {
	e.t.Helper()
	ms, err := e.db.ListMessages(e.t.Context(), chatID, 0, 1000)
	if err != nil {
		e.t.Fatalf("list messages: %v", err)
	}
	return ms
}

func subscribe(t *testing.T, s *Service, chatID, last string) <-chan wire.Event {
	t.Helper()
	sub, err := s.Subscribe(t.Context(), chatID, last)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return sub.Events
}

// next returns the next event that matches.
func next(t *testing.T, events <-chan wire.Event, match func(wire.Event) bool) wire.Event {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event stream closed")
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no matching event within %s", waitTimeout)
		}
	}
}

func status(st store.ChatStatus) func(wire.Event) bool {
	return func(ev wire.Event) bool { return ev.Type == wire.EventChat && ev.Chat.Status == string(st) }
}

// sse builds an OpenAI Chat Completions stream from chunk deltas, ending
// with finish, usage and [DONE].
func sse(finish string, deltas ...map[string]any) []byte {
	var b strings.Builder
	chunk := func(choices any, usage any) {
		m := map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini", "choices": choices}
		if usage != nil {
			m["usage"] = usage
		}
		j, _ := json.Marshal(m)
		fmt.Fprintf(&b, "data: %s\n\n", j)
	}
	for _, d := range deltas {
		chunk([]any{map[string]any{"index": 0, "delta": d, "finish_reason": nil}}, nil)
	}
	chunk([]any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": finish}}, nil)
	chunk([]any{}, map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

func streamed(body []byte) llmtest.Response {
	return llmtest.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: body, Chunks: true}
}

// textReply streams words as content deltas.
func textReply(words ...string) llmtest.Response {
	ds := []map[string]any{{"role": "assistant", "content": ""}}
	for _, w := range words {
		ds = append(ds, map[string]any{"content": w})
	}
	return streamed(sse("stop", ds...))
}

// toolReply streams one tool call.
func toolReply(id, name, args string) llmtest.Response {
	return streamed(sse("tool_calls",
		map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": id, "type": "function", "function": map[string]any{"name": name, "arguments": ""}}}},
		map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": args}}}},
	))
}

func errorReply(status int, msg string) llmtest.Response {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": nil}})
	return llmtest.Response{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}

// roles lists the roles of msgs, for compact comparisons.
func roles(msgs []store.Message) string {
	var r []string
	for _, m := range msgs {
		r = append(r, string(m.Role))
	}
	return strings.Join(r, ",")
}
