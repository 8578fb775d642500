package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// RunCompaction checks CommitSummary, the compaction boundary. open must
// return a fresh, empty store for each call; RunCompaction closes it.
func RunCompaction(t *testing.T, open func(t *testing.T) store.Store) {
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
		return s
	}
	t.Run("WorkerAndUser", func(t *testing.T) { testCompactionCommit(t, fresh) })
	t.Run("Refusals", func(t *testing.T) { testCompactionRefusals(t, fresh) })
}

// exchange runs one turn of chat c: acquire, answer, finish.
func (e chatEnv) exchange(t *testing.T, c store.Chat, worker, answer string) {
	t.Helper()
	e.acquire(t, c.ID, worker, time.Hour)
	_, _, err := e.s.CommitStep(t.Context(), c.ID, worker, []store.Message{{Role: store.RoleAssistant, Parts: text(answer)}})
	noErr(t, "commit answer", err)
	noErr(t, "finish", finish(t, e, c.ID, worker))
}

func testCompactionCommit(t *testing.T, fresh func(t *testing.T) store.Store) {
	e := newChatEnv(t, fresh)
	ctx := t.Context()
	c := e.create(t, "one")
	e.exchange(t, c, "w", "a1")
	_, err := e.s.Send(ctx, c.ID, text("two"), "key-2", e.owner.ID, store.SendQueue)
	noErr(t, "send", err)
	e.acquire(t, c.ID, "w", time.Hour)

	// The running turn compacts through its first exchange (seq 2).
	before := e.get(t, c.ID)
	got, m, err := e.s.CommitSummary(ctx, c.ID, "w", store.Message{Parts: text("sum1"), ModelConfigID: e.model.ID, Role: store.RoleUser, SummaryThroughSeq: 99}, 2)
	noErr(t, "worker commit summary", err)
	if got.SnapshotVersion != before.SnapshotVersion+1 || got.Status != store.ChatRunning || got.WorkerID != "w" {
		t.Fatalf("chat after worker summary = %+v", got)
	}
	if m.Seq != 4 || m.Role != store.RoleSummary || m.SummaryThroughSeq != 2 || m.ModelConfigID != e.model.ID {
		t.Fatalf("summary = %+v", m)
	}
	ms := e.messages(t, c.ID)
	wantTexts(t, "messages", ms, "user:one", "assistant:a1", "user:two", "summary:sum1")
	if ms[3].SummaryThroughSeq != 2 || ms[3].ID != m.ID || ms[2].SummaryThroughSeq != 0 {
		t.Fatalf("stored boundary = %d, %d", ms[3].SummaryThroughSeq, ms[2].SummaryThroughSeq)
	}

	_, _, err = e.s.CommitSummary(ctx, c.ID, "other", store.Message{Parts: text("x")}, 3)
	wantErr(t, "summary by another worker", err, store.ErrLeaseLost)
	_, err = e.s.FinishTurn(ctx, c.ID, "w")
	noErr(t, "finish", err)

	// Idle: a manual compaction through the rest.
	_, m, err = e.s.CommitSummary(ctx, c.ID, "", store.Message{Parts: text("sum2")}, 4)
	noErr(t, "user commit summary", err)
	if m.Seq != 5 || m.SummaryThroughSeq != 4 {
		t.Fatalf("second summary = %+v", m)
	}
	wantStatus(t, e.get(t, c.ID), store.ChatWaiting)
}

func testCompactionRefusals(t *testing.T, fresh func(t *testing.T) store.Store) {
	e := newChatEnv(t, fresh)
	ctx := t.Context()
	c := e.create(t, "one")
	e.exchange(t, c, "w", "a1")
	_, _, err := e.s.CommitSummary(ctx, c.ID, "", store.Message{Parts: text("sum")}, 1)
	noErr(t, "summary", err)

	tests := []struct {
		name    string
		summary store.Message
		through int64
		want    error
	}{
		{"covered already", store.Message{Parts: text("again")}, 1, store.ErrConflict},
		{"missing message", store.Message{Parts: text("x")}, 99, store.ErrConflict},
		{"no boundary", store.Message{Parts: text("x")}, 0, store.ErrInvalid},
		{"empty text", store.Message{Parts: text("  ")}, 2, store.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := e.s.CommitSummary(ctx, c.ID, "", tt.summary, tt.through)
			wantErr(t, tt.name, err, tt.want)
		})
	}

	// A turn that started while the summary was written keeps running.
	_, err = e.s.Send(ctx, c.ID, text("two"), "key-1", e.owner.ID, store.SendQueue)
	noErr(t, "send", err)
	got, m, err := e.s.CommitSummary(ctx, c.ID, "", store.Message{Parts: text("sum2")}, 2)
	noErr(t, "compact running chat", err)
	wantStatus(t, got, store.ChatRunning)
	if m.SummaryThroughSeq != 2 || m.Seq != 5 {
		t.Fatalf("summary = %+v", m)
	}
	wantTexts(t, "messages", e.messages(t, c.ID), "user:one", "assistant:a1", "summary:sum", "user:two", "summary:sum2")

	// Archived chats refuse it with a transition error.
	e.exchange(t, c, "w", "a2")
	_, err = e.s.SetArchived(ctx, c.ID, true)
	noErr(t, "archive", err)
	_, _, err = e.s.CommitSummary(ctx, c.ID, "", store.Message{Parts: text("x")}, 6)
	var te *store.TransitionError
	if !errors.As(err, &te) || te.Op != store.OpCompact {
		t.Fatalf("compact archived chat: %v, want a transition error", err)
	}
	_, _, err = e.s.CommitSummary(ctx, "missing", "", store.Message{Parts: text("x")}, 1)
	wantErr(t, "missing chat", err, store.ErrNotFound)
}
