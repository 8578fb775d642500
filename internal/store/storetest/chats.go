package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// chatEnv is a fresh store with an owner and a model to make chats with.
type chatEnv struct {
	s     store.Store
	owner store.User
	model store.ModelConfig
}

func newChatEnv(t *testing.T, fresh func(t *testing.T) store.Store) chatEnv {
	t.Helper()
	s := fresh(t)
	u := mustUser(t, s, "owner")
	p := mustProvider(t, s, "openai")
	return chatEnv{s: s, owner: u, model: mustModel(t, s, p.ID, "gpt-5", true)}
}

func text(s string) []store.Part { return []store.Part{{Type: store.PartText, Text: s}} }

// create makes a chat; with a first message it is runnable.
func (e chatEnv) create(t *testing.T, first string) store.Chat {
	t.Helper()
	nc := store.NewChat{OwnerID: e.owner.ID, ModelConfigID: e.model.ID, APIKeyID: "key-1"}
	if first != "" {
		nc.First = text(first)
	}
	c, err := e.s.CreateChat(t.Context(), nc)
	noErr(t, "create chat", err)
	return c
}

// acquire leases the only runnable chat, which must be want.
func (e chatEnv) acquire(t *testing.T, want, worker string, lease time.Duration) store.Chat {
	t.Helper()
	c, ok, err := e.s.AcquireChat(t.Context(), worker, lease)
	noErr(t, "acquire", err)
	if !ok || c.ID != want {
		t.Fatalf("acquire = %q, %v; want %q", c.ID, ok, want)
	}
	return c
}

func (e chatEnv) get(t *testing.T, id string) store.Chat {
	t.Helper()
	c, err := e.s.GetChat(t.Context(), id)
	noErr(t, "get chat", err)
	return c
}

func (e chatEnv) messages(t *testing.T, id string) []store.Message {
	t.Helper()
	ms, err := e.s.ListMessages(t.Context(), id, 0, 0)
	noErr(t, "list messages", err)
	return ms
}

func (e chatEnv) queue(t *testing.T, id string) []store.QueuedMessage {
	t.Helper()
	q, err := e.s.ListQueued(t.Context(), id)
	noErr(t, "list queue", err)
	return q
}

// clientCalls commits an assistant message calling the client tools
// ids (and one server-side tool, answered in the same step) and enters
// requires_action with deadline.
func (e chatEnv) clientCalls(t *testing.T, chatID, worker string, deadline time.Time, ids ...string) {
	t.Helper()
	parts := []store.Part{{Type: store.PartText, Text: "calling"},
		{Type: store.PartToolCall, ToolCallID: "server-1", ToolName: "search", Input: `{}`}}
	for _, id := range ids {
		parts = append(parts, store.Part{Type: store.PartToolCall, ToolCallID: id, ToolName: "tool-" + id, Input: `{"a":1}`, ClientSide: true})
	}
	_, _, err := e.s.CommitStep(t.Context(), chatID, worker, []store.Message{
		{Role: store.RoleAssistant, Parts: parts, ModelConfigID: e.model.ID},
		{Role: store.RoleTool, Parts: []store.Part{{Type: store.PartToolResult, ToolCallID: "server-1", ToolName: "search", Output: "found"}}},
	})
	noErr(t, "commit tool calls", err)
	_, err = e.s.EnterRequiresAction(t.Context(), chatID, worker, deadline)
	noErr(t, "enter requires_action", err)
}

func wantStatus(t *testing.T, c store.Chat, want store.ChatStatus) {
	t.Helper()
	if c.Status != want {
		t.Fatalf("status = %s, want %s", c.Status, want)
	}
}

func wantTexts(t *testing.T, what string, ms []store.Message, want ...string) {
	t.Helper()
	var got []string
	for _, m := range ms {
		var b strings.Builder
		for _, p := range m.Parts {
			switch p.Type {
			case store.PartText:
				b.WriteString(p.Text)
			case store.PartToolCall:
				b.WriteString("call:" + p.ToolCallID)
			case store.PartToolResult:
				b.WriteString("result:" + p.ToolCallID + "=" + p.Output)
			}
			b.WriteString(";")
		}
		got = append(got, string(m.Role)+":"+strings.TrimSuffix(b.String(), ";"))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func testChats(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("TransitionTable", func(t *testing.T) { testTransitionTable(t, fresh) })
	t.Run("CountBusySubagents", func(t *testing.T) { testCountBusySubagents(t, fresh) })
	t.Run("Spend", func(t *testing.T) { testSpend(t, fresh) })
	t.Run("Create", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "")
		wantStatus(t, c, store.ChatWaiting)
		if c.SnapshotVersion != 1 || c.OwnerID != e.owner.ID || c.APIKeyID != "key-1" || c.RootChatID != "" {
			t.Fatalf("waiting chat = %+v", c)
		}
		sameRecord(t, "get", e.get(t, c.ID), c)

		tools := []store.ToolSpec{{Name: "ls", InputSchema: []byte(`{"type":"object"}`)}}
		r, err := e.s.CreateChat(ctx, store.NewChat{
			OwnerID: e.owner.ID, ModelConfigID: e.model.ID, APIKeyID: "key-2", Title: "  " + strings.Repeat("é", 250) + " ",
			ClientTools: tools, DebugOverride: ptr(true), First: text("hello"),
		})
		noErr(t, "create running", err)
		wantStatus(t, r, store.ChatRunning)
		if r.SnapshotVersion != 1 || r.WorkerID != "" || r.APIKeyID != "key-2" || r.Title != strings.Repeat("é", 200) {
			t.Fatalf("running chat = %+v", r)
		}
		sameRecord(t, "get running", e.get(t, r.ID), r)
		ms := e.messages(t, r.ID)
		if len(ms) != 1 || ms[0].Seq != 1 || ms[0].Role != store.RoleUser || ms[0].APIKeyID != "key-2" || ms[0].CreatedBy != e.owner.ID {
			t.Fatalf("first messages = %+v", ms)
		}

		child, err := e.s.CreateChat(ctx, store.NewChat{OwnerID: e.owner.ID, ModelConfigID: e.model.ID, ParentChatID: r.ID})
		noErr(t, "create child", err)
		if child.ParentChatID != r.ID || child.RootChatID != r.ID {
			t.Fatalf("child parent, root = %q, %q; want %q", child.ParentChatID, child.RootChatID, r.ID)
		}
		grandchild, err := e.s.CreateChat(ctx, store.NewChat{OwnerID: e.owner.ID, ModelConfigID: e.model.ID, ParentChatID: child.ID})
		noErr(t, "create grandchild", err)
		if grandchild.RootChatID != r.ID {
			t.Fatalf("grandchild root = %q, want %q", grandchild.RootChatID, r.ID)
		}

		for name, nc := range map[string]store.NewChat{
			"unknown owner":  {OwnerID: "missing", ModelConfigID: e.model.ID},
			"unknown model":  {OwnerID: e.owner.ID, ModelConfigID: "missing"},
			"unknown parent": {OwnerID: e.owner.ID, ModelConfigID: e.model.ID, ParentChatID: "missing"},
		} {
			_, err := e.s.CreateChat(ctx, nc)
			wantErr(t, name, err, store.ErrNotFound)
		}
		_, err = e.s.GetChat(ctx, "missing")
		wantErr(t, "get missing", err, store.ErrNotFound)
		_, err = e.s.Send(ctx, "missing", text("x"), "k", e.owner.ID, store.SendQueue)
		wantErr(t, "send to missing", err, store.ErrNotFound)
	})
	t.Run("ListAndDelete", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		other := mustUser(t, e.s, "other")
		a := e.create(t, "")
		b := e.create(t, "")
		_, err := e.s.SetArchived(ctx, a.ID, true)
		noErr(t, "archive", err)
		child, err := e.s.CreateChat(ctx, store.NewChat{OwnerID: e.owner.ID, ModelConfigID: e.model.ID, ParentChatID: b.ID, First: text("sub")})
		noErr(t, "create child", err)
		_, err = e.s.CreateChat(ctx, store.NewChat{OwnerID: other.ID, ModelConfigID: e.model.ID})
		noErr(t, "create other's", err)

		ids := func(f store.ChatFilter) string {
			f.OwnerID = cmp.Or(f.OwnerID, e.owner.ID)
			cs, err := e.s.ListChats(ctx, f)
			noErr(t, "list chats", err)
			var out []string
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return fmt.Sprint(out)
		}
		// a was updated last (archived), so it comes first.
		if got, want := ids(store.ChatFilter{}), fmt.Sprint([]string{a.ID, b.ID}); got != want {
			t.Fatalf("list = %s, want %s", got, want)
		}
		if got, want := ids(store.ChatFilter{Archived: ptr(true)}), fmt.Sprint([]string{a.ID}); got != want {
			t.Fatalf("list archived = %s, want %s", got, want)
		}
		if got, want := ids(store.ChatFilter{Archived: ptr(false)}), fmt.Sprint([]string{b.ID}); got != want {
			t.Fatalf("list live = %s, want %s", got, want)
		}
		if got, want := ids(store.ChatFilter{Limit: 1}), fmt.Sprint([]string{a.ID}); got != want {
			t.Fatalf("list limit 1 = %s, want %s", got, want)
		}
		if got, want := ids(store.ChatFilter{ParentChatID: b.ID}), fmt.Sprint([]string{child.ID}); got != want {
			t.Fatalf("list children = %s, want %s", got, want)
		}

		noErr(t, "delete", e.s.DeleteChat(ctx, b.ID))
		_, err = e.s.GetChat(ctx, child.ID)
		wantErr(t, "get deleted child", err, store.ErrNotFound)
		if ms := e.messages(t, child.ID); len(ms) != 0 {
			t.Fatalf("messages of deleted child = %d", len(ms))
		}
		wantErr(t, "delete again", e.s.DeleteChat(ctx, b.ID), store.ErrNotFound)
	})
	t.Run("MessagesPage", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		c := e.create(t, "m1")
		e.acquire(t, c.ID, "w", time.Hour)
		var step []store.Message
		for i := 2; i <= 5; i++ {
			step = append(step, store.Message{Role: store.RoleAssistant, Parts: text(fmt.Sprintf("m%d", i)),
				Usage: store.Usage{Input: 10, Output: int64(i), Reasoning: 1}, CostMicros: ptr(int64(i)), ModelConfigID: e.model.ID})
		}
		_, got, err := e.s.CommitStep(t.Context(), c.ID, "w", step)
		noErr(t, "commit", err)
		for i, m := range got {
			if m.Seq != int64(i+2) || m.ID == "" || m.ChatID != c.ID || m.CreatedAt.IsZero() {
				t.Fatalf("committed[%d] = %+v", i, m)
			}
		}
		page, err := e.s.ListMessages(t.Context(), c.ID, 2, 2)
		noErr(t, "page", err)
		wantTexts(t, "page", page, "assistant:m3", "assistant:m4")
		sameRecord(t, "stored message", page[0], got[1])
	})
	t.Run("QueueOrderAndPromote", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "first")
		e.acquire(t, c.ID, "w", time.Hour)
		var qs []store.QueuedMessage
		for i := range 4 {
			r, err := e.s.Send(ctx, c.ID, text(fmt.Sprintf("q%d", i)), fmt.Sprintf("qkey-%d", i), e.owner.ID, store.SendQueue)
			noErr(t, "queue", err)
			if r.Queued == nil || r.Message != nil || r.Queued.Position != int64(i+1) || r.Queued.APIKeyID != fmt.Sprintf("qkey-%d", i) {
				t.Fatalf("send %d = %+v", i, r)
			}
			wantStatus(t, r.Chat, store.ChatRunning)
			qs = append(qs, *r.Queued)
		}
		_, err := e.s.PromoteQueued(ctx, c.ID, qs[2].ID)
		noErr(t, "promote", err)
		_, err = e.s.DeleteQueued(ctx, c.ID, qs[1].ID)
		noErr(t, "delete queued", err)
		_, err = e.s.DeleteQueued(ctx, c.ID, qs[1].ID)
		wantErr(t, "delete queued again", err, store.ErrNotFound)
		_, err = e.s.PromoteQueued(ctx, c.ID, "missing")
		wantErr(t, "promote missing", err, store.ErrNotFound)
		q := e.queue(t, c.ID)
		if len(q) != 3 || q[0].ID != qs[2].ID || q[1].ID != qs[0].ID || q[2].ID != qs[3].ID {
			t.Fatalf("queue = %+v", q)
		}

		f, err := e.s.FinishTurn(ctx, c.ID, "w")
		noErr(t, "finish turn", err)
		wantStatus(t, f, store.ChatRunning)
		if f.WorkerID != "" || f.LeaseExpiresAt != nil || f.APIKeyID != "qkey-2" {
			t.Fatalf("after finish = %+v", f)
		}
		ms := e.messages(t, c.ID)
		wantTexts(t, "messages", ms, "user:first", "user:q2")
		if ms[1].APIKeyID != "qkey-2" || ms[1].CreatedBy != e.owner.ID {
			t.Fatalf("popped message = %+v", ms[1])
		}
		if q := e.queue(t, c.ID); len(q) != 2 || q[0].ID != qs[0].ID {
			t.Fatalf("queue after pop = %+v", q)
		}
		// The chat is runnable again for the next queued message.
		e.acquire(t, c.ID, "w2", time.Hour)
		noErr(t, "drain 1", finish(t, e, c.ID, "w2"))
		e.acquire(t, c.ID, "w2", time.Hour)
		noErr(t, "drain 2", finish(t, e, c.ID, "w2"))
		e.acquire(t, c.ID, "w2", time.Hour)
		f, err = e.s.FinishTurn(ctx, c.ID, "w2")
		noErr(t, "last finish", err)
		wantStatus(t, f, store.ChatWaiting)
		wantTexts(t, "all messages", e.messages(t, c.ID), "user:first", "user:q2", "user:q0", "user:q3")
	})
	t.Run("SendWhenIdle", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "")
		r, err := e.s.Send(ctx, c.ID, text("hi"), "key-9", e.owner.ID, store.SendQueue)
		noErr(t, "send", err)
		if r.Message == nil || r.Queued != nil || r.Message.Seq != 1 || r.Chat.APIKeyID != "key-9" {
			t.Fatalf("send = %+v", r)
		}
		wantStatus(t, r.Chat, store.ChatRunning)
		_, err = e.s.Send(ctx, c.ID, nil, "key-9", e.owner.ID, store.SendQueue)
		wantErr(t, "send empty", err, store.ErrInvalid)
		_, err = e.s.Send(ctx, c.ID, text("x"), "key-9", e.owner.ID, "shout")
		wantErr(t, "send with bad mode", err, store.ErrInvalid)
	})
	t.Run("SendInterrupt", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "first")
		e.acquire(t, c.ID, "w", time.Hour)
		early, err := e.s.Send(ctx, c.ID, text("queued earlier"), "key-1", e.owner.ID, store.SendQueue)
		noErr(t, "queue", err)
		r, err := e.s.Send(ctx, c.ID, text("stop, do this"), "key-2", e.owner.ID, store.SendInterrupt)
		noErr(t, "send interrupt", err)
		wantStatus(t, r.Chat, store.ChatInterrupting)
		if r.Queued == nil || r.Message != nil || r.Started != nil {
			t.Fatalf("interrupting send = %+v, want it queued", r)
		}
		// It runs next: the head of the queue, ahead of what was queued.
		q := e.queue(t, c.ID)
		if len(q) != 2 || q[0].ID != r.Queued.ID || q[1].ID != early.Queued.ID || r.Queued.Position != q[0].Position || r.Queued.Position >= early.Queued.Position {
			t.Fatalf("queue = %+v, want the interrupting message (%+v) first", q, r.Queued)
		}
		f, err := e.s.FinishTurn(ctx, c.ID, "w")
		noErr(t, "finish", err)
		wantStatus(t, f, store.ChatRunning)
		if f.APIKeyID != "key-2" {
			t.Fatalf("next turn's key = %q, want key-2", f.APIKeyID)
		}
		wantTexts(t, "messages", e.messages(t, c.ID), "user:first", "user:stop, do this")
		if q := e.queue(t, c.ID); len(q) != 1 || q[0].ID != early.Queued.ID {
			t.Fatalf("queue after finish = %+v", q)
		}
	})
	t.Run("InterruptKeepsMessages", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "first")
		e.acquire(t, c.ID, "w", time.Hour)
		i, err := e.s.Interrupt(ctx, c.ID)
		noErr(t, "interrupt", err)
		wantStatus(t, i, store.ChatInterrupting)
		i2, err := e.s.Interrupt(ctx, c.ID)
		noErr(t, "interrupt again", err)
		wantStatus(t, i2, store.ChatInterrupting)
		if i2.SnapshotVersion != i.SnapshotVersion+1 {
			t.Fatalf("second interrupt version = %d, want %d", i2.SnapshotVersion, i.SnapshotVersion+1)
		}
		// The worker commits the partial answer, marked as cut short,
		// then finishes.
		_, got, err := e.s.CommitStep(ctx, c.ID, "w", []store.Message{{Role: store.RoleAssistant, Parts: text("partial"), EndReason: store.EndInterrupted}})
		noErr(t, "commit partial", err)
		if len(got) != 1 || got[0].EndReason != store.EndInterrupted {
			t.Fatalf("committed = %+v", got)
		}
		f, err := e.s.FinishTurn(ctx, c.ID, "w")
		noErr(t, "finish", err)
		wantStatus(t, f, store.ChatWaiting)
		ms := e.messages(t, c.ID)
		wantTexts(t, "messages", ms, "user:first", "assistant:partial")
		if ms[0].EndReason != "" {
			t.Fatalf("user message end reason = %q, want none", ms[0].EndReason)
		}
		sameRecord(t, "stored partial", ms[1], got[0])
		all, err := e.s.ListAllMessages(ctx, c.ID, 0, 10)
		noErr(t, "list all", err)
		sameRecord(t, "stored partial, all", all[1], got[0])
	})
	t.Run("EditTruncatesAndReruns", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "u1")
		e.acquire(t, c.ID, "w", time.Hour)
		_, _, err := e.s.CommitStep(ctx, c.ID, "w", []store.Message{{Role: store.RoleAssistant, Parts: text("a1")}})
		noErr(t, "commit a1", err)
		_, err = e.s.Send(ctx, c.ID, text("u2"), "key-1", e.owner.ID, store.SendQueue)
		noErr(t, "queue u2", err)
		_, err = e.s.FinishTurn(ctx, c.ID, "w")
		noErr(t, "finish 1", err)
		e.acquire(t, c.ID, "w", time.Hour)
		_, _, err = e.s.CommitStep(ctx, c.ID, "w", []store.Message{{Role: store.RoleAssistant, Parts: text("a2")}})
		noErr(t, "commit a2", err)
		ms := e.messages(t, c.ID)
		_, _, err = e.s.EditMessage(ctx, c.ID, ms[2].ID, text("u2 edited"), "key-5")
		wantErr(t, "edit while running", err, store.ErrConflict)
		_, err = e.s.Send(ctx, c.ID, text("later"), "key-1", e.owner.ID, store.SendQueue)
		noErr(t, "queue later", err)
		_, err = e.s.FinishWithError(ctx, c.ID, "w", "boom")
		noErr(t, "finish with error", err)

		_, _, err = e.s.EditMessage(ctx, c.ID, ms[1].ID, text("x"), "key-5")
		wantErr(t, "edit assistant message", err, store.ErrInvalid)
		_, _, err = e.s.EditMessage(ctx, c.ID, "missing", text("x"), "key-5")
		wantErr(t, "edit missing message", err, store.ErrNotFound)

		ec, m, err := e.s.EditMessage(ctx, c.ID, ms[2].ID, text("u2 edited"), "key-5")
		noErr(t, "edit", err)
		wantStatus(t, ec, store.ChatRunning)
		if m.Seq != 5 || m.APIKeyID != "key-5" || m.CreatedBy != e.owner.ID || ec.APIKeyID != "key-5" || ec.LastError != "" {
			t.Fatalf("edit = %+v, %+v", ec, m)
		}
		wantTexts(t, "messages", e.messages(t, c.ID), "user:u1", "assistant:a1", "user:u2 edited")
		if q := e.queue(t, c.ID); len(q) != 1 {
			t.Fatalf("queue after edit = %d, want 1", len(q))
		}
		_, _, err = e.s.EditMessage(ctx, c.ID, ms[3].ID, text("x"), "key-5")
		wantErr(t, "edit deleted message", err, store.ErrConflict) // running again
	})
	t.Run("ToolResults", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "go")
		e.acquire(t, c.ID, "w", time.Hour)
		e.clientCalls(t, c.ID, "w", time.Now().Add(time.Hour), "c1", "c2")
		ra := e.get(t, c.ID)
		wantStatus(t, ra, store.ChatRequiresAction)
		if ra.WorkerID != "" || ra.ActionDeadline == nil {
			t.Fatalf("requires_action chat = %+v", ra)
		}
		res := func(ids ...string) []store.Part {
			var ps []store.Part
			for _, id := range ids {
				ps = append(ps, store.Part{Type: store.PartToolResult, ToolCallID: id, Output: "out-" + id})
			}
			return ps
		}
		for _, tc := range []struct {
			name    string
			results []store.Part
			mention string
		}{
			{"missing", res("c1"), "c2"},
			{"unknown", res("c1", "c2", "c3"), "c3"},
			{"server-side", res("c1", "c2", "server-1"), "server-1"},
			{"twice", res("c1", "c2", "c1"), "c1"},
			{"not a result", []store.Part{{Type: store.PartText, Text: "x"}}, "text"},
		} {
			_, err := e.s.SubmitToolResults(ctx, c.ID, tc.results)
			wantErr(t, tc.name, err, store.ErrInvalid)
			if !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("%s: error %q does not mention %q", tc.name, err, tc.mention)
			}
		}
		if got := e.get(t, c.ID).SnapshotVersion; got != ra.SnapshotVersion {
			t.Fatalf("refused submit bumped version to %d", got)
		}
		sc, err := e.s.SubmitToolResults(ctx, c.ID, res("c2", "c1"))
		noErr(t, "submit", err)
		wantStatus(t, sc, store.ChatRunning)
		if sc.ActionDeadline != nil || sc.WorkerID != "" {
			t.Fatalf("after submit = %+v", sc)
		}
		ms := e.messages(t, c.ID)
		wantTexts(t, "messages", ms, "user:go", "assistant:calling;call:server-1;call:c1;call:c2",
			"tool:result:server-1=found", "tool:result:c2=out-c2;result:c1=out-c1")
		if p := ms[3].Parts[0]; p.ToolName != "tool-c2" || p.IsError {
			t.Fatalf("submitted result = %+v", p)
		}
		_, err = e.s.SubmitToolResults(ctx, c.ID, res("c1", "c2"))
		wantErr(t, "submit again", err, store.ErrConflict)
	})
	t.Run("CancelOnDeadline", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		later := e.create(t, "later")
		e.acquire(t, later.ID, "w", time.Hour)
		e.clientCalls(t, later.ID, "w", time.Now().Add(time.Hour), "c9")
		c := e.create(t, "go")
		e.acquire(t, c.ID, "w", time.Hour)
		e.clientCalls(t, c.ID, "w", time.Now().Add(-time.Second), "c1", "c2")
		ids, err := e.s.ExpiredActions(ctx, 10)
		noErr(t, "expired", err)
		if fmt.Sprint(ids) != fmt.Sprint([]string{c.ID}) {
			t.Fatalf("expired = %v, want [%s]", ids, c.ID)
		}
		// Before its deadline a wait is not cancelled, whoever asks: a
		// sweeper's list may be stale.
		before := e.get(t, later.ID)
		_, err = e.s.CancelRequiresAction(ctx, later.ID)
		wantErr(t, "cancel before the deadline", err, store.ErrConflict)
		if after := e.get(t, later.ID); after.SnapshotVersion != before.SnapshotVersion || after.Status != store.ChatRequiresAction {
			t.Fatalf("refused cancel changed the chat: %+v", after)
		}
		wantTexts(t, "messages of the waiting chat", e.messages(t, later.ID), "user:later", "assistant:calling;call:server-1;call:c9", "tool:result:server-1=found")
		cc, err := e.s.CancelRequiresAction(ctx, c.ID)
		noErr(t, "cancel", err)
		wantStatus(t, cc, store.ChatRunning)
		if cc.ActionDeadline != nil || cc.WorkerID != "" {
			t.Fatalf("after cancel = %+v", cc)
		}
		ms := e.messages(t, c.ID)
		last := ms[len(ms)-1]
		if last.Role != store.RoleTool || len(last.Parts) != 2 {
			t.Fatalf("cancellation message = %+v", last)
		}
		for i, id := range []string{"c1", "c2"} {
			p := last.Parts[i]
			if p.ToolCallID != id || !p.IsError || p.Output != "cancelled: no result before the deadline" || p.ToolName != "tool-"+id {
				t.Fatalf("cancellation part %d = %+v", i, p)
			}
		}
		ids, err = e.s.ExpiredActions(ctx, 10)
		noErr(t, "expired after cancel", err)
		if len(ids) != 0 {
			t.Fatalf("expired after cancel = %v", ids)
		}
		_, err = e.s.CancelRequiresAction(ctx, c.ID)
		wantErr(t, "cancel again", err, store.ErrConflict)
		e.acquire(t, c.ID, "w2", time.Hour)
	})
	t.Run("RequiresActionInterrupts", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "go")
		e.acquire(t, c.ID, "w", time.Hour)
		e.clientCalls(t, c.ID, "w", time.Now().Add(time.Hour), "c1")

		// Queueing while waiting for the client keeps waiting.
		r, err := e.s.Send(ctx, c.ID, text("queued"), "key-q", e.owner.ID, store.SendQueue)
		noErr(t, "queue", err)
		wantStatus(t, r.Chat, store.ChatRequiresAction)
		// Interrupting pops the queue.
		ic, err := e.s.Interrupt(ctx, c.ID)
		noErr(t, "interrupt", err)
		wantStatus(t, ic, store.ChatRunning)
		if ic.APIKeyID != "key-q" || ic.ActionDeadline != nil {
			t.Fatalf("after interrupt = %+v", ic)
		}
		ms := e.messages(t, c.ID)
		wantTexts(t, "after interrupt", ms[len(ms)-2:], "tool:result:c1=cancelled: interrupted by the user", "user:queued")

		e.acquire(t, c.ID, "w", time.Hour)
		e.clientCalls(t, c.ID, "w", time.Now().Add(time.Hour), "c2")
		r, err = e.s.Send(ctx, c.ID, text("new"), "key-n", e.owner.ID, store.SendInterrupt)
		noErr(t, "send interrupt", err)
		wantStatus(t, r.Chat, store.ChatRunning)
		if r.Message == nil || r.Chat.APIKeyID != "key-n" {
			t.Fatalf("send interrupt = %+v", r)
		}
		ms = e.messages(t, c.ID)
		wantTexts(t, "after send interrupt", ms[len(ms)-2:], "tool:result:c2=cancelled: the user sent a new message", "user:new")

		e.acquire(t, c.ID, "w", time.Hour)
		e.clientCalls(t, c.ID, "w", time.Now().Add(time.Hour), "c3")
		ic, err = e.s.Interrupt(ctx, c.ID)
		noErr(t, "interrupt with empty queue", err)
		wantStatus(t, ic, store.ChatWaiting)
	})
	t.Run("ErrorKeepsQueue", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "go")
		e.acquire(t, c.ID, "w", time.Hour)
		_, err := e.s.Send(ctx, c.ID, text("next"), "key-1", e.owner.ID, store.SendQueue)
		noErr(t, "queue", err)
		rc, err := e.s.SetRetry(ctx, c.ID, "w", &store.RetryState{Attempt: 2, NextAt: base, Error: "429"})
		noErr(t, "set retry", err)
		if rc.Retry == nil || rc.Retry.Attempt != 2 || !rc.Retry.NextAt.Equal(us(base)) || rc.Retry.Error != "429" {
			t.Fatalf("retry = %+v", rc.Retry)
		}
		if got := e.get(t, c.ID).Retry; got == nil || *got != *rc.Retry {
			t.Fatalf("stored retry = %+v", got)
		}
		fc, err := e.s.FinishWithError(ctx, c.ID, "w", "the model refused: 400")
		noErr(t, "finish with error", err)
		wantStatus(t, fc, store.ChatError)
		if fc.LastError != "the model refused: 400" || fc.Retry != nil || fc.WorkerID != "" {
			t.Fatalf("after error = %+v", fc)
		}
		if q := e.queue(t, c.ID); len(q) != 1 {
			t.Fatalf("queue after error = %d, want 1", len(q))
		}
		// What was queued before the failure runs first; the new message
		// waits behind it.
		r, err := e.s.Send(ctx, c.ID, text("retry please"), "key-2", e.owner.ID, store.SendQueue)
		noErr(t, "send after error", err)
		wantStatus(t, r.Chat, store.ChatRunning)
		if r.Message != nil || r.Queued == nil || r.Started == nil || r.Chat.LastError != "" || r.Chat.APIKeyID != "key-1" {
			t.Fatalf("send after error = %+v", r)
		}
		if r.Started.APIKeyID != "key-1" || r.Queued.APIKeyID != "key-2" {
			t.Fatalf("started %+v, queued %+v", r.Started, r.Queued)
		}
		wantTexts(t, "messages after send", e.messages(t, c.ID), "user:go", "user:next")
		if q := e.queue(t, c.ID); len(q) != 1 || q[0].ID != r.Queued.ID {
			t.Fatalf("queue after send = %+v", q)
		}
		e.acquire(t, c.ID, "w2", time.Hour)
		noErr(t, "finish", finish(t, e, c.ID, "w2"))
		wantTexts(t, "messages after finish", e.messages(t, c.ID), "user:go", "user:next", "user:retry please")

		// An interrupting send to a chat in error runs at once, ahead of
		// the queue.
		_, err = e.s.Send(ctx, c.ID, text("queued again"), "key-1", e.owner.ID, store.SendQueue)
		noErr(t, "queue again", err)
		e.acquire(t, c.ID, "w2", time.Hour)
		_, err = e.s.FinishWithError(ctx, c.ID, "w2", "boom")
		noErr(t, "finish with error again", err)
		r, err = e.s.Send(ctx, c.ID, text("urgent"), "key-3", e.owner.ID, store.SendInterrupt)
		noErr(t, "send interrupt after error", err)
		wantStatus(t, r.Chat, store.ChatRunning)
		if r.Message == nil || r.Queued != nil || r.Started != nil || r.Chat.APIKeyID != "key-3" {
			t.Fatalf("interrupting send after error = %+v", r)
		}
		if q := e.queue(t, c.ID); len(q) != 1 {
			t.Fatalf("queue after interrupting send = %+v", q)
		}
	})
	t.Run("RetryClearedByCommit", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "go")
		e.acquire(t, c.ID, "w", time.Hour)
		_, err := e.s.SetRetry(ctx, c.ID, "w", &store.RetryState{Attempt: 1, NextAt: base})
		noErr(t, "set retry", err)
		cc, _, err := e.s.CommitStep(ctx, c.ID, "w", []store.Message{{Role: store.RoleAssistant, Parts: text("ok")}})
		noErr(t, "commit", err)
		if cc.Retry != nil {
			t.Fatalf("retry after commit = %+v", cc.Retry)
		}
		_, err = e.s.SetRetry(ctx, c.ID, "w", &store.RetryState{Attempt: 1, NextAt: base})
		noErr(t, "set retry again", err)
		cc, err = e.s.SetRetry(ctx, c.ID, "w", nil)
		noErr(t, "clear retry", err)
		if cc.Retry != nil {
			t.Fatalf("retry after clear = %+v", cc.Retry)
		}
	})
	t.Run("LeaseRace", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		c := e.create(t, "go")
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			won  []string
			errs []error
		)
		for i := range 8 {
			wg.Go(func() {
				worker := fmt.Sprintf("w%d", i)
				got, ok, err := e.s.AcquireChat(t.Context(), worker, time.Hour)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if ok {
					if got.ID != c.ID || got.WorkerID != worker {
						errs = append(errs, fmt.Errorf("%s acquired %+v", worker, got))
					}
					won = append(won, worker)
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		if len(won) != 1 {
			t.Fatalf("winners = %v, want exactly one", won)
		}
		if got := e.get(t, c.ID); got.WorkerID != won[0] || got.SnapshotVersion != c.SnapshotVersion+1 {
			t.Fatalf("chat after race = %+v", got)
		}
	})
	t.Run("ManyWorkersManyChats", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		const chats, workers = 12, 6
		want := map[string]bool{}
		for i := range chats {
			want[e.create(t, fmt.Sprintf("chat %d", i)).ID] = true
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			got  = map[string]string{}
			errs []error
		)
		for w := range workers {
			wg.Go(func() {
				worker := fmt.Sprintf("w%d", w)
				for {
					c, ok, err := e.s.AcquireChat(t.Context(), worker, time.Hour)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					if ok {
						if prev, dup := got[c.ID]; dup {
							errs = append(errs, fmt.Errorf("chat %s acquired by %s and %s", c.ID, prev, worker))
						}
						got[c.ID] = worker
					}
					mu.Unlock()
					if !ok || err != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		if len(got) != chats {
			t.Fatalf("acquired %d chats, want %d", len(got), chats)
		}
		for id := range got {
			if !want[id] {
				t.Fatalf("acquired unknown chat %s", id)
			}
		}
	})
	t.Run("StaleLeaseTakeover", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "go")
		// A negative lease is already stale: the worker "crashed".
		e.acquire(t, c.ID, "old", -time.Second)
		taken := e.acquire(t, c.ID, "new", time.Hour)
		if !store.LeaseLive(taken, time.Now()) {
			t.Fatalf("new lease not live: %+v", taken)
		}
		if _, ok, err := e.s.AcquireChat(ctx, "third", time.Hour); err != nil || ok {
			t.Fatalf("acquire of a live lease = %v, %v", ok, err)
		}
		wantErr(t, "old heartbeat", e.s.Heartbeat(ctx, c.ID, "old", time.Hour), store.ErrLeaseLost)
		_, _, err := e.s.CommitStep(ctx, c.ID, "old", []store.Message{{Role: store.RoleAssistant, Parts: text("dup")}})
		wantErr(t, "old commit", err, store.ErrLeaseLost)
		_, err = e.s.FinishTurn(ctx, c.ID, "old")
		wantErr(t, "old finish", err, store.ErrLeaseLost)
		wantErr(t, "old release", e.s.ReleaseChat(ctx, c.ID, "old"), store.ErrLeaseLost)

		before := e.get(t, c.ID)
		noErr(t, "heartbeat", e.s.Heartbeat(ctx, c.ID, "new", 2*time.Hour))
		after := e.get(t, c.ID)
		if after.SnapshotVersion != before.SnapshotVersion || !after.LeaseExpiresAt.After(*before.LeaseExpiresAt) {
			t.Fatalf("heartbeat: before %+v after %+v", before, after)
		}
		noErr(t, "release", e.s.ReleaseChat(ctx, c.ID, "new"))
		rel := e.get(t, c.ID)
		wantStatus(t, rel, store.ChatRunning)
		if rel.WorkerID != "" || rel.LeaseExpiresAt != nil || rel.SnapshotVersion != after.SnapshotVersion+1 {
			t.Fatalf("after release = %+v", rel)
		}
		e.acquire(t, c.ID, "third", time.Hour)
		wantTexts(t, "messages", e.messages(t, c.ID), "user:go")
		wantErr(t, "heartbeat missing", e.s.Heartbeat(ctx, "missing", "x", time.Hour), store.ErrNotFound)
	})
	t.Run("TitleAndDebug", func(t *testing.T) {
		e := newChatEnv(t, fresh)
		ctx := t.Context()
		c := e.create(t, "")
		tc, err := e.s.SetTitle(ctx, c.ID, "  Hello  ")
		noErr(t, "set title", err)
		if tc.Title != "Hello" || tc.SnapshotVersion != c.SnapshotVersion+1 {
			t.Fatalf("after title = %+v", tc)
		}
		dc, err := e.s.SetDebugOverride(ctx, c.ID, ptr(false))
		noErr(t, "debug off", err)
		if dc.DebugOverride == nil || *dc.DebugOverride || dc.SnapshotVersion != tc.SnapshotVersion+1 {
			t.Fatalf("after debug = %+v", dc)
		}
		dc, err = e.s.SetDebugOverride(ctx, c.ID, nil)
		noErr(t, "debug inherit", err)
		if dc.DebugOverride != nil {
			t.Fatalf("debug override = %v, want nil", *dc.DebugOverride)
		}
		_, err = e.s.SetTitle(ctx, "missing", "x")
		wantErr(t, "title of missing", err, store.ErrNotFound)
	})
}

func finish(t *testing.T, e chatEnv, chatID, worker string) error {
	_, err := e.s.FinishTurn(t.Context(), chatID, worker)
	return err
}

// wantSendOrder checks where the table test's send ("more", queued) went:
// an idle chat (waiting, or error) runs what was queued first, and the
// message waits behind it; a busy chat queues it at the tail.
func wantSendOrder(t *testing.T, e chatEnv, before, after store.Chat, queued []store.QueuedMessage) {
	t.Helper()
	texts := func(q []store.QueuedMessage) []string {
		var out []string
		for _, m := range q {
			out = append(out, m.Parts[0].Text)
		}
		return out
	}
	ms := e.messages(t, after.ID)
	last := ms[len(ms)-1]
	q := texts(e.queue(t, after.ID))
	idle := before.Status == store.ChatWaiting || before.Status == store.ChatError
	switch {
	case idle && len(queued) > 0:
		if last.Role != store.RoleUser || last.Parts[0].Text != queued[0].Parts[0].Text {
			t.Fatalf("last message = %+v, want the head of the queue %q", last, queued[0].Parts[0].Text)
		}
		want := append(texts(queued[1:]), "more")
		if fmt.Sprint(q) != fmt.Sprint(want) {
			t.Fatalf("queue = %q, want %q", q, want)
		}
	case idle:
		if last.Role != store.RoleUser || last.Parts[0].Text != "more" || len(q) != 0 {
			t.Fatalf("last message = %+v, queue %q; want the message committed", last, q)
		}
	default:
		want := append(texts(queued), "more")
		if fmt.Sprint(q) != fmt.Sprint(want) {
			t.Fatalf("queue = %q, want %q", q, want)
		}
	}
	if idle {
		wantStatus(t, after, store.ChatRunning)
	} else {
		wantStatus(t, after, before.Status)
	}
}

// chatState names a state the table test puts a chat in.
type chatState struct {
	name  string
	setup func(t *testing.T, e chatEnv) store.Chat
}

// The worker that holds leases in the table test.
const tableWorker = "table-worker"

func chatStates() []chatState {
	busy := func(t *testing.T, e chatEnv, leased bool) store.Chat {
		c := e.create(t, "go")
		if leased {
			e.acquire(t, c.ID, tableWorker, time.Hour)
		}
		_, err := e.s.Send(t.Context(), c.ID, text("queued"), "key-1", e.owner.ID, store.SendQueue)
		noErr(t, "queue", err)
		return c
	}
	return []chatState{
		{"waiting", func(t *testing.T, e chatEnv) store.Chat {
			c := e.create(t, "go")
			e.acquire(t, c.ID, tableWorker, time.Hour)
			noErr(t, "finish", finish(t, e, c.ID, tableWorker))
			return c
		}},
		{"running leased", func(t *testing.T, e chatEnv) store.Chat { return busy(t, e, true) }},
		{"running runnable", func(t *testing.T, e chatEnv) store.Chat { return busy(t, e, false) }},
		{"interrupting", func(t *testing.T, e chatEnv) store.Chat {
			c := busy(t, e, true)
			_, err := e.s.Interrupt(t.Context(), c.ID)
			noErr(t, "interrupt", err)
			return c
		}},
		{"requires_action", func(t *testing.T, e chatEnv) store.Chat {
			c := busy(t, e, true)
			e.clientCalls(t, c.ID, tableWorker, time.Now().Add(time.Hour), "c1")
			return c
		}},
		{"requires_action expired", func(t *testing.T, e chatEnv) store.Chat {
			c := busy(t, e, true)
			e.clientCalls(t, c.ID, tableWorker, time.Now().Add(-time.Minute), "c1")
			return c
		}},
		{"error", func(t *testing.T, e chatEnv) store.Chat {
			c := busy(t, e, true)
			_, err := e.s.FinishWithError(t.Context(), c.ID, tableWorker, "boom")
			noErr(t, "finish with error", err)
			return c
		}},
		{"archived", func(t *testing.T, e chatEnv) store.Chat {
			c := e.create(t, "go")
			e.acquire(t, c.ID, tableWorker, time.Hour)
			noErr(t, "finish", finish(t, e, c.ID, tableWorker))
			_, err := e.s.SetArchived(t.Context(), c.ID, true)
			noErr(t, "archive", err)
			return c
		}},
	}
}

// chatOpCase runs one transition on chat c.
type chatOpCase struct {
	op     store.ChatOp
	worker bool // needs the lease
	run    func(t *testing.T, e chatEnv, c store.Chat) error
}

func chatOpCases() []chatOpCase {
	ctx := func(t *testing.T) context.Context { return t.Context() }
	firstUser := func(t *testing.T, e chatEnv, c store.Chat) string {
		ms := e.messages(t, c.ID)
		if len(ms) == 0 || ms[0].Role != store.RoleUser {
			t.Fatalf("no first user message: %+v", ms)
		}
		return ms[0].ID
	}
	firstQueued := func(t *testing.T, e chatEnv, c store.Chat) string {
		if q := e.queue(t, c.ID); len(q) > 0 {
			return q[0].ID
		}
		return "none"
	}
	return []chatOpCase{
		{store.OpSend, false, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.Send(ctx(t), c.ID, text("more"), "key-2", e.owner.ID, store.SendQueue)
			return err
		}},
		{store.OpEdit, false, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, _, err := e.s.EditMessage(ctx(t), c.ID, firstUser(t, e, c), text("edited"), "key-2")
			return err
		}},
		{store.OpDeleteQueued, false, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.DeleteQueued(ctx(t), c.ID, firstQueued(t, e, c))
			return err
		}},
		{store.OpPromoteQueued, false, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.PromoteQueued(ctx(t), c.ID, firstQueued(t, e, c))
			return err
		}},
		{store.OpInterrupt, false, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.Interrupt(ctx(t), c.ID)
			return err
		}},
		{store.OpSubmitToolResults, false, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.SubmitToolResults(ctx(t), c.ID, []store.Part{{Type: store.PartToolResult, ToolCallID: "c1", Output: "ok"}})
			return err
		}},
		{store.OpArchive, false, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.SetArchived(ctx(t), c.ID, true)
			return err
		}},
		{store.OpUnarchive, false, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.SetArchived(ctx(t), c.ID, false)
			return err
		}},
		{store.OpSetTitle, false, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.SetTitle(ctx(t), c.ID, "title")
			return err
		}},
		{store.OpCommitStep, true, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, _, err := e.s.CommitStep(ctx(t), c.ID, tableWorker, []store.Message{{Role: store.RoleAssistant, Parts: text("step")}})
			return err
		}},
		{store.OpSetRetry, true, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.SetRetry(ctx(t), c.ID, tableWorker, &store.RetryState{Attempt: 1, NextAt: base, Error: "429"})
			return err
		}},
		{store.OpFinishTurn, true, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.FinishTurn(ctx(t), c.ID, tableWorker)
			return err
		}},
		{store.OpFinishWithError, true, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.FinishWithError(ctx(t), c.ID, tableWorker, "boom")
			return err
		}},
		{store.OpEnterRequiresAction, true, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.EnterRequiresAction(ctx(t), c.ID, tableWorker, time.Now().Add(time.Hour))
			return err
		}},
		{store.OpCancelRequiresAction, false, func(t *testing.T, e chatEnv, c store.Chat) error {
			_, err := e.s.CancelRequiresAction(ctx(t), c.ID)
			return err
		}},
	}
}

// testTransitionTable runs every transition from every state and checks
// the store agrees with store.CheckTransition, bumping snapshot_version by
// exactly one when it allows.
func testTransitionTable(t *testing.T, fresh func(t *testing.T) store.Store) {
	e := newChatEnv(t, fresh)
	for _, st := range chatStates() {
		for _, oc := range chatOpCases() {
			t.Run(st.name+"/"+string(oc.op), func(t *testing.T) {
				c := st.setup(t, e)
				defer func() { noErr(t, "cleanup", e.s.DeleteChat(t.Context(), c.ID)) }()
				before := e.get(t, c.ID)
				queued := e.queue(t, c.ID)
				check := store.CheckTransition(before, oc.op, time.Now())
				err := oc.run(t, e, before)
				after := e.get(t, c.ID)
				switch {
				case check != nil:
					var te *store.TransitionError
					if !errors.As(err, &te) || !errors.Is(err, store.ErrConflict) {
						t.Fatalf("got %v, want a *store.TransitionError (%v)", err, check)
					}
					if te.Op != oc.op || te.Status != before.Status {
						t.Fatalf("transition error = %+v", te)
					}
				case oc.worker && before.WorkerID != tableWorker:
					wantErr(t, string(oc.op), err, store.ErrLeaseLost)
				case (oc.op == store.OpDeleteQueued || oc.op == store.OpPromoteQueued) && len(e.queue(t, c.ID)) == 0 && err != nil:
					// Allowed, but there was nothing queued to act on.
					wantErr(t, string(oc.op), err, store.ErrNotFound)
				default:
					noErr(t, string(oc.op), err)
					if after.SnapshotVersion != before.SnapshotVersion+1 {
						t.Fatalf("snapshot_version %d -> %d, want +1", before.SnapshotVersion, after.SnapshotVersion)
					}
					if oc.op == store.OpSend {
						wantSendOrder(t, e, before, after, queued)
					}
					return
				}
				if after.SnapshotVersion != before.SnapshotVersion {
					t.Fatalf("refused %s bumped snapshot_version %d -> %d", oc.op, before.SnapshotVersion, after.SnapshotVersion)
				}
			})
		}
		t.Run(st.name+"/"+string(store.OpAcquire), func(t *testing.T) {
			c := st.setup(t, e)
			defer func() { noErr(t, "cleanup", e.s.DeleteChat(t.Context(), c.ID)) }()
			before := e.get(t, c.ID)
			want := store.CheckTransition(before, store.OpAcquire, time.Now()) == nil && !store.LeaseLive(before, time.Now())
			got, ok, err := e.s.AcquireChat(t.Context(), "acquirer", time.Hour)
			noErr(t, "acquire", err)
			if ok != want {
				t.Fatalf("acquired = %v, want %v", ok, want)
			}
			if ok && (got.ID != c.ID || got.SnapshotVersion != before.SnapshotVersion+1) {
				t.Fatalf("acquired %+v", got)
			}
		})
	}
}
