package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
)

// Planted credentials: tests check they never leak.
const (
	centralKey = "sk-central-CANARY-0123456789abcdef"
	byokKey    = "sk-byok-CANARY-fedcba9876543210"
)

// syncBuffer is a log sink shared by handler goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

type envOptions struct {
	noBYOK      bool
	noContent   bool
	upstream    http.RoundTripper
	wrapHandler func(http.Handler) http.Handler
}

// env is a gateway on a real SQLite store, served by an httptest server.
type env struct {
	t       *testing.T
	store   *sqlite.DB
	keyring *secret.Keyring
	gw      *Gateway
	srv     *httptest.Server
	reg     *prometheus.Registry
	logs    *syncBuffer
	user    store.User
	key     string // a chatd API key of user
	keyID   string
	closed  bool
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "chatd.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	k := make([]byte, secret.KeySize)
	_, _ = rand.Read(k)
	kr, err := secret.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	gw, err := New(Config{
		Store:         db,
		Auth:          auth.New(auth.Config{Store: db, Logger: log}),
		Keyring:       kr,
		Logger:        log,
		AllowBYOK:     !o.noBYOK,
		RecordContent: !o.noContent,
		Registerer:    reg,
		Upstream:      o.upstream,
	})
	if err != nil {
		t.Fatalf("new gateway: %v", err)
	}
	e := &env{t: t, store: db, keyring: kr, gw: gw, reg: reg, logs: logs}
	mux := http.NewServeMux()
	var h http.Handler = gw
	if o.wrapHandler != nil {
		h = o.wrapHandler(h)
	}
	// As internal/server does: the subtree and its root, so that
	// "/gateway" gets the gateway's JSON 404, not ServeMux's redirect.
	mux.Handle("/gateway/", h)
	mux.Handle("/gateway", h)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	t.Cleanup(func() { _ = e.close() })
	e.user = e.addUser("alice")
	e.keyID, e.key = e.addKey(e.user.ID, nil)
	return e
}

func (e *env) close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.gw.Close(ctx)
}

func (e *env) addUser(name string) store.User {
	e.t.Helper()
	u, err := e.store.CreateUser(e.t.Context(), store.User{Username: name, Role: store.RoleMember})
	if err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	return u
}

func (e *env) addKey(userID string, mutate func(*store.APIKey)) (id, key string) {
	e.t.Helper()
	id, k, hash := auth.NewKey()
	ak := store.APIKey{ID: id, UserID: userID, Name: "test", Kind: store.APIKeyKindAPI, SecretHash: hash}
	if mutate != nil {
		mutate(&ak)
	}
	if _, err := e.store.CreateAPIKey(e.t.Context(), ak); err != nil {
		e.t.Fatalf("create key: %v", err)
	}
	return id, k.Reveal()
}

// addProvider registers an enabled provider with the central key.
func (e *env) addProvider(name string, typ store.ProviderType, baseURL string) store.Provider {
	e.t.Helper()
	sealed, err := e.keyring.Seal(secret.New(centralKey))
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := e.store.CreateProvider(e.t.Context(), store.Provider{
		Name: name, Type: typ, BaseURL: baseURL, Enabled: true,
		APIKeyCipher: sealed, APIKeyHint: secret.Hint(centralKey),
	})
	if err != nil {
		e.t.Fatalf("create provider: %v", err)
	}
	return p
}

// do sends a request through the gateway over HTTP.
func (e *env) do(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return resp, b
}

func (e *env) bearer() map[string]string {
	return map[string]string{"Authorization": "Bearer " + e.key}
}

// records closes the gateway (flushing its queue) and lists what it wrote.
func (e *env) records() []store.Interception {
	e.t.Helper()
	e.srv.Close() // waits for running handlers, as a server shutdown does
	if err := e.close(); err != nil {
		e.t.Fatalf("close gateway: %v", err)
	}
	ins, err := e.store.ListInterceptions(e.t.Context(), store.InterceptionFilter{Limit: 1000})
	if err != nil {
		e.t.Fatalf("list interceptions: %v", err)
	}
	return ins
}

func (e *env) oneRecord() store.Interception {
	e.t.Helper()
	ins := e.records()
	if len(ins) != 1 {
		e.t.Fatalf("got %d interceptions, want 1", len(ins))
	}
	return ins[0]
}

// metricsText renders every metric of the registry.
func (e *env) metricsText() string {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			e.t.Fatal(err)
		}
	}
	return b.String()
}

// checkGoroutines fails the test if goroutines started during it are still
// running when it ends. Streams end asynchronously (a connection's reader
// notices a close), so it waits for the count to settle, yielding to the
// scheduler rather than sleeping.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			http.DefaultClient.CloseIdleConnections()
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutines: %d before, %d after\n%s", before, n, buf)
				return
			}
			runtime.Gosched()
		}
	})
}
