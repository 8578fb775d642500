package chat

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// defaultWatchPollInterval is Config.WatchPollInterval's default.
const defaultWatchPollInterval = 500 * time.Millisecond

// Watchers across replicas.
//
// A replica publishes what it commits itself at once (Service.sync). What
// another replica commits (a turn its worker runs, a message sent through
// it) reaches this replica's watchers through a poller: while a chat has
// watchers here, one goroutine reads the chat row every WatchPollInterval
// and, when its snapshot_version moved past what the hub published, runs
// the same sync (new messages in seq order, then chat and queue). Every
// transition bumps snapshot_version, so one indexed row read per interval
// finds everything. A chat nobody watches here costs nothing, and neither
// does one whose turn runs here: the turn publishes its own transitions,
// and another replica's change to it (a queued message) shows with the
// turn's next publish.
//
// Live parts (deltas) reach other replicas through Config.Relay, when the
// store has one (see relay.go); without it a watcher elsewhere sees each
// step when it is committed.

// watchPolling reports whether watched chats poll for other replicas'
// changes.
func (s *Service) watchPolling() bool { return s.cfg.WatchPollInterval >= 0 }

// runsHere reports whether a worker of this replica runs the chat's turn.
func (s *Service) runsHere(chatID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.running[chatID]
	return ok
}

// pollChat publishes changes other replicas commit to a watched chat until
// ctx ends, which the hub does when the chat's last watcher leaves.
func (s *Service) pollChat(ctx context.Context, chatID string, st *chatState) {
	t := time.NewTicker(cmp.Or(s.cfg.WatchPollInterval, defaultWatchPollInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.runsHere(chatID) {
			continue
		}
		c, err := s.chats.GetChat(ctx, chatID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.hub.closeChat(chatID)
			return
		case err != nil:
			if ctx.Err() == nil {
				s.log.Warn("chat: poll for changes", "chat_id", chatID, "error", err)
			}
			continue
		}
		if c.SnapshotVersion > s.hub.version(st) {
			s.syncRead(ctx, chatID, &c)
		}
	}
}
