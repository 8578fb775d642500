package chat

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/wire"
)

// cursor is what a watcher has seen: the chat snapshot version (V), the
// snapshot version of the queue (Q), the highest committed message seq (S)
// and the last live part (P). An event ID is the watcher's cursor right
// after the event, so IDs only grow and resuming from one skips exactly
// what was delivered.
type cursor struct{ V, Q, S, P int64 }

func (c cursor) String() string { return fmt.Sprintf("%d.%d.%d.%d", c.V, c.Q, c.S, c.P) }

func parseCursor(id string) (cursor, error) {
	if id == "" {
		return cursor{}, nil
	}
	f := strings.Split(id, ".")
	if len(f) != 4 {
		return cursor{}, fmt.Errorf("%w: malformed event id %q", ErrInvalid, id)
	}
	var n [4]int64
	for i, s := range f {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return cursor{}, fmt.Errorf("%w: malformed event id %q", ErrInvalid, id)
		}
		n[i] = v
	}
	return cursor{V: n[0], Q: n[1], S: n[2], P: n[3]}, nil
}

// hubEvent is an event as published, before a watcher's cursor filters it.
// v is the snapshot version of chat and queue events, s the seq of a
// message or the base seq of a part's step, p a part's number. A truncate
// event says the seqs from "from" up to s (excluded: the message that
// follows the gap) were deleted.
type hubEvent struct {
	typ   wire.EventType
	v     int64
	s     int64
	p     int64
	from  int64
	chat  *wire.Chat
	msg   *wire.Message
	queue []wire.QueuedMessage
	part  *wire.PartDelta
}

// admit reports whether ev is news to a watcher at c, and advances c.
func (c *cursor) admit(ev hubEvent) bool {
	switch ev.typ {
	case wire.EventChat:
		if ev.v <= c.V {
			return false
		}
		c.V = ev.v
	case wire.EventQueue:
		if ev.v <= c.Q {
			return false
		}
		c.Q = ev.v
	case wire.EventMessage:
		if ev.s <= c.S {
			return false
		}
		c.S = ev.s
	case wire.EventPart:
		// A part of a step whose message the watcher already has is stale.
		if ev.p <= c.P || ev.s < c.S {
			return false
		}
		c.P = ev.p
	case wire.EventTruncate:
		// Only a watcher that may hold deleted messages, and has not yet
		// seen the message after the gap, needs it. It moves no cursor:
		// a watcher resuming from before the next message gets it again,
		// and dropping what is already gone twice is harmless.
		return c.S >= ev.from && c.S < ev.s
	default:
		return true
	}
	return true
}

// subBuffer bounds how far a watcher may fall behind before it is dropped.
const subBuffer = 1024

type subscriber struct {
	in chan hubEvent // closed by the hub when the watcher is dropped
}

// chatState is the hub's per-chat fan-out and the live parts of the step in
// progress.
type chatState struct {
	syncMu  sync.Mutex // serialises publishing from the database
	syncing int        // guarded by hub.mu

	// stopPoll ends the poller that watches the database for changes made
	// by other replicas; nil when none runs. Guarded by hub.mu.
	stopPoll context.CancelFunc

	subs   map[*subscriber]struct{} // guarded by hub.mu
	live   []hubEvent               // guarded by hub.mu
	active bool                     // guarded by hub.mu: a step runs here
	v, s   int64                    // guarded by hub.mu: highest published
	base   int64                    // guarded by hub.mu: seq the step in progress builds on
	p      int64                    // guarded by hub.mu: last part number
	step   int64                    // guarded by hub.mu: the step beginStep numbered last
	pub    int64                    // guarded by hub.mu: the highest part number fanned out
	remote *remoteStep              // guarded by hub.mu: another replica's step (relay_hub.go)

	// What the last publishes read, so that a transition the publisher
	// knows the effect of need not be read back (see Service.publish).
	// Guarded by syncMu. msgV is the highest snapshot version whose
	// messages are all published; queueV the version the cached queue
	// was published at (it reflects that version or a later one). -1:
	// nothing known yet.
	msgV, queueV int64
	queue        []wire.QueuedMessage
}

// hub fans chat events out to watchers in process. It never blocks on a
// watcher: one that falls behind is dropped and reconnects.
type hub struct {
	heartbeat time.Duration

	// relay carries parts to other replicas; nil: they stay here.
	relay *relay

	mu    sync.Mutex
	chats map[string]*chatState // guarded by mu
	steps int64                 // guarded by mu: the last step number given out
}

func newHub(heartbeat time.Duration) *hub {
	return &hub{heartbeat: heartbeat, chats: make(map[string]*chatState)}
}

// state returns the chat's state, creating it; h.mu must be held. Part
// numbers start from the clock so that they keep growing when a state is
// dropped and created again, or the process restarts.
func (h *hub) state(chatID string) *chatState {
	st := h.chats[chatID]
	if st == nil {
		st = &chatState{subs: make(map[*subscriber]struct{}), p: time.Now().UnixMicro(), msgV: -1, queueV: -1}
		h.chats[chatID] = st
	}
	return st
}

// gc stops the poller of a chat nobody watches and drops an idle state;
// h.mu must be held.
func (h *hub) gc(chatID string, st *chatState) {
	if len(st.subs) == 0 && st.stopPoll != nil {
		st.stopPoll()
		st.stopPoll = nil
	}
	if len(st.subs) == 0 && !st.active && st.syncing == 0 && h.chats[chatID] == st {
		delete(h.chats, chatID)
	}
}

func (h *hub) fanout(st *chatState, ev hubEvent) {
	for sub := range st.subs {
		select {
		case sub.in <- ev:
		default:
			delete(st.subs, sub)
			close(sub.in)
		}
	}
	if len(st.subs) == 0 && st.stopPoll != nil {
		st.stopPoll()
		st.stopPoll = nil
	}
}

// subscribe registers a watcher and returns it with the live parts so far.
// When poll is set and the watcher is the chat's first, it also returns a
// context for a new poller of the chat's state, cancelled when the last
// watcher leaves; the caller starts the poller (see Service.pollChat).
func (h *hub) subscribe(parent context.Context, chatID string, poll bool) (*subscriber, []hubEvent, *chatState, context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.state(chatID)
	sub := &subscriber{in: make(chan hubEvent, subBuffer)}
	st.subs[sub] = struct{}{}
	if len(st.subs) == 1 {
		h.firstWatcher(chatID, st)
	}
	var pctx context.Context
	if poll && st.stopPoll == nil {
		pctx, st.stopPoll = context.WithCancel(parent)
	}
	return sub, append([]hubEvent(nil), st.live...), st, pctx
}

func (h *hub) unsubscribe(chatID string, sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.chats[chatID]
	if st == nil {
		return
	}
	if _, ok := st.subs[sub]; ok {
		delete(st.subs, sub)
		close(sub.in)
	}
	h.gc(chatID, st)
}

// closeChat drops every watcher of a deleted chat.
func (h *hub) closeChat(chatID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.chats[chatID]
	if st == nil {
		return
	}
	for sub := range st.subs {
		delete(st.subs, sub)
		close(sub.in)
	}
	st.live = nil
	h.gc(chatID, st)
}

// beginStep starts a step whose history ends at baseSeq and returns its
// number, for endStep.
func (h *hub) beginStep(chatID string, baseSeq int64) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.state(chatID)
	st.base = baseSeq
	st.live = nil
	// Part numbers follow the clock from each step on, not only from when
	// this replica first saw the chat: a watcher resuming here with an id
	// another replica gave out must not find this replica's numbers lower.
	st.p = max(st.p, time.Now().UnixMicro())
	st.active = true
	h.steps++
	st.step = h.steps
	return st.step
}

// endStep forgets the live parts of step, committed or dropped. A turn
// ends its step after the transition that may already have started the
// next turn, so a step that is no longer the chat's latest is left alone.
func (h *hub) endStep(chatID string, step int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.chats[chatID]
	if st == nil || step == 0 || st.step != step {
		return
	}
	st.live = nil
	st.active = false
	if h.relay != nil && len(st.subs) > 0 {
		// The next turn may run on another replica: keep its parts coming.
		h.relay.enqueue(relayItem{chatID: chatID, kind: relayInterested})
	}
	h.gc(chatID, st)
}

// part publishes a live delta of the step in progress. A restart drops the
// deltas before it.
func (h *hub) part(chatID string, d wire.PartDelta) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.state(chatID)
	if d.Kind == wire.PartRestart {
		st.live = nil
	}
	st.p++
	st.pub = st.p
	ev := hubEvent{typ: wire.EventPart, v: st.v, s: st.base, p: st.p, part: &d}
	h.relay.part(chatID, ev, len(st.live) == 0)
	st.live = append(st.live, ev)
	h.fanout(st, ev)
}

// startSync reports whether anyone watches the chat, and marks a sync as
// running so the state stays.
func (h *hub) startSync(chatID string) (*chatState, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.state(chatID)
	st.syncing++
	return st, len(st.subs) > 0
}

func (h *hub) endSync(chatID string, st *chatState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st.syncing--
	h.gc(chatID, st)
}

// lastSeq is the highest message seq published.
func (h *hub) lastSeq(st *chatState) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return st.s
}

// version is the highest chat snapshot version published.
func (h *hub) version(st *chatState) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return st.v
}

// publishTruncate tells watchers that the messages with seq from..to-1
// were deleted (an edit), ahead of message to. It is news only while
// message to is.
func (h *hub) publishTruncate(st *chatState, from, to int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if to <= st.s {
		return
	}
	h.fanout(st, hubEvent{typ: wire.EventTruncate, s: to, from: from})
}

func (h *hub) publishMessage(st *chatState, m wire.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m.Seq <= st.s {
		return
	}
	st.s = m.Seq
	h.fanout(st, hubEvent{typ: wire.EventMessage, s: m.Seq, msg: &m})
	// After the message: remote parts of the next step waited for it.
	h.messagePublished(st, m.Seq)
}

func (h *hub) publishChat(st *chatState, c wire.Chat, q []wire.QueuedMessage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.SnapshotVersion <= st.v {
		return
	}
	st.v = c.SnapshotVersion
	h.fanout(st, hubEvent{typ: wire.EventChat, v: c.SnapshotVersion, chat: &c})
	h.fanout(st, hubEvent{typ: wire.EventQueue, v: c.SnapshotVersion, queue: q})
}
