package storetest

import (
	"testing"

	"github.com/chatd/chatd/internal/store"
)

// testCountBusySubagents: only busy child chats count, per owner and in
// total; root chats and finished children do not.
func testCountBusySubagents(t *testing.T, fresh func(t *testing.T) store.Store) {
	e := newChatEnv(t, fresh)
	ctx := t.Context()
	other := mustUser(t, e.s, "other")
	parent := e.create(t, "")
	otherParent, err := e.s.CreateChat(ctx, store.NewChat{OwnerID: other.ID, ModelConfigID: e.model.ID, APIKeyID: "k"})
	noErr(t, "create other parent", err)
	child := func(owner string, parentID string, first string) store.Chat {
		t.Helper()
		nc := store.NewChat{OwnerID: owner, ModelConfigID: e.model.ID, ParentChatID: parentID, APIKeyID: "k"}
		if first != "" {
			nc.First = text(first)
		}
		c, err := e.s.CreateChat(ctx, nc)
		noErr(t, "create child", err)
		return c
	}
	child(e.owner.ID, parent.ID, "task one")         // running
	busy := child(e.owner.ID, parent.ID, "task two") // running, then requires_action
	child(e.owner.ID, parent.ID, "")                 // waiting: not busy
	child(other.ID, otherParent.ID, "their task")    // someone else's
	e.create(t, "a root chat")                       // running, but not a subagent

	got := func() (int64, int64) {
		mine, total, err := e.s.CountBusySubagents(ctx, e.owner.ID)
		noErr(t, "count", err)
		return mine, total
	}
	if mine, total := got(); mine != 2 || total != 3 {
		t.Fatalf("busy subagents = %d mine, %d total; want 2, 3", mine, total)
	}

	c, ok, err := e.s.AcquireChat(ctx, "w", 0)
	for ok && err == nil && c.ID != busy.ID {
		c, ok, err = e.s.AcquireChat(ctx, "w", 0)
	}
	noErr(t, "acquire", err)
	if _, err := e.s.FinishWithError(ctx, busy.ID, "w", "failed"); err != nil {
		t.Fatalf("finish with error: %v", err)
	}
	if mine, total := got(); mine != 1 || total != 2 {
		t.Fatalf("after one failed: %d mine, %d total; want 1, 2", mine, total)
	}
}
