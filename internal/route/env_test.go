package route

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
)

// Planted keys. Tests search logs, errors and upstream headers for them.
const (
	centralKey = "sk-central-CANARY-7f3a9b2c4d5e6f70"
	userKey    = "sk-byok-CANARY-1a2b3c4d5e6f7a8b"
)

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

// env is a real store and gateway, a user with a chatd API key, and what a
// Router needs.
type env struct {
	t       *testing.T
	db      *sqlite.DB
	keyring *secret.Keyring
	gw      *gateway.Gateway
	logs    *syncBuffer
	log     *slog.Logger
	user    store.User
	keyID   string
	closed  bool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "chatd.db"), Logger: log})
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
	gw, err := gateway.New(gateway.Config{
		Store:     db,
		Auth:      auth.New(auth.Config{Store: db, Logger: log}),
		Keyring:   kr,
		Logger:    log,
		AllowBYOK: true,
	})
	if err != nil {
		t.Fatalf("new gateway: %v", err)
	}
	e := &env{t: t, db: db, keyring: kr, gw: gw, logs: logs, log: log}
	t.Cleanup(func() { _ = e.closeGateway() })
	e.user, err = db.CreateUser(ctx, store.User{Username: "alice", Role: store.RoleMember})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	id, _, hash := auth.NewKey()
	if _, err := db.CreateAPIKey(ctx, store.APIKey{ID: id, UserID: e.user.ID, Name: "test", Kind: store.APIKeyKindAPI, SecretHash: hash}); err != nil {
		t.Fatalf("create key: %v", err)
	}
	e.keyID = id
	return e
}

func (e *env) closeGateway() error {
	if e.closed {
		return nil
	}
	e.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.gw.Close(ctx)
}

func (e *env) seal(key string) []byte {
	e.t.Helper()
	b, err := e.keyring.Seal(secret.New(key))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// addProvider registers an enabled provider with the central key.
func (e *env) addProvider(name string, typ store.ProviderType, baseURL string) store.Provider {
	e.t.Helper()
	p, err := e.db.CreateProvider(e.t.Context(), store.Provider{
		Name: name, Type: typ, BaseURL: baseURL, Enabled: true,
		APIKeyCipher: e.seal(centralKey), APIKeyHint: secret.Hint(centralKey),
	})
	if err != nil {
		e.t.Fatalf("create provider: %v", err)
	}
	return p
}

func (e *env) addModel(p store.Provider, model string, mutate func(*store.ModelConfig)) store.ModelConfig {
	e.t.Helper()
	mc := store.ModelConfig{ProviderID: p.ID, Model: model, DisplayName: model, Enabled: true}
	if mutate != nil {
		mutate(&mc)
	}
	mc, err := e.db.CreateModel(e.t.Context(), mc)
	if err != nil {
		e.t.Fatalf("create model: %v", err)
	}
	return mc
}

func (e *env) addUserKey(p store.Provider, key string) {
	e.t.Helper()
	if _, err := e.db.PutProviderKey(e.t.Context(), store.UserProviderKey{
		UserID: e.user.ID, ProviderID: p.ID, KeyCipher: e.seal(key), KeyHint: secret.Hint(key),
	}); err != nil {
		e.t.Fatalf("put provider key: %v", err)
	}
}

// router returns a Router over the env; direct mode sends through c.
func (e *env) router(direct bool, c *http.Client) *Router {
	return New(Config{
		Store: e.db, Keyring: e.keyring, Gateway: e.gw,
		Direct: direct, AllowBYOK: true, DirectClient: c, Logger: e.log,
	})
}

// records closes the gateway, flushing its queue, and lists its records.
func (e *env) records() []store.Interception {
	e.t.Helper()
	if err := e.closeGateway(); err != nil {
		e.t.Fatalf("close gateway: %v", err)
	}
	ins, err := e.db.ListInterceptions(e.t.Context(), store.InterceptionFilter{Limit: 100})
	if err != nil {
		e.t.Fatalf("list interceptions: %v", err)
	}
	return ins
}

// generate makes one blocking call and returns its text.
func generate(t *testing.T, m fantasy.LanguageModel) string {
	t.Helper()
	resp, err := m.Generate(t.Context(), callHello())
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return resp.Content.Text()
}

// fixtureFor names the blocking fixture of a provider type's API.
func fixtureFor(typ store.ProviderType, responses bool) string {
	switch {
	case typ == store.ProviderAnthropic:
		return "anthropic-messages/blocking-plain"
	case responses:
		return "openai-responses/blocking-plain"
	}
	return "openai-chat/blocking-plain"
}

// checkNoLeak fails if s holds a planted key or the placeholder.
func checkNoLeak(t *testing.T, what, s string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(s, k) {
			t.Fatalf("%s contains %q:\n%s", what, k, s)
		}
	}
}

func callHello() fantasy.Call {
	return fantasy.Call{Prompt: fantasy.Prompt{fantasy.NewUserMessage("What is the capital of France?")}}
}
