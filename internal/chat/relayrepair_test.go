package chat

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// What the relay repairs: replicas learn committed messages by polling
// and parts by NOTIFY, and payloads get lost.

// TestRelayMessagesBeforeNextStep: b polls rarely. The watcher on b must
// get step 1's committed messages (the tool call and its result) before
// step 2's first delta: a client clears a step's live text when a
// message commits, and would drop step 2's (the CLI printed it twice).
func TestRelayMessagesBeforeNextStep(t *testing.T) {
	t.Parallel()
	for _, backend := range relayBackends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			second, gate2 := gated(textReply("after", " tool"))
			var onA <-chan wire.Event
			r := newRelayedWith(t, backend, toolReply("call_1", "current_time", "{}"), relayOpts{
				more:       []llmtest.Response{second},
				bPoll:      time.Hour,
				subscribeA: func(a *Service, chatID string) { onA = subscribe(t, a, chatID, "") },
			})
			r.startB()
			events := subscribe(t, r.b, r.chat.ID, "")
			close(r.gate) // step 1: the tool call, then its result
			next(t, onA, func(ev wire.Event) bool {
				return ev.Type == wire.EventMessage && ev.Message.Role == string(store.RoleTool)
			})
			gate2 <- struct{}{} // the role chunk
			gate2 <- struct{}{} // "after"
			var order []string
			next(t, events, func(ev wire.Event) bool {
				switch ev.Type {
				case wire.EventMessage:
					order = append(order, "message:"+ev.Message.Role)
				case wire.EventPart:
					order = append(order, "part:"+string(ev.Part.Kind))
				}
				return isDelta(ev)
			})
			close(gate2)
			if !slices.Contains(order, "message:"+string(store.RoleTool)) {
				t.Fatalf("step 2's delta reached b's watcher before step 1's tool result: %v", order)
			}
		})
	}
}

// failFirst is a relay whose PublishParts fails once, for the first
// batch holding a payload that match accepts, as a statement on a
// connection PostgreSQL just dropped does. failed is closed then.
type failFirst struct {
	PartRelay
	match  func(string) bool
	done   atomic.Bool
	failed chan struct{}
}

func failing(match func(string) bool) (*failFirst, func(PartRelay) PartRelay) {
	f := &failFirst{match: match, failed: make(chan struct{})}
	return f, func(pr PartRelay) PartRelay { f.PartRelay = pr; return f }
}

func (f *failFirst) PublishParts(ctx context.Context, payloads []string) error {
	for _, p := range payloads {
		if f.match(p) && f.done.CompareAndSwap(false, true) {
			close(f.failed)
			return errors.New("conn closed")
		}
	}
	return f.PartRelay.PublishParts(ctx, payloads)
}

// TestRelayLostWant: b's first watcher's want is lost. What b holds (or
// misses) is not held for ever: once the hold times out b asks again,
// and its watcher gets the step from its start, in order.
func TestRelayLostWant(t *testing.T) {
	t.Parallel()
	for _, backend := range relayBackends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f, bus := failing(func(p string) bool { return strings.Contains(p, `"w":true`) })
			r := newRelayedWith(t, backend, textReply("Hel", "lo ", "world"), relayOpts{bus: bus, holdTimeout: 200 * time.Millisecond})
			r.gate <- struct{}{} // "Hel", before b watches
			r.startB()
			events := subscribe(t, r.b, r.chat.ID, "")
			waitFor(t, f.failed, "failed want")
			r.gate <- struct{}{} // "lo "
			tr := newTranscript(t)
			var live strings.Builder
			tr.untilText(events, &live, func(wire.Event) bool { return live.String() == "Hello " })
			r.stream(tr, events, &live, "world")
			r.finish(tr, events, &live)
			if got, want := live.String(), r.answer(); got != want || want != "Hello world" {
				t.Fatalf("deltas on b = %q, committed %q", got, want)
			}
		})
	}
}

// TestRelayLostBatch: the batch holding "lo " fails. b finds the gap in
// the part numbers when "world" comes, asks for the buffer, and its
// watcher shows the whole text live, in order.
func TestRelayLostBatch(t *testing.T) {
	t.Parallel()
	for _, backend := range relayBackends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f, bus := failing(func(p string) bool { return strings.Contains(p, `"lo "`) })
			r := newRelayedWith(t, backend, textReply("Hel", "lo ", "world"), relayOpts{bus: bus})
			r.startB()
			events := subscribe(t, r.b, r.chat.ID, "")
			tr := newTranscript(t)
			var live strings.Builder
			r.stream(tr, events, &live, "Hel")
			r.gate <- struct{}{} // "lo ": lost
			waitFor(t, f.failed, "failed batch")
			r.gate <- struct{}{} // "world"
			tr.untilText(events, &live, func(wire.Event) bool { return live.String() == "Hello world" })
			r.finish(tr, events, &live)
			if got, want := live.String(), r.answer(); got != want || want != "Hello world" {
				t.Fatalf("deltas on b = %q, committed %q", got, want)
			}
		})
	}
}
