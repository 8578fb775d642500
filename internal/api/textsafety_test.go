package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/store/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// badTextRequests carry invalid UTF-8 or NUL in the path, the query or a
// JSON string. Each must be a 4xx on every backend.
var badTextRequests = []struct {
	name, method, path string
	admin              bool
	body               any
}{
	{"user id", "GET", "/api/v1/users/%ff%fe", true, nil},
	{"user id NUL", "GET", "/api/v1/users/a%00b", true, nil},
	{"model id", "GET", "/api/v1/models/%ff", false, nil},
	{"interception id", "GET", "/api/v1/gateway/interceptions/%ff", false, nil},
	{"interception filter", "GET", "/api/v1/gateway/interceptions?user=%ff", true, nil},
	{"interception filter NUL", "GET", "/api/v1/gateway/interceptions?model=a%00b", true, nil},
	{"revoke key", "DELETE", "/api/v1/keys/%ff", false, nil},
	{"patch user", "PATCH", "/api/v1/users/%ff", true, map[string]any{"suspended": true}},
	{"key name NUL", "POST", "/api/v1/keys", false, `{"name":"a\u0000b"}`},
	{"login username NUL", "POST", "/api/v1/auth/login", false, `{"username":"a\u0000b","password":"x"}`},
	{"user username NUL", "POST", "/api/v1/users", true, `{"username":"a\u0000b","role":"member","password":"long-enough-password"}`},
}

// TestBadTextRefused checks the API's own refusal of NUL and invalid
// UTF-8 (on SQLite, which would store them).
func TestBadTextRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range badTextRequests {
		t.Run(tc.name, func(t *testing.T) {
			key := e.member
			if tc.admin {
				key = e.admin
			}
			eb := e.fail(tc.method, tc.path, key, tc.body, http.StatusBadRequest)
			if eb.Error.Code != "invalid_request" {
				t.Fatalf("code %q, want invalid_request", eb.Error.Code)
			}
			if tc.body == nil && eb.Error.Message != "path/query must be valid UTF-8 without NUL" {
				t.Fatalf("message %q", eb.Error.Message)
			}
			if tc.body != nil && tc.method != "PATCH" && !strings.Contains(eb.Error.Message, "NUL") {
				t.Fatalf("message %q does not name NUL", eb.Error.Message)
			}
		})
	}
}

func TestDecodeNULPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	eb := e.fail("POST", "/api/v1/keys", e.member, `{"name":"ok\u0000"}`, http.StatusBadRequest)
	if want := "field name: string contains NUL (\\u0000)"; eb.Error.Message != want {
		t.Fatalf("message %q, want %q", eb.Error.Message, want)
	}
	// An escaped backslash followed by u0000 is ordinary text.
	e.call("POST", "/api/v1/keys", e.member, `{"name":"ok\\u0000"}`, http.StatusCreated, nil)
}

func TestStoreInvalidIs400(t *testing.T) {
	t.Parallel()
	got, _ := toError(store.ErrInvalid)
	if got.Status != http.StatusBadRequest || got.Code != "invalid_request" {
		t.Fatalf("toError(ErrInvalid) = %+v, want 400 invalid_request", got)
	}
}

func TestDefaultModelMustBeEnabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createProvider("openai", "openai")
	var on, off modelJSON
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "openai", "model": "gpt-on", "default": true}, http.StatusCreated, &on)
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "openai", "model": "gpt-off", "enabled": false}, http.StatusCreated, &off)

	tests := []struct {
		name string
		id   string
		body map[string]any
		want int
	}{
		{"make a disabled model the default", off.ID, map[string]any{"default": true}, http.StatusConflict},
		{"disable the default", on.ID, map[string]any{"enabled": false}, http.StatusConflict},
		{"disable and undefault together", on.ID, map[string]any{"enabled": false, "default": false}, http.StatusOK},
		{"enable and make default together", off.ID, map[string]any{"enabled": true, "default": true}, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, b := e.do("PATCH", "/api/v1/models/"+tc.id, e.admin, tc.body)
			if got != tc.want {
				t.Fatalf("status %d, want %d; body %s", got, tc.want, b)
			}
		})
	}
	e.fail("POST", "/api/v1/models", e.admin, map[string]any{"provider": "openai", "model": "gpt-x", "enabled": false, "default": true}, http.StatusConflict)
}

// newPGEnv is newEnv on PostgreSQL: the same env, with db unset and the
// store returned beside it. It skips without CHATD_TEST_POSTGRES_URL.
func newPGEnv(t *testing.T) (*env, *postgres.DB, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	ctx := t.Context()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := postgres.Open(ctx, postgres.Config{URL: url, Logger: log})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	kr, err := secret.NewKeyring(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	au := auth.New(auth.Config{Store: db, Logger: log, Now: c.Now})
	srv := httptest.NewServer(New(Config{Store: db, Auth: au, Keyring: kr, Logger: log, AllowBYOK: true, Now: c.Now}))
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, clock: c, logs: logs, auth: au}
	seed := func(name string, role store.Role, password string) (string, string) {
		h, err := seedHash(password)
		if err != nil {
			t.Fatal(err)
		}
		u, err := db.CreateUser(ctx, store.User{Username: name, Role: role, PasswordHash: h})
		if err != nil {
			t.Fatalf("create user: %v", err)
		}
		kid, k, hash := auth.NewKey()
		if _, err := db.CreateAPIKey(ctx, store.APIKey{ID: kid, UserID: u.ID, Name: "seed", Kind: store.APIKeyKindAPI, SecretHash: hash, CreatedAt: c.Now()}); err != nil {
			t.Fatalf("create key: %v", err)
		}
		return u.ID, k.Reveal()
	}
	e.adminID, e.admin = seed("root", store.RoleAdmin, "root-password")
	e.memberID, e.member = seed("alice", store.RoleMember, "alice-password")
	return e, db, url
}

// TestBadTextPostgres sends the bad-text requests, and the same values
// past the API's own checks, to a PostgreSQL-backed API: none may be a 500.
func TestBadTextPostgres(t *testing.T) {
	t.Parallel()
	e, _, _ := newPGEnv(t)
	for _, tc := range badTextRequests {
		t.Run(tc.name, func(t *testing.T) {
			key := e.member
			if tc.admin {
				key = e.admin
			}
			if got, b := e.do(tc.method, tc.path, key, tc.body); got >= 500 || got < 400 {
				t.Fatalf("status %d, want 4xx; body %s", got, b)
			}
		})
	}
}

// TestCanaryPostgres plants a central and a BYOK key through a
// PostgreSQL-backed API and looks for them in every row of every table.
func TestCanaryPostgres(t *testing.T) {
	t.Parallel()
	e, _, url := newPGEnv(t)
	central := "sk-PGCENTRALCANARY" + hex.EncodeToString([]byte(t.Name()))[:16] + "-tail"
	byok := "sk-PGBYOKCANARY" + hex.EncodeToString([]byte(t.Name()))[:16] + "-tail"
	needles := []string{
		strings.TrimSuffix(strings.TrimPrefix(central, "sk-"), "-tail"),
		strings.TrimSuffix(strings.TrimPrefix(byok, "sk-"), "-tail"),
	}
	e.call("POST", "/api/v1/providers", e.admin, map[string]any{"name": "openai", "type": "openai", "base_url": "https://api.openai.com/v1", "api_key": central}, http.StatusCreated, nil)
	e.call("PUT", "/api/v1/provider-keys/openai", e.member, map[string]any{"api_key": byok}, http.StatusOK, nil)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 5 {
		t.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	scanned := 0
	for _, table := range tables {
		rows, err := conn.Query(ctx, `SELECT row_to_json(t)::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		all, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		for _, row := range all {
			scanned++
			for _, n := range needles {
				for _, form := range []string{n, base64.StdEncoding.EncodeToString([]byte(n)), hex.EncodeToString([]byte(n))} {
					if strings.Contains(row, form) {
						t.Errorf("canary found in table %s", table)
					}
				}
			}
		}
	}
	if scanned == 0 {
		t.Fatalf("no rows scanned")
	}
	e.mu.Lock()
	bodies := strings.Join(e.bodies, "\n")
	e.mu.Unlock()
	logs := e.logs.String()
	for _, n := range needles {
		if strings.Contains(bodies, n) || strings.Contains(logs, n) {
			t.Errorf("canary found in a response or the logs")
		}
	}
}
