package storetest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// testSpend: what a chat's model calls cost stays readable after an edit
// drops their messages (ListAllMessages), and calls that left no message
// are added up on the chat (AddOrphanSpend) without a transition.
func testSpend(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("ListAllMessages", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "u1")
		e.acquire(t, c.ID, "w", time.Hour)
		cost := ptr(int64(42))
		_, _, err := e.s.CommitStep(ctx, c.ID, "w", []store.Message{{Role: store.RoleAssistant, Parts: text("a1"),
			Usage: store.Usage{Input: 10, Output: 2}, CostMicros: cost, ModelConfigID: e.model.ID}})
		noErr(t, "commit a1", err)
		noErr(t, "finish", finish(t, e, c.ID, "w"))
		ms := e.messages(t, c.ID)
		_, _, err = e.s.EditMessage(ctx, c.ID, ms[0].ID, text("u1 edited"), "key-2")
		noErr(t, "edit", err)

		wantTexts(t, "visible", e.messages(t, c.ID), "user:u1 edited")
		all, err := e.s.ListAllMessages(ctx, c.ID, 0, 0)
		noErr(t, "list all", err)
		wantTexts(t, "all", all, "user:u1", "assistant:a1", "user:u1 edited")
		for i, m := range all {
			if deleted := m.DeletedAt != nil; deleted != (i < 2) {
				t.Fatalf("message %d deleted at %v", m.Seq, m.DeletedAt)
			}
		}
		if a := all[1]; a.CostMicros == nil || *a.CostMicros != 42 || a.Usage.Input != 10 {
			t.Fatalf("deleted answer = %+v", a)
		}
		page, err := e.s.ListAllMessages(ctx, c.ID, 1, 1)
		noErr(t, "page", err)
		wantTexts(t, "page", page, "assistant:a1")
	})
	t.Run("AddOrphanSpend", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "")
		if c.OrphanCostMicros != nil || c.OrphanUnpricedCalls != 0 {
			t.Fatalf("new chat orphan spend = %v, %d", c.OrphanCostMicros, c.OrphanUnpricedCalls)
		}
		noErr(t, "unpriced", e.s.AddOrphanSpend(ctx, c.ID, nil))
		got := e.get(t, c.ID)
		if got.OrphanCostMicros != nil || got.OrphanUnpricedCalls != 1 {
			t.Fatalf("after an unpriced call: %v, %d", got.OrphanCostMicros, got.OrphanUnpricedCalls)
		}
		noErr(t, "priced", e.s.AddOrphanSpend(ctx, c.ID, ptr(int64(30))))
		noErr(t, "free", e.s.AddOrphanSpend(ctx, c.ID, ptr(int64(0))))
		// Archived chats take it too: the call was paid for.
		_, err := e.s.SetArchived(ctx, c.ID, true)
		noErr(t, "archive", err)
		before := e.get(t, c.ID)
		noErr(t, "priced again", e.s.AddOrphanSpend(ctx, c.ID, ptr(int64(12))))
		got = e.get(t, c.ID)
		if got.OrphanCostMicros == nil || *got.OrphanCostMicros != 42 || got.OrphanUnpricedCalls != 1 {
			t.Fatalf("orphan spend = %v, %d; want 42, 1", got.OrphanCostMicros, got.OrphanUnpricedCalls)
		}
		if got.SnapshotVersion != before.SnapshotVersion || !got.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatalf("orphan spend changed version %d -> %d, updated %v -> %v", before.SnapshotVersion, got.SnapshotVersion, before.UpdatedAt, got.UpdatedAt)
		}
		wantErr(t, "unknown chat", e.s.AddOrphanSpend(ctx, "missing", ptr(int64(1))), store.ErrNotFound)
	})
}
