package chat

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/wire"
)

// Live parts across replicas: a turn runs on replica a, a watcher is on
// replica b. Each test runs on PostgreSQL (NOTIFY, skipped without
// CHATD_TEST_POSTGRES_URL) and on SQLite with memBus, an in-memory relay
// that checks payloads as PostgreSQL would.

// relayBackends are the stores the relay tests run on.
var relayBackends = []string{"postgres", "sqlite"}

// memBus is a PartRelay in memory for replicas of one process.
type memBus struct {
	t    *testing.T
	mu   sync.Mutex
	subs map[chan string]struct{} // guarded by mu
}

func (b *memBus) PublishParts(ctx context.Context, payloads []string) error {
	for _, p := range payloads {
		if len(p) > postgres.MaxNotifyPayload || !utf8.ValidString(p) || strings.ContainsRune(p, 0) {
			b.t.Errorf("payload PostgreSQL would refuse (%d bytes): %.80q", len(p), p)
			return fmt.Errorf("publish parts: %w", store.ErrInvalid)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		for _, p := range payloads {
			select {
			case ch <- p:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

func (b *memBus) ListenParts(ctx context.Context, listening func(), deliver func(string)) error {
	ch := make(chan string, 4096)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}()
	listening()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-ch:
			deliver(p)
		}
	}
}

// relayed is a chat created on replica a, which runs its turn with the
// first streamed event (the role chunk) released, and replica b, running
// and listening, which never gets the turn (a holds its lease).
type relayed struct {
	*replicas
	a, b *Service
	chat store.Chat
	gate chan struct{}
	// startB starts replica b and waits until it listens.
	startB func()
}

func newRelayed(t *testing.T, backend string, first llmtest.Response, subscribeA func(*Service, string)) *relayed {
	t.Helper()
	return newRelayedWith(t, backend, first, relayOpts{subscribeA: subscribeA})
}

// relayOpts vary newRelayed's setup.
type relayOpts struct {
	// subscribeA, if set, is called once the chat exists, before its
	// turn streams.
	subscribeA func(*Service, string)
	// more are the upstream's responses after the first.
	more []llmtest.Response
	// bPoll is b's WatchPollInterval; if zero, 10ms.
	bPoll time.Duration
	// bus, if set, wraps the replicas' relay (to make it fail).
	bus func(PartRelay) PartRelay
	// holdTimeout, if set, replaces relayHoldTimeout.
	holdTimeout time.Duration
}

func newRelayedWith(t *testing.T, backend string, first llmtest.Response, o relayOpts) *relayed {
	t.Helper()
	subscribeA := o.subscribeA
	db := openBackend(t, backend)
	var pr PartRelay = &memBus{t: t, subs: map[chan string]struct{}{}}
	if backend == "postgres" {
		pr = db.(*postgres.DB)
	}
	if o.bus != nil {
		pr = o.bus(pr)
	}
	first, gate := gated(first)
	r := &relayed{replicas: newReplicas(t, db, append([]llmtest.Response{first}, o.more...)...), gate: gate}
	replica := func(name string) (*Service, chan struct{}) {
		up := make(chan struct{}, 16)
		poll := 10 * time.Millisecond
		if name == "b" {
			poll = cmp.Or(o.bPoll, poll)
		}
		s, err := New(Config{
			Store: db, Chats: db, Router: r.router, Logger: r.log, WorkerID: name,
			Workers: 2, PollInterval: 20 * time.Millisecond, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond,
			Lease: 5 * time.Second, WatchPollInterval: poll,
			Relay: pr, relayListening: func() { up <- struct{}{} },
		})
		if err != nil {
			t.Fatalf("new service: %v", err)
		}
		if o.holdTimeout != 0 {
			s.relay.holdTimeout = o.holdTimeout
		}
		return s, up
	}
	var aUp, bUp chan struct{}
	r.a, aUp = replica("a")
	r.b, bUp = replica("b")
	run(t, r.a)
	waitFor(t, aUp, "replica a listening")
	c, err := r.a.CreateChat(t.Context(), store.NewChat{OwnerID: r.user.ID, Title: "t", ModelConfigID: r.model.ID, First: text("hi"), APIKeyID: r.key})
	if err != nil {
		t.Fatalf("create chat: %v", err)
	}
	r.chat = c
	if subscribeA != nil {
		subscribeA(r.a, c.ID)
	}
	gate <- struct{}{} // the role chunk: the step runs on a
	r.startB = func() {
		run(t, r.b)
		waitFor(t, bUp, "replica b listening")
	}
	return r
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("no %s within %s", what, waitTimeout)
	}
}

// answer is the text of the chat's committed assistant messages.
func (r *relayed) answer() string {
	r.t.Helper()
	ms, err := r.db.ListMessages(r.t.Context(), r.chat.ID, 0, 100)
	if err != nil {
		r.t.Fatalf("list messages: %v", err)
	}
	var b strings.Builder
	for _, m := range ms {
		if m.Role != store.RoleAssistant {
			continue
		}
		for _, p := range m.Parts {
			if p.Type == store.PartText {
				b.WriteString(p.Text)
			}
		}
	}
	return b.String()
}

// untilText is until, adding the text deltas seen to live (a restart
// drops what its step streamed).
func (tr *transcript) untilText(events <-chan wire.Event, live *strings.Builder, match func(wire.Event) bool) wire.Event {
	tr.t.Helper()
	return tr.until(events, func(ev wire.Event) bool {
		switch {
		case isDelta(ev):
			live.WriteString(ev.Part.Delta)
		case ev.Type == wire.EventPart && ev.Part.Kind == wire.PartRestart:
			live.Reset()
		}
		return match(ev)
	})
}

func isAnswer(ev wire.Event) bool {
	return ev.Type == wire.EventMessage && ev.Message.Role == string(store.RoleAssistant)
}

// stream releases each of words from the upstream and checks that the
// watcher gets it as the next text delta, before anything after it is
// sent.
func (r *relayed) stream(tr *transcript, events <-chan wire.Event, live *strings.Builder, words ...string) {
	r.t.Helper()
	for _, w := range words {
		r.gate <- struct{}{}
		ev := tr.untilText(events, live, isDelta)
		if ev.Part.Delta != w {
			r.t.Fatalf("next delta on b = %.40q (%d bytes), want %.40q (%d bytes)", ev.Part.Delta, len(ev.Part.Delta), w, len(w))
		}
	}
}

// finish releases the rest of the stream and reads events until the chat
// is waiting; the answer must have been delivered once.
func (r *relayed) finish(tr *transcript, events <-chan wire.Event, live *strings.Builder) {
	r.t.Helper()
	close(r.gate)
	tr.untilText(events, live, isAnswer)
	tr.until(events, status(store.ChatWaiting))
	want := r.visible(r.chat.ID)
	if got := tr.held(); !slices.Equal(got, want) {
		r.t.Fatalf("watcher on b holds %v, committed %v", got, want)
	}
	for _, seq := range want {
		if tr.got[seq] > 1 {
			r.t.Fatalf("message %d delivered %d times", seq, tr.got[seq])
		}
	}
}

// TestRelayLiveOnOtherReplica: a watcher on b gets each text delta of a's
// turn while the rest of the stream is held upstream, so before the step
// commits; then the answer once, equal to the deltas.
func TestRelayLiveOnOtherReplica(t *testing.T) {
	t.Parallel()
	for _, backend := range relayBackends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			r := newRelayed(t, backend, textReply("Hel", "lo ", "world"), nil)
			r.startB()
			events := subscribe(t, r.b, r.chat.ID, "")
			tr := newTranscript(t)
			var live strings.Builder
			r.stream(tr, events, &live, "Hel", "lo ", "world")
			if got := tr.held(); len(got) != 1 {
				t.Fatalf("before the step committed the watcher holds messages %v, want only the user's", got)
			}
			r.finish(tr, events, &live)
			if got, want := live.String(), r.answer(); got != want || want != "Hello world" {
				t.Fatalf("deltas on b = %q, committed %q", got, want)
			}
		})
	}
}

// TestRelayResumeOnOtherReplica: a watcher saw the first delta on a, and
// left; a streamed another. It resumes on b with a's event id: b's hub
// never saw the step (nobody watched there, so a relayed nothing), yet
// the watcher gets the delta it missed (b asks a for its live buffer) and
// the rest, without the one it had, and every committed message once.
func TestRelayResumeOnOtherReplica(t *testing.T) {
	t.Parallel()
	for _, backend := range relayBackends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var onA <-chan wire.Event
			r := newRelayed(t, backend, textReply("Hel", "lo ", "world"), func(a *Service, chatID string) {
				onA = subscribe(t, a, chatID, "")
			})
			r.startB()
			trA := newTranscript(t)
			var live, later strings.Builder
			r.gate <- struct{}{}
			if ev := trA.untilText(onA, &live, isDelta); ev.Part.Delta != "Hel" {
				t.Fatalf("first delta on a = %q", ev.Part.Delta)
			}
			from, held := trA.last, trA.held()
			r.gate <- struct{}{}
			if ev := trA.untilText(onA, &later, isDelta); ev.Part.Delta != "lo " {
				t.Fatalf("second delta on a = %q", ev.Part.Delta)
			}
			resumed := subscribe(t, r.b, r.chat.ID, from)
			tr := newTranscript(t)
			for _, seq := range held {
				tr.msgs[seq] = true
			}
			if ev := tr.untilText(resumed, &live, isDelta); ev.Part.Delta != "lo " {
				t.Fatalf("first delta on b = %q, want the one missed", ev.Part.Delta)
			}
			r.stream(tr, resumed, &live, "world")
			r.finish(tr, resumed, &live)
			if got, want := live.String(), r.answer(); got != want || want != "Hello world" {
				t.Fatalf("deltas on a then b = %q, committed %q", got, want)
			}
		})
	}
}

// TestRelayOversizeDelta: a delta larger than a payload reaches b whole,
// in chunks; one past relayMaxPart is not relayed (b's watcher gets it
// with the committed answer), and the deltas after it still are.
func TestRelayOversizeDelta(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789", 2000)   // 20 kB: chunked
	huge := strings.Repeat("abcdefghi\n", 7000) // 70 kB: left out
	for _, backend := range relayBackends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			r := newRelayed(t, backend, textReply("a ", big, " b ", huge, " c"), nil)
			r.startB()
			events := subscribe(t, r.b, r.chat.ID, "")
			tr := newTranscript(t)
			var live strings.Builder
			r.stream(tr, events, &live, "a ", big, " b ")
			r.gate <- struct{}{} // huge
			r.stream(tr, events, &live, " c")
			r.finish(tr, events, &live)
			if got, want := r.answer(), "a "+big+" b "+huge+" c"; got != want {
				t.Fatalf("committed %d bytes, want %d", len(got), len(want))
			}
			if got, want := live.String(), "a "+big+" b "+" c"; got != want {
				t.Fatalf("deltas on b: %d bytes, want %d", len(got), len(want))
			}
		})
	}
}
