package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

func TestTurnWithToolCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, toolReply("call_1", "current_time", "{}"), textReply("It is", " noon."))
	s := e.service(nil)
	c := e.newChat(s, "What time is it?")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))

	msgs := e.messages(c.ID)
	if got, want := roles(msgs), "user,assistant,tool,assistant"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}
	call := msgs[1].Parts[0]
	if call.Type != store.PartToolCall || call.ToolName != "current_time" || call.ToolCallID != "call_1" || call.ClientSide {
		t.Fatalf("tool call = %+v", call)
	}
	res := msgs[2].Parts[0]
	if res.Type != store.PartToolResult || res.ToolCallID != "call_1" || res.IsError || res.Output == "" {
		t.Fatalf("tool result = %+v", res)
	}
	if got := textOf(msgs[3].Parts); got != "It is noon." {
		t.Fatalf("answer = %q", got)
	}
	if msgs[3].CostMicros == nil || *msgs[3].CostMicros != 10*1+5*2 {
		t.Fatalf("cost = %v, want 20", msgs[3].CostMicros)
	}
	if msgs[3].ModelConfigID != e.model.ID || msgs[3].Usage.Output != 5 {
		t.Fatalf("assistant message = %+v", msgs[3])
	}
	reqs := e.up.Requests()
	if len(reqs) != 2 || !strings.Contains(string(reqs[1].Body), "call_1") {
		t.Fatalf("second request does not carry the tool result: %s", reqs[len(reqs)-1].Body)
	}

	// Attribution: the chat, its user message and each gateway record.
	got, err := e.db.GetChat(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.APIKeyID != e.key || msgs[0].APIKeyID != e.key {
		t.Fatalf("key on chat %q, on message %q; want %q", got.APIKeyID, msgs[0].APIKeyID, e.key)
	}
	recs := e.records()
	if len(recs) != 2 {
		t.Fatalf("%d gateway records, want 2", len(recs))
	}
	for _, r := range recs {
		if r.APIKeyID != e.key || r.ChatID != c.ID || r.UserID != e.user.ID || r.Source != store.SourceAgents {
			t.Fatalf("record key %q chat %q user %q source %q; want %q %q %q", r.APIKeyID, r.ChatID, r.UserID, r.Source, e.key, c.ID, e.user.ID)
		}
	}
}

func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, llmtest.Load(t, "openai-chat/error-429").Response(), textReply("Hello"))
	s := e.service(nil)
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	ev := next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventChat && ev.Chat.Retry != nil })
	if ev.Chat.Retry.Attempt != 1 || !strings.Contains(ev.Chat.Retry.Error, "429") {
		t.Fatalf("retry state = %+v", ev.Chat.Retry)
	}
	next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventPart && ev.Part.Kind == wire.PartRestart })
	ev = next(t, events, status(store.ChatWaiting))
	if ev.Chat.Retry != nil || ev.Chat.LastError != "" {
		t.Fatalf("finished chat = %+v", ev.Chat)
	}
	if got := textOf(e.messages(c.ID)[1].Parts); got != "Hello" {
		t.Fatalf("answer = %q", got)
	}
}

func TestBadRequestEndsInError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, errorReply(400, "Invalid value for 'model'."))
	s := e.service(nil)
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	ev := next(t, events, status(store.ChatError))
	want := "the model provider refused the request (400): Invalid value for 'model'."
	if ev.Chat.LastError != want {
		t.Fatalf("last error = %q, want %q", ev.Chat.LastError, want)
	}
	if got := roles(e.messages(c.ID)); got != "user" {
		t.Fatalf("roles = %s", got)
	}
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	r := llmtest.Load(t, "openai-chat/error-500").Response()
	e := newEnv(t, r, r, r)
	s := e.service(func(c *Config) { c.RetryAttempts = 2 })
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	ev := next(t, events, status(store.ChatError))
	if !strings.Contains(ev.Chat.LastError, "(500)") || !strings.Contains(ev.Chat.LastError, "gave up after 2 retries") {
		t.Fatalf("last error = %q", ev.Chat.LastError)
	}
}

func TestBrokenStreamRestartsStep(t *testing.T) {
	t.Parallel()
	broken := textReply("lost", " words")
	broken.ResetAfterEvents = 2
	e := newEnv(t, broken, textReply("whole"))
	s := e.service(nil)
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, func(ev wire.Event) bool {
		return ev.Type == wire.EventPart && ev.Part.Kind == wire.PartRestart && ev.Part.Attempt == 1
	})
	next(t, events, status(store.ChatWaiting))
	msgs := e.messages(c.ID)
	if got := roles(msgs); got != "user,assistant" {
		t.Fatalf("roles = %s", got)
	}
	if got := textOf(msgs[1].Parts); got != "whole" {
		t.Fatalf("answer = %q", got)
	}
}

// flakyModels fails the router's first GetModel, as a database hiccup
// would, with driver text no user should read.
type flakyModels struct {
	store.Store
	failed atomic.Bool
}

const driverText = "pq: connection reset by peer at 10.0.0.7:5432"

func (f *flakyModels) GetModel(ctx context.Context, id string) (store.ModelConfig, error) {
	if f.failed.CompareAndSwap(false, true) {
		return store.ModelConfig{}, errors.New(driverText)
	}
	return f.Store.GetModel(ctx, id)
}

func TestRouteHiccupIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, textReply("Hello"))
	router := route.New(route.Config{Store: &flakyModels{Store: e.db}, Keyring: e.kr, Gateway: e.gw, Logger: e.log})
	s := e.service(func(c *Config) { c.Router = router })
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	ev := next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventChat && ev.Chat.Retry != nil })
	if got := ev.Chat.Retry.Error; got != errRouteFailed {
		t.Fatalf("retry error = %q, want %q", got, errRouteFailed)
	}
	ev = next(t, events, status(store.ChatWaiting))
	if ev.Chat.Retry != nil || ev.Chat.LastError != "" {
		t.Fatalf("finished chat = %+v", ev.Chat)
	}
	if got := textOf(e.messages(c.ID)[1].Parts); got != "Hello" {
		t.Fatalf("answer = %q", got)
	}
}

func TestClassifyRoute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		retryable bool
		want      string
	}{
		{name: "database hiccup", err: fmt.Errorf("load model config: %w", errors.New(driverText)), retryable: true, want: errRouteFailed},
		{name: "unroutable", err: fmt.Errorf("route model: %w: model \"m\" is disabled", route.ErrUnroutable), want: "the chat's model cannot be used: route model: model is not routable: model \"m\" is disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			me := classifyRoute(tt.err)
			if me.Retryable != tt.retryable {
				t.Fatalf("retryable = %v, want %v", me.Retryable, tt.retryable)
			}
			if me.Message != tt.want {
				t.Fatalf("message = %q, want %q", me.Message, tt.want)
			}
		})
	}
}
