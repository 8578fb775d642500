package chat

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/wire"
)

var _ PartRelay = (*postgres.DB)(nil)

// TestRelayLimitMatchesPostgres: the chat side and the store agree on the
// largest payload.
func TestRelayLimitMatchesPostgres(t *testing.T) {
	t.Parallel()
	if relayMaxPayload != postgres.MaxNotifyPayload {
		t.Fatalf("relayMaxPayload = %d, postgres.MaxNotifyPayload = %d", relayMaxPayload, postgres.MaxNotifyPayload)
	}
}

func runes(s string, n int) string { return string([]rune(s)[:n]) }

// got is a part as a receiver rebuilt it.
type got struct {
	chat  string
	n     int64
	first bool
	delta string
	// leftOut: only the part's number came (it was too large).
	leftOut bool
}

// decodeRelay feeds payloads to a receiver as the listener does, and
// returns the parts and the replays (by chat) it rebuilt.
func decodeRelay(t *testing.T, payloads []string, limit int) (parts []got, replays map[string][]got) {
	t.Helper()
	in := newRelayIn()
	replays = map[string][]got{}
	for _, s := range payloads {
		if len(s) > limit {
			t.Fatalf("payload of %d bytes, limit %d: %.80s", len(s), limit, s)
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Fatalf("payload is not text PostgreSQL takes: %q", s)
		}
		var p relayPayload
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			t.Fatalf("payload %.80s: %v", s, err)
		}
		if p.Origin != "me" || !strings.HasPrefix(s, `{"o":"me"`) {
			t.Fatalf("payload does not start with its origin: %.40s", s)
		}
		ps := in.parts(&p)
		conv := func(ps []remotePart) []got {
			var out []got
			for _, r := range ps {
				g := got{chat: p.Chat, n: r.n, first: r.first, leftOut: r.d == nil}
				if r.d != nil {
					g.delta = r.d.Delta
				}
				out = append(out, g)
			}
			return out
		}
		if p.RN > 0 {
			if all, ok := in.replay(&p, ps); ok {
				replays[p.Chat] = conv(all)
			}
			continue
		}
		parts = append(parts, conv(ps)...)
	}
	return parts, replays
}

func partItem(chatID string, base, n int64, first bool, delta string) relayItem {
	return relayItem{chatID: chatID, base: base, kind: relayPart, first: first,
		part: hubEvent{typ: wire.EventPart, s: base, p: n, part: &wire.PartDelta{Kind: wire.PartTextDelta, Delta: delta}}}
}

// TestEncodeRelay: payloads stay within the limit whatever the deltas hold
// (escapes, multibyte text, deltas larger than a payload), parts come back
// whole and in order per chat, and a part past relayMaxPart is left out
// and counted, without disturbing the parts around it.
func TestEncodeRelay(t *testing.T) {
	t.Parallel()
	escapes := strings.Repeat("\x01\"\\<&\u2028", 2000) // 6 bytes each in JSON
	multibyte := strings.Repeat("日本語🙂", 3000)
	tests := []struct {
		name     string
		limit    int
		deltas   []string
		payloads int // if not zero, exactly this many payloads per chat
		tooLarge int
	}{
		{name: "small deltas coalesce", limit: relayMaxPayload, deltas: []string{"Hel", "lo", " world"}, payloads: 2}, // a step each
		{name: "many small deltas", limit: relayMaxPayload, deltas: slices.Repeat([]string{"word "}, 2000)},
		{name: "delta of exactly a payload", limit: 300, deltas: []string{strings.Repeat("x", 200), strings.Repeat("y", 240)}},
		{name: "escapes", limit: relayMaxPayload, deltas: []string{"a", escapes, "b"}},
		{name: "multibyte", limit: relayMaxPayload, deltas: []string{multibyte, "end"}},
		{name: "tiny limit", limit: 200, deltas: []string{"a", runes(multibyte, 1000), runes(escapes, 600), "z"}},
		{name: "too large", limit: relayMaxPayload, deltas: []string{"before", strings.Repeat("x", relayMaxPart), "after"}, tooLarge: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var items, want []relayItem
			for i, d := range tt.deltas {
				// Two chats interleaved, and a new step half way.
				base := int64(4)
				if i >= len(tt.deltas)/2 {
					base = 6
				}
				for _, c := range []string{"chat-1", "chat-2"} {
					it := partItem(c, base, 1000+int64(i), i == 0, d)
					items = append(items, it)
					want = append(want, it)
				}
			}
			payloads, tooLarge := encodeRelay("me", items, tt.limit)
			if tooLarge != 2*tt.tooLarge {
				t.Fatalf("too large = %d, want %d", tooLarge, 2*tt.tooLarge)
			}
			if tt.payloads != 0 && len(payloads) != tt.payloads*2 {
				t.Fatalf("%d payloads, want %d", len(payloads), tt.payloads*2)
			}
			parts, _ := decodeRelay(t, payloads, tt.limit)
			for _, c := range []string{"chat-1", "chat-2"} {
				var gotC, wantC []got
				for _, p := range parts {
					if p.chat == c {
						gotC = append(gotC, p)
					}
				}
				for _, it := range want {
					if it.chatID != c {
						continue
					}
					if len(it.part.part.Delta) >= relayMaxPart {
						// Its number alone, so that receivers see no gap.
						wantC = append(wantC, got{chat: c, n: it.part.p, first: it.first, leftOut: true})
						continue
					}
					wantC = append(wantC, got{chat: c, n: it.part.p, first: it.first, delta: it.part.part.Delta})
				}
				if !slices.Equal(gotC, wantC) {
					t.Fatalf("%s: decoded %d parts, want %d (or they differ)", c, len(gotC), len(wantC))
				}
			}
		})
	}
}

// TestEncodeRelayReplay: a replay of a live buffer larger than a payload
// comes back whole, its first part marked, after the parts queued before
// it; an empty one is one payload.
func TestEncodeRelayReplay(t *testing.T) {
	t.Parallel()
	var live []hubEvent
	for i := range 300 {
		d := fmt.Sprintf("delta %d ", i)
		if i == 150 {
			d = strings.Repeat("big ", 5000)
		}
		live = append(live, hubEvent{typ: wire.EventPart, s: 9, p: 500 + int64(i), part: &wire.PartDelta{Kind: wire.PartTextDelta, Delta: d}})
	}
	items := []relayItem{
		partItem("c", 9, 499, false, "queued before"),
		{chatID: "c", base: 9, kind: relayReplay, live: live},
		{chatID: "empty", base: 3, kind: relayReplay},
		partItem("c", 9, 800, false, "after"),
	}
	payloads, tooLarge := encodeRelay("me", items, relayMaxPayload)
	if tooLarge != 0 {
		t.Fatalf("too large = %d", tooLarge)
	}
	parts, replays := decodeRelay(t, payloads, relayMaxPayload)
	if len(parts) != 2 || parts[0].n != 499 || parts[1].n != 800 {
		t.Fatalf("parts around the replay = %+v", parts)
	}
	r := replays["c"]
	if len(r) != len(live) {
		t.Fatalf("replay has %d parts, want %d", len(r), len(live))
	}
	for i, p := range r {
		if p.n != live[i].p || p.delta != live[i].part.Delta || p.first != (i == 0) {
			t.Fatalf("replay part %d = %+v", i, p)
		}
	}
	if e, ok := replays["empty"]; !ok || len(e) != 0 {
		t.Fatalf("empty replay = %v, %v", e, ok)
	}
	// The empty replay is one payload between the other chat's.
	var q relayPayload
	for _, s := range payloads {
		if strings.Contains(s, `"c":"empty"`) {
			if err := json.Unmarshal([]byte(s), &q); err != nil || q.RI != 1 || q.RN != 1 {
				t.Fatalf("empty replay payload %s: %v", s, err)
			}
		}
	}
}

// TestRelayDropsWhenFull: a full queue never blocks the publisher; what
// it refuses is counted.
func TestRelayDropsWhenFull(t *testing.T) {
	t.Parallel()
	r := newRelay(nil)
	h := newHub(time.Hour)
	h.relay = r
	r.interested("c", time.Now())
	h.beginStep("c", 1)
	for range relayQueueSize + 10 {
		h.part("c", wire.PartDelta{Kind: wire.PartTextDelta, Delta: "x"})
	}
	if got := r.dropped.Load(); got != 10 {
		t.Fatalf("dropped %d, want 10", got)
	}
}

// remoteHub is a hub with a watcher of chat "c", whose events it returns.
func remoteHub(t *testing.T) (*hub, *relay, func() []hubEvent) {
	t.Helper()
	r := newRelay(nil)
	h := newHub(time.Hour)
	h.relay = r
	sub, _, _, _ := h.subscribe(context.Background(), "c", false)
	t.Cleanup(func() { h.unsubscribe("c", sub) })
	// The messages up to seq 5 are published: parts building on them
	// wait for nothing else.
	publishSeq(h, "c", 5)
	drain := func() []hubEvent {
		var evs []hubEvent
		for {
			select {
			case ev := <-sub.in:
				if ev.typ == wire.EventPart {
					evs = append(evs, ev)
				}
			default:
				return evs
			}
		}
	}
	drain()
	return h, r, drain
}

// publishSeq publishes message seq of chatID, as a sync from the database
// does.
func publishSeq(h *hub, chatID string, seq int64) {
	h.mu.Lock()
	st := h.chats[chatID]
	h.mu.Unlock()
	h.publishMessage(st, wire.Message{Seq: seq})
}

func rp(n int64, first bool, delta string) remotePart {
	kind := wire.PartTextDelta
	if delta == "restart" {
		kind = wire.PartRestart
	}
	return remotePart{n: n, first: first, d: &wire.PartDelta{Kind: kind, Delta: delta}}
}

// numbered lists events as "number:delta".
func numbered(evs []hubEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, fmt.Sprintf("%d:%s", ev.p, ev.part.Delta))
	}
	return out
}

// deltas lists events' deltas, or their kind when they have none.
func deltas(evs []hubEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, cmp.Or(ev.part.Delta, string(ev.part.Kind)))
	}
	return out
}

func liveOf(h *hub, chatID string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return numbered(h.chats[chatID].live)
}

// TestRemoteParts checks the hub's rules for parts of steps other
// replicas run.
func TestRemoteParts(t *testing.T) {
	t.Parallel()

	t.Run("first watcher asks and holds until the replay", func(t *testing.T) {
		t.Parallel()
		h, r, drain := remoteHub(t)
		if it := <-r.queue; it.kind != relayWant || it.chatID != "c" {
			t.Fatalf("queued %+v, want a want of c", it)
		}
		h.remoteParts("c", "a", 5, []remotePart{rp(103, false, "3"), rp(104, false, "4")})
		if evs := drain(); len(evs) != 0 {
			t.Fatalf("published %v while waiting for the replay", numbered(evs))
		}
		h.remoteReplay("c", "a", 5, []remotePart{rp(100, true, "restart"), rp(101, false, "1"), rp(102, false, "2"), rp(103, false, "3")})
		want := []string{"100:restart", "101:1", "102:2", "103:3", "104:4"}
		if got := numbered(drain()); !slices.Equal(got, want) {
			t.Fatalf("published %v, want %v", got, want)
		}
		if got := liveOf(h, "c"); !slices.Equal(got, want) {
			t.Fatalf("live %v, want %v", got, want)
		}
		// A second replay (another replica asked) changes nothing.
		h.remoteReplay("c", "a", 5, []remotePart{rp(100, true, "restart")})
		h.remoteParts("c", "a", 5, []remotePart{rp(105, false, "5")})
		if got := numbered(drain()); !slices.Equal(got, []string{"105:5"}) {
			t.Fatalf("published %v, want only 105", got)
		}
	})

	t.Run("the start of a buffer ends the wait", func(t *testing.T) {
		t.Parallel()
		h, _, drain := remoteHub(t)
		h.remoteParts("c", "a", 5, []remotePart{rp(103, false, "old"), rp(200, true, "new"), rp(201, false, "next")})
		if got, want := numbered(drain()), []string{"200:new", "201:next"}; !slices.Equal(got, want) {
			t.Fatalf("published %v, want %v", got, want)
		}
	})

	t.Run("the wait times out", func(t *testing.T) {
		t.Parallel()
		h, _, drain := remoteHub(t)
		h.remoteParts("c", "a", 5, []remotePart{rp(103, false, "3")})
		h.remoteParts("c", "a", 5, []remotePart{rp(104, false, "4")})
		if again := h.expireHolds(time.Now(), time.Hour); len(again) != 0 || len(drain()) != 0 {
			t.Fatalf("released before the timeout")
		}
		again := h.expireHolds(time.Now().Add(relayHoldTimeout), relayHoldTimeout)
		if got, want := numbered(drain()), []string{"103:3", "104:4"}; !slices.Equal(got, want) {
			t.Fatalf("published %v, want %v", got, want)
		}
		if !slices.Equal(again, []string{"c"}) {
			t.Fatalf("asked again for %v, want c", again)
		}
		// The replay asked for again comes late: watchers drop what they
		// have of the buffer (a restart), then get it whole.
		h.remoteReplay("c", "a", 5, []remotePart{rp(101, true, "1"), rp(102, false, "2"), rp(103, false, "3"), rp(104, false, "4")})
		h.remoteParts("c", "a", 5, []remotePart{rp(105, false, "5")})
		if got, want := deltas(drain()), []string{"restart", "1", "2", "3", "4", "5"}; !slices.Equal(got, want) {
			t.Fatalf("published %v, want %v", got, want)
		}
	})

	t.Run("steps, restarts and commits", func(t *testing.T) {
		t.Parallel()
		h, _, drain := remoteHub(t)
		h.remoteReplay("c", "a", 5, nil) // nothing in progress
		h.remoteParts("c", "a", 5, []remotePart{rp(100, true, "restart"), rp(101, false, "a")})
		h.remoteParts("c", "a", 5, []remotePart{rp(102, true, "restart"), rp(103, false, "b")})
		if got, want := liveOf(h, "c"), []string{"102:restart", "103:b"}; !slices.Equal(got, want) {
			t.Fatalf("after a restart live = %v, want %v", got, want)
		}
		publishSeq(h, "c", 7)
		h.remoteParts("c", "a", 7, []remotePart{rp(300, true, "step 2")})
		if got, want := liveOf(h, "c"), []string{"300:step 2"}; !slices.Equal(got, want) {
			t.Fatalf("after a new step live = %v, want %v", got, want)
		}
		// A late part of the older step is dropped.
		h.remoteParts("c", "a", 5, []remotePart{rp(104, false, "late")})
		h.mu.Lock()
		st := h.chats["c"]
		h.mu.Unlock()
		h.publishMessage(st, wire.Message{Seq: 8})
		if got := liveOf(h, "c"); len(got) != 0 {
			t.Fatalf("after the step's message live = %v", got)
		}
		h.remoteParts("c", "a", 7, []remotePart{rp(301, false, "stale")})
		var parts []string
		for _, ev := range drain() {
			if ev.typ == wire.EventPart {
				parts = append(parts, numbered([]hubEvent{ev})...)
			}
		}
		want := []string{"100:restart", "101:a", "102:restart", "103:b", "300:step 2"}
		if !slices.Equal(parts, want) {
			t.Fatalf("published %v, want %v", parts, want)
		}
	})

	t.Run("numbers stay monotone", func(t *testing.T) {
		t.Parallel()
		h, _, drain := remoteHub(t)
		// A step ran here, numbered from this replica's clock.
		step := h.beginStep("c", 3)
		h.part("c", wire.PartDelta{Kind: wire.PartTextDelta, Delta: "local"})
		h.endStep("c", step)
		local := drain()[0].p
		// Another replica's clock is behind: its numbers are shifted.
		h.remoteParts("c", "a", 5, []remotePart{rp(10, true, "restart"), rp(11, false, "x")})
		evs := drain()
		if len(evs) != 2 || evs[0].p != local+1 || evs[1].p != local+2 {
			t.Fatalf("published %v after local part %d", numbered(evs), local)
		}
		// Its next step keeps numbers above them.
		publishSeq(h, "c", 7)
		h.remoteParts("c", "a", 7, []remotePart{rp(12, true, "restart")})
		if evs := drain(); len(evs) != 1 || evs[0].p != local+3 {
			t.Fatalf("published %v, want number %d", numbered(evs), local+3)
		}
		// A step this replica runs next numbers above them too.
		h.beginStep("c", 9)
		h.part("c", wire.PartDelta{Kind: wire.PartTextDelta, Delta: "local"})
		if evs := drain(); len(evs) != 1 || evs[0].p <= local+3 {
			t.Fatalf("published %v after remote %d", numbered(evs), local+3)
		}
	})

	t.Run("ignored while a step runs here or nobody watches", func(t *testing.T) {
		t.Parallel()
		h, _, drain := remoteHub(t)
		h.remoteReplay("c", "a", 5, nil)
		h.beginStep("c", 5)
		h.remoteParts("c", "b", 5, []remotePart{rp(100, true, "restart")})
		if evs := drain(); len(evs) != 0 {
			t.Fatalf("published %v during a local step", numbered(evs))
		}
		h.remoteParts("nobody", "b", 5, []remotePart{rp(100, true, "restart")})
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.chats["nobody"] != nil {
			t.Fatalf("a chat nobody watches got a state")
		}
	})
}

// replaysQueued takes what r queued and returns its replays.
func replaysQueued(r *relay) []relayItem {
	var out []relayItem
	for {
		select {
		case it := <-r.queue:
			if it.kind == relayReplay {
				out = append(out, it)
			}
		default:
			return out
		}
	}
}

// TestReplayLimits: wants (clients reconnecting to other replicas) never
// queue more than one replay of a chat, one per relayReplayEvery at most,
// and a replay never carries more than relayMaxReplay.
func TestReplayLimits(t *testing.T) {
	t.Parallel()

	t.Run("one pending, then one per window", func(t *testing.T) {
		t.Parallel()
		r := newRelay(nil)
		h := newHub(time.Hour)
		h.relay = r
		step := h.beginStep("c", 3)
		h.part("c", wire.PartDelta{Kind: wire.PartTextDelta, Delta: "x"})
		for range 100 {
			h.replayLive("c")
		}
		if got := replaysQueued(r); len(got) != 1 || len(got[0].live) != 1 {
			t.Fatalf("queued %d replays after 100 wants, want one of one part", len(got))
		}
		r.taken("c", step) // the sender took it
		h.replayLive("c")
		if got := replaysQueued(r); len(got) != 0 {
			t.Fatalf("queued %d replays within %s of the last", len(got), relayReplayEvery)
		}
		h.replayDue(time.Now())
		if got := replaysQueued(r); len(got) != 0 {
			t.Fatalf("queued %d replays before the window passed", len(got))
		}
		h.part("c", wire.PartDelta{Kind: wire.PartTextDelta, Delta: "y"})
		h.replayDue(time.Now().Add(relayReplayEvery))
		if got := replaysQueued(r); len(got) != 1 || len(got[0].live) != 2 {
			t.Fatalf("queued %v once the window passed, want one replay of two parts", got)
		}
		// A new step is replayed at once.
		h.beginStep("c", 5)
		h.replayLive("c")
		if got := replaysQueued(r); len(got) != 1 || got[0].base != 5 {
			t.Fatalf("queued %v for a new step", got)
		}
	})

	t.Run("a large buffer is replayed as a restart", func(t *testing.T) {
		t.Parallel()
		r := newRelay(nil)
		h := newHub(time.Hour)
		h.relay = r
		h.beginStep("c", 3)
		for range 10 {
			h.part("c", wire.PartDelta{Kind: wire.PartTextDelta, Delta: strings.Repeat("x", relayMaxReplay/8)})
		}
		h.replayLive("c")
		got := replaysQueued(r)
		if len(got) != 1 {
			t.Fatalf("queued %d replays", len(got))
		}
		last := liveOf(h, "c")[9]
		if evs := got[0].live; len(evs) != 1 || evs[0].part.Kind != wire.PartRestart || numbered(evs)[0] != strings.Split(last, ":")[0]+":" {
			t.Fatalf("replayed %v, want a restart numbered as the last part (%s)", numbered(evs), last)
		}
	})
}

// TestRelayInterest: a replica relays a chat's parts only while another
// showed interest in it (a want or its renewal) in the last
// relayInterest.
func TestRelayInterest(t *testing.T) {
	t.Parallel()
	r := newRelay(nil)
	h := newHub(time.Hour)
	h.relay = r
	h.beginStep("c", 1)
	parts := func() int {
		n := 0
		for {
			select {
			case it := <-r.queue:
				if it.kind == relayPart {
					n++
				}
			default:
				return n
			}
		}
	}
	h.part("c", wire.PartDelta{Kind: wire.PartTextDelta, Delta: "nobody"})
	if n := parts(); n != 0 {
		t.Fatalf("relayed %d parts nobody wants", n)
	}
	h.replayLive("c") // a want
	h.part("c", wire.PartDelta{Kind: wire.PartTextDelta, Delta: "wanted"})
	if n := parts(); n != 1 {
		t.Fatalf("relayed %d parts after a want, want 1", n)
	}
	h.replayDue(time.Now().Add(relayInterest + time.Second))
	h.part("c", wire.PartDelta{Kind: wire.PartTextDelta, Delta: "forgotten"})
	if n := parts(); n != 0 {
		t.Fatalf("relayed %d parts after the interest expired", n)
	}
	r.interested("c", time.Now()) // renewed
	h.part("c", wire.PartDelta{Kind: wire.PartTextDelta, Delta: "renewed"})
	if n := parts(); n != 1 {
		t.Fatalf("relayed %d parts after a renewal, want 1", n)
	}
}

// TestPeekChat: a receiver reads the chat of every payload without
// decoding it, and tells wants and interest from parts.
func TestPeekChat(t *testing.T) {
	t.Parallel()
	items := []relayItem{
		partItem("chat-1", 4, 10, true, `"quoted" {"c":"x"}`),
		{chatID: "chat-2", kind: relayWant},
		{chatID: "chat-3", kind: relayInterested},
		{chatID: "chat-4", base: 2, kind: relayReplay, live: []hubEvent{partItem("chat-4", 2, 5, true, "r").part}},
	}
	payloads, _ := encodeRelay("0123456789ab", items, relayMaxPayload)
	// Chat id -> whether its payload is a want or interest.
	want := map[string]bool{"chat-1": false, "chat-2": true, "chat-3": true, "chat-4": false}
	if len(payloads) != len(want) {
		t.Fatalf("%d payloads: %q", len(payloads), payloads)
	}
	for _, p := range payloads {
		id, control, ok := peekChat(p)
		if w, known := want[id]; !ok || !known || control != w {
			t.Errorf("peekChat(%s) = %q, %v, %v", p, id, control, ok)
		}
		delete(want, id)
	}
	if _, _, ok := peekChat(`{"o":"x","c":"a\"b","s":1}`); ok {
		t.Errorf("peekChat read a chat id with an escape")
	}
}

// TestRemotePartsWaitForMessages: parts of a step building on messages
// this hub has not published wait for them; the hub asks for one sync
// per new base, and releases them when the messages are published, or
// after the hold timeout.
func TestRemotePartsWaitForMessages(t *testing.T) {
	t.Parallel()
	h, _, drain := remoteHub(t)
	h.remoteReplay("c", "a", 5, nil) // nothing in progress
	if act := h.remoteParts("c", "a", 7, []remotePart{rp(100, true, "restart"), rp(101, false, "a")}); !act.sync {
		t.Fatalf("no sync asked for parts building on unpublished messages")
	}
	if act := h.remoteParts("c", "a", 7, []remotePart{rp(102, false, "b")}); act.sync || act.want {
		t.Fatalf("asked %+v again for the same base", act)
	}
	if evs := drain(); len(evs) != 0 {
		t.Fatalf("published %v before the messages they build on", numbered(evs))
	}
	publishSeq(h, "c", 6)
	if evs := drain(); len(evs) != 0 {
		t.Fatalf("published %v before message 7", numbered(evs))
	}
	publishSeq(h, "c", 7)
	if got, want := numbered(drain()), []string{"100:restart", "101:a", "102:b"}; !slices.Equal(got, want) {
		t.Fatalf("published %v, want %v", got, want)
	}
	// The sync never gets there: the parts go out after the timeout,
	// and the next ones of that step wait no more.
	h.remoteParts("c", "a", 9, []remotePart{rp(200, true, "restart")})
	h.expireHolds(time.Now().Add(relayHoldTimeout), relayHoldTimeout)
	h.remoteParts("c", "a", 9, []remotePart{rp(201, false, "c")})
	if got, want := numbered(drain()), []string{"200:restart", "201:c"}; !slices.Equal(got, want) {
		t.Fatalf("published %v, want %v", got, want)
	}
}

// TestRemotePartsGap: a part number skipped in a buffer (a lost payload)
// makes the hub ask for the buffer again and hold what follows; the
// replay fills the gap, in order, without repeating what was published.
func TestRemotePartsGap(t *testing.T) {
	t.Parallel()
	h, _, drain := remoteHub(t)
	h.remoteReplay("c", "a", 5, nil)
	h.remoteParts("c", "a", 5, []remotePart{rp(100, true, "0"), rp(101, false, "1")})
	if act := h.remoteParts("c", "a", 5, []remotePart{rp(103, false, "3")}); !act.want {
		t.Fatalf("no want after a gap")
	}
	if act := h.remoteParts("c", "a", 5, []remotePart{rp(104, false, "4")}); act.want {
		t.Fatalf("asked again while waiting")
	}
	h.remoteReplay("c", "a", 5, []remotePart{rp(100, true, "0"), rp(101, false, "1"), rp(102, false, "2"), rp(103, false, "3")})
	h.remoteParts("c", "a", 5, []remotePart{rp(105, false, "5")})
	if got, want := deltas(drain()), []string{"0", "1", "2", "3", "4", "5"}; !slices.Equal(got, want) {
		t.Fatalf("published %v, want %v", got, want)
	}
	// A part left out (too large) takes its number: no gap.
	if act := h.remoteParts("c", "a", 5, []remotePart{{n: 106}, rp(107, false, "7")}); act.want {
		t.Fatalf("a part left out made a gap")
	}
	if got, want := deltas(drain()), []string{"7"}; !slices.Equal(got, want) {
		t.Fatalf("published %v, want %v", got, want)
	}
}

// TestInterestWhileRunningHere: a chat watched on the replica that runs
// its step says so at once, and again when the step ends, so that a next
// turn taken by another replica relays its parts without waiting for the
// periodic renewal.
func TestInterestWhileRunningHere(t *testing.T) {
	t.Parallel()
	r := newRelay(nil)
	h := newHub(0)
	h.relay = r
	step := h.beginStep("c", 1)
	h.subscribe(context.Background(), "c", false)
	h.endStep("c", step)
	var kinds []relayKind
	for len(r.queue) > 0 {
		kinds = append(kinds, (<-r.queue).kind)
	}
	if len(kinds) != 2 || kinds[0] != relayInterested || kinds[1] != relayInterested {
		t.Fatalf("queued %v, want interest twice (subscribe, end of step)", kinds)
	}
	if got := h.watchedRemote(); len(got) != 1 || got[0] != "c" {
		t.Fatalf("watchedRemote = %v, want the chat", got)
	}
}
