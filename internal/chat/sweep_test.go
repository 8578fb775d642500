package chat

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// staleExpired runs between, if set, after listing expired waits and
// before the sweeper acts on the list, as a client answering right then.
type staleExpired struct {
	store.Chats
	between func()
}

func (s *staleExpired) ExpiredActions(ctx context.Context, limit int) ([]string, error) {
	ids, err := s.Chats.ExpiredActions(ctx, limit)
	if err == nil && s.between != nil {
		s.between()
	}
	return ids, err
}

// TestSweepSparesNewerWait: a chat the sweeper listed as expired that got
// its tool results, and waits again with a new deadline, before the
// sweeper came to it keeps its new wait.
func TestSweepSparesNewerWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t, toolReply("call_1", "lookup", `{"q":"x"}`), toolReply("call_2", "lookup", `{"q":"y"}`))
	var lag atomic.Bool
	lag.Store(true)
	sc := &staleExpired{Chats: e.db}
	s := e.service(func(c *Config) {
		c.Chats = sc
		// The first deadline is past when it is set; the second is not.
		c.Now = func() time.Time {
			if lag.Load() {
				return time.Now().Add(-time.Hour)
			}
			return time.Now()
		}
		c.sweepInterval = time.Hour
	})
	c := e.newChat(s, "look x and y up", lookup)
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatRequiresAction))
	lag.Store(false)
	sc.between = func() {
		if _, err := s.SubmitToolResults(t.Context(), c.ID, []store.Part{{Type: store.PartToolResult, ToolCallID: "call_1", Output: "x found"}}); err != nil {
			t.Errorf("submit: %v", err)
			return
		}
		next(t, events, status(store.ChatRequiresAction))
	}
	s.sweepOnce(t.Context())

	got, err := e.db.GetChat(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.ChatRequiresAction || got.ActionDeadline == nil || !got.ActionDeadline.After(time.Now()) {
		t.Fatalf("chat = %s, deadline %v; want the new wait kept", got.Status, got.ActionDeadline)
	}
	msgs := e.messages(c.ID)
	if got := roles(msgs); got != "user,assistant,tool,assistant" {
		t.Fatalf("roles = %s", got)
	}
	if p := msgs[3].Parts[0]; p.ToolCallID != "call_2" || !p.ClientSide {
		t.Fatalf("pending call = %+v", p)
	}
}
