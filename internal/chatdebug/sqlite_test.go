package chatdebug

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
)

// TestSQLite records a streamed call into the real SQLite backend, then
// checks finishing, status regression and cleanup against it.
func TestSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "chatd.db")})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s := New(Config{Runs: db, UserSettings: db, Settings: db, Clock: db.Now})

	if s.Enabled(ctx, nil, "nobody") {
		t.Fatalf("enabled by default")
	}
	if err := db.PutSetting(ctx, SettingKey, "true"); err != nil {
		t.Fatalf("put setting: %v", err)
	}
	if !s.Enabled(ctx, nil, "nobody") {
		t.Fatalf("deployment setting ignored")
	}

	fx := llmtest.Load(t, "anthropic-messages/stream-tool")
	srv := llmtest.NewServer(t, fx.Response())
	r := s.StartRun(ctx, testRun())
	if r == nil {
		t.Fatalf("StartRun returned nil")
	}
	const key = "sk-ant-sqlite-test-key-42"
	r.AddSecrets(secret.New(key))
	client := &http.Client{Transport: r.Transport(srv.Client().Transport)}
	m := r.WrapModel(providerModel(t, fx.API, srv.URL, client, key))
	seq, err := m.Stream(ctx, fantasy.Call{Prompt: fantasy.Prompt{fantasy.NewUserMessage(fx.Expect.Prompt)}})
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	for range seq {
	}
	r.Finish(ctx, store.DebugCompleted, "done")
	// A late update from a confused caller, straight to the store.
	back := store.DebugInProgress
	if _, err := db.UpdateDebugRun(ctx, r.ID(), store.DebugRunPatch{Status: &back}); err != nil {
		t.Fatalf("update: %v", err)
	}

	run, steps, err := db.GetDebugRun(ctx, r.ID())
	if err != nil {
		t.Fatalf("get run: %v", err)
	}
	if run.Status != store.DebugCompleted || run.FinishedAt == nil {
		t.Fatalf("run %q finished %v", run.Status, run.FinishedAt)
	}
	if len(steps) != 1 || steps[0].Status != store.DebugCompleted || len(steps[0].Attempts) != 1 {
		t.Fatalf("steps %+v", steps)
	}
	a := steps[0].Attempts[0]
	if a.Status != http.StatusOK || a.RequestHeader.Get("X-Api-Key") != Redacted || !strings.Contains(a.ResponseBody, "output_tokens") {
		t.Fatalf("attempt %d %v %q", a.Status, a.RequestHeader, a.ResponseBody)
	}
	if strings.Contains(string(steps[0].Response), key) || strings.Contains(a.RequestBody+a.ResponseBody+a.URL, key) {
		t.Fatalf("key stored")
	}

	// The run is younger than the skew margin: an edit cleanup keeps it.
	s.CleanupAfterEdit("c1", run.StartedAt.Add(-time.Minute))
	if err := s.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if runs, err := db.ListDebugRuns(ctx, "c1", 0); err != nil || len(runs) != 1 {
		t.Fatalf("after edit cleanup: %d runs, %v", len(runs), err)
	}
	s.CleanupChats([]string{"c1"})
	if err := s.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if runs, err := db.ListDebugRuns(ctx, "c1", 0); err != nil || len(runs) != 0 {
		t.Fatalf("after chat cleanup: %d runs, %v", len(runs), err)
	}
}
