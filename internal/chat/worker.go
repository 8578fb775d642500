package chat

import (
	"context"
	"errors"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// Causes a turn's context is cancelled with.
var (
	errInterrupted = errors.New("turn interrupted")
	errLeaseLost   = store.ErrLeaseLost
)

// work is one worker: it acquires runnable chats and runs their turns
// until ctx ends.
func (s *Service) work(ctx context.Context, workerID string) {
	idle := time.NewTimer(0)
	defer idle.Stop()
	for ctx.Err() == nil {
		c, ok, err := s.chats.AcquireChat(ctx, workerID, s.cfg.Lease)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("chat: acquire", "worker_id", workerID, "error", err)
		}
		if err != nil || !ok {
			idle.Reset(s.cfg.PollInterval)
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			case <-idle.C:
			}
			continue
		}
		// There may be more runnable chats than this one.
		s.wakeWorkers()
		s.runTurn(ctx, workerID, c)
	}
}

// sweeper cancels requires_action waits whose deadline passed.
func (s *Service) sweeper(ctx context.Context) {
	t := time.NewTicker(s.cfg.sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.sweep:
		}
		s.sweepOnce(ctx)
	}
}

// sweepOnce cancels every expired requires_action wait.
func (s *Service) sweepOnce(ctx context.Context) {
	ids, err := s.chats.ExpiredActions(ctx, 100)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("chat: list expired actions", "error", err)
		}
		return
	}
	for _, id := range ids {
		_, err := s.chats.CancelRequiresAction(ctx, id)
		if err != nil {
			// Another replica, or the client's results, got there first.
			if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
				s.log.Warn("chat: cancel expired action", "chat_id", id, "error", err)
			}
			continue
		}
		s.log.Info("chat: client tool results timed out", "chat_id", id)
		s.changed(ctx, id)
	}
}

// heartbeat extends the lease every Lease/3 while a turn runs, and stops
// the turn when the lease is lost or the chat is being interrupted (an
// interrupt that reached another replica).
func (s *Service) heartbeat(ctx context.Context, done <-chan struct{}, chatID, workerID string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(max(s.cfg.Lease/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
		}
		err := s.chats.Heartbeat(ctx, chatID, workerID, s.cfg.Lease)
		switch {
		case errors.Is(err, store.ErrLeaseLost), errors.Is(err, store.ErrNotFound):
			cancel(errLeaseLost)
			return
		case err != nil:
			if ctx.Err() == nil {
				s.log.Warn("chat: heartbeat", "chat_id", chatID, "error", err)
			}
			continue
		}
		c, err := s.chats.GetChat(ctx, chatID)
		if err == nil && c.Status == store.ChatInterrupting {
			cancel(errInterrupted)
		}
	}
}
