package storetest

import (
	"sync/atomic"
	"testing"

	"github.com/chatd/chatd/internal/store"
)

// RunStatementCount checks a backend's statement counter: n must count
// what s sends to its database, where a read is one statement and a chat
// transition is BEGIN, the locking read, the write and COMMIT, or BEGIN,
// the read and ROLLBACK when it is refused. s must be fresh and counted
// into n.
func RunStatementCount(t *testing.T, s store.Store, n *atomic.Int64) {
	t.Helper()
	e := chatEnv{s: s, owner: mustUser(t, s, "owner")}
	e.model = mustModel(t, s, mustProvider(t, s, "openai").ID, "gpt-5", true)
	c := e.create(t, "")
	tests := []struct {
		name string
		run  func() error
		want int64
	}{
		{"read", func() error { _, err := s.GetUser(t.Context(), e.owner.ID); return err }, 1},
		{"transition", func() error { _, err := s.SetTitle(t.Context(), c.ID, "counted"); return err }, 4},
		{"refused transition", func() error {
			_, err := s.SetArchived(t.Context(), c.ID, false)
			wantErr(t, "unarchive a live chat", err, store.ErrConflict)
			return nil
		}, 3},
	}
	for _, tt := range tests {
		before := n.Load()
		noErr(t, tt.name, tt.run())
		if got := n.Load() - before; got != tt.want {
			t.Errorf("%s: %d statements counted, want %d", tt.name, got, tt.want)
		}
	}
}
