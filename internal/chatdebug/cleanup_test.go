package chatdebug

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatd/chatd/internal/store"
)

func slogOf(h slog.Handler) *slog.Logger { return slog.New(h) }

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func countLines(lines []string, sub string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

func TestCleanupRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		failures  int
		blocks    bool
		wantCalls int
		wantFails int
		wantTook  time.Duration
		wantGive  bool
	}{
		{name: "fails twice then succeeds", failures: 2, wantCalls: 3, wantFails: 2, wantTook: time.Second},
		{name: "succeeds at once", wantCalls: 1},
		{name: "gives up after three", failures: 10, wantCalls: 3, wantFails: 3, wantTook: time.Second, wantGive: true},
		{name: "each attempt bounded", blocks: true, wantCalls: 3, wantFails: 3, wantTook: 3*5*time.Second + time.Second, wantGive: true},
	}
	for _, tt := range tests {
		for _, op := range []string{"chats", "edit"} {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					f := newFakeRuns()
					f.deleteFailures, f.deleteBlocks = tt.failures, tt.blocks
					logs := &logRecorder{}
					now := time.Now()
					s := New(Config{Runs: f, Clock: fixedClock(now), Logger: slogOf(logs)})
					start := time.Now()
					if op == "chats" {
						s.CleanupChats([]string{"c1", "c2"})
					} else {
						s.CleanupAfterEdit("c1", now.Add(-time.Hour))
					}
					if err := s.Close(context.Background()); err != nil {
						t.Fatalf("close: %v", err)
					}
					if took := time.Since(start); took != tt.wantTook {
						t.Fatalf("cleanup took %v, want %v", took, tt.wantTook)
					}
					f.mu.Lock()
					calls := len(f.deleteCalls)
					f.mu.Unlock()
					if calls != tt.wantCalls {
						t.Fatalf("%d delete calls, want %d", calls, tt.wantCalls)
					}
					lines := logs.all()
					failed := tt.wantFails
					for n := 1; n <= failed; n++ {
						if countLines(lines, fmt.Sprintf("attempt=%d ", n)) != 1 {
							t.Fatalf("attempt %d not logged once: %q", n, lines)
						}
					}
					if got := countLines(lines, "attempt="); got != failed {
						t.Fatalf("%d failures logged, want %d: %q", got, failed, lines)
					}
					if containsLine(lines, "giving up") != tt.wantGive {
						t.Fatalf("giving up logged %v, want %v: %q", !tt.wantGive, tt.wantGive, lines)
					}
				})
			})
		}
	}
}

// TestCleanupAfterEditSkew keeps the runs of the turn that replaced the
// edited one, even when this replica's clock lags the database's.
func TestCleanupAfterEditSkew(t *testing.T) {
	t.Parallel()
	dbNow := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	edited := dbNow.Add(-10 * time.Minute)
	f := newFakeRuns()
	add := func(id, chat string, started time.Time) {
		f.runs[id] = store.DebugRun{ID: id, ChatID: chat, StartedAt: started, Status: store.DebugCompleted}
	}
	add("before-edit", "c1", edited.Add(-time.Minute))
	add("truncated", "c1", edited.Add(time.Minute))
	add("at-edit", "c1", edited)
	add("new-turn", "c1", dbNow.Add(-29*time.Second)) // written by a replica 29s behind
	add("other-chat", "c2", edited.Add(time.Minute))
	s := New(Config{Runs: f, Clock: fixedClock(dbNow)})
	s.CleanupAfterEdit("c1", edited)
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("close: %v", err)
	}
	want := fmt.Sprintf("after c1 %s %s", edited.Format(time.RFC3339), dbNow.Add(-30*time.Second).Format(time.RFC3339))
	if len(f.deleteCalls) != 1 || f.deleteCalls[0] != want {
		t.Fatalf("delete calls %q, want %q", f.deleteCalls, want)
	}
	for _, id := range []string{"before-edit", "new-turn", "other-chat"} {
		if _, ok := f.runs[id]; !ok {
			t.Fatalf("run %s deleted", id)
		}
	}
	for _, id := range []string{"truncated", "at-edit"} {
		if _, ok := f.runs[id]; ok {
			t.Fatalf("run %s kept", id)
		}
	}
}

// TestCleanupAfterEditWithinMargin deletes nothing when the edited message
// is younger than the skew margin.
func TestCleanupAfterEditWithinMargin(t *testing.T) {
	t.Parallel()
	dbNow := time.Now()
	f := newFakeRuns()
	s := New(Config{Runs: f, Clock: fixedClock(dbNow)})
	s.CleanupAfterEdit("c1", dbNow.Add(-10*time.Second))
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("close: %v", err)
	}
	if len(f.deleteCalls) != 0 {
		t.Fatalf("delete calls %q", f.deleteCalls)
	}
}

func TestCleanupClockError(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRuns()
		logs := &logRecorder{}
		s := New(Config{Runs: f, Logger: slogOf(logs), Clock: func(context.Context) (time.Time, error) {
			return time.Time{}, fmt.Errorf("connection refused")
		}})
		s.CleanupAfterEdit("c1", time.Now())
		if err := s.Close(context.Background()); err != nil {
			t.Fatalf("close: %v", err)
		}
		if len(f.deleteCalls) != 0 || countLines(logs.all(), "connection refused") != 3 {
			t.Fatalf("calls %q logs %q", f.deleteCalls, logs.all())
		}
	})
}

// TestCloseStopsCleanups: when Close's context ends before the cleanups
// do, Close cancels them and returns only once they stopped, so none runs
// against a store being closed; cleanups asked for later are skipped.
func TestCloseStopsCleanups(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		failures int
		blocks   bool
		close    time.Duration // Close's timeout
	}{
		{name: "waiting to retry", failures: 10, close: time.Minute},
		{name: "attempt in flight", blocks: true, close: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := newFakeRuns()
				f.deleteFailures, f.deleteBlocks = tt.failures, tt.blocks
				logs := &logRecorder{}
				s := New(Config{Runs: f, Clock: fixedClock(time.Now()), Logger: slogOf(logs), CleanupDelay: time.Hour})
				s.CleanupChats([]string{"c1"})
				ctx, cancel := context.WithTimeout(context.Background(), tt.close)
				defer cancel()
				start := time.Now()
				if err := s.Close(ctx); err != context.DeadlineExceeded {
					t.Fatalf("close = %v, want %v", err, context.DeadlineExceeded)
				}
				if took := time.Since(start); took != tt.close {
					t.Fatalf("close took %v, want %v", took, tt.close)
				}
				s.CleanupChats([]string{"c2"})
				// Fake time: long past every retry the cleanup had left.
				time.Sleep(10 * time.Hour)
				synctest.Wait()
				f.mu.Lock()
				calls := len(f.deleteCalls)
				f.mu.Unlock()
				if calls != 1 {
					t.Fatalf("%d delete calls, want 1 (none after Close)", calls)
				}
				lines := logs.all()
				if !containsLine(lines, "stopped by close") || !containsLine(lines, "skipped, the debug service is closed") {
					t.Fatalf("logs %q", lines)
				}
			})
		})
	}
}
