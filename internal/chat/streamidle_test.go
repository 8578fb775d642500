package chat

import (
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// TestStreamIdleTimeout: an upstream that goes silent, before its first
// byte or in the middle of a stream, is given up on after
// StreamIdleTimeout and retried with visible retry state, instead of
// holding the chat while heartbeats keep its lease.
func TestStreamIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = time.Second
	tests := []struct {
		name string
		// silent returns the response that goes quiet and, once the
		// turn runs, releases what it sends before it does.
		silent func(t *testing.T) (llmtest.Response, func(t *testing.T, events <-chan wire.Event))
	}{
		{"no first byte", func(t *testing.T) (llmtest.Response, func(*testing.T, <-chan wire.Event)) {
			hold := make(chan struct{})
			r := llmtest.Response{OnRequest: func(r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-hold:
				}
			}}
			// Before the server's own cleanup, which waits for its handlers.
			return r, func(t *testing.T, _ <-chan wire.Event) { t.Cleanup(func() { close(hold) }) }
		}},
		{"silent mid-stream", func(t *testing.T) (llmtest.Response, func(*testing.T, <-chan wire.Event)) {
			r, gate := gated(textReply("lost", " words"))
			return r, func(t *testing.T, events <-chan wire.Event) {
				gate <- struct{}{} // the role chunk
				gate <- struct{}{} // "lost"
				next(t, events, func(ev wire.Event) bool { return isDelta(ev) && ev.Part.Delta == "lost" })
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			silent, start := tt.silent(t)
			e := newEnv(t, silent, textReply("whole"))
			s := e.service(func(c *Config) { c.StreamIdleTimeout = idle })
			c := e.newChat(s, "hi")
			events := subscribe(t, s, c.ID, "")
			run(t, s)
			start(t, events)
			ev := next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventChat && ev.Chat.Retry != nil })
			if want := "the model provider sent nothing for 1s"; ev.Chat.Retry.Attempt != 1 || ev.Chat.Retry.Error != want {
				t.Fatalf("retry state = %+v, want attempt 1 with %q", ev.Chat.Retry, want)
			}
			next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventPart && ev.Part.Kind == wire.PartRestart })
			ev = next(t, events, status(store.ChatWaiting))
			if ev.Chat.Retry != nil || ev.Chat.LastError != "" {
				t.Fatalf("finished chat = %+v", ev.Chat)
			}
			msgs := e.messages(c.ID)
			if got := roles(msgs); got != "user,assistant" {
				t.Fatalf("roles = %s", got)
			}
			if got := textOf(msgs[1].Parts); got != "whole" {
				t.Fatalf("answer = %q", got)
			}
			select {
			case <-e.up.Canceled():
			case <-time.After(waitTimeout):
				t.Fatalf("the silent call was not cancelled")
			}
		})
	}
}
