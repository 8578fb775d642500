package chat

import (
	"math"
	"time"

	"github.com/chatd/chatd/internal/wire"
)

// The hub's side of the relay (see relay.go): parts of steps other
// replicas run, injected for this replica's watchers.

// remoteStep is what a hub knows of the live buffer another replica
// streams for a chat. Guarded by hub.mu, with the chatState holding it.
type remoteStep struct {
	origin string // the replica whose parts chatState.live holds
	base   int64  // the seq their step builds on
	first  int64  // the origin's number of the buffer's first part
	// off is added to the origin's part numbers: zero, unless they were
	// not above what this hub had published (clocks apart), so that
	// numbers stay monotone here.
	off int64

	// hold is set while the start of the buffer is awaited (the replay a
	// new watcher asked for); parts arriving meanwhile wait in held.
	hold  bool
	since time.Time
	held  []heldPart
}

// remotePart is a part as another replica numbered it.
type remotePart struct {
	n     int64
	first bool // it starts the origin's live buffer: a step's first part or a restart
	d     *wire.PartDelta
}

type heldPart struct {
	origin string
	base   int64
	part   remotePart
}

func (st *chatState) remoteStep() *remoteStep {
	if st.remote == nil {
		st.remote = &remoteStep{}
	}
	return st.remote
}

// firstWatcher asks, for a chat that just got its first watcher here, for
// the live buffer of a step another replica runs. h.mu must be held.
func (h *hub) firstWatcher(chatID string, st *chatState) {
	if h.relay == nil || st.active {
		return
	}
	h.holdRemote(st)
	h.relay.enqueue(relayItem{chatID: chatID, kind: relayWant})
}

func (h *hub) holdRemote(st *chatState) {
	r := st.remoteStep()
	if !r.hold {
		r.hold, r.since, r.held = true, time.Now(), nil
	}
}

// holdWatched holds the remote parts of every watched chat whose step does
// not run here, as firstWatcher does, and returns their ids to ask for
// their live buffers (after the relay missed payloads).
func (h *hub) holdWatched() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids []string
	for id, st := range h.chats {
		if len(st.subs) > 0 && !st.active {
			h.holdRemote(st)
			ids = append(ids, id)
		}
	}
	return ids
}

// watched reports whether the chat has watchers here.
func (h *hub) watched(chatID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.chats[chatID]
	return st != nil && len(st.subs) > 0
}

// holding reports whether the chat's remote parts wait for a replay.
func (h *hub) holding(chatID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.chats[chatID]
	return st != nil && st.remote != nil && st.remote.hold
}

// replayLive answers another replica's want: when a step of the chat runs
// here, its live buffer is queued for the relay, under h.mu, so that the
// parts published after it follow it.
func (h *hub) replayLive(chatID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.chats[chatID]
	if h.relay == nil || st == nil || !st.active {
		return
	}
	h.relay.enqueue(relayItem{chatID: chatID, base: st.base, kind: relayReplay, live: append([]hubEvent(nil), st.live...)})
}

// remoteParts publishes parts of the step building on base that origin
// runs, for the chat's watchers here; nothing when it has none, or when
// a step of it runs here.
func (h *hub) remoteParts(chatID, origin string, base int64, parts []remotePart) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.chats[chatID]
	if st == nil || len(st.subs) == 0 || st.active {
		return
	}
	r := st.remoteStep()
	for _, p := range parts {
		if r.hold {
			if !p.first && time.Since(r.since) < relayHoldTimeout {
				r.held = append(r.held, heldPart{origin: origin, base: base, part: p})
				continue
			}
			// The start of a buffer makes what was held obsolete; after
			// the timeout, what was held goes out as it is.
			held := r.held
			r.hold, r.held = false, nil
			if !p.first {
				for _, x := range held {
					h.injectRemote(st, x.origin, x.base, x.part)
				}
			}
		}
		h.injectRemote(st, origin, base, p)
	}
}

// remoteReplay publishes the live buffer origin replayed, then the parts
// held while it came, for watchers here that asked for it.
func (h *hub) remoteReplay(chatID, origin string, base int64, parts []remotePart) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.chats[chatID]
	if st == nil || len(st.subs) == 0 || st.active || st.remote == nil || !st.remote.hold {
		return
	}
	r := st.remote
	held := r.held
	r.hold, r.held = false, nil
	last := int64(math.MinInt64)
	for _, p := range parts {
		h.injectRemote(st, origin, base, p)
		last = p.n
	}
	for _, x := range held {
		// Held parts of the replayed buffer are in it, up to its last.
		if x.base > base || x.origin == origin && x.base == base && x.part.n > last {
			h.injectRemote(st, x.origin, x.base, x.part)
		}
	}
}

// injectRemote publishes a remote part, keeping the hub's rules: a part
// of a step whose message is published here, or of an older step, is
// dropped; a new step, a restart or another origin starts a new live
// buffer; part numbers only grow. h.mu must be held.
func (h *hub) injectRemote(st *chatState, origin string, base int64, p remotePart) {
	r := st.remoteStep()
	if base < st.s || base < r.base {
		return
	}
	again := p.first && origin == r.origin && base == r.base && p.n == r.first
	if !again && (p.first || origin != r.origin || base != r.base) {
		st.live = nil
		r.origin, r.base, r.first = origin, base, p.n
		r.off = max(0, st.pub+1-p.n)
	}
	n := p.n + r.off
	if n <= st.pub {
		return // published already (a replay of what this hub had)
	}
	st.pub, st.p = n, max(st.p, n)
	ev := hubEvent{typ: wire.EventPart, v: st.v, s: base, p: n, part: p.d}
	st.live = append(st.live, ev)
	h.fanout(st, ev)
}

// messagePublished drops the remote live parts a committed message makes
// stale: watchers would filter them out anyway. h.mu must be held.
func (h *hub) messagePublished(st *chatState, seq int64) {
	if st.remote != nil && !st.active && seq > st.remote.base {
		st.live = nil
	}
}
