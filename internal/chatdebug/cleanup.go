package chatdebug

import (
	"context"
	"fmt"
	"time"
)

// CleanupAfterEdit deletes, in the background, the chat's runs started
// from the edited message's creation up to the database's time minus
// SkewMargin: the turns the edit truncated, but not the turn that replaces
// them, even on a replica whose clock lags.
func (s *Service) CleanupAfterEdit(chatID string, editedMessageCreatedAt time.Time) {
	if s == nil {
		return
	}
	s.retry("delete debug runs after edit", []any{"chat_id", chatID}, func(ctx context.Context) error {
		now, err := s.c.Clock(ctx)
		if err != nil {
			return fmt.Errorf("read database time: %w", err)
		}
		before := now.Add(-s.c.SkewMargin)
		if !before.After(editedMessageCreatedAt) {
			// Everything after the edit is within the margin: keep it.
			return nil
		}
		_, err = s.c.Runs.DeleteDebugRunsAfter(ctx, chatID, editedMessageCreatedAt, before)
		return err
	})
}

// CleanupChats deletes, in the background, every run of the chats (an
// archived or deleted chat family).
func (s *Service) CleanupChats(chatIDs []string) {
	if s == nil || len(chatIDs) == 0 {
		return
	}
	ids := append([]string(nil), chatIDs...)
	s.retry("delete debug runs of chats", []any{"chat_ids", ids}, func(ctx context.Context) error {
		_, err := s.c.Runs.DeleteDebugRunsForChats(ctx, ids)
		return err
	})
}

// retry runs f in the background up to CleanupAttempts times,
// CleanupDelay apart, each bounded by CleanupTimeout, logging each failure.
// Close stops it (see Close).
func (s *Service) retry(op string, attrs []any, f func(ctx context.Context) error) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.log.Warn(op+": skipped, the debug service is closed", attrs...)
		return
	}
	s.cleanups.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.cleanups.Done()
		for n := 1; n <= s.c.CleanupAttempts; n++ {
			ctx, cancel := context.WithTimeout(s.stop, s.c.CleanupTimeout)
			err := f(ctx)
			cancel()
			if err == nil {
				return
			}
			if s.stop.Err() != nil {
				s.log.Warn(op+": stopped by close", append(attrs, "attempt", n, "error", err)...)
				return
			}
			s.log.Warn(op, append(attrs, "attempt", n, "max_attempts", s.c.CleanupAttempts, "error", err)...)
			if n < s.c.CleanupAttempts {
				t := time.NewTimer(s.c.CleanupDelay)
				select {
				case <-t.C:
				case <-s.stop.Done():
					t.Stop()
					s.log.Warn(op+": stopped by close", attrs...)
					return
				}
			}
		}
		s.log.Error(op+": giving up", append(attrs, "attempts", s.c.CleanupAttempts)...)
	}()
}
