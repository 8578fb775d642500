package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
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

type running struct {
	url  string
	out  *syncBuffer
	logs *syncBuffer
	stop func() error
}

// start runs a server on a free loopback port and waits until it accepts
// connections.
func start(t *testing.T, c Config) *running {
	t.Helper()
	out, logs := &syncBuffer{}, &syncBuffer{}
	c.Listen = "127.0.0.1:0"
	c.Out = out
	c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ready := make(chan net.Addr, 1)
	c.Ready = func(a net.Addr) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, c) }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v\nlogs:\n%s", err, logs)
	}
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return &running{url: "http://" + addr.String(), out: out, logs: logs, stop: stop}
}

// testClient has a transport of its own: httptest.Server.Close closes
// http.DefaultTransport's idle connections, which can break a request a
// parallel test has in flight on it.
var testClient = &http.Client{Transport: &http.Transport{}}

func get(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var keyLine = regexp.MustCompile(`API key:\s+(\S+)`)

func TestDevServerFirstStartAndRestart(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "admin.key")
	c := Config{DataDir: filepath.Join(dir, "data"), Dev: true, FirstAdminKeyFile: keyFile, AllowBYOK: true, GatewayRecordContent: true}

	s := start(t, c)
	m := keyLine.FindStringSubmatch(s.out.String())
	if m == nil {
		t.Fatalf("first start printed no API key:\n%s", s.out)
	}
	key := m[1]
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(keyFile)
	if strings.TrimSpace(string(b)) != key {
		t.Fatalf("key file holds %q, banner printed %q", b, key)
	}
	kf, err := os.Stat(filepath.Join(c.DataDir, "secret.key"))
	if err != nil || kf.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file: %v, mode %v", err, kf.Mode().Perm())
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, s.url+path, ""); code != http.StatusOK {
			t.Fatalf("%s = %d %s", path, code, body)
		}
	}
	if code, body := get(t, s.url+"/metrics", ""); code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics = %d", code)
	}
	code, body := get(t, s.url+"/api/v1/models", key)
	if code != http.StatusOK || !strings.Contains(body, "dev-openai") || !strings.Contains(body, "dev-anthropic") || !strings.Contains(body, "FAKE") {
		t.Fatalf("models = %d %s", code, body)
	}

	// A call through the gateway to the fake provider works end to end.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/gateway/dev-openai/v1/chat/completions",
		strings.NewReader(`{"model":"fake-echo","messages":[{"role":"user","content":"hello there"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	gb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(gb), "hello there") {
		t.Fatalf("gateway call = %d %s", resp.StatusCode, gb)
	}

	if err := s.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if strings.Contains(s.logs.String(), key) {
		t.Fatal("the admin API key reached the logs")
	}
	if strings.Contains(s.logs.String(), "fake-dev-provider-key") {
		t.Fatal("the dev provider key reached the logs")
	}

	// A second start on the same data keeps the admin and prints no key.
	s2 := start(t, c)
	if strings.Contains(s2.out.String(), "API key:") {
		t.Fatalf("restart printed a key again:\n%s", s2.out)
	}
	if code, _ := get(t, s2.url+"/api/v1/me", key); code != http.StatusOK {
		t.Fatalf("first admin key after restart: %d", code)
	}
}

func TestPostgresNeedsSecretKey(t *testing.T) {
	err := Run(context.Background(), Config{PostgresURL: "postgres://127.0.0.1:1/none", Listen: "127.0.0.1:0", Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "CHATD_SECRET_KEY") {
		t.Fatalf("err = %v, want a demand for CHATD_SECRET_KEY", err)
	}
}

func TestBadSecretKeyRefused(t *testing.T) {
	err := Run(context.Background(), Config{DataDir: t.TempDir(), SecretKey: secretValue("bm90LTMyLWJ5dGVz"), Listen: "127.0.0.1:0", Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "32") {
		t.Fatalf("err = %v, want a key size error", err)
	}
}

// TestShutdownWithOpenStream: an open chat event stream does not hold
// shutdown for its timeout, and a gateway call made just before shutdown
// has its record afterwards.
func TestShutdownWithOpenStream(t *testing.T) {
	dir := t.TempDir()
	c := Config{DataDir: filepath.Join(dir, "data"), Dev: true, ShutdownTimeout: 20 * time.Second}
	s := start(t, c)
	m := keyLine.FindStringSubmatch(s.out.String())
	if m == nil {
		t.Fatalf("no API key:\n%s", s.out)
	}
	key := m[1]

	post := func(path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, b := post("/api/v1/chats", `{"message":"hello"}`)
	if code != http.StatusCreated {
		t.Fatalf("create chat = %d %s", code, b)
	}
	var created struct {
		Chat struct {
			ID string `json:"id"`
		} `json:"chat"`
	}
	if err := json.Unmarshal(b, &created); err != nil || created.Chat.ID == "" {
		t.Fatalf("create chat: %v %s", err, b)
	}

	// An open stream, as a browser tab holds one.
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v1/chats/"+created.Chat.ID+"/stream", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream = %d", resp.StatusCode)
	}
	if _, err := resp.Body.Read(make([]byte, 1)); err != nil {
		t.Fatalf("stream read: %v", err)
	}
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		_, _ = io.Copy(io.Discard, resp.Body)
	}()

	code, b = post("/gateway/dev-openai/v1/chat/completions", `{"model":"fake-echo","messages":[{"role":"user","content":"just before shutdown"}]}`)
	if code != http.StatusOK {
		t.Fatalf("gateway call = %d %s", code, b)
	}

	begin := time.Now()
	if err := s.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Fatalf("shutdown took %v with a stream open; want well under its %v timeout", d, c.ShutdownTimeout)
	}
	<-streamDone

	db, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(c.DataDir, "chatd.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ins, err := db.ListInterceptions(t.Context(), store.InterceptionFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, in := range ins {
		if in.Source == store.SourceExternal && in.Endpoint == "/v1/chat/completions" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no record of the gateway call made before shutdown among %d", len(ins))
	}
}

func TestListenAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(context.Background(), Config{DataDir: t.TempDir(), Listen: ln.Addr().String(), Out: io.Discard,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "--listen") {
		t.Fatalf("err = %v, want a hint to choose another address with --listen", err)
	}
}

func TestResetAdmin(t *testing.T) {
	dir := t.TempDir()
	c := Config{DataDir: dir, AllowBYOK: true}
	s := start(t, c)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rc := c
	rc.Out = &out
	rc.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := ResetAdmin(context.Background(), rc, "admin"); err != nil {
		t.Fatalf("reset admin: %v", err)
	}
	m := keyLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("reset printed no key:\n%s", out.String())
	}
	s2 := start(t, c)
	if code, body := get(t, s2.url+"/api/v1/users", m[1]); code != http.StatusOK {
		t.Fatalf("recovery key on an admin endpoint: %d %s", code, body)
	}
	if err := ResetAdmin(context.Background(), rc, "nobody"); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("unknown user: %v", err)
	}
}
