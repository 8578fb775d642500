package chat

import (
	"math"
	"slices"
	"time"

	"github.com/chatd/chatd/internal/wire"
)

// The hub's side of the relay (see relay.go): parts of steps other
// replicas run, injected for this replica's watchers, and the replays of
// live buffers this replica answers wants with.
//
// Every remote part goes through remoteStep.held, and leaves it in order
// once nothing holds it back:
//   - a replay asked for (want): the start of the buffer is missing, after
//     a first watcher, a reconnected listener or a gap in the origin's
//     part numbers (a lost payload);
//   - the committed messages of the step the part builds on (await): they
//     reach this replica by polling, the part by NOTIFY, and a watcher
//     shown step N+1's text before step N's messages drops it (clients
//     clear live text when a message commits). The hub syncs from the
//     database once per new base and holds the step's parts meanwhile.
//
// Both holds last at most relay.holdTimeout; the relay's tick releases
// what is still held then, and asks for a missing replay once more.

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

	// seen is the last part received (held or not), in the origin's
	// numbers: the next of the same buffer must follow it.
	seen struct {
		origin string
		base   int64
		n      int64
	}

	// want is set while a replay asked for is awaited, since wantSince.
	// late is set once the wait timed out and the want went again: a
	// replay that comes then still takes over the buffer.
	want      bool
	wantSince time.Time
	late      bool
	// await is the highest base whose messages are awaited, since
	// awaitSince; synced the highest one no longer awaited (published,
	// or timed out).
	await, synced int64
	awaitSince    time.Time

	held []heldPart
}

// remotePart is a part as another replica numbered it. A nil d is a part
// the origin left out (too large): it only takes its number.
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

// remoteAction is what the Service does for the hub after a remote part:
// sync the chat from the database, ask for a replay.
type remoteAction struct {
	sync, want bool
}

func (st *chatState) remoteStep() *remoteStep {
	if st.remote == nil {
		st.remote = &remoteStep{}
	}
	return st.remote
}

// firstWatcher asks, for a chat that just got its first watcher here, for
// the live buffer of a step another replica runs; while the step runs
// here it only says the chat is watched, so that the next turn, which
// any replica may take, relays at once. h.mu must be held.
func (h *hub) firstWatcher(chatID string, st *chatState) {
	if h.relay == nil {
		return
	}
	if st.active {
		h.relay.enqueue(relayItem{chatID: chatID, kind: relayInterested})
		return
	}
	h.holdRemote(st, time.Now())
	h.relay.enqueue(relayItem{chatID: chatID, kind: relayWant})
}

func (h *hub) holdRemote(st *chatState, now time.Time) {
	r := st.remoteStep()
	if !r.want {
		r.want, r.wantSince, r.late = true, now, false
	}
}

// holdWatched holds the remote parts of every watched chat whose step does
// not run here, as firstWatcher does, and returns their ids to ask for
// their live buffers (after the relay missed payloads).
func (h *hub) holdWatched() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	var ids []string
	for id, st := range h.chats {
		if len(st.subs) > 0 && !st.active {
			h.holdRemote(st, now)
			ids = append(ids, id)
		}
	}
	return ids
}

// watchedRemote returns the chats watched here: those whose parts other
// replicas should relay when they run a step of one. A chat whose step
// runs here counts too, since its next turn may run elsewhere.
func (h *hub) watchedRemote() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids []string
	for id, st := range h.chats {
		if len(st.subs) > 0 {
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
	return st != nil && st.remote != nil && (st.remote.want || st.remote.late)
}

// replayLive answers another replica's want: it renews the chat's
// interest and, when a step of the chat runs here, queues its live buffer
// for the relay (see replay).
func (h *hub) replayLive(chatID string) {
	if h.relay == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	h.relay.interested(chatID, now)
	st := h.chats[chatID]
	if st == nil || !st.active {
		return
	}
	h.replay(chatID, st, now)
}

// replay queues the live buffer of the step running here, under h.mu, so
// that the parts published after it follow it. One replay per chat waits
// in the queue at a time, and one per step goes out per relayReplayEvery:
// a want meanwhile is answered when that passes (see replayDue), so that
// reconnecting clients cannot fill the queue with copies of a buffer. A
// buffer larger than relayMaxReplay is replayed as a restart: watchers
// elsewhere see the rest live and the whole when the step commits.
func (h *hub) replay(chatID string, st *chatState, now time.Time) {
	r := h.relay
	r.mu.Lock()
	defer r.mu.Unlock()
	rs := r.replays[chatID]
	if rs != nil && rs.step == st.step && (rs.pending || now.Sub(rs.sent) < relayReplayEvery) {
		rs.deferred = !rs.pending
		return
	}
	live, size := st.live, 0
	for _, ev := range live {
		size += partSize(ev.part)
	}
	if size > relayMaxReplay {
		last := live[len(live)-1]
		live = []hubEvent{{typ: wire.EventPart, v: last.v, s: last.s, p: last.p, part: &wire.PartDelta{Kind: wire.PartRestart}}}
	}
	it := relayItem{chatID: chatID, base: st.base, step: st.step, kind: relayReplay, live: slices.Clone(live)}
	if !r.enqueue(it) {
		return
	}
	r.replays[chatID] = &replayState{step: st.step, pending: true, sent: now}
}

// replayDue sends the replays wants asked for while one had just gone,
// and forgets the chats whose window passed.
func (h *hub) replayDue(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.relay
	r.mu.Lock()
	var due []string
	for id, rs := range r.replays {
		switch {
		case rs.pending || now.Sub(rs.sent) < relayReplayEvery:
		case rs.deferred:
			due = append(due, id)
		default:
			delete(r.replays, id)
		}
	}
	for id, until := range r.interest {
		if now.After(until) {
			delete(r.interest, id)
		}
	}
	r.mu.Unlock()
	for _, id := range due {
		st := h.chats[id]
		r.mu.Lock()
		rs := r.replays[id]
		if st == nil || !st.active || rs == nil || rs.step != st.step {
			delete(r.replays, id)
			r.mu.Unlock()
			continue
		}
		r.mu.Unlock()
		h.replay(id, st, now)
	}
}

// remoteParts takes parts of the step building on base that origin runs,
// for the chat's watchers here; nothing when it has none, or when a step
// of it runs here.
func (h *hub) remoteParts(chatID, origin string, base int64, parts []remotePart) remoteAction {
	h.mu.Lock()
	defer h.mu.Unlock()
	var act remoteAction
	st := h.chats[chatID]
	if st == nil || len(st.subs) == 0 || st.active {
		return act
	}
	r := st.remoteStep()
	now := time.Now()
	for _, p := range parts {
		s := &r.seen
		follows := s.origin == origin && s.base == base && p.n == s.n+1
		switch {
		case p.first:
			// The start of a buffer makes what was held for a replay
			// obsolete.
			if r.want || r.late {
				r.want, r.late = false, false
				r.held = slices.DeleteFunc(r.held, func(x heldPart) bool { return x.origin == origin && x.base <= base })
			}
		case !follows && !r.want && s.origin == origin && s.base == base && p.n <= s.n:
			continue // received already
		case !follows && !r.want:
			// A part of the buffer was lost (a failed publish, a full
			// queue, a chunk missing): ask for the buffer again.
			r.want, r.wantSince = true, now
			act.want = true
		}
		s.origin, s.base, s.n = origin, base, p.n
		if base > st.s && base > r.synced && base > r.await {
			r.await, r.awaitSince = base, now
			act.sync = true
		}
		r.held = append(r.held, heldPart{origin: origin, base: base, part: p})
	}
	h.drainRemote(st)
	return act
}

// remoteReplay takes the live buffer origin replayed, for watchers here
// that asked for it: it goes before the parts held while it came.
func (h *hub) remoteReplay(chatID, origin string, base int64, parts []remotePart) remoteAction {
	h.mu.Lock()
	defer h.mu.Unlock()
	var act remoteAction
	st := h.chats[chatID]
	if st == nil || len(st.subs) == 0 || st.active || st.remote == nil || !st.remote.want && !st.remote.late {
		return act
	}
	r := st.remote
	r.want, r.late = false, false
	last := int64(math.MinInt64)
	if len(parts) > 0 {
		last = parts[len(parts)-1].n
	}
	// Held parts of the replayed buffer are in it, up to its last.
	kept := slices.DeleteFunc(r.held, func(x heldPart) bool {
		return !(x.base > base || x.origin == origin && x.base == base && x.part.n > last)
	})
	var replayed []heldPart
	if len(parts) > 0 && r.origin == origin && r.base == base && len(st.live) > 0 && parts[0].n != r.first {
		// Watchers here have a part of this buffer, not from its start
		// (held parts went out after a timeout): they drop it on a
		// restart, then get the buffer whole.
		replayed = append(replayed, heldPart{origin: origin, base: base, part: remotePart{n: parts[0].n - 1, first: true, d: &wire.PartDelta{Kind: wire.PartRestart}}})
		parts[0].first = false
	}
	for _, p := range parts {
		replayed = append(replayed, heldPart{origin: origin, base: base, part: p})
	}
	r.held = append(replayed, kept...)
	if s := &r.seen; len(parts) > 0 && (s.origin != origin || s.base != base || s.n < last) {
		s.origin, s.base, s.n = origin, base, last
	}
	if base > st.s && base > r.synced && base > r.await {
		r.await, r.awaitSince = base, time.Now()
		act.sync = true
	}
	h.drainRemote(st)
	return act
}

// drainRemote publishes the held parts nothing holds back any more, in
// order. h.mu must be held.
func (h *hub) drainRemote(st *chatState) {
	r := st.remote
	if r == nil || r.want || len(r.held) == 0 {
		return
	}
	if len(st.subs) == 0 || st.active {
		r.held = nil
		return
	}
	i := 0
	for ; i < len(r.held); i++ {
		x := r.held[i]
		if x.base > st.s && x.base > r.synced {
			break // its step's messages are not published yet
		}
		h.injectRemote(st, x.origin, x.base, x.part)
	}
	r.held = slices.Delete(r.held, 0, i)
}

// expireHolds releases what waited longer than timeout, and returns the
// chats whose replay should be asked for again (once).
func (h *hub) expireHolds(now time.Time, timeout time.Duration) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var again []string
	for id, st := range h.chats {
		r := st.remote
		if r == nil {
			continue
		}
		if r.await > r.synced && now.Sub(r.awaitSince) >= timeout {
			r.synced = r.await
		}
		if r.want && now.Sub(r.wantSince) >= timeout {
			r.want = false
			if len(st.subs) > 0 && !st.active {
				r.late = true
				again = append(again, id)
			}
		}
		h.drainRemote(st)
	}
	return again
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
	if n <= st.pub || p.d == nil {
		return // published already (a replay of what this hub had), or left out
	}
	st.pub, st.p = n, max(st.p, n)
	ev := hubEvent{typ: wire.EventPart, v: st.v, s: base, p: n, part: p.d}
	st.live = append(st.live, ev)
	h.fanout(st, ev)
}

// messagePublished drops the remote live parts a committed message makes
// stale (watchers would filter them out anyway), and publishes the parts
// that waited for it. h.mu must be held.
func (h *hub) messagePublished(st *chatState, seq int64) {
	if st.remote == nil || st.active {
		return
	}
	if seq > st.remote.base {
		st.live = nil
	}
	h.drainRemote(st)
}
