package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/wire"
)

// Live parts across replicas.
//
// Committed messages reach another replica's watchers through its poller
// (see replica.go); live parts go through a PartRelay when the store has
// one (PostgreSQL's NOTIFY). The replica running a turn queues each part
// it publishes; one goroutine sends what queued up, a chat's parts
// coalesced into as few payloads as fit, in one statement. The queue is
// bounded and never blocks a turn: when it is full parts are dropped and
// counted, and watchers elsewhere get the step when it commits.
//
// Every replica listens. It ignores its own payloads, skips those of
// chats it has no watchers for after reading only their chat id, and
// injects the others' for chats it does not run the step of (see
// relay_hub.go). Part numbers are the sender's, so an event id stays
// comparable across replicas and a watcher may resume on any of them.
//
// A replica relays a chat's parts only while another one has shown
// interest in it in the last relayInterest: a want, or the interest each
// replica renews every relayInterestEvery for the chats it has watchers
// for. A turn nobody watches elsewhere costs no NOTIFY.
//
// A chat's first watcher here asks for the live buffer of the step in
// progress ("want"); the replica running it replays it, and the parts
// that arrive meanwhile wait for it, so the watcher gets the step from
// its start, in order. A receiver that finds a part number missing (a
// payload lost to a failed publish or a full queue) asks again the same
// way. Parts too large for a payload go in chunks (base64 of their JSON),
// up to relayMaxPart; larger ones are not relayed, only their number.
//
// This is best effort: what a replay cannot repair is left to the commit,
// which reaches every watcher exactly.

// PartRelay carries opaque payloads between the replicas that share a
// database. *postgres.DB implements it with NOTIFY; SQLite, one process,
// has none. Implementations are safe for concurrent use.
type PartRelay interface {
	// PublishParts sends payloads, in order, to every replica listening,
	// this one included. Each is valid UTF-8 of at most relayMaxPayload
	// bytes, without NUL.
	PublishParts(ctx context.Context, payloads []string) error
	// ListenParts calls listening once it listens, and again after each
	// reconnection (what was sent meanwhile is lost), and deliver with
	// each payload sent, all from one goroutine, until ctx ends. It
	// returns ctx's error.
	ListenParts(ctx context.Context, listening func(), deliver func(payload string)) error
}

// RelayOf returns v's PartRelay, or nil if v has none.
func RelayOf(v any) PartRelay {
	r, _ := v.(PartRelay)
	return r
}

const (
	// relayMaxPayload is the largest payload sent: PostgreSQL refuses a
	// NOTIFY payload of 8000 bytes or more.
	relayMaxPayload = 7999
	// relayMaxPart caps a part's JSON encoding for the relay. Larger
	// parts (a tool's long output) would take many payloads; they are
	// not relayed, and watchers elsewhere see them when the step commits.
	relayMaxPart = 64 << 10
	// relayQueueSize is how many items may wait for the sender.
	relayQueueSize = 4096
	// relayBatch caps the items sent in one statement.
	relayBatch = 512
	// relayHoldTimeout bounds how long parts wait for a replay asked for
	// (the replica running the step may never answer).
	relayHoldTimeout = 2 * time.Second
	// relayLogEvery spaces the sender's warnings.
	relayLogEvery = 10 * time.Second
	// relayReplayEvery spaces the replays of a step: wants meanwhile
	// (clients reconnecting) are answered by one replay once it passed.
	relayReplayEvery = 500 * time.Millisecond
	// relayMaxReplay caps the parts a replay carries, in bytes of their
	// text: a larger live buffer is replayed as a restart.
	relayMaxReplay = 256 << 10
	// relayInterest is how long a replica relays a chat's parts after
	// another one showed interest; relayInterestEvery how often replicas
	// renew their interest in the chats they have watchers for.
	relayInterest      = time.Minute
	relayInterestEvery = 20 * time.Second
)

// relayItem is what the sender sends: one part, a replay of a live buffer
// or a want (a request for the replay).
type relayItem struct {
	chatID string
	base   int64
	step   int64 // relayReplay: the hub's number of the step
	kind   relayKind
	part   hubEvent   // relayPart
	first  bool       // relayPart: the part starts the sender's live buffer
	live   []hubEvent // relayReplay: the live buffer, possibly empty
}

type relayKind int

const (
	relayPart relayKind = iota
	relayReplay
	relayWant
	relayInterested
)

// relayPayload is one payload, JSON-encoded: parts of one chat's step from
// one replica, in order, a want or interest. Origin and Chat come first:
// a receiver reads them without decoding the rest.
type relayPayload struct {
	Origin   string `json:"o"`
	Chat     string `json:"c"`
	Base     int64  `json:"s,omitempty"`
	Want     bool   `json:"w,omitempty"`
	Interest bool   `json:"i,omitempty"`
	// RI and RN number the payloads of a replay: this one's, from 1, and
	// how many there are.
	RI    int          `json:"ri,omitempty"`
	RN    int          `json:"rn,omitempty"`
	Parts []relayEntry `json:"p,omitempty"`
}

// relayEntry is a part: whole in D, or chunk I of its JSON encoding in K
// (base64), M saying more chunks follow; neither for a part left out.
type relayEntry struct {
	N int64           `json:"n"`
	F bool            `json:"f,omitempty"`
	D *wire.PartDelta `json:"d,omitempty"`
	K string          `json:"k,omitempty"`
	I int             `json:"i,omitempty"`
	M bool            `json:"m,omitempty"`
}

// relay is a Service's side of the PartRelay: the queue and its sender.
// It is safe for concurrent use.
type relay struct {
	pr     PartRelay
	origin string // this Service's id in payloads
	prefix string // how this Service's payloads start
	queue  chan relayItem
	// dropped counts the items the full queue refused.
	dropped atomic.Int64
	// holdTimeout is relayHoldTimeout; tests shorten it before Run.
	holdTimeout time.Duration

	mu       sync.Mutex              // after hub.mu when both are held
	interest map[string]time.Time    // guarded by mu: chat id -> until when to relay its parts
	replays  map[string]*replayState // guarded by mu: chat id -> its last replay
}

// replayState is a chat's last replay of its live buffer (see hub.replay).
type replayState struct {
	step     int64     // the hub's step it replayed
	pending  bool      // queued, not yet taken by the sender
	sent     time.Time // when it was queued
	deferred bool      // a want came within relayReplayEvery of it
}

func newRelay(pr PartRelay) *relay {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	origin := hex.EncodeToString(b)
	return &relay{
		pr: pr, origin: origin, prefix: `{"o":"` + origin + `"`,
		queue:       make(chan relayItem, relayQueueSize),
		holdTimeout: relayHoldTimeout,
		interest:    map[string]time.Time{},
		replays:     map[string]*replayState{},
	}
}

// enqueue queues it unless the queue is full, and reports whether it did;
// it never blocks, so the hub may call it under its lock, which keeps a
// chat's items in order.
func (r *relay) enqueue(it relayItem) bool {
	select {
	case r.queue <- it:
		return true
	default:
		r.dropped.Add(1)
		return false
	}
}

// interested notes that another replica wants the chat's parts.
func (r *relay) interested(chatID string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.interest[chatID] = now.Add(relayInterest)
}

// part queues a part the hub published for a step running here, when
// another replica showed interest in the chat. r may be nil: parts stay
// in this process.
func (r *relay) part(chatID string, ev hubEvent, first bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	until, ok := r.interest[chatID]
	r.mu.Unlock()
	if !ok || time.Now().After(until) {
		return
	}
	r.enqueue(relayItem{chatID: chatID, base: ev.s, kind: relayPart, part: ev, first: first})
}

// taken notes that the sender took the chat's replay of step from the
// queue: the next want needs another.
func (r *relay) taken(chatID string, step int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rs := r.replays[chatID]; rs != nil && rs.step == step {
		rs.pending = false
	}
}

// send publishes what the hub queued until ctx ends.
func (r *relay) send(ctx context.Context, log *slog.Logger) {
	var (
		batch                []relayItem
		reported, failed     int64
		lastDrop, lastFailed time.Time
	)
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-r.queue:
			batch = append(batch[:0], it)
		}
	more:
		for len(batch) < relayBatch {
			select {
			case it := <-r.queue:
				batch = append(batch, it)
			default:
				break more
			}
		}
		for _, it := range batch {
			if it.kind == relayReplay {
				r.taken(it.chatID, it.step)
			}
		}
		payloads, tooLarge := encodeRelay(r.origin, batch, relayMaxPayload)
		clear(batch)
		if tooLarge > 0 {
			log.Debug("chat: live parts too large to relay; other replicas' watchers get them when their step commits", "parts", tooLarge)
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := r.pr.PublishParts(pctx, payloads)
		cancel()
		if err != nil && ctx.Err() == nil {
			failed++
			if time.Since(lastFailed) >= relayLogEvery {
				log.Warn("chat: relay live parts", "error", err, "failed_batches", failed)
				lastFailed, failed = time.Now(), 0
			}
		}
		if d := r.dropped.Load(); d > reported && time.Since(lastDrop) >= relayLogEvery {
			log.Warn("chat: relay queue full; live parts dropped (other replicas' watchers get them when their step commits)", "dropped", d-reported, "dropped_total", d)
			reported, lastDrop = d, time.Now()
		}
	}
}

// encodeRelay turns items into payloads of at most limit bytes, keeping
// each chat's order: consecutive parts of a chat's step share payloads, a
// part too large for one goes in chunks, and parts whose JSON exceeds
// relayMaxPart are left out and counted.
func encodeRelay(origin string, items []relayItem, limit int) (payloads []string, tooLarge int) {
	type builder struct {
		head    relayPayload
		entries [][]byte
		size    int
	}
	open := map[string]*builder{}
	var order []*builder // open builders, to flush at the end in order
	flush := func(b *builder) {
		if b != nil && len(b.entries) > 0 {
			payloads = append(payloads, assemble(b.head, b.entries))
			b.entries, b.size = nil, 0
		}
	}
	for _, it := range items {
		b := open[it.chatID]
		switch it.kind {
		case relayWant:
			payloads = append(payloads, assemble(relayPayload{Origin: origin, Chat: it.chatID, Want: true}, nil))
		case relayInterested:
			payloads = append(payloads, assemble(relayPayload{Origin: origin, Chat: it.chatID, Interest: true}, nil))
		case relayPart:
			if b != nil && b.head.Base != it.base {
				flush(b)
				b.head.Base = it.base
			}
			if b == nil {
				b = &builder{head: relayPayload{Origin: origin, Chat: it.chatID, Base: it.base}}
				open[it.chatID] = b
				order = append(order, b)
			}
			fixed := payloadOverhead(b.head)
			e := marshalEntry(relayEntry{N: it.part.p, F: it.first, D: it.part.part})
			if fixed+len(e) > limit {
				flush(b)
				chunks, ok := chunkEntry(it.part, it.first, limit-fixed)
				if !ok {
					// Its number alone, so that receivers see no gap.
					tooLarge++
					chunks = [][]byte{marshalEntry(relayEntry{N: it.part.p, F: it.first})}
				}
				for _, c := range chunks {
					payloads = append(payloads, assemble(b.head, [][]byte{c}))
				}
				continue
			}
			if len(b.entries) > 0 && fixed+b.size+1+len(e) > limit {
				flush(b)
			}
			if len(b.entries) > 0 {
				b.size++ // the comma
			}
			b.entries = append(b.entries, e)
			b.size += len(e)
		case relayReplay:
			// What the chat queued before goes first.
			flush(b)
			head := relayPayload{Origin: origin, Chat: it.chatID, Base: it.base}
			fixed := payloadOverhead(head)
			var groups [][][]byte
			var cur [][]byte
			size := 0
			for i, ev := range it.live {
				e := marshalEntry(relayEntry{N: ev.p, F: i == 0, D: ev.part})
				if fixed+len(e) > limit {
					chunks, ok := chunkEntry(ev, i == 0, limit-fixed)
					if !ok {
						tooLarge++
						chunks = [][]byte{marshalEntry(relayEntry{N: ev.p, F: i == 0})}
					}
					if len(cur) > 0 {
						groups, cur, size = append(groups, cur), nil, 0
					}
					for _, c := range chunks {
						groups = append(groups, [][]byte{c})
					}
					continue
				}
				if len(cur) > 0 && fixed+size+1+len(e) > limit {
					groups, cur, size = append(groups, cur), nil, 0
				}
				if len(cur) > 0 {
					size++
				}
				cur = append(cur, e)
				size += len(e)
			}
			if len(cur) > 0 || len(groups) == 0 {
				groups = append(groups, cur)
			}
			for i, g := range groups {
				head.RI, head.RN = i+1, len(groups)
				payloads = append(payloads, assemble(head, g))
			}
		}
	}
	for _, b := range order {
		flush(b)
	}
	return payloads, tooLarge
}

// replaySlack is room for a replay's "ri" and "rn" in a payload's head.
const replaySlack = len(`,"ri":999999,"rn":999999`)

// payloadOverhead is the size of a payload of head's chat and base
// without its entries, a replay's numbers included.
func payloadOverhead(head relayPayload) int {
	head.Parts, head.RI, head.RN = nil, 0, 0
	return len(marshalJSON(head)) - 1 + len(`,"p":[]}`) + replaySlack
}

// assemble writes a payload from its head and encoded entries.
func assemble(head relayPayload, entries [][]byte) string {
	head.Parts = nil
	h := marshalJSON(head)
	if len(entries) == 0 {
		return string(h)
	}
	var b strings.Builder
	b.Write(h[:len(h)-1])
	b.WriteString(`,"p":[`)
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e)
	}
	b.WriteString("]}")
	return b.String()
}

// chunkEntry splits a part's JSON encoding into entries of at most room
// bytes each. It reports false for a part larger than relayMaxPart.
func chunkEntry(ev hubEvent, first bool, room int) ([][]byte, bool) {
	raw := marshalJSON(ev.part)
	if len(raw) > relayMaxPart {
		return nil, false
	}
	// The entry around a chunk, with the largest index it may carry.
	over := len(marshalEntry(relayEntry{N: ev.p, F: first, K: "x", I: relayMaxPart, M: true})) - 1
	per := (room - over) / 4 * 3
	if per <= 0 {
		return nil, false
	}
	var out [][]byte
	for i := 0; i*per < len(raw); i++ {
		c := raw[i*per : min(len(raw), (i+1)*per)]
		out = append(out, marshalEntry(relayEntry{N: ev.p, F: first, K: base64.StdEncoding.EncodeToString(c), I: i, M: (i+1)*per < len(raw)}))
	}
	return out, true
}

func marshalEntry(e relayEntry) []byte { return marshalJSON(e) }

// marshalJSON encodes v without escaping <, > and &, which would only
// make payloads longer.
func marshalJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only strings, numbers and booleans: it cannot fail.
		panic("chat: encode relay payload: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// relayIn is the receiving side's state, owned by the listening goroutine.
type relayIn struct {
	chunks  map[string]*chunksIn // chat id -> a part arriving in chunks
	replays map[string]*replayIn // chat id -> a replay arriving
}

type chunksIn struct {
	origin string
	n      int64
	first  bool
	next   int
	buf    []byte
}

type replayIn struct {
	origin string
	base   int64
	next   int
	parts  []remotePart
}

func newRelayIn() *relayIn {
	return &relayIn{chunks: map[string]*chunksIn{}, replays: map[string]*replayIn{}}
}

// forget drops what was arriving for a chat.
func (in *relayIn) forget(chatID string) {
	delete(in.chunks, chatID)
	delete(in.replays, chatID)
}

// parts returns p's complete parts, joining chunks with those of earlier
// payloads.
func (in *relayIn) parts(p *relayPayload) []remotePart {
	var out []remotePart
	for _, e := range p.Parts {
		if e.K == "" {
			delete(in.chunks, p.Chat) // a part whose chunks stopped coming
			out = append(out, remotePart{n: e.N, first: e.F, d: e.D})
			continue
		}
		c := in.chunks[p.Chat]
		if e.I == 0 {
			c = &chunksIn{origin: p.Origin, n: e.N, first: e.F}
			in.chunks[p.Chat] = c
		}
		raw, err := base64.StdEncoding.DecodeString(e.K)
		if c == nil || c.origin != p.Origin || c.n != e.N || c.next != e.I || err != nil || len(c.buf)+len(raw) > relayMaxPart {
			delete(in.chunks, p.Chat)
			continue
		}
		c.buf = append(c.buf, raw...)
		c.next++
		if e.M {
			continue
		}
		delete(in.chunks, p.Chat)
		var d wire.PartDelta
		if json.Unmarshal(c.buf, &d) == nil {
			out = append(out, remotePart{n: c.n, first: c.first, d: &d})
		}
	}
	return out
}

// replay adds a replay payload's parts to those before it, and returns the
// whole replay once its last payload came.
func (in *relayIn) replay(p *relayPayload, parts []remotePart) ([]remotePart, bool) {
	r := in.replays[p.Chat]
	if p.RI == 1 {
		r = &replayIn{origin: p.Origin, base: p.Base, next: 1}
		in.replays[p.Chat] = r
	}
	if r == nil || r.origin != p.Origin || r.base != p.Base || r.next != p.RI {
		delete(in.replays, p.Chat)
		return nil, false
	}
	r.parts = append(r.parts, parts...)
	r.next++
	if p.RI < p.RN {
		return nil, false
	}
	delete(in.replays, p.Chat)
	return r.parts, true
}

// listenParts injects other replicas' parts into the hub until ctx ends.
// Beside the listener, a ticker releases parts held too long, sends the
// replays wants asked for meanwhile, and renews interest.
func (s *Service) listenParts(ctx context.Context) {
	in := newRelayIn()
	listening := func() {
		clear(in.chunks)
		clear(in.replays)
		// Whatever was missed while not listening, the steps in progress
		// are asked for again.
		for _, id := range s.hub.holdWatched() {
			s.relay.enqueue(relayItem{chatID: id, kind: relayWant})
		}
		if s.cfg.relayListening != nil {
			s.cfg.relayListening()
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.relayTick(ctx) })
	err := s.relay.pr.ListenParts(ctx, listening, func(payload string) { s.deliverParts(in, payload) })
	if err != nil && ctx.Err() == nil {
		s.log.Warn("chat: listen for live parts of other replicas", "error", err)
	}
}

// relayTick runs the relay's periodic work until ctx ends.
func (s *Service) relayTick(ctx context.Context) {
	t := time.NewTicker(s.relay.holdTimeout / 8)
	defer t.Stop()
	var renewed time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, id := range s.hub.expireHolds(now, s.relay.holdTimeout) {
				s.relay.enqueue(relayItem{chatID: id, kind: relayWant})
			}
			s.hub.replayDue(now)
			if now.Sub(renewed) >= relayInterestEvery {
				renewed = now
				for _, id := range s.hub.watchedRemote() {
					s.relay.enqueue(relayItem{chatID: id, kind: relayInterested})
				}
			}
		}
	}
}

// peekChat reads a payload's chat id, and whether it is a want or
// interest, without decoding it; ok is false when it cannot.
func peekChat(payload string) (chatID string, control, ok bool) {
	const key = `,"c":"`
	i := strings.Index(payload, key)
	if i < 0 || strings.IndexByte(payload[:i], '\\') >= 0 {
		return "", false, false
	}
	rest := payload[i+len(key):]
	j := strings.IndexByte(rest, '"')
	if j <= 0 || strings.IndexByte(rest[:j], '\\') >= 0 {
		return "", false, false
	}
	rest = rest[j+1:]
	control = strings.HasPrefix(rest, `,"w":true`) || strings.HasPrefix(rest, `,"i":true`)
	return payload[i+len(key) : i+len(key)+j], control, true
}

// deliverParts takes a payload another replica sent.
func (s *Service) deliverParts(in *relayIn, payload string) {
	if strings.HasPrefix(payload, s.relay.prefix) {
		return // this Service's own
	}
	if id, control, ok := peekChat(payload); ok && !control && !s.hub.watched(id) {
		in.forget(id)
		return
	}
	var p relayPayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil || p.Origin == "" || p.Chat == "" {
		s.log.Debug("chat: malformed relay payload", "error", err, "size", len(payload))
		return
	}
	if s.cfg.relayReceived != nil {
		defer s.cfg.relayReceived(p)
	}
	switch {
	case p.Want:
		s.hub.replayLive(p.Chat)
		return
	case p.Interest:
		s.relay.interested(p.Chat, time.Now())
		return
	}
	if !s.hub.watched(p.Chat) || s.runsHere(p.Chat) {
		in.forget(p.Chat)
		return
	}
	parts := in.parts(&p)
	var act remoteAction
	switch {
	case p.RN > 0:
		if p.RI == 1 && !s.hub.holding(p.Chat) {
			return
		}
		if all, ok := in.replay(&p, parts); ok {
			act = s.hub.remoteReplay(p.Chat, p.Origin, p.Base, all)
		}
	case len(parts) > 0:
		act = s.hub.remoteParts(p.Chat, p.Origin, p.Base, parts)
	}
	if act.want {
		s.relay.enqueue(relayItem{chatID: p.Chat, kind: relayWant})
	}
	if act.sync {
		// The step's messages first: the poller may be 500ms away.
		chatID := p.Chat
		s.goBackground(func(ctx context.Context) { s.sync(ctx, chatID) })
	}
}

// partSize is about the size of a part's JSON encoding, without encoding
// it.
func partSize(d *wire.PartDelta) int {
	if d == nil {
		return 0
	}
	return 64 + len(d.Block) + len(d.Delta) + len(d.ToolCallID) + len(d.ToolName) + len(d.Input) + len(d.Output)
}
