package chat

import (
	"fmt"
	"testing"

	"github.com/chatd/chatd/internal/store"
)

// userTexts lists the texts of msgs' user messages, in order.
func userTexts(msgs []store.Message) []string {
	var out []string
	for _, m := range msgs {
		if m.Role == store.RoleUser {
			out = append(out, textOf(m.Parts))
		}
	}
	return out
}

// TestFailedTurnKeepsQueueOrder: a turn that fails keeps its queue, and a
// message sent afterwards runs behind what was queued before it.
func TestFailedTurnKeepsQueueOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, errorReply(400, "Invalid value for 'model'."), textReply("early answer"), textReply("later answer"))
	s := e.service(nil)
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	// Queued before the turn (which fails) runs.
	if r, err := s.Send(t.Context(), c.ID, text("queued early"), e.key, e.user.ID, store.SendQueue); err != nil || r.Queued == nil {
		t.Fatalf("queue = %+v, %v", r, err)
	}
	run(t, s)
	next(t, events, status(store.ChatError))

	r, err := s.Send(t.Context(), c.ID, text("sent later"), e.key2, e.user.ID, store.SendQueue)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if r.Started == nil || r.Queued == nil || r.Message != nil || textOf(r.Started.Parts) != "queued early" {
		t.Fatalf("send after error = %+v, want the queued message started and this one queued", r)
	}
	next(t, events, status(store.ChatWaiting))
	msgs := e.messages(c.ID)
	if got, want := roles(msgs), "user,user,assistant,user,assistant"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(userTexts(msgs)), fmt.Sprint([]string{"hi", "queued early", "sent later"}); got != want {
		t.Fatalf("user messages = %s, want %s", got, want)
	}
	if textOf(msgs[2].Parts) != "early answer" || textOf(msgs[4].Parts) != "later answer" || msgs[3].APIKeyID != e.key2 {
		t.Fatalf("messages = %+v", msgs)
	}
}

// TestSendInterruptRunsNext: an interrupting send stops the turn and runs
// next, ahead of what was queued before it.
func TestSendInterruptRunsNext(t *testing.T) {
	t.Parallel()
	first, gate := gated(textReply("Hel", "lo"))
	e := newEnv(t, first, textReply("urgent answer"), textReply("early answer"))
	s := e.service(nil)
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	gate <- struct{}{} // the role chunk
	gate <- struct{}{} // "Hel"
	next(t, events, isDelta)

	if r, err := s.Send(t.Context(), c.ID, text("queued early"), e.key, e.user.ID, store.SendQueue); err != nil || r.Queued == nil {
		t.Fatalf("queue = %+v, %v", r, err)
	}
	r, err := s.Send(t.Context(), c.ID, text("urgent"), e.key2, e.user.ID, store.SendInterrupt)
	if err != nil {
		t.Fatalf("send interrupt: %v", err)
	}
	if r.Queued == nil || r.Chat.Status != store.ChatInterrupting {
		t.Fatalf("send interrupt = %+v", r)
	}
	next(t, events, status(store.ChatWaiting))
	msgs := e.messages(c.ID)
	if got, want := roles(msgs), "user,assistant,user,assistant,user,assistant"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(userTexts(msgs)), fmt.Sprint([]string{"hi", "urgent", "queued early"}); got != want {
		t.Fatalf("user messages = %s, want %s", got, want)
	}
	if textOf(msgs[1].Parts) != "Hel" || textOf(msgs[3].Parts) != "urgent answer" || msgs[2].APIKeyID != e.key2 {
		t.Fatalf("messages = %+v", msgs)
	}
}
