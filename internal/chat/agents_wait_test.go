package chat

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

func TestAgentWaitTimeout(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		in   *float64
		want time.Duration
	}{
		{name: "missing", in: nil, want: defaultAgentWait},
		{name: "zero", in: f(0), want: defaultAgentWait},
		{name: "negative", in: f(-5), want: defaultAgentWait},
		{name: "huge negative", in: f(-1e300), want: defaultAgentWait},
		{name: "NaN", in: f(math.NaN()), want: defaultAgentWait},
		{name: "seconds", in: f(1.5), want: 1500 * time.Millisecond},
		{name: "above the cap", in: f(7200), want: maxAgentWait},
		{name: "overflowing", in: f(1e300), want: maxAgentWait},
		{name: "infinite", in: f(math.Inf(1)), want: maxAgentWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := agentWaitTimeout(tt.in); got != tt.want {
				t.Fatalf("agentWaitTimeout = %v, want %v", got, tt.want)
			}
		})
	}
}

// failingChats fails GetChat once it is armed, once.
type failingChats struct {
	store.Chats
	armed atomic.Bool
}

func (f *failingChats) GetChat(ctx context.Context, id string) (store.Chat, error) {
	if f.armed.CompareAndSwap(true, false) {
		return store.Chat{}, errors.New("database is locked")
	}
	return f.Chats.GetChat(ctx, id)
}

// TestWaitAgentReacquiresSlotOnError: a wait that fails on a store error
// still takes its worker slot back before the turn goes on.
func TestWaitAgentReacquiresSlotOnError(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, nil)
	fc := &failingChats{Chats: e.db}
	s := e.service(func(c *Config) {
		c.Chats = fc
		c.agentWaiting = func(string) { fc.armed.Store(true) }
	})
	p := e.parentChat(s, "go")
	out, err := s.tools[ToolSpawnAgent].Run(t.Context(), ToolCall{ChatID: p.ID, Input: `{"task":"task one"}`})
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	s.slots <- struct{}{}
	sl := &slot{s: s, held: true}
	ctx := withSlot(t.Context(), sl)
	_, err = s.waitAgent(ctx, p, mustJSON(map[string]any{"agent_ids": []string{spawned(t, out)}}))
	if err == nil {
		t.Fatal("wait succeeded, want the store error")
	}
	sl.mu.Lock()
	held := sl.held
	sl.mu.Unlock()
	if !held {
		t.Fatal("the turn lost its worker slot after a failed wait")
	}
	if n := len(s.slots); n != 1 {
		t.Fatalf("slots taken = %d, want 1", n)
	}
}
