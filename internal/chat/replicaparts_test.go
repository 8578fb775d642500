package chat

import (
	"testing"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// TestResumeOnOtherReplicaGetsParts: a watcher moves from replica A, where
// it saw a turn's live parts, to replica B, whose hub has known the chat
// since before that turn (another watcher kept it). The next turn runs on
// B; the watcher's event id carries A's part numbers, and B's must still
// be newer, or every live part of B's turn is filtered out.
func TestResumeOnOtherReplicaGetsParts(t *testing.T) {
	t.Parallel()
	db := openBackend(t, "sqlite")
	r := newReplicas(t, db, textReply("one ", "two ", "three"), textReply("four ", "five ", "six"))
	a, b := r.replica("a"), r.replica("b")
	c, err := a.CreateChat(t.Context(), store.NewChat{OwnerID: r.user.ID, Title: "t", ModelConfigID: r.model.ID, First: text("hi"), APIKeyID: r.key})
	if err != nil {
		t.Fatal(err)
	}
	// Another client watching on B keeps B's hub state for the chat.
	subscribe(t, b, c.ID, "")

	onA := subscribe(t, a, c.ID, "")
	stopA := run(t, a)
	var last string
	sawPart := false
	next(t, onA, func(ev wire.Event) bool {
		if ev.ID != "" {
			last = ev.ID
		}
		sawPart = sawPart || ev.Type == wire.EventPart
		return ev.Type == wire.EventChat && ev.Chat.Status == string(store.ChatWaiting)
	})
	if !sawPart {
		t.Fatal("no live parts on replica a")
	}
	stopA()

	resumed := subscribe(t, b, c.ID, last)
	run(t, b)
	if _, err := b.Send(t.Context(), c.ID, text("again"), r.key, r.user.ID, store.SendQueue); err != nil {
		t.Fatal(err)
	}
	var deltas int
	next(t, resumed, func(ev wire.Event) bool {
		if isDelta(ev) {
			deltas++
		}
		return ev.Type == wire.EventMessage && ev.Message.Role == string(store.RoleAssistant) && ev.Message.Seq > 2
	})
	if deltas == 0 {
		t.Fatal("the resumed watcher got none of replica b's live parts")
	}
}
