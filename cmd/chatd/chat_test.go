package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/api"
	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/chat"
	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
	"github.com/chatd/chatd/internal/wire"
)

// newChatServer is the real API with a running chat daemon whose default
// model is the dev fake behind the real gateway. It returns the server URL
// and a member's API key.
func newChatServer(t *testing.T) (string, string) {
	t.Helper()
	return newChatServerLatency(t, 0)
}

// newChatServerLatency is newChatServer with the fake waiting latency
// before each streamed delta.
func newChatServerLatency(t *testing.T, latency time.Duration) (string, string) {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "chatd.db"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	kr, err := secret.NewKeyring(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	au := auth.New(auth.Config{Store: db, Logger: log})
	up := httptest.NewServer(llmtest.NewDev(llmtest.DevConfig{Latency: latency}))
	t.Cleanup(up.Close)
	gw, err := gateway.New(gateway.Config{Store: db, Auth: au, Keyring: kr, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = gw.Close(cctx)
	})
	sealed, err := kr.Seal(secret.New("sk-central"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.CreateProvider(ctx, store.Provider{Name: "fake", Type: store.ProviderOpenAI, BaseURL: up.URL + "/v1", Enabled: true, APIKeyCipher: sealed})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateModel(ctx, store.ModelConfig{ProviderID: p.ID, Model: llmtest.DevModelID, Enabled: true, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	svc, err := chat.New(chat.Config{Store: db, Chats: db, Router: route.New(route.Config{Store: db, Keyring: kr, Gateway: gw, Logger: log}), Logger: log, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = svc.Run(runCtx)
	}()
	t.Cleanup(func() {
		stop()
		<-ran
	})
	srv := httptest.NewServer(api.New(api.Config{Store: db, Auth: au, Keyring: kr, Logger: log, Chats: svc}))
	t.Cleanup(srv.Close)

	u, err := db.CreateUser(ctx, store.User{Username: "alice", Role: store.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	id, key, hash := auth.NewKey()
	if _, err := db.CreateAPIKey(ctx, store.APIKey{ID: id, UserID: u.ID, Name: "cli", Kind: store.APIKeyKindAPI, SecretHash: hash}); err != nil {
		t.Fatal(err)
	}
	return srv.URL, key.Reveal()
}

func TestChatCommand(t *testing.T) {
	t.Parallel()
	url, key := newChatServer(t)
	env := map[string]string{"CHATD_URL": url, "CHATD_API_KEY": key, "CHATD_CONFIG_DIR": t.TempDir()}

	out, errOut, err := execCLI(t, env, "", "chat", "hello from the terminal")
	if err != nil {
		t.Fatalf("chatd chat: %v\nstderr: %s", err, errOut)
	}
	if !strings.Contains(out, "hello from the terminal") {
		t.Fatalf("answer = %q, want the fake's echo", out)
	}
	id, ok := strings.CutPrefix(strings.SplitN(errOut, "\n", 2)[0], "chat ")
	if !ok || id == "" {
		t.Fatalf("stderr = %q, want the chat id first", errOut)
	}

	// The answer is printed once, not once live and again committed.
	if n := strings.Count(out, "hello from the terminal"); n != 1 {
		t.Fatalf("answer printed %d times: %q", n, out)
	}

	out = mustCLI(t, env, "", "chat", "send", id, "second question")
	if !strings.Contains(out, "second question") || strings.Contains(out, "hello from the terminal") {
		t.Fatalf("send printed %q", out)
	}

	out = mustCLI(t, env, "", "chat", "ls")
	if !strings.Contains(out, id) || !strings.Contains(out, "waiting") {
		t.Fatalf("ls = %q", out)
	}
	out = mustCLI(t, env, "", "chat", "show", id)
	for _, want := range []string{"hello from the terminal", "second question", "Status:", "waiting", "Cost:"} {
		if !strings.Contains(out, want) {
			t.Fatalf("show lacks %q:\n%s", want, out)
		}
	}
	out = mustCLI(t, env, "", "chat", "watch", id, "--until-idle")
	if !strings.Contains(out, "> hello from the terminal") || !strings.Contains(out, "> second question") {
		t.Fatalf("watch = %q", out)
	}

	_, _, err = execCLI(t, env, "", "chat", "interrupt", id)
	if err == nil || !strings.Contains(err.Error(), "no turn is running") {
		t.Fatalf("interrupt idle chat: %v", err)
	}
	_, _, err = execCLI(t, env, "", "chat", "show", "nope")
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("show unknown: %v", err)
	}

	out = mustCLI(t, env, "", "chat", "ls", "--archived", "--json")
	if got := decodeJSON[map[string][]map[string]any](t, out); len(got["chats"]) != 0 {
		t.Fatalf("archived = %v", got)
	}
}

func TestCostPairsCounts(t *testing.T) {
	t.Parallel()
	one := 0.5
	tests := []struct {
		name string
		cost wire.ChatCost
		want string
	}{
		{"priced", wire.ChatCost{CostUSD: &one}, "Cost"},
		{"unpriced", wire.ChatCost{UnpricedMessages: 2}, "Cost|Unpriced calls=2"},
		{"unmetered", wire.ChatCost{CostUSD: &one, UnmeteredMessages: 1}, "Cost|Unmetered calls=1 (interrupted before usage was reported)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, p := range costPairs(tt.cost) {
				if p[0] == "Cost" {
					got = append(got, p[0])
					continue
				}
				got = append(got, p[0]+"="+p[1])
			}
			if g := strings.Join(got, "|"); g != tt.want {
				t.Fatalf("pairs = %q, want %q", g, tt.want)
			}
		})
	}
}

// TestChatSendInterrupt: send --interrupt stops the running turn and
// streams the answer to the interrupting message, instead of printing
// "queued" and leaving.
func TestChatSendInterrupt(t *testing.T) {
	t.Parallel()
	// 50 ms per delta: the long first prompt streams for tens of seconds.
	url, key := newChatServerLatency(t, 50*time.Millisecond)
	env := map[string]string{"CHATD_URL": url, "CHATD_API_KEY": key, "CHATD_CONFIG_DIR": t.TempDir()}
	long := strings.Repeat("word ", 2000)
	id := strings.TrimSpace(mustCLI(t, env, "", "chat", "--detach", long))

	out, errOut, err := execCLI(t, env, "", "chat", "send", id, "--interrupt", "urgent question")
	if err != nil {
		t.Fatalf("send --interrupt: %v\nstderr: %s", err, errOut)
	}
	if !strings.Contains(errOut, "Interrupting the running turn") {
		t.Fatalf("stderr = %q, want it to say the turn is being interrupted", errOut)
	}
	if !strings.Contains(out, "urgent question") {
		t.Fatalf("stdout = %q, want the answer to the interrupting message", out)
	}
	show := mustCLI(t, env, "", "chat", "show", id)
	if strings.Index(show, "urgent question") < 0 || !strings.Contains(show, "waiting") {
		t.Fatalf("show = %q", show)
	}
}

// TestRendererMarksInterruptedAnswer: an answer cut short is followed by
// "[interrupted]", whether its text streamed live or came committed.
func TestRendererMarksInterruptedAnswer(t *testing.T) {
	t.Parallel()
	partial := wire.Message{Seq: 2, Role: wire.RoleAssistant, Parts: []wire.Part{{Type: wire.PartText, Text: "Hel"}}, EndReason: wire.EndInterrupted}
	complete := wire.Message{Seq: 2, Role: wire.RoleAssistant, Parts: []wire.Part{{Type: wire.PartText, Text: "Hello"}}}
	tests := []struct {
		name   string
		events []wire.Event
		want   string
	}{
		{"streamed", []wire.Event{
			{Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartTextDelta, Delta: "Hel"}},
			{Type: wire.EventMessage, Message: &partial},
		}, "Hel\n[interrupted]\n"},
		{"committed", []wire.Event{{Type: wire.EventMessage, Message: &partial}}, "Hel\n[interrupted]\n"},
		{"complete", []wire.Event{{Type: wire.EventMessage, Message: &complete}}, "Hello"},
		// Every turn's first step starts with a silent restart.
		{"first step", []wire.Event{
			{Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartRestart}},
			{Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartTextDelta, Delta: "Hello"}},
			{Type: wire.EventMessage, Message: &complete},
		}, "Hello"},
		{"taken over", []wire.Event{
			{Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartTextDelta, Delta: "He"}},
			{Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartRestart}},
			{Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartTextDelta, Delta: "Hello"}},
			{Type: wire.EventMessage, Message: &complete},
		}, "He\n[the step starts again]\nHello"},
		{"retried", []wire.Event{
			{Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartRestart, Attempt: 1}},
			{Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartTextDelta, Delta: "Hello"}},
			{Type: wire.EventMessage, Message: &complete},
		}, "[retrying the step, attempt 1]\nHello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// One buffer for stdout and stderr shows the order.
			var b bytes.Buffer
			r := &renderer{out: &b, errOut: &b, afterSeq: 1}
			for _, ev := range tt.events {
				if err := r.event(ev); err != nil {
					t.Fatal(err)
				}
			}
			if got := b.String(); got != tt.want {
				t.Fatalf("printed %q, want %q", got, tt.want)
			}
		})
	}
}

// TestChatShowMarksInterruptedAnswer: show prints "[interrupted]" after
// the text of an answer cut short, and nothing after a complete one.
func TestChatShowMarksInterruptedAnswer(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	msgs := wire.MessagePage{Messages: []wire.Message{
		{ID: "m1", ChatID: "c1", Seq: 1, Role: wire.RoleUser, Parts: []wire.Part{{Type: wire.PartText, Text: "hi"}}, CreatedAt: at},
		{ID: "m2", ChatID: "c1", Seq: 2, Role: wire.RoleAssistant, Parts: []wire.Part{{Type: wire.PartText, Text: "Hel"}}, EndReason: wire.EndInterrupted, CreatedAt: at},
		{ID: "m3", ChatID: "c1", Seq: 3, Role: wire.RoleUser, Parts: []wire.Part{{Type: wire.PartText, Text: "go on"}}, CreatedAt: at},
		{ID: "m4", ChatID: "c1", Seq: 4, Role: wire.RoleAssistant, Parts: []wire.Part{{Type: wire.PartText, Text: "Hello"}}, CreatedAt: at},
	}}
	mux := http.NewServeMux()
	reply := func(path string, v any) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v)
		})
	}
	reply("/api/v1/chats/c1", wire.ChatWithQueue{Chat: wire.Chat{ID: "c1", Status: wire.ChatWaiting, CreatedAt: at, UpdatedAt: at}, Queue: []wire.QueuedMessage{}})
	reply("/api/v1/chats/c1/messages", msgs)
	reply("/api/v1/chats/c1/cost", wire.ChatCost{ChatID: "c1", Children: []wire.ChildCost{}})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	env := map[string]string{"CHATD_URL": srv.URL, "CHATD_API_KEY": "k-secret", "CHATD_CONFIG_DIR": t.TempDir()}

	out := mustCLI(t, env, "", "chat", "show", "c1")
	if !strings.Contains(out, "[2] assistant:\nHel\n[interrupted]\n") {
		t.Fatalf("show lacks the mark after the partial answer:\n%s", out)
	}
	if n := strings.Count(out, "[interrupted]"); n != 1 {
		t.Fatalf("show marks %d answers, want 1:\n%s", n, out)
	}
}
