package chat

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/store/postgres/pgtest"
	"github.com/chatd/chatd/internal/store/sqlite"
	"github.com/chatd/chatd/internal/wire"
)

// chatDB is a store backend: both interfaces on one database.
type chatDB interface {
	store.Store
	store.Chats
}

// replicas is one database shared by several Services, as replicas share
// PostgreSQL, with the real gateway and router over a fake upstream.
type replicas struct {
	t      *testing.T
	db     chatDB
	router *route.Router
	log    *slog.Logger
	user   store.User
	key    string
	model  store.ModelConfig
}

func openBackend(t *testing.T, backend string) chatDB {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	switch backend {
	case "sqlite":
		db, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "chatd.db"), Logger: log})
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	case "postgres":
		db, err := postgres.Open(t.Context(), postgres.Config{URL: pgtest.NewDatabase(t), Logger: log})
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	t.Fatalf("unknown backend %q", backend)
	return nil
}

func newReplicas(t *testing.T, db chatDB, responses ...llmtest.Response) *replicas {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	k := make([]byte, secret.KeySize)
	_, _ = rand.Read(k)
	kr, err := secret.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Store: db, Auth: auth.New(auth.Config{Store: db, Logger: log}), Keyring: kr, Logger: log})
	if err != nil {
		t.Fatalf("new gateway: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = gw.Close(ctx)
	})
	r := &replicas{t: t, db: db, log: log}
	r.router = route.New(route.Config{Store: db, Keyring: kr, Gateway: gw, Logger: log})
	up := llmtest.NewServer(t, responses...)
	if r.user, err = db.CreateUser(ctx, store.User{Username: "alice", Role: store.RoleMember}); err != nil {
		t.Fatalf("create user: %v", err)
	}
	id, _, hash := auth.NewKey()
	if _, err := db.CreateAPIKey(ctx, store.APIKey{ID: id, UserID: r.user.ID, Name: "one", Kind: store.APIKeyKindAPI, SecretHash: hash}); err != nil {
		t.Fatalf("create key: %v", err)
	}
	r.key = id
	central, err := kr.Seal(secret.New("sk-central"))
	if err != nil {
		t.Fatal(err)
	}
	prov, err := db.CreateProvider(ctx, store.Provider{Name: "fake", Type: store.ProviderOpenAI, BaseURL: up.URL + "/v1", Enabled: true, APIKeyCipher: central, APIKeyHint: "sk-…"})
	if err != nil {
		t.Fatalf("create provider: %v", err)
	}
	if r.model, err = db.CreateModel(ctx, store.ModelConfig{ProviderID: prov.ID, Model: "gpt-4o-mini", DisplayName: "mini", Enabled: true}); err != nil {
		t.Fatalf("create model: %v", err)
	}
	return r
}

// replica returns a Service on the shared database, as one replica.
func (r *replicas) replica(name string) *Service {
	r.t.Helper()
	s, err := New(Config{
		Store: r.db, Chats: r.db, Router: r.router, Logger: r.log, WorkerID: name,
		Workers: 2, PollInterval: 20 * time.Millisecond, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond,
		Lease: 5 * time.Second, WatchPollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		r.t.Fatalf("new service: %v", err)
	}
	return s
}

func (r *replicas) visible(chatID string) []int64 {
	r.t.Helper()
	ms, err := r.db.ListMessages(r.t.Context(), chatID, 0, 1000)
	if err != nil {
		r.t.Fatalf("list messages: %v", err)
	}
	var seqs []int64
	for _, m := range ms {
		seqs = append(seqs, m.Seq)
	}
	return seqs
}

// transcript is what a client builds from the events it reads.
type transcript struct {
	t    *testing.T
	msgs map[int64]bool // seqs held
	got  map[int64]int  // deliveries per seq
	last string         // last event id
}

func newTranscript(t *testing.T) *transcript {
	return &transcript{t: t, msgs: map[int64]bool{}, got: map[int64]int{}}
}

// apply takes ev as a client does, and reports the truncation it saw.
func (tr *transcript) apply(ev wire.Event) {
	tr.t.Helper()
	if ev.ID != "" {
		tr.last = ev.ID
	}
	switch ev.Type {
	case wire.EventMessage:
		tr.got[ev.Message.Seq]++
		if tr.got[ev.Message.Seq] > 1 {
			tr.t.Fatalf("message %d delivered %d times", ev.Message.Seq, tr.got[ev.Message.Seq])
		}
		tr.msgs[ev.Message.Seq] = true
	case wire.EventTruncate:
		for s := range tr.msgs {
			if s >= ev.Truncate.FromSeq {
				delete(tr.msgs, s)
			}
		}
	}
}

func (tr *transcript) held() []int64 {
	var s []int64
	for seq := range tr.msgs {
		s = append(s, seq)
	}
	slices.Sort(s)
	return s
}

// until applies events to tr until match, which it returns.
func (tr *transcript) until(events <-chan wire.Event, match func(wire.Event) bool) wire.Event {
	tr.t.Helper()
	return next(tr.t, events, func(ev wire.Event) bool {
		tr.apply(ev)
		return match(ev)
	})
}

// TestWatcherOnOtherReplica runs a turn on replica A while a watcher is
// subscribed on replica B, which runs no workers: the watcher sees every
// committed message once and the final waiting status, through B's
// poller. An edit made through A then reaches it as a truncate event
// before the new user message.
func TestWatcherOnOtherReplica(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := openBackend(t, backend)
			r := newReplicas(t, db,
				toolReply("call_1", "current_time", "{}"), textReply("it is ", "now"),
				textReply("edited ", "answer"))
			a, b := r.replica("a"), r.replica("b")
			c, err := a.CreateChat(t.Context(), store.NewChat{OwnerID: r.user.ID, Title: "t", ModelConfigID: r.model.ID, First: text("what time is it"), APIKeyID: r.key})
			if err != nil {
				t.Fatalf("create chat: %v", err)
			}
			events := subscribe(t, b, c.ID, "")
			tr := newTranscript(t)
			tr.until(events, status(store.ChatRunning))
			run(t, a)

			tr.until(events, status(store.ChatWaiting))
			want := r.visible(c.ID)
			if len(want) != 4 {
				t.Fatalf("committed %d messages, want 4 (user, tool call, tool result, answer)", len(want))
			}
			if got := tr.held(); !slices.Equal(got, want) {
				t.Fatalf("watcher on b holds %v, committed %v", got, want)
			}
			for _, seq := range want {
				if tr.got[seq] != 1 {
					t.Fatalf("message %d delivered %d times", seq, tr.got[seq])
				}
			}
			beforeEdit, heldBefore := tr.last, want

			ms, err := db.ListMessages(t.Context(), c.ID, 0, 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := a.Edit(t.Context(), c.ID, ms[0].ID, text("what day is it"), r.key); err != nil {
				t.Fatalf("edit: %v", err)
			}
			trunc := tr.until(events, func(ev wire.Event) bool { return ev.Type == wire.EventTruncate || ev.Type == wire.EventMessage })
			if trunc.Type != wire.EventTruncate || trunc.Truncate.FromSeq != ms[0].Seq || trunc.ID != "" {
				t.Fatalf("first event after the edit = %+v, want a truncate from %d without id", trunc, ms[0].Seq)
			}
			tr.until(events, func(ev wire.Event) bool {
				return ev.Type == wire.EventMessage && ev.Message.Role == string(store.RoleAssistant)
			})
			tr.until(events, status(store.ChatWaiting))
			want = r.visible(c.ID)
			if got := tr.held(); !slices.Equal(got, want) {
				t.Fatalf("after the edit the watcher holds %v, committed %v", got, want)
			}

			// A watcher that left before the edit resumes on b.
			resumed := newTranscript(t)
			for _, seq := range heldBefore {
				resumed.msgs[seq] = true
			}
			rev := subscribe(t, b, c.ID, beforeEdit)
			resumed.until(rev, func(ev wire.Event) bool { return ev.Type == wire.EventQueue })
			if got := resumed.held(); !slices.Equal(got, want) {
				t.Fatalf("resumed watcher holds %v, committed %v", got, want)
			}
		})
	}
}

// TestTruncateAdmit checks who is told of a truncation: only a watcher that
// may hold deleted messages and has not seen the message after the gap.
func TestTruncateAdmit(t *testing.T) {
	t.Parallel()
	ev := hubEvent{typ: wire.EventTruncate, from: 3, s: 7}
	tests := []struct {
		name string
		seen int64
		want bool
	}{
		{name: "before the gap", seen: 2, want: false},
		{name: "first deleted", seen: 3, want: true},
		{name: "last deleted", seen: 6, want: true},
		{name: "has the next message", seen: 7, want: false},
		{name: "fresh", seen: 0, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := cursor{V: 1, Q: 1, S: tt.seen, P: 1}
			before := c
			if got := c.admit(ev); got != tt.want {
				t.Fatalf("admit at seq %d = %v, want %v", tt.seen, got, tt.want)
			}
			if c != before {
				t.Fatalf("truncate moved the cursor from %s to %s", before, c)
			}
		})
	}
}

// TestEditTruncatesOnResume edits on one replica; a watcher resuming from
// the new user message is not told again, one resuming from before the
// edit is.
func TestEditTruncatesOnResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t, textReply("one"), textReply("two"))
	s := e.service(nil)
	c := e.newChat(s, "first")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	tr := newTranscript(t)
	tr.until(events, status(store.ChatWaiting))
	before, held := tr.last, tr.held()
	ms := e.messages(c.ID)
	if _, _, err := s.Edit(t.Context(), c.ID, ms[0].ID, text("again"), e.key); err != nil {
		t.Fatalf("edit: %v", err)
	}
	var afterUser string
	tr.until(events, func(ev wire.Event) bool {
		if ev.Type == wire.EventMessage && ev.Message.Role == string(store.RoleUser) {
			afterUser = ev.ID
		}
		return ev.Type == wire.EventMessage && ev.Message.Role == string(store.RoleAssistant)
	})
	tr.until(events, status(store.ChatWaiting))
	var seqs []int64
	for _, m := range e.messages(c.ID) {
		seqs = append(seqs, m.Seq)
	}
	if got := tr.held(); !slices.Equal(got, seqs) {
		t.Fatalf("live watcher holds %v, committed %v", got, seqs)
	}

	tests := []struct {
		name      string
		from      string
		held      []int64
		truncated bool
	}{
		{name: "from before the edit", from: before, held: held, truncated: true},
		{name: "from the new message", from: afterUser, held: seqs[:1], truncated: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTranscript(t)
			for _, s := range tt.held {
				r.msgs[s] = true
			}
			truncated := false
			r.until(subscribe(t, s, c.ID, tt.from), func(ev wire.Event) bool {
				truncated = truncated || ev.Type == wire.EventTruncate
				return ev.Type == wire.EventQueue
			})
			if truncated != tt.truncated {
				t.Fatalf("truncate event = %v, want %v", truncated, tt.truncated)
			}
			if got := r.held(); !slices.Equal(got, seqs) {
				t.Fatalf("resumed watcher holds %v, committed %v", got, seqs)
			}
		})
	}
}
