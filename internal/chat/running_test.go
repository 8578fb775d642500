package chat

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// wait fails the test unless ch is ready within waitTimeout.
func wait[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("%s: nothing within %s", what, waitTimeout)
	}
}

// TestNextTurnKeepsRegistration: a turn that finishes with a queued
// message starts the next turn in its finishing transition, so its own
// cleanup may run after the next turn began. The cleanup must leave the
// next turn's registration (an interrupt stops it at once) and its live
// step (a new watcher gets its parts) alone.
func TestNextTurnKeepsRegistration(t *testing.T) {
	t.Parallel()
	first, gate1 := gated(textReply("one"))
	second, gate2 := gated(textReply("two", " three"))
	e := newEnv(t, first, second)
	var cleanups atomic.Int32
	held := make(chan struct{})    // closed when the first turn's cleanup waits
	release := make(chan struct{}) // lets it go on
	cleaned := make(chan struct{}, 4)
	s := e.service(func(c *Config) {
		// Heartbeats, which would also notice the interrupt, come every
		// 20 minutes.
		c.Lease = time.Hour
		c.beforeTurnCleanup = func(string) {
			if cleanups.Add(1) == 1 {
				close(held)
				<-release
			}
		}
		c.afterTurnCleanup = func(string) { cleaned <- struct{}{} }
	})
	c := e.newChat(s, "first")
	events := subscribe(t, s, c.ID, "")
	if _, err := s.Send(t.Context(), c.ID, text("second"), e.key, e.user.ID, store.SendQueue); err != nil {
		t.Fatalf("send: %v", err)
	}
	run(t, s)
	close(gate1)
	wait(t, held, "first turn's cleanup")

	// The second turn streams while the first has not cleaned up yet.
	gate2 <- struct{}{} // the role chunk
	gate2 <- struct{}{} // "two"
	next(t, events, func(ev wire.Event) bool { return isDelta(ev) && ev.Part.Delta == "two" })
	close(release)
	wait(t, cleaned, "first turn's cleanup")

	late := subscribe(t, s, c.ID, "")
	next(t, late, func(ev wire.Event) bool { return isDelta(ev) && ev.Part.Delta == "two" })

	if _, err := s.Interrupt(t.Context(), c.ID); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	next(t, events, status(store.ChatWaiting))
	msgs := e.messages(c.ID)
	if got, want := roles(msgs), "user,assistant,user,assistant"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}
	if got := textOf(msgs[3].Parts); got != "two" {
		t.Fatalf("partial answer = %q, want %q", got, "two")
	}
}
