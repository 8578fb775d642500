package chat

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// readCounter counts the reads publish may skip.
type readCounter struct {
	store.Chats
	getChat, listMessages, listQueued atomic.Int64
}

func (c *readCounter) GetChat(ctx context.Context, id string) (store.Chat, error) {
	c.getChat.Add(1)
	return c.Chats.GetChat(ctx, id)
}

func (c *readCounter) ListMessages(ctx context.Context, chatID string, afterSeq int64, limit int) ([]store.Message, error) {
	c.listMessages.Add(1)
	return c.Chats.ListMessages(ctx, chatID, afterSeq, limit)
}

func (c *readCounter) ListQueued(ctx context.Context, chatID string) ([]store.QueuedMessage, error) {
	c.listQueued.Add(1)
	return c.Chats.ListQueued(ctx, chatID)
}

func (c *readCounter) reads() [3]int64 {
	return [3]int64{c.getChat.Load(), c.listMessages.Load(), c.listQueued.Load()}
}

// TestPublishSkipsOnlyContiguousReads: publishing a transition whose
// effect is known reads nothing back when the transition directly follows
// what was published, and reads everything when another writer (another
// replica) came in between, so its message and queue still reach the
// watcher.
func TestPublishSkipsOnlyContiguousReads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rc := &readCounter{Chats: e.db}
	s := e.service(func(c *Config) {
		c.Chats = rc
		c.WatchPollInterval = -1
	})
	ctx := t.Context()
	c, err := e.db.CreateChat(ctx, store.NewChat{OwnerID: e.user.ID, Title: "t", ModelConfigID: e.model.ID, APIKeyID: e.key})
	if err != nil {
		t.Fatalf("create chat: %v", err)
	}
	events := subscribe(t, s, c.ID, "")
	next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventQueue })
	s.sync(ctx, c.ID) // everything published: the cache knows version 1

	// Another writer commits a message and queues one.
	if _, err := e.db.Send(ctx, c.ID, text("first"), e.key, e.user.ID, store.SendQueue); err != nil {
		t.Fatalf("send: %v", err)
	}
	if _, err := e.db.Send(ctx, c.ID, text("queued"), e.key, e.user.ID, store.SendQueue); err != nil {
		t.Fatalf("send: %v", err)
	}
	// This replica's transition claims to touch neither messages nor
	// queue, but follows a gap: publish must read both.
	renamed, err := e.db.SetTitle(ctx, c.ID, "renamed")
	if err != nil {
		t.Fatalf("set title: %v", err)
	}
	before := rc.reads()
	s.publish(ctx, c.ID, transitionChange(renamed, true, true))
	after := rc.reads()
	if got, want := after[1]-before[1], int64(1); got != want {
		t.Fatalf("ListMessages after a gap = %d, want %d", got, want)
	}
	if got, want := after[2]-before[2], int64(1); got != want {
		t.Fatalf("ListQueued after a gap = %d, want %d", got, want)
	}
	msg := next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventMessage })
	if got, want := msg.Message.Parts[0].Text, "first"; got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
	q := next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventQueue })
	if got, want := len(q.Queue), 1; got != want {
		t.Fatalf("queue length = %d, want %d", got, want)
	}

	// The next transition follows directly: nothing is read back, and
	// the watcher still gets the chat and the unchanged queue.
	renamed, err = e.db.SetTitle(ctx, c.ID, "again")
	if err != nil {
		t.Fatalf("set title: %v", err)
	}
	before = rc.reads()
	s.publish(ctx, c.ID, transitionChange(renamed, true, true))
	if got := rc.reads(); got != before {
		t.Fatalf("reads of a contiguous transition = %v, want none (before %v)", got, before)
	}
	ch := next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventChat })
	if got, want := ch.Chat.Title, "again"; got != want {
		t.Fatalf("title = %q, want %q", got, want)
	}
	q = next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventQueue })
	if got, want := len(q.Queue), 1; got != want {
		t.Fatalf("queue length = %d, want %d", got, want)
	}
}
