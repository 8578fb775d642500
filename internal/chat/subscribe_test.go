package chat

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// TestSubscribeResume disconnects a watcher mid-stream, lets the stream go
// on, and resumes from its last event id: the two halves together hold
// every delta and message exactly once, with growing ids.
func TestSubscribeResume(t *testing.T) {
	t.Parallel()
	words := []string{"a", "b", "c", "d", "e", "f"}
	r, gate := gated(textReply(words...))
	e := newEnv(t, toolReply("call_1", "current_time", "{}"), r)
	s := e.service(nil)
	c := e.newChat(s, "go")
	observer := subscribe(t, s, c.ID, "")

	ctx, cancel := context.WithCancel(t.Context())
	sub, err := s.Subscribe(ctx, c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)

	var seen []wire.Event
	take := func(events <-chan wire.Event, until func(wire.Event) bool) {
		t.Helper()
		seen = append(seen, next(t, events, func(ev wire.Event) bool {
			if ev.Type != wire.EventHeartbeat {
				seen = append(seen, ev)
			}
			return until(ev)
		}))
		seen = seen[:len(seen)-1]
	}
	gate <- struct{}{} // role chunk
	gate <- struct{}{} // "a"
	gate <- struct{}{} // "b"
	take(sub.Events, func(ev wire.Event) bool { return isDelta(ev) && ev.Part.Delta == "b" })
	last := seen[len(seen)-1].ID
	cancel()
	for range sub.Events {
	}

	// Parts stream while nobody but the observer watches.
	gate <- struct{}{} // "c"
	gate <- struct{}{} // "d"
	next(t, observer, func(ev wire.Event) bool { return isDelta(ev) && ev.Part.Delta == "d" })

	resumed := subscribe(t, s, c.ID, last)
	// The replay of the step in progress. (Had the step committed before
	// the resume, its message would stand in for its deltas.)
	take(resumed, func(ev wire.Event) bool { return isDelta(ev) && ev.Part.Delta == "d" })
	close(gate)
	take(resumed, func(ev wire.Event) bool {
		return ev.Type == wire.EventChat && ev.Chat.Status == string(store.ChatWaiting)
	})

	var deltas strings.Builder
	seqs := map[int64]bool{}
	var prev cursor
	for i, ev := range seen {
		cur, err := parseCursor(ev.ID)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if cur.V < prev.V || cur.Q < prev.Q || cur.S < prev.S || cur.P < prev.P || cur == prev {
			t.Fatalf("event %d id %s does not grow from %s", i, cur, prev)
		}
		prev = cur
		switch ev.Type {
		case wire.EventPart:
			if ev.Part.Kind == wire.PartTextDelta {
				deltas.WriteString(ev.Part.Delta)
			}
		case wire.EventMessage:
			if seqs[ev.Message.Seq] {
				t.Fatalf("message %d delivered twice", ev.Message.Seq)
			}
			seqs[ev.Message.Seq] = true
		}
	}
	if got, want := deltas.String(), strings.Join(words, ""); got != want {
		t.Fatalf("deltas = %q, want %q", got, want)
	}
	msgs := e.messages(c.ID)
	if len(seqs) != len(msgs) {
		t.Fatalf("delivered %d messages, committed %d", len(seqs), len(msgs))
	}
	for _, m := range msgs {
		if !seqs[m.Seq] {
			t.Fatalf("message %d (%s) never delivered", m.Seq, m.Role)
		}
	}
}

func TestParseCursor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   string
		want cursor
		bad  bool
	}{
		{name: "empty", id: "", want: cursor{}},
		{name: "full", id: "3.2.7.1700000000000001", want: cursor{V: 3, Q: 2, S: 7, P: 1700000000000001}},
		{name: "short", id: "1.2.3", bad: true},
		{name: "negative", id: "1.-2.3.4", bad: true},
		{name: "junk", id: "a.b.c.d", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseCursor(tt.id)
			if (err != nil) != tt.bad {
				t.Fatalf("parseCursor(%q) error = %v", tt.id, err)
			}
			if !tt.bad && got != tt.want {
				t.Fatalf("parseCursor(%q) = %+v, want %+v", tt.id, got, tt.want)
			}
			if !tt.bad && tt.id != "" && got.String() != tt.id {
				t.Fatalf("String() = %q", got.String())
			}
		})
	}
}

// TestSubscribeAheadResyncs: an event id ahead of the chat (another
// chat's, or from before a database reset) gets the whole chat again, as
// an empty id does, instead of a stream that stays silent.
func TestSubscribeAheadResyncs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, textReply("hello"))
	s := e.service(nil)
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))

	tests := []struct {
		name, last string
	}{
		{"far ahead", "999.999.999.999"},
		{"version ahead", "999.0.0.0"},
		{"queue ahead", "0.999.0.0"},
		{"seq ahead", "1.1.999.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resumed := subscribe(t, s, c.ID, tt.last)
			var got []string
			next(t, resumed, func(ev wire.Event) bool {
				switch ev.Type {
				case wire.EventChat:
					got = append(got, "chat")
				case wire.EventMessage:
					got = append(got, string(ev.Message.Role))
				case wire.EventQueue:
					got = append(got, "queue")
				}
				return ev.Type == wire.EventQueue
			})
			if got, want := strings.Join(got, ","), "chat,user,assistant,queue"; got != want {
				t.Fatalf("events = %s, want %s", got, want)
			}
		})
	}
}

// countingChats counts GetChat calls once armed.
type countingChats struct {
	store.Chats
	armed atomic.Bool
	after atomic.Int64
}

func (c *countingChats) GetChat(ctx context.Context, id string) (store.Chat, error) {
	if c.armed.Load() {
		c.after.Add(1)
	}
	return c.Chats.GetChat(ctx, id)
}

// TestRunStopsWatchers: a watcher's forwarder and its chat's replica
// poller belong to the Service; once Run returns, both have ended (the
// subscription is closed though its context lives on) and nothing reads
// the store. Not parallel: it counts goroutines.
func TestRunStopsWatchers(t *testing.T) {
	e := newEnv(t)
	cc := &countingChats{Chats: e.db}
	s := e.service(func(c *Config) {
		c.Chats = cc
		c.WatchPollInterval = time.Millisecond
	})
	c := e.newChat(s, "hi")
	before := runtime.NumGoroutine()
	stop := run(t, s)
	sub, err := s.Subscribe(t.Context(), c.ID, "")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	next(t, sub.Events, func(ev wire.Event) bool { return ev.Type == wire.EventChat })
	stop()
	cc.armed.Store(true)
	for {
		select {
		case _, ok := <-sub.Events:
			if ok {
				continue
			}
		default:
			t.Fatal("the subscription is still open after Run returned")
		}
		break
	}
	// Finished goroutines leave the count soon after their last deferred
	// call; yield until they have, bounded by waitTimeout.
	deadline := time.Now().Add(waitTimeout)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Run returned, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
	if n := cc.after.Load(); n != 0 {
		t.Fatalf("the store was read %d times after Run returned", n)
	}
}
