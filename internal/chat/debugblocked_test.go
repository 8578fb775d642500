package chat

import (
	"context"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/store"
)

// stuckRuns is a debug store whose run creation never returns until the
// test ends, like a locked database.
type stuckRuns struct {
	store.DebugRuns
	release <-chan struct{}
	called  chan struct{}
}

func (s *stuckRuns) CreateDebugRun(ctx context.Context, r store.DebugRun) (store.DebugRun, error) {
	select {
	case s.called <- struct{}{}:
	default:
	}
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return store.DebugRun{}, context.Cause(ctx)
}

// TestTurnRunsWhenDebugStoreHangs: with recording on and a debug store
// that never answers, the turn still completes, unrecorded, once the
// run's creation times out.
func TestTurnRunsWhenDebugStoreHangs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, textReply("still answered"))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	runs := &stuckRuns{DebugRuns: e.db, release: release, called: make(chan struct{}, 1)}
	dbg := chatdebug.New(chatdebug.Config{
		Runs: runs, UserSettings: e.db, Settings: e.db, Clock: e.db.Now, Force: true, Logger: e.log,
		CreateTimeout: 50 * time.Millisecond,
	})
	t.Cleanup(func() { _ = dbg.Close(context.Background()) })
	e.router = route.New(route.Config{Store: e.db, Keyring: e.kr, Gateway: e.gw, Logger: e.log, Debug: dbg})
	s := e.service(nil)
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	select {
	case <-runs.called:
	default:
		t.Fatal("the turn never tried to create a debug run; recording was not on")
	}
	msgs := e.messages(c.ID)
	if got := roles(msgs); got != "user,assistant" || textOf(msgs[1].Parts) != "still answered" {
		t.Fatalf("messages = %s %q", got, textOf(msgs[len(msgs)-1].Parts))
	}
	if rs, err := e.db.ListDebugRuns(t.Context(), c.ID, 10); err != nil || len(rs) != 0 {
		t.Fatalf("debug runs = %v, %v; want none", rs, err)
	}
}
