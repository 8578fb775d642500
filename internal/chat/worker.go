package chat

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// Causes a turn's context is cancelled with.
var (
	errInterrupted = errors.New("turn interrupted")
	errLeaseLost   = store.ErrLeaseLost
)

// acquire takes runnable chats while a slot is free and runs each turn in
// its own goroutine, owned by turns, until ctx ends. A slot is taken before
// looking for work, so a chat is never leased without a slot to run it.
func (s *Service) acquire(ctx context.Context, turns *sync.WaitGroup) {
	idle := time.NewTimer(0)
	defer idle.Stop()
	var n int64
	for {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		// Each turn holds its lease under its own ID, so heartbeats and
		// commits name one turn.
		n++
		workerID := fmt.Sprintf("%s/%d", s.cfg.WorkerID, n)
		c, ok, err := s.chats.AcquireChat(ctx, workerID, s.cfg.Lease)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("chat: acquire", "worker_id", workerID, "error", err)
		}
		if err != nil || !ok {
			<-s.slots
			idle.Reset(s.cfg.PollInterval)
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			case <-idle.C:
			}
			continue
		}
		turns.Go(func() {
			sl := &slot{s: s, held: true}
			defer sl.release()
			s.runTurn(withSlot(ctx, sl), workerID, c)
		})
	}
}

// slot is a turn's claim on one of the Workers slots. A turn gives it up
// while it only waits (wait_agent), so that the children it waits for can
// run, and takes one back before it calls the model again.
type slot struct {
	s  *Service
	mu sync.Mutex
	// held is guarded by mu.
	held bool
}

func (sl *slot) release() {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.held {
		sl.held = false
		<-sl.s.slots
	}
}

func (sl *slot) reacquire(ctx context.Context) error {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.held {
		return nil
	}
	select {
	case sl.s.slots <- struct{}{}:
		sl.held = true
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

type slotKey struct{}

func withSlot(ctx context.Context, sl *slot) context.Context {
	return context.WithValue(ctx, slotKey{}, sl)
}

// releaseSlot gives up the calling turn's worker slot and returns the
// function that takes one back; it blocks until a slot is free or ctx
// ends. Outside a turn both are no-ops.
func releaseSlot(ctx context.Context) (reacquire func(context.Context) error) {
	sl, _ := ctx.Value(slotKey{}).(*slot)
	if sl == nil {
		return func(context.Context) error { return nil }
	}
	sl.release()
	// Another turn may now take the freed slot, and the loop may find work.
	sl.s.wakeWorkers()
	return sl.reacquire
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
			// Another replica, or the client's results, got there first;
			// or the chat got its results and waits again, with a new
			// deadline, since it was listed: the transition refuses to
			// cancel a wait before its deadline.
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
