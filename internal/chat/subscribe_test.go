package chat

import (
	"context"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/store"
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

	var seen []Event
	take := func(events <-chan Event, until func(Event) bool) {
		t.Helper()
		seen = append(seen, next(t, events, func(ev Event) bool {
			if ev.Type != EventHeartbeat {
				seen = append(seen, ev)
			}
			return until(ev)
		}))
		seen = seen[:len(seen)-1]
	}
	gate <- struct{}{} // role chunk
	gate <- struct{}{} // "a"
	gate <- struct{}{} // "b"
	take(sub.Events, func(ev Event) bool { return isDelta(ev) && ev.Part.Delta == "b" })
	last := seen[len(seen)-1].ID
	cancel()
	for range sub.Events {
	}

	// Parts stream while nobody but the observer watches.
	gate <- struct{}{} // "c"
	gate <- struct{}{} // "d"
	next(t, observer, func(ev Event) bool { return isDelta(ev) && ev.Part.Delta == "d" })

	resumed := subscribe(t, s, c.ID, last)
	// The replay of the step in progress. (Had the step committed before
	// the resume, its message would stand in for its deltas.)
	take(resumed, func(ev Event) bool { return isDelta(ev) && ev.Part.Delta == "d" })
	close(gate)
	take(resumed, func(ev Event) bool { return ev.Type == EventChat && ev.Chat.Status == store.ChatWaiting })

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
		case EventPart:
			if ev.Part.Kind == PartTextDelta {
				deltas.WriteString(ev.Part.Delta)
			}
		case EventMessage:
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resumed := subscribe(t, s, c.ID, tt.last)
			var got []string
			next(t, resumed, func(ev Event) bool {
				switch ev.Type {
				case EventChat:
					got = append(got, "chat")
				case EventMessage:
					got = append(got, string(ev.Message.Role))
				case EventQueue:
					got = append(got, "queue")
				}
				return ev.Type == EventQueue
			})
			if got, want := strings.Join(got, ","), "chat,user,assistant,queue"; got != want {
				t.Fatalf("events = %s, want %s", got, want)
			}
		})
	}
}
