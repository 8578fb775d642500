package sqlite_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
	"github.com/chatd/chatd/internal/store/storetest"
)

func open(t *testing.T, path string, log *slog.Logger) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), sqlite.Config{Path: path, Logger: log})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return db
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "chatd.db"), quiet())
	})
}

func TestOpenCreatesDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "nested")
	db := open(t, filepath.Join(dir, "chatd.db"), quiet())
	defer db.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("stat data dir: %v", err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Fatalf("data dir mode = %v, want 0700", got)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	t.Parallel()
	if _, err := sqlite.Open(t.Context(), sqlite.Config{}); err == nil {
		t.Fatal("open with empty path: got nil error")
	}
}

func TestReopenKeepsDataAndSkipsMigrations(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "chatd.db")

	var logs bytes.Buffer
	db := open(t, path, slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "applied migration") {
		t.Fatalf("first open logged no migration: %q", logs.String())
	}
	u, err := db.CreateUser(t.Context(), store.User{Username: "alice", Role: store.RoleAdmin})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	if err := db.PutSetting(t.Context(), "k", "v"); err != nil {
		t.Fatalf("put setting: %v", err)
	}
	v1, err := db.SchemaVersion(t.Context())
	if err != nil {
		t.Fatalf("schema version: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	logs.Reset()
	db = open(t, path, slog.New(slog.NewTextHandler(&logs, nil)))
	defer db.Close()
	if strings.Contains(logs.String(), "applied migration") {
		t.Fatalf("reopen ran migrations again: %q", logs.String())
	}
	v2, err := db.SchemaVersion(t.Context())
	if err != nil {
		t.Fatalf("schema version after reopen: %v", err)
	}
	if v2 != v1 {
		t.Fatalf("schema version after reopen = %d, want %d", v2, v1)
	}
	got, err := db.GetUserByUsername(t.Context(), "alice")
	if err != nil {
		t.Fatalf("get user after reopen: %v", err)
	}
	if got.ID != u.ID {
		t.Fatalf("user ID after reopen = %q, want %q", got.ID, u.ID)
	}
	if v, err := db.GetSetting(t.Context(), "k"); err != nil || v != "v" {
		t.Fatalf("setting after reopen = %q, %v; want %q", v, err, "v")
	}
}

func TestErrorsWrapContext(t *testing.T) {
	t.Parallel()
	db := open(t, filepath.Join(t.TempDir(), "chatd.db"), quiet())
	defer db.Close()
	if _, err := db.CreateUser(t.Context(), store.User{Username: "alice", Role: store.RoleAdmin}); err != nil {
		t.Fatalf("create: %v", err)
	}
	_, err := db.CreateUser(t.Context(), store.User{Username: "alice", Role: store.RoleAdmin})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if want := `create user "alice": conflict`; err.Error() != want {
		t.Fatalf("err = %q, want %q", err.Error(), want)
	}
}

func TestOpenOddPath(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a dir?x=1#frag%20")
	path := filepath.Join(dir, "chat d.db")
	db := open(t, path, quiet())
	if err := db.PutSetting(t.Context(), "k", "v"); err != nil {
		t.Fatalf("put setting: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at its path: %v", err)
	}
}

func TestGeneratedIDsAreUUIDv7(t *testing.T) {
	t.Parallel()
	db := open(t, filepath.Join(t.TempDir(), "chatd.db"), quiet())
	defer db.Close()
	ctx := t.Context()
	u, err := db.CreateUser(ctx, store.User{Username: "alice", Role: store.RoleAdmin})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	p, err := db.CreateProvider(ctx, store.Provider{Name: "openai", Type: store.ProviderOpenAI})
	if err != nil {
		t.Fatalf("create provider: %v", err)
	}
	m, err := db.CreateModel(ctx, store.ModelConfig{ProviderID: p.ID, Model: "gpt-5"})
	if err != nil {
		t.Fatalf("create model: %v", err)
	}
	in, err := db.CreateInterception(ctx, store.Interception{UserID: u.ID})
	if err != nil {
		t.Fatalf("create interception: %v", err)
	}
	for _, id := range []string{u.ID, p.ID, m.ID, in.ID} {
		parsed, err := uuid.Parse(id)
		if err != nil {
			t.Fatalf("id %q: %v", id, err)
		}
		if parsed.Version() != 7 {
			t.Fatalf("id %q is version %d, want 7", id, parsed.Version())
		}
	}
}

func TestFilesOwnerOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "chatd.db")
	db, err := sqlite.Open(t.Context(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutSetting(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"chatd.db", "chatd.db-wal", "chatd.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode = %v, want no access for group or others", name, fi.Mode().Perm())
		}
	}
}
