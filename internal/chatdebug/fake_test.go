package chatdebug

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// fakeRuns is an in-memory store.DebugRuns with hooks for failures.
type fakeRuns struct {
	mu       sync.Mutex
	runs     map[string]store.DebugRun
	steps    map[string]store.DebugStep
	attempts []store.DebugAttempt

	// createBlock, if not nil, makes CreateDebugRun wait for it to close,
	// ignoring its context, as a locked database would.
	createBlock chan struct{}
	// deleteFailures makes the first n delete calls fail.
	deleteFailures int
	// deleteBlocks makes every delete call wait for its context to end.
	deleteBlocks bool
	deleteCalls  []string
	finalizeCuts []time.Time
	purgeCuts    []time.Time
}

var _ store.DebugRuns = (*fakeRuns)(nil)

func newFakeRuns() *fakeRuns {
	return &fakeRuns{runs: map[string]store.DebugRun{}, steps: map[string]store.DebugStep{}}
}

func (f *fakeRuns) CreateDebugRun(ctx context.Context, r store.DebugRun) (store.DebugRun, error) {
	if f.createBlock != nil {
		<-f.createBlock
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs[r.ID] = r
	return r, nil
}

// advance applies the rule that a final status never moves back.
func advance(cur store.DebugStatus, next *store.DebugStatus) store.DebugStatus {
	if next == nil || (cur.Final() && !next.Final()) {
		return cur
	}
	return *next
}

func (f *fakeRuns) UpdateDebugRun(ctx context.Context, id string, p store.DebugRunPatch) (store.DebugRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.runs[id]
	if !ok {
		return r, store.ErrNotFound
	}
	r.Status = advance(r.Status, p.Status)
	if p.Summary != nil {
		r.Summary = *p.Summary
	}
	if p.FinishedAt != nil && r.FinishedAt == nil {
		r.FinishedAt = p.FinishedAt
	}
	f.runs[id] = r
	return r, nil
}

func (f *fakeRuns) CreateDebugStep(ctx context.Context, s store.DebugStep) (store.DebugStep, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.steps {
		if o.RunID == s.RunID && o.Number == s.Number {
			return s, store.ErrConflict
		}
	}
	f.steps[s.ID] = s
	return s, nil
}

func (f *fakeRuns) UpdateDebugStep(ctx context.Context, id string, p store.DebugStepPatch) (store.DebugStep, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.steps[id]
	if !ok {
		return s, store.ErrNotFound
	}
	s.Status = advance(s.Status, p.Status)
	if p.Response != nil {
		s.Response = p.Response
	}
	if p.Error != nil {
		s.Error = *p.Error
	}
	if p.FinishedAt != nil {
		s.FinishedAt = p.FinishedAt
	}
	f.steps[id] = s
	return s, nil
}

func (f *fakeRuns) AddDebugAttempt(ctx context.Context, a store.DebugAttempt) (store.DebugAttempt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.steps[a.StepID]; !ok {
		return a, store.ErrNotFound
	}
	f.attempts = append(f.attempts, a)
	return a, nil
}

func (f *fakeRuns) ListDebugRuns(ctx context.Context, chatID string, limit int) ([]store.DebugRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.DebugRun
	for _, r := range f.runs {
		if r.ChatID == chatID {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	return out, nil
}

func (f *fakeRuns) GetDebugRun(ctx context.Context, id string) (store.DebugRun, []store.DebugStep, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.runs[id]
	if !ok {
		return r, nil, store.ErrNotFound
	}
	var steps []store.DebugStep
	for _, s := range f.steps {
		if s.RunID != id {
			continue
		}
		for _, a := range f.attempts {
			if a.StepID == s.ID {
				s.Attempts = append(s.Attempts, a)
			}
		}
		sort.Slice(s.Attempts, func(i, j int) bool { return s.Attempts[i].Number < s.Attempts[j].Number })
		steps = append(steps, s)
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].Number < steps[j].Number })
	return r, steps, nil
}

// block waits for ctx to end when deleteBlocks is set.
func (f *fakeRuns) block(ctx context.Context) error {
	if !f.deleteBlocks {
		return nil
	}
	f.mu.Lock()
	f.deleteCalls = append(f.deleteCalls, "blocked")
	f.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

func (f *fakeRuns) deleteFailure(call string) error {
	f.deleteCalls = append(f.deleteCalls, call)
	if f.deleteFailures > 0 {
		f.deleteFailures--
		return fmt.Errorf("database is locked")
	}
	return nil
}

func (f *fakeRuns) DeleteDebugRunsAfter(ctx context.Context, chatID string, from, before time.Time) (int64, error) {
	if err := f.block(ctx); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deleteFailure(fmt.Sprintf("after %s %s %s", chatID, from.Format(time.RFC3339), before.Format(time.RFC3339))); err != nil {
		return 0, err
	}
	var n int64
	for id, r := range f.runs {
		if r.ChatID == chatID && !r.StartedAt.Before(from) && r.StartedAt.Before(before) {
			delete(f.runs, id)
			n++
		}
	}
	return n, nil
}

func (f *fakeRuns) DeleteDebugRunsForChats(ctx context.Context, chatIDs []string) (int64, error) {
	if err := f.block(ctx); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deleteFailure("chats " + strings.Join(chatIDs, ",")); err != nil {
		return 0, err
	}
	var n int64
	for id, r := range f.runs {
		for _, c := range chatIDs {
			if r.ChatID == c {
				delete(f.runs, id)
				n++
			}
		}
	}
	return n, nil
}

func (f *fakeRuns) FinalizeStaleDebugRuns(ctx context.Context, before time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finalizeCuts = append(f.finalizeCuts, before)
	return 0, nil
}

func (f *fakeRuns) PurgeDebugRuns(ctx context.Context, before time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.purgeCuts = append(f.purgeCuts, before)
	return 0, nil
}

func (f *fakeRuns) run(id string) store.DebugRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs[id]
}

// fakeSettings serves both store.UserSettings and store.Settings.
type fakeSettings struct {
	user    map[string]string // by user ID
	deploy  *string
	userErr error
	depErr  error
}

func (f *fakeSettings) GetUserSetting(ctx context.Context, userID, key string) (string, error) {
	if f.userErr != nil {
		return "", f.userErr
	}
	v, ok := f.user[userID]
	if !ok || key != SettingKey {
		return "", store.ErrNotFound
	}
	return v, nil
}

func (f *fakeSettings) PutUserSetting(ctx context.Context, userID, key, value string) error {
	return nil
}

func (f *fakeSettings) DeleteUserSetting(ctx context.Context, userID, key string) error { return nil }

func (f *fakeSettings) GetSetting(ctx context.Context, key string) (string, error) {
	if f.depErr != nil {
		return "", f.depErr
	}
	if f.deploy == nil || key != SettingKey {
		return "", store.ErrNotFound
	}
	return *f.deploy, nil
}

func (f *fakeSettings) PutSetting(ctx context.Context, key, value string) error { return nil }

// logRecorder is a slog.Handler keeping every record's message and
// attributes as text.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	sb.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		sb.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, sb.String())
	return nil
}

func (l *logRecorder) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// fixedClock is a database clock at a fixed time.
func fixedClock(t time.Time) func(context.Context) (time.Time, error) {
	return func(context.Context) (time.Time, error) { return t, nil }
}

// dump returns everything the fake store holds as text, for searching.
func dump(t testing.TB, f *fakeRuns) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := json.Marshal(struct {
		Runs     map[string]store.DebugRun
		Steps    map[string]store.DebugStep
		Attempts []store.DebugAttempt
	}{f.runs, f.steps, f.attempts})
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	return string(b) + fmt.Sprintf("%+v %+v %+v", f.runs, f.steps, f.attempts)
}

// testNow is a fixed time for tests that only need some time.
func testNow() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }
