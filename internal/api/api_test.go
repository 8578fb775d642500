package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/chat"
	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/store/postgres/pgtest"
	"github.com/chatd/chatd/internal/store/sqlite"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer // guarded by mu
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is a settable time source shared by the API and the authenticator.
type clock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t      *testing.T
	db     store.Store
	dbPath string // the SQLite file; empty on PostgreSQL
	pgURL  string // the test's own PostgreSQL database; empty on SQLite
	srv    *httptest.Server
	clock  *clock
	logs   *syncBuffer
	auth   *auth.Authenticator

	// upstreamURL serves envOptions.upstream; empty without it.
	upstreamURL string
	// shutdown closes the server and, with envOptions.upstream, stops the
	// chat service and flushes what the gateway and the debug recorder
	// still hold, so the store is complete. Set by newEnv, whose cleanup
	// calls it too.
	shutdown func()

	mu     sync.Mutex
	bodies []string // guarded by mu; every response body seen

	admin    string // admin's API key
	adminID  string
	member   string // member's API key
	memberID string
}

// backend names a store implementation an env can run on.
type backend string

const (
	sqliteBackend   backend = "sqlite"
	postgresBackend backend = "postgres"
)

// backends is every store, for tests that must hold on each.
var backends = []backend{sqliteBackend, postgresBackend}

type envOptions struct {
	noBYOK bool
	// wrap, if set, wraps the store the API uses.
	wrap func(store.Store) store.Store
	// backend is the store; if empty, SQLite. PostgreSQL skips the test
	// without CHATD_TEST_POSTGRES_URL.
	backend backend
	// upstream, if set, is a fake provider served at e.upstreamURL, and the
	// env also runs the gateway under /gateway/, the chat service routed
	// through it, and debug recording (off until a setting turns it on).
	upstream http.Handler
	// direct, with upstream, has the chat service call providers directly
	// instead of through the gateway.
	direct bool
}

// openStore opens an empty store of kind b, closed at cleanup. It returns
// the SQLite file or the PostgreSQL database URL beside it.
func openStore(t *testing.T, b backend, log *slog.Logger) (db store.Store, path, url string) {
	t.Helper()
	ctx := t.Context()
	switch b {
	case "", sqliteBackend:
		path = filepath.Join(t.TempDir(), "chatd.db")
		d, err := sqlite.Open(ctx, sqlite.Config{Path: path, Logger: log})
		if err != nil {
			t.Fatalf("open sqlite store: %v", err)
		}
		t.Cleanup(func() { d.Close() })
		return d, path, ""
	case postgresBackend:
		url = pgtest.NewDatabase(t)
		d, err := postgres.Open(ctx, postgres.Config{URL: url, Logger: log})
		if err != nil {
			t.Fatalf("open postgres store: %v", err)
		}
		t.Cleanup(func() { d.Close() })
		return d, "", url
	}
	t.Fatalf("unknown backend %q", b)
	return nil, "", ""
}

func newEnv(t *testing.T, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, path, url := openStore(t, o.backend, log)
	kr, err := secret.NewKeyring(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	if o.upstream != nil {
		// The chat service and the recorder read the database's clock;
		// keep the API's beside it.
		c.t = time.Now().UTC()
	}
	au := auth.New(auth.Config{Store: db, Logger: log, Now: c.Now})
	st := db
	if o.wrap != nil {
		st = o.wrap(db)
	}
	cfg := Config{Store: st, Auth: au, Keyring: kr, Logger: log, AllowBYOK: !o.noBYOK, Now: c.Now}
	stopChats := func() {}
	upURL := ""
	var gw *gateway.Gateway
	if o.upstream != nil {
		// Started first so that it outlives the chat service at cleanup.
		up := httptest.NewServer(o.upstream)
		t.Cleanup(up.Close)
		upURL = up.URL
		gw, stopChats = startChats(t, db, o, &cfg)
	}
	var h http.Handler = New(cfg)
	if gw != nil {
		mux := http.NewServeMux()
		mux.Handle("/", h)
		// As internal/server mounts it.
		mux.Handle("/gateway/", gw)
		mux.Handle("/gateway", gw)
		h = mux
	}
	srv := httptest.NewServer(h)
	var once sync.Once
	shutdown := func() {
		once.Do(func() {
			// Closing waits for running handlers, so the gateway has
			// queued every record before it is flushed.
			srv.Close()
			stopChats()
		})
	}
	t.Cleanup(shutdown)
	e := &env{t: t, db: db, dbPath: path, pgURL: url, srv: srv, clock: c, logs: logs, auth: au, shutdown: shutdown, upstreamURL: upURL}
	e.adminID, e.admin = e.seedUser("root", store.RoleAdmin, "root-password")
	e.memberID, e.member = e.seedUser("alice", store.RoleMember, "alice-password")
	return e
}

// startChats starts, over db and with cfg's authenticator, keyring and
// logger, the gateway and a chat service routed through it (or, with
// o.direct, straight to providers) with debug recording, and sets them in
// cfg. stop stops the service and flushes the gateway's and the
// recorder's queues.
func startChats(t *testing.T, db store.Store, o envOptions, cfg *Config) (gw *gateway.Gateway, stop func()) {
	t.Helper()
	kr, log := cfg.Keyring, cfg.Logger
	gw, err := gateway.New(gateway.Config{Store: db, Auth: cfg.Auth, Keyring: kr, Logger: log, AllowBYOK: cfg.AllowBYOK})
	if err != nil {
		t.Fatalf("new gateway: %v", err)
	}
	dbg := chatdebug.New(chatdebug.Config{Runs: db, UserSettings: db, Settings: db, Clock: db.Now, Logger: log})
	rt := route.New(route.Config{Store: db, Keyring: kr, Gateway: gw, Direct: o.direct, AllowBYOK: cfg.AllowBYOK, Debug: dbg, Logger: log})
	svc, err := chat.New(chat.Config{Store: db, Chats: db, Router: rt, Debug: dbg, Logger: log, Workers: 2, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("new chat service: %v", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = svc.Run(runCtx)
	}()
	cfg.Chats, cfg.Debug, cfg.StreamHeartbeat = svc, dbg, time.Hour
	return gw, func() {
		cancel()
		<-ran
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := gw.Close(ctx); err != nil {
			t.Errorf("close gateway: %v", err)
		}
		if err := dbg.Close(ctx); err != nil {
			t.Errorf("close debug recorder: %v", err)
		}
	}
}

// seedUser creates a user and an API key for it directly in the store.
func (e *env) seedUser(name string, role store.Role, password string) (id, key string) {
	e.t.Helper()
	ctx := context.Background()
	h, err := seedHash(password)
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := e.db.CreateUser(ctx, store.User{Username: name, Role: role, PasswordHash: h})
	if err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	kid, k, hash := auth.NewKey()
	if _, err := e.db.CreateAPIKey(ctx, store.APIKey{ID: kid, UserID: u.ID, Name: "seed", Kind: store.APIKeyKindAPI, SecretHash: hash, CreatedAt: e.clock.Now()}); err != nil {
		e.t.Fatalf("create key: %v", err)
	}
	return u.ID, k.Reveal()
}

// do sends a request. body is sent as is when it is a string, else as
// JSON; nil sends none.
func (e *env) do(method, path, key string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	if resp.StatusCode != http.StatusNoContent && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		e.t.Fatalf("%s %s: Content-Type %q, want application/json (body %s)", method, path, resp.Header.Get("Content-Type"), out)
	}
	e.mu.Lock()
	e.bodies = append(e.bodies, string(out))
	e.mu.Unlock()
	return resp.StatusCode, out
}

// call is do that fails the test unless the status is want, and decodes
// the answer into out when out is not nil.
func (e *env) call(method, path, key string, body any, want int, out any) {
	e.t.Helper()
	got, b := e.do(method, path, key, body)
	if got != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, got, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// fail calls an endpoint expecting an error and returns it.
func (e *env) fail(method, path, key string, body any, want int) errorBody {
	e.t.Helper()
	var eb errorBody
	e.call(method, path, key, body, want, &eb)
	if eb.Error.Code == "" || eb.Error.Message == "" {
		e.t.Fatalf("%s %s: error body without code or message", method, path)
	}
	return eb
}

// Decoded shapes used by the tests.
type userJSON struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	Role        string `json:"role"`
	Suspended   bool   `json:"suspended"`
	HasPassword bool   `json:"has_password"`
}

type apiKeyJSON struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Kind      string     `json:"kind"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

type newKeyJSON struct {
	Key    string     `json:"key"`
	APIKey apiKeyJSON `json:"api_key"`
	User   userJSON   `json:"user"`
}

type providerJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	BaseURL    string `json:"base_url"`
	Enabled    bool   `json:"enabled"`
	HasAPIKey  bool   `json:"has_api_key"`
	APIKeyHint string `json:"api_key_hint"`
}

type modelJSON struct {
	ID           string `json:"id"`
	Provider     string `json:"provider"`
	ProviderType string `json:"provider_type"`
	Model        string `json:"model"`
	DisplayName  string `json:"display_name"`
	ContextLimit int64  `json:"context_limit"`
	Prices       struct {
		Input      *float64 `json:"input"`
		Output     *float64 `json:"output"`
		CacheRead  *float64 `json:"cache_read"`
		CacheWrite *float64 `json:"cache_write"`
	} `json:"prices"`
	Enabled bool `json:"enabled"`
	Default bool `json:"default"`
}

type providerKeyJSON struct {
	Provider string `json:"provider"`
	KeyHint  string `json:"key_hint"`
}

func (e *env) createProvider(name, typ string) providerJSON {
	e.t.Helper()
	var p providerJSON
	e.call("POST", "/api/v1/providers", e.admin, map[string]any{"name": name, "type": typ, "base_url": "https://api.example.com/v1"}, http.StatusCreated, &p)
	return p
}

func (e *env) authenticator() *auth.Authenticator { return e.auth }

// seedHashes caches bcrypt hashes of seed passwords: bcrypt is slow by
// design, more so under -race, and every test seeds the same users.
var seedHashes sync.Map // password -> func() (string, error)

func seedHash(pw string) (string, error) {
	f, _ := seedHashes.LoadOrStore(pw, sync.OnceValues(func() (string, error) { return auth.HashPassword(pw) }))
	return f.(func() (string, error))()
}
