package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/chat"
	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/sse"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
	"github.com/chatd/chatd/internal/wire"
)

// debugEnv is a chat server with debug recording wired in, over a fake
// provider whose central key is planted.
type debugEnv struct {
	*chatEnv
	dbg     *chatdebug.Service
	stop    func() // stops the chat service and waits for it
	upURL   string
	central string
	kr      *secret.Keyring
	provID  string
}

type debugOptions struct {
	direct bool
	// clock, if set, is the debug service's database clock.
	clock func(context.Context) (time.Time, error)
}

func newDebugEnv(t *testing.T, o debugOptions) *debugEnv {
	t.Helper()
	ctx := t.Context()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	path := filepath.Join(t.TempDir(), "chatd.db")
	db, err := sqlite.Open(ctx, sqlite.Config{Path: path, Logger: log})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	kr, err := secret.NewKeyring(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now().UTC()}
	au := auth.New(auth.Config{Store: db, Logger: log, Now: c.Now})
	up := &gatedUpstream{dev: llmtest.NewDev(llmtest.DevConfig{}), started: make(chan struct{}), release: make(chan struct{}), done: make(chan struct{})}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	t.Cleanup(func() { close(up.done) })
	gw, err := gateway.New(gateway.Config{Store: db, Auth: au, Keyring: kr, Logger: log, AllowBYOK: true})
	if err != nil {
		t.Fatalf("new gateway: %v", err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = gw.Close(cctx)
	})
	tag := make([]byte, 12)
	_, _ = rand.Read(tag)
	central := "sk-CENTRALDEBUGCANARY" + hex.EncodeToString(tag)
	sealed, err := kr.Seal(secret.New(central))
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.CreateProvider(ctx, store.Provider{Name: "fake", Type: store.ProviderOpenAI, BaseURL: upSrv.URL + "/v1", Enabled: true, APIKeyCipher: sealed, APIKeyHint: secret.Hint(central)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.CreateModel(ctx, store.ModelConfig{ProviderID: p.ID, Model: llmtest.DevModelID, DisplayName: "fake", Enabled: true, IsDefault: true})
	if err != nil {
		t.Fatal(err)
	}
	dbg := chatdebug.New(chatdebug.Config{
		Runs: db, UserSettings: db, Settings: db, Clock: cmpClock(o.clock, db.Now), Logger: log,
	})
	rt := route.New(route.Config{Store: db, Keyring: kr, Gateway: gw, Direct: o.direct, AllowBYOK: true, Debug: dbg, Logger: log})
	svc, err := chat.New(chat.Config{Store: db, Chats: db, Router: rt, Debug: dbg, Logger: log, Workers: 2, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = svc.Run(runCtx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-ran
			cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer ccancel()
			_ = dbg.Close(cctx)
		})
	}
	t.Cleanup(stop)
	a := New(Config{Store: db, Auth: au, Keyring: kr, Logger: log, Now: c.Now, Chats: svc, StreamHeartbeat: time.Hour, Debug: dbg, AllowBYOK: true})
	ended := make(chan string, 64)
	a.streamEnded = func(id string) {
		select {
		case ended <- id:
		default: // nobody is counting beyond the buffer
		}
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	e := &debugEnv{
		chatEnv: &chatEnv{
			env:          &env{t: t, db: db, dbPath: path, srv: srv, clock: c, logs: logs, auth: au},
			up:           up,
			modelID:      m.ID,
			streamsEnded: ended,
		},
		dbg: dbg, stop: stop, upURL: upSrv.URL, central: central, kr: kr, provID: p.ID,
	}
	e.adminID, e.admin = e.seedUser("root", store.RoleAdmin, "root-password")
	e.memberID, e.member = e.seedUser("alice", store.RoleMember, "alice-password")
	_, e.bob = e.seedUser("bob", store.RoleMember, "bob-password")
	e.ownerID, e.owner = e.memberID, e.member
	e.ownerKe, _, _ = strings.Cut(e.owner, "-")
	return e
}

func cmpClock(c, def func(context.Context) (time.Time, error)) func(context.Context) (time.Time, error) {
	if c != nil {
		return c
	}
	return def
}

type debugRunsAnswer struct {
	Runs []wire.DebugRun `json:"runs"`
}

type debugRunAnswer struct {
	Run   wire.DebugRun    `json:"run"`
	Steps []wire.DebugStep `json:"steps"`
}

// turn sends a message to a chat and waits for the turn to end.
func (e *debugEnv) turn(c wire.Chat, msg string) wire.Chat {
	e.t.Helper()
	var cur wire.ChatWithQueue
	e.call("GET", "/api/v1/chats/"+c.ID, e.owner, nil, http.StatusOK, &cur)
	var sent wire.SendResult
	e.call("POST", "/api/v1/chats/"+c.ID+"/messages", e.owner, map[string]any{"message": msg}, http.StatusCreated, &sent)
	return e.waitIdle(c.ID, cur.Chat.SnapshotVersion)
}

// newIdleChat creates a titled chat (no title run) and waits for its first
// turn.
func (e *debugEnv) newIdleChat(msg string) wire.Chat {
	e.t.Helper()
	c := e.createChat(map[string]any{"message": msg, "title": "t"})
	return e.waitIdle(c.ID, c.SnapshotVersion)
}

func (e *debugEnv) runs(chatID, key string) []wire.DebugRun {
	e.t.Helper()
	var out debugRunsAnswer
	e.call("GET", "/api/v1/chats/"+chatID+"/debug/runs", key, nil, http.StatusOK, &out)
	return out.Runs
}

// TestDebugRecordedTurn records a turn through the gateway and directly:
// a completed chat_turn run with a step, its usage and the provider
// attempt, readable by the owner and an admin.
func TestDebugRecordedTurn(t *testing.T) {
	t.Parallel()
	for _, direct := range []bool{false, true} {
		name := "gateway"
		if direct {
			name = "direct"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newDebugEnv(t, debugOptions{direct: direct})
			c := e.newIdleChat("first, unrecorded")
			if got := e.runs(c.ID, e.owner); len(got) != 0 {
				t.Fatalf("runs before recording was on: %d", len(got))
			}
			var patched wire.ChatWithQueue
			e.call("PATCH", "/api/v1/chats/"+c.ID, e.owner, map[string]any{"debug": true}, http.StatusOK, &patched)
			if patched.Chat.DebugOverride == nil || !*patched.Chat.DebugOverride {
				t.Fatalf("chat debug = %v, want true", patched.Chat.DebugOverride)
			}
			e.turn(c, "second, recorded")
			runs := e.runs(c.ID, e.owner)
			if len(runs) != 1 {
				t.Fatalf("got %d runs, want 1", len(runs))
			}
			r := runs[0]
			ms := e.messages(c.ID)
			lastUser := ""
			for _, m := range ms {
				if m.Role == wire.RoleUser {
					lastUser = m.ID
				}
			}
			if r.Kind != store.DebugKindChatTurn || r.Status != string(store.DebugCompleted) || r.ChatID != c.ID ||
				r.MessageID != lastUser || r.ModelConfigID != e.modelID || r.Provider != "fake" || r.Model != llmtest.DevModelID || r.FinishedAt == nil {
				t.Fatalf("run = %+v", r)
			}
			for _, key := range []string{e.owner, e.admin} {
				var d debugRunAnswer
				e.call("GET", "/api/v1/chats/"+c.ID+"/debug/runs/"+r.ID, key, nil, http.StatusOK, &d)
				if len(d.Steps) == 0 {
					t.Fatal("run has no steps")
				}
				st := d.Steps[0]
				if st.Number != 1 || st.Operation != chatdebug.OpStream || st.Status != string(store.DebugCompleted) {
					t.Fatalf("step = %+v", st)
				}
				if !bytes.Contains(st.Response, []byte(`"output_tokens"`)) || !bytes.Contains(st.Request, []byte("second, recorded")) {
					t.Fatalf("step request %s response %s", st.Request, st.Response)
				}
				if len(st.Attempts) != 1 {
					t.Fatalf("step has %d attempts, want 1", len(st.Attempts))
				}
				a := st.Attempts[0]
				if a.URL != e.upURL+"/v1/chat/completions" || a.Status != http.StatusOK || a.Method != "POST" {
					t.Fatalf("attempt %s %s = %d, want the provider's URL %s/v1/chat/completions", a.Method, a.URL, a.Status, e.upURL)
				}
				if got := a.RequestHeaders.Get("Authorization"); got != "[REDACTED]" {
					t.Fatalf("attempt Authorization = %q, want [REDACTED]", got)
				}
				if a.ResponseBody == "" || a.DurationMS <= 0 {
					t.Fatalf("attempt response body %q, duration %v", a.ResponseBody, a.DurationMS)
				}
			}
			e.stop()
			e.checkNoSecret([]string{c.ID}, e.central, e.owner)
		})
	}
}

// checkNoSecret fails if any planted value is in the debug tables (read
// through the store), in the raw database files, or in an API answer.
func (e *debugEnv) checkNoSecret(chatIDs []string, secrets ...string) {
	e.t.Helper()
	ctx := context.Background()
	var dump bytes.Buffer
	for _, id := range chatIDs {
		runs, err := e.db.ListDebugRuns(ctx, id, 200)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range runs {
			run, steps, err := e.db.GetDebugRun(ctx, r.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			b, _ := json.Marshal(map[string]any{"run": run, "steps": steps})
			dump.Write(b)
		}
	}
	if dump.Len() == 0 {
		e.t.Fatal("no debug recording to check")
	}
	files, _ := filepath.Glob(e.dbPath + "*")
	var raw bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			e.t.Fatal(err)
		}
		raw.Write(b)
	}
	e.mu.Lock()
	answers := strings.Join(e.bodies, "\n")
	e.mu.Unlock()
	for _, s := range secrets {
		for what, hay := range map[string]string{"debug tables": dump.String(), "database files": raw.String(), "API answers": answers} {
			if strings.Contains(hay, s) {
				e.t.Fatalf("%s contain a planted secret (%d chars)", what, len(s))
			}
		}
	}
}

// TestDebugCanary plants the central key, a BYOK key and chatd API keys,
// records turns with both credentials, and finds none of them in the
// debug tables, the database files or any answer.
func TestDebugCanary(t *testing.T) {
	t.Parallel()
	for _, direct := range []bool{false, true} {
		t.Run(map[bool]string{false: "gateway", true: "direct"}[direct], func(t *testing.T) {
			t.Parallel()
			e := newDebugEnv(t, debugOptions{direct: direct})
			tag := make([]byte, 12)
			_, _ = rand.Read(tag)
			byok := "sk-BYOKDEBUGCANARY" + hex.EncodeToString(tag)
			e.call("PUT", "/api/v1/provider-keys/fake", e.owner, map[string]any{"api_key": byok}, http.StatusOK, nil)
			e.call("PATCH", "/api/v1/settings/deployment", e.admin, map[string]any{"debug_recording": true}, http.StatusOK, nil)
			// The owner's turns use the BYOK key; bob's the central key.
			c := e.newIdleChat("canary turn with my own key")
			var bobChat wire.ChatWithQueue
			e.call("POST", "/api/v1/chats", e.bob, map[string]any{"message": "canary turn with the central key", "title": "t"}, http.StatusCreated, &bobChat)
			waitIdleAs(e, bobChat.Chat.ID, e.bob)
			for _, id := range []string{c.ID, bobChat.Chat.ID} {
				runs := e.runs(id, e.admin)
				if len(runs) != 1 || runs[0].Status != string(store.DebugCompleted) {
					t.Fatalf("chat %s: runs %+v, want one completed", id, runs)
				}
				e.do("GET", "/api/v1/chats/"+id+"/debug/runs/"+runs[0].ID, e.admin, nil)
			}
			e.stop()
			e.checkNoSecret([]string{c.ID, bobChat.Chat.ID}, e.central, byok, e.owner, e.bob, e.admin)
			if strings.Contains(e.logs.String(), e.central) || strings.Contains(e.logs.String(), byok) {
				t.Fatal("logs contain a planted provider key")
			}
		})
	}
}

// waitIdleAs polls the chat as key until no turn runs; the env's stream
// helper reads as the owner.
func waitIdleAs(e *debugEnv, id, key string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/chats/"+id+"/stream", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	r := sse.NewReader(resp.Body)
	for {
		raw, err := r.Next()
		if err != nil {
			e.t.Fatalf("read stream: %v", err)
		}
		var ev wire.Event
		if json.Unmarshal(raw.Data, &ev) == nil && ev.Type == wire.EventChat && !ev.Chat.Busy() {
			if ms := e.messagesAs(id, key); len(ms) > 0 && ms[len(ms)-1].Role == wire.RoleAssistant {
				return
			}
		}
	}
}

func (e *debugEnv) messagesAs(id, key string) []wire.Message {
	e.t.Helper()
	var out wire.MessagePage
	e.call("GET", "/api/v1/chats/"+id+"/messages", key, nil, http.StatusOK, &out)
	return out.Messages
}

// TestDebugPrecedence switches recording through the API at each level:
// the chat's override beats the user's setting, which beats the
// deployment's.
func TestDebugPrecedence(t *testing.T) {
	t.Parallel()
	e := newDebugEnv(t, debugOptions{})
	recorded := func(name string) bool {
		t.Helper()
		c := e.newIdleChat(name)
		return len(e.runs(c.ID, e.owner)) > 0
	}
	if recorded("default") {
		t.Fatal("recorded by default")
	}
	e.call("PATCH", "/api/v1/settings/deployment", e.admin, map[string]any{"debug_recording": true}, http.StatusOK, nil)
	if !recorded("deployment on") {
		t.Fatal("not recorded with the deployment setting on")
	}
	var us wire.UserSettings
	e.call("PATCH", "/api/v1/settings/me", e.owner, map[string]any{"debug_recording": false}, http.StatusOK, &us)
	if us.DebugRecording == nil || *us.DebugRecording {
		t.Fatalf("user debug_recording = %v, want false", us.DebugRecording)
	}
	c := e.newIdleChat("user off")
	if len(e.runs(c.ID, e.owner)) != 0 {
		t.Fatal("recorded with the user setting off")
	}
	e.call("PATCH", "/api/v1/chats/"+c.ID, e.owner, map[string]any{"debug": true}, http.StatusOK, nil)
	e.turn(c, "chat on")
	if len(e.runs(c.ID, e.owner)) != 1 {
		t.Fatal("not recorded with the chat override on")
	}
	var patched wire.ChatWithQueue
	e.call("PATCH", "/api/v1/chats/"+c.ID, e.owner, map[string]any{"debug": nil}, http.StatusOK, &patched)
	if patched.Chat.DebugOverride != nil {
		t.Fatalf("chat debug = %v after null, want null", *patched.Chat.DebugOverride)
	}
	e.turn(c, "chat inherits: user off")
	if len(e.runs(c.ID, e.owner)) != 1 {
		t.Fatal("recorded after the chat override was cleared, with the user setting off")
	}
	e.call("PATCH", "/api/v1/settings/me", e.owner, map[string]any{"debug_recording": nil}, http.StatusOK, &us)
	if us.DebugRecording != nil {
		t.Fatal("user debug_recording not cleared")
	}
	e.turn(c, "everything inherits: deployment on")
	if len(e.runs(c.ID, e.owner)) != 2 {
		t.Fatal("not recorded once the deployment decides again")
	}
}

// TestDebugAuthorization: the owner and admins read a chat's recordings;
// another member gets the 404 of a missing chat.
func TestDebugAuthorization(t *testing.T) {
	t.Parallel()
	e := newDebugEnv(t, debugOptions{})
	c := e.createChat(map[string]any{"message": "hello", "title": "t"})
	e.waitIdle(c.ID, c.SnapshotVersion)
	e.call("PATCH", "/api/v1/chats/"+c.ID, e.owner, map[string]any{"debug": true}, http.StatusOK, nil)
	e.turn(c, "recorded")
	runs := e.runs(c.ID, e.owner)
	if len(runs) != 1 {
		t.Fatalf("got %d runs, want 1", len(runs))
	}
	other := e.newIdleChat("another chat")
	base := "/api/v1/chats/" + c.ID + "/debug"
	tests := []struct {
		name, path, key string
		want            int
	}{
		{"owner runs", base + "/runs", e.owner, http.StatusOK},
		{"admin runs", base + "/runs", e.admin, http.StatusOK},
		{"member runs", base + "/runs", e.bob, http.StatusNotFound},
		{"owner run", base + "/runs/" + runs[0].ID, e.owner, http.StatusOK},
		{"admin run", base + "/runs/" + runs[0].ID, e.admin, http.StatusOK},
		{"member run", base + "/runs/" + runs[0].ID, e.bob, http.StatusNotFound},
		{"member stream", base + "/stream", e.bob, http.StatusNotFound},
		{"run of another chat", "/api/v1/chats/" + other.ID + "/debug/runs/" + runs[0].ID, e.owner, http.StatusNotFound},
		{"unknown run", base + "/runs/nope", e.owner, http.StatusNotFound},
		{"unknown chat", "/api/v1/chats/nope/debug/runs", e.admin, http.StatusNotFound},
		{"no key", base + "/runs", "", http.StatusUnauthorized},
		{"limit zero", base + "/runs?limit=0", e.owner, http.StatusBadRequest},
		{"limit too big", base + "/runs?limit=201", e.owner, http.StatusBadRequest},
		{"limit max", base + "/runs?limit=200", e.owner, http.StatusOK},
		{"member patches debug", "PATCH /api/v1/chats/" + c.ID, e.bob, http.StatusNotFound},
		{"admin patches debug", "PATCH /api/v1/chats/" + c.ID, e.admin, http.StatusNotFound},
	}
	for _, tt := range tests {
		method, path := "GET", tt.path
		var body any
		if m, p, ok := strings.Cut(tt.path, " "); ok {
			method, path, body = m, p, map[string]any{"debug": true}
		}
		if got, b := e.do(method, path, tt.key, body); got != tt.want {
			t.Fatalf("%s: %s %s = %d, want %d (%s)", tt.name, method, path, got, tt.want, b)
		}
	}
}

// TestDebugStream watches a chat's debug view and sees a run event when a
// recorded turn starts.
func TestDebugStream(t *testing.T) {
	t.Parallel()
	e := newDebugEnv(t, debugOptions{})
	c := e.newIdleChat("hello")
	e.call("PATCH", "/api/v1/chats/"+c.ID, e.owner, map[string]any{"debug": true}, http.StatusOK, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/chats/"+c.ID+"/debug/stream", nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	e.turn(c, "recorded")
	r := sse.NewReader(resp.Body)
	raw, err := r.Next()
	if err != nil {
		t.Fatalf("read debug stream: %v", err)
	}
	var ev wire.DebugEvent
	if raw.Event != "run" || json.Unmarshal(raw.Data, &ev) != nil || ev.ChatID != c.ID || ev.RunID == "" {
		t.Fatalf("event %q %s", raw.Event, raw.Data)
	}
}

// TestDebugCleanup: an edit deletes the recordings of the turns it
// truncated but keeps the new turn's; archiving deletes the rest.
func TestDebugCleanup(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		cut time.Time // the database clock the cleanup sees, minus the margin
	)
	const margin = 30 * time.Second
	clock := func(context.Context) (time.Time, error) {
		mu.Lock()
		defer mu.Unlock()
		return cut.Add(margin), nil
	}
	e := newDebugEnv(t, debugOptions{clock: clock})
	e.call("PATCH", "/api/v1/settings/me", e.owner, map[string]any{"debug_recording": true}, http.StatusOK, nil)
	c := e.newIdleChat("first")
	e.turn(c, "second")
	old := e.runs(c.ID, e.owner)
	if len(old) != 2 {
		t.Fatalf("got %d runs, want 2", len(old))
	}
	ms := e.messages(c.ID)
	// A lagging replica: its clock reads just after the old turns, so the
	// turn the edit starts is newer than the cutoff.
	mu.Lock()
	cut = old[0].UpdatedAt.Add(time.Millisecond)
	mu.Unlock()
	var edited wire.SendResult
	e.call("PUT", "/api/v1/chats/"+c.ID+"/messages/"+ms[len(ms)-2].ID, e.owner, map[string]any{"message": "second, edited"}, http.StatusOK, &edited)
	e.waitIdle(c.ID, edited.Chat.SnapshotVersion)
	e.stop()
	runs := e.runs(c.ID, e.owner)
	ids := map[string]bool{}
	for _, r := range runs {
		ids[r.ID] = true
	}
	if len(runs) != 2 || !ids[old[1].ID] || ids[old[0].ID] {
		t.Fatalf("after the edit: runs %v, want the first turn's %s and the new turn's", ids, old[1].ID)
	}

	e2 := newDebugEnv(t, debugOptions{})
	e2.call("PATCH", "/api/v1/settings/me", e2.owner, map[string]any{"debug_recording": true}, http.StatusOK, nil)
	c2 := e2.newIdleChat("to archive")
	if len(e2.runs(c2.ID, e2.owner)) != 1 {
		t.Fatal("no run to clean up")
	}
	e2.call("PATCH", "/api/v1/chats/"+c2.ID, e2.owner, map[string]any{"archived": true}, http.StatusOK, nil)
	e2.stop()
	if got := e2.runs(c2.ID, e2.owner); len(got) != 0 {
		t.Fatalf("after archiving: %d runs, want 0", len(got))
	}
}

// TestDebugOnCreate: "debug" on create records the chat's first turn and
// its title run (true), or neither whatever the deployment says (false);
// a chat turn's run is summarised by its steps.
func TestDebugOnCreate(t *testing.T) {
	t.Parallel()
	e := newDebugEnv(t, debugOptions{})
	e.call("PATCH", "/api/v1/settings/deployment", e.admin, map[string]any{"debug_recording": true}, http.StatusOK, nil)

	// createTitled creates an untitled chat and waits for its first turn
	// and its generated title (set after the title run finished).
	createTitled := func(debug any) wire.Chat {
		t.Helper()
		c := e.createChat(map[string]any{"message": "tell me about otters", "debug": debug})
		s := e.openStream(c.ID, "", false)
		defer s.close()
		for {
			ev := s.next()
			if ev.Type == wire.EventChat && ev.Chat.Title != "" && ev.Chat.SnapshotVersion > c.SnapshotVersion && !ev.Chat.Busy() {
				return *ev.Chat
			}
		}
	}

	on := createTitled(true)
	if on.DebugOverride == nil || !*on.DebugOverride {
		t.Fatalf("chat debug = %v, want true", on.DebugOverride)
	}
	kinds := map[string]wire.DebugRun{}
	for _, r := range e.runs(on.ID, e.owner) {
		kinds[r.Kind] = r
	}
	turn, ok := kinds[store.DebugKindChatTurn]
	if !ok {
		t.Fatalf("no chat_turn run among %+v", kinds)
	}
	if turn.Status != string(store.DebugCompleted) || turn.Summary != "1 step, 0 tool calls, finish: stop" {
		t.Fatalf("chat_turn run status %q summary %q, want completed with %q", turn.Status, turn.Summary, "1 step, 0 tool calls, finish: stop")
	}
	if title, ok := kinds[store.DebugKindTitle]; !ok || !store.DebugStatus(title.Status).Final() {
		t.Fatalf("title run = %+v (found %v), want a finished run", title, ok)
	}

	off := createTitled(false)
	if got := e.runs(off.ID, e.owner); len(got) != 0 {
		t.Fatalf("%d runs of a chat created with debug false", len(got))
	}
	inherit := createTitled(nil)
	if inherit.DebugOverride != nil || len(e.runs(inherit.ID, e.owner)) != 2 {
		t.Fatalf("chat created with debug null: override %v, want nil and two runs", inherit.DebugOverride)
	}
	e.fail("POST", "/api/v1/chats", e.owner, map[string]any{"message": "hi", "debug": "yes"}, http.StatusBadRequest)
}
