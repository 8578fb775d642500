package postgres_test

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/store/postgres/pgtest"
)

// open returns a store on a fresh database of its own, closed when t ends.
func open(t *testing.T) *postgres.DB {
	t.Helper()
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(t.Context(), postgres.Config{URL: url, Logger: discard()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestOpenRequiresURL(t *testing.T) {
	t.Parallel()
	if _, err := postgres.Open(t.Context(), postgres.Config{}); err == nil {
		t.Fatalf("Open with no URL: got nil error")
	}
}

func TestOpenInvalidURLHidesPassword(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(t.Context(), postgres.Config{URL: "postgres://u:hunter2@host:notaport/db"})
	if err == nil {
		t.Fatalf("Open with a bad URL: got nil error")
	}
	if got := err.Error(); strings.Contains(got, "hunter2") {
		t.Fatalf("error %q leaks the password", got)
	}
}

func TestSchemaVersionAndNow(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := t.Context()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatalf("SchemaVersion: %v", err)
	}
	if v < 1 {
		t.Fatalf("SchemaVersion = %d, want >= 1", v)
	}
	now, err := db.Now(ctx)
	if err != nil {
		t.Fatalf("Now: %v", err)
	}
	if now.Location() != time.UTC {
		t.Fatalf("Now location = %v, want UTC", now.Location())
	}
	if d := time.Since(now); d < -time.Minute || d > time.Minute {
		t.Fatalf("Now = %v, off from local clock by %v", now, d)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// TestConcurrentOpen starts several replicas on one fresh database at once:
// all must migrate (or wait for the migration) and succeed.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	const n = 4
	errs := make(chan error, n)
	dbs := make(chan *postgres.DB, n)
	for range n {
		go func() {
			db, err := postgres.Open(t.Context(), postgres.Config{URL: url, Logger: discard(), MaxConns: 2})
			if err == nil {
				dbs <- db
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	close(dbs)
	for db := range dbs {
		v, err := db.SchemaVersion(t.Context())
		if err != nil || v < 1 {
			t.Errorf("SchemaVersion = %d, %v; want >= 1", v, err)
		}
		db.Close()
	}
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	ctx := t.Context()
	db, err := postgres.Open(ctx, postgres.Config{URL: url, Logger: discard()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := db.PutSetting(ctx, "k", "v"); err != nil {
		t.Fatalf("PutSetting: %v", err)
	}
	db.Close()
	db, err = postgres.Open(ctx, postgres.Config{URL: url, Logger: discard()})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if got, err := db.GetSetting(ctx, "k"); err != nil || got != "v" {
		t.Fatalf("GetSetting after reopen = %q, %v; want %q", got, err, "v")
	}
}

func TestSmoke(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := t.Context()

	u, err := db.CreateUser(ctx, store.User{Username: "ada", Role: store.RoleAdmin})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID == "" || u.CreatedAt.IsZero() || u.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreateUser = %+v, want ID and UTC CreatedAt set", u)
	}
	if _, err := db.CreateUser(ctx, store.User{Username: "ada", Role: store.RoleMember}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate username: err = %v, want ErrConflict", err)
	}
	if _, err := db.GetUser(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetUser(nope): err = %v, want ErrNotFound", err)
	}
	suspended := true
	u2, err := db.UpdateUser(ctx, u.ID, store.UserPatch{Suspended: &suspended})
	if err != nil || !u2.Suspended || u2.Role != store.RoleAdmin {
		t.Fatalf("UpdateUser = %+v, %v", u2, err)
	}

	if _, err := db.CreateAPIKey(ctx, store.APIKey{ID: "k1", UserID: "nobody", Kind: store.APIKeyKindAPI, SecretHash: []byte{1}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateAPIKey for unknown user: err = %v, want ErrNotFound", err)
	}
	k, err := db.CreateAPIKey(ctx, store.APIKey{ID: "k1", UserID: u.ID, Kind: store.APIKeyKindAPI, SecretHash: []byte{1, 2}})
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	t1 := time.Date(2025, 1, 2, 3, 4, 5, 6789, time.UTC)
	t0 := t1.Add(-time.Hour)
	if err := db.TouchAPIKeys(ctx, map[string]time.Time{k.ID: t1, "unknown": t1}); err != nil {
		t.Fatalf("TouchAPIKeys: %v", err)
	}
	if err := db.TouchAPIKeys(ctx, map[string]time.Time{k.ID: t0}); err != nil {
		t.Fatalf("TouchAPIKeys: %v", err)
	}
	if err := db.RevokeAPIKey(ctx, k.ID, t0); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if err := db.RevokeAPIKey(ctx, k.ID, t1); err != nil {
		t.Fatalf("RevokeAPIKey again: %v", err)
	}
	k, err = db.GetAPIKey(ctx, k.ID)
	if err != nil {
		t.Fatalf("GetAPIKey: %v", err)
	}
	if want := t1.Truncate(time.Microsecond); k.LastUsedAt == nil || !k.LastUsedAt.Equal(want) || k.LastUsedAt.Location() != time.UTC {
		t.Fatalf("LastUsedAt = %v, want %v", k.LastUsedAt, want)
	}
	if k.RevokedAt == nil || !k.RevokedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("RevokedAt = %v, want %v", k.RevokedAt, t0)
	}

	p, err := db.CreateProvider(ctx, store.Provider{Name: "oa", Type: store.ProviderOpenAI, Enabled: true, APIKeyCipher: []byte("c"), APIKeyHint: "sk-…"})
	if err != nil {
		t.Fatalf("CreateProvider: %v", err)
	}
	p, err = db.UpdateProvider(ctx, p.ID, store.ProviderPatch{ClearAPIKey: true})
	if err != nil || p.APIKeyCipher != nil || p.APIKeyHint != "" {
		t.Fatalf("UpdateProvider(ClearAPIKey) = %+v, %v", p, err)
	}
	price := 1.5
	m1, err := db.CreateModel(ctx, store.ModelConfig{ProviderID: p.ID, Model: "a", IsDefault: true, Prices: store.Prices{Input: &price}})
	if err != nil {
		t.Fatalf("CreateModel: %v", err)
	}
	if m1.Prices.Input == nil || *m1.Prices.Input != price || m1.Prices.Output != nil {
		t.Fatalf("CreateModel prices = %+v", m1.Prices)
	}
	m2, err := db.CreateModel(ctx, store.ModelConfig{ProviderID: p.ID, Model: "b", IsDefault: true})
	if err != nil {
		t.Fatalf("CreateModel: %v", err)
	}
	if m1, _ = db.GetModel(ctx, m1.ID); m1.IsDefault || !m2.IsDefault {
		t.Fatalf("default not moved: m1 %v, m2 %v", m1.IsDefault, m2.IsDefault)
	}
	if _, err := db.CreateModel(ctx, store.ModelConfig{ProviderID: p.ID, Model: "a"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate model: err = %v, want ErrConflict", err)
	}
	if _, err := db.CreateModel(ctx, store.ModelConfig{ProviderID: "nope", Model: "a"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("model of unknown provider: err = %v, want ErrNotFound", err)
	}
	if _, err := db.PutProviderKey(ctx, store.UserProviderKey{UserID: u.ID, ProviderID: p.ID, KeyCipher: []byte("x")}); err != nil {
		t.Fatalf("PutProviderKey: %v", err)
	}
	if err := db.DeleteProvider(ctx, p.ID); err != nil {
		t.Fatalf("DeleteProvider: %v", err)
	}
	if _, err := db.GetProviderKey(ctx, u.ID, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("provider key after DeleteProvider: err = %v, want ErrNotFound", err)
	}

	cost := int64(42)
	start := time.Date(2025, 3, 1, 23, 59, 0, 0, time.FixedZone("x", 3600))
	in, err := db.CreateInterception(ctx, store.Interception{
		UserID: u.ID, Model: "a", StartedAt: start, EndedAt: start.Add(time.Second),
		TTFB: 1500 * time.Microsecond, Usage: store.Usage{Input: 10, Output: 5},
		ToolCalls: []store.ToolCall{{ID: "c1", Name: "ls", Arguments: "{}"}}, CostMicros: &cost,
	})
	if err != nil {
		t.Fatalf("CreateInterception: %v", err)
	}
	got, err := db.GetInterception(ctx, in.ID)
	if err != nil {
		t.Fatalf("GetInterception: %v", err)
	}
	if len(got.ToolCalls) != 1 || got.ToolCalls[0].Name != "ls" || *got.CostMicros != 42 || got.TTFB != 1500*time.Microsecond {
		t.Fatalf("GetInterception = %+v", got)
	}
	rows, err := db.UsageByDay(ctx, store.InterceptionFilter{})
	if err != nil || len(rows) != 1 || rows[0].Day != "2025-03-01" || rows[0].Calls != 1 || rows[0].CostMicros != 42 {
		t.Fatalf("UsageByDay = %+v, %v", rows, err)
	}
	n, err := db.PurgeInterceptions(ctx, start.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("PurgeInterceptions = %d, %v; want 1", n, err)
	}
	if _, err := db.GetSetting(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSetting(missing): err = %v, want ErrNotFound", err)
	}
}
