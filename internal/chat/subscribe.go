package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// pageSize is how many messages one read returns.
const pageSize = 500

// Subscription is a watcher's stream of events.
type Subscription struct {
	// Events is closed when the Subscribe context ends, the chat is
	// deleted, or the watcher fell too far behind; the client then
	// subscribes again with the last ID it saw.
	Events <-chan wire.Event
}

// Subscribe returns everything after lastEventID ("" = from the start: the
// chat snapshot, every committed message, the queue and the live parts of
// the step in progress), then live events, with no loss or duplication
// across reconnects.
func (s *Service) Subscribe(ctx context.Context, chatID, lastEventID string) (*Subscription, error) {
	cur, err := parseCursor(lastEventID)
	if err != nil {
		return nil, err
	}
	if _, err := s.chats.GetChat(ctx, chatID); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	// Register before reading the database, so nothing committed from now
	// on is missed; the cursor drops what both paths deliver.
	// The poller and the forwarder belong to the Service, which stops
	// them when Run returns; the forwarder also ends with ctx.
	sub, live, st, pctx := s.hub.subscribe(s.bgCtx, chatID, s.watchPolling())
	if pctx != nil {
		s.goBackground(func(context.Context) { s.pollChat(pctx, chatID, st) })
	}
	out := make(chan wire.Event, 64)
	started := s.goBackground(func(bg context.Context) {
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(bg, cancel)
		defer stop()
		s.forward(fctx, chatID, sub, cur, live, out)
	})
	if !started {
		s.hub.unsubscribe(chatID, sub)
		close(out)
	}
	return &Subscription{Events: out}, nil
}

func (s *Service) forward(ctx context.Context, chatID string, sub *subscriber, cur cursor, live []hubEvent, out chan<- wire.Event) {
	defer close(out)
	defer s.hub.unsubscribe(chatID, sub)

	send := func(ev hubEvent) bool {
		if !cur.admit(ev) {
			return true
		}
		e := wire.Event{ID: cur.String(), Type: ev.typ, Chat: ev.chat, Message: ev.msg, Queue: ev.queue, Part: ev.part}
		if ev.typ == wire.EventTruncate {
			e.ID = ""
			e.Truncate = &wire.Truncation{FromSeq: ev.from}
		}
		select {
		case out <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}
	backlog, err := s.backlog(ctx, chatID, &cur)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.log.Warn("chat: read watcher backlog", "chat_id", chatID, "error", err)
		}
		return
	}
	for _, ev := range append(backlog, live...) {
		if !send(ev) {
			return
		}
	}
	tick := time.NewTicker(s.cfg.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.in:
			if !ok {
				return
			}
			if !send(ev) {
				return
			}
		case <-tick.C:
			select {
			case out <- wire.Event{Type: wire.EventHeartbeat}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// backlog reads the chat snapshot, the messages after the cursor's seq
// (with a truncate event first if an edit deleted it) and the queue from
// the database. A cursor ahead of the chat (an id of another chat, or from
// before the database was reset) would filter out every event and leave
// the watcher silent: it is reset, so the watcher gets everything from the
// start, as for an empty id.
func (s *Service) backlog(ctx context.Context, chatID string, cur *cursor) ([]hubEvent, error) {
	c, err := s.chats.GetChat(ctx, chatID)
	if err != nil {
		return nil, err
	}
	if cur.V > c.SnapshotVersion || cur.Q > c.SnapshotVersion {
		s.log.Debug("chat: watcher's event id is ahead of the chat; sending everything", "chat_id", chatID, "event_id", cur.String())
		*cur = cursor{}
	}
	cv := ViewChat(c)
	evs := []hubEvent{{typ: wire.EventChat, v: c.SnapshotVersion, chat: &cv}}
	msgs, ahead, err := s.messageEvents(ctx, chatID, cur.S)
	if err == nil && ahead {
		s.log.Debug("chat: watcher's event id is past the chat's messages; sending everything", "chat_id", chatID, "event_id", cur.String())
		*cur = cursor{}
		msgs, _, err = s.messageEvents(ctx, chatID, 0)
	}
	if err != nil {
		return nil, err
	}
	evs = append(evs, msgs...)
	q, err := s.chats.ListQueued(ctx, chatID)
	if err != nil {
		return nil, err
	}
	evs = append(evs, hubEvent{typ: wire.EventQueue, v: c.SnapshotVersion, queue: viewQueue(q)})
	return evs, nil
}

// messageEvents reads the visible messages after seq seen, in order, as
// message events. Seqs come from a per-chat counter, so a gap between two
// visible messages is history an edit soft-deleted; a truncate event goes
// before the message after each gap. To learn whether seen itself was
// deleted, the read starts at seen (no extra statement); only then is the
// history scanned for the last message before the gap.
func (s *Service) messageEvents(ctx context.Context, chatID string, seen int64) (evs []hubEvent, ahead bool, err error) {
	after, prev := seen, seen
	if seen > 0 {
		after = seen - 1
	}
	first := true
	for {
		msgs, err := s.chats.ListMessages(ctx, chatID, after, pageSize)
		if err != nil {
			return nil, false, err
		}
		if first && seen > 0 && len(msgs) == 0 {
			// Nothing at or after seen: an edit always leaves a message
			// after what it deleted, so seen was never this chat's.
			return nil, true, nil
		}
		for _, m := range msgs {
			after = m.Seq
			if first && seen > 0 {
				first = false
				if m.Seq == seen {
					continue
				}
				// seen was deleted: find where the deleted run starts.
				if prev, err = s.lastVisibleBefore(ctx, chatID, seen); err != nil {
					return nil, false, err
				}
			}
			first = false
			if m.Seq > prev+1 {
				evs = append(evs, hubEvent{typ: wire.EventTruncate, s: m.Seq, from: prev + 1})
			}
			mv := ViewMessage(m)
			evs = append(evs, hubEvent{typ: wire.EventMessage, s: m.Seq, msg: &mv})
			prev = m.Seq
		}
		if len(msgs) < pageSize {
			return evs, false, nil
		}
	}
}

// lastVisibleBefore returns the highest seq below seq of a visible
// message, or 0. It reads the history from the start, which only an edit
// makes necessary.
func (s *Service) lastVisibleBefore(ctx context.Context, chatID string, seq int64) (int64, error) {
	var last, after int64
	for {
		msgs, err := s.chats.ListMessages(ctx, chatID, after, pageSize)
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			if m.Seq >= seq {
				return last, nil
			}
			last, after = m.Seq, m.Seq
		}
		if len(msgs) < pageSize {
			return last, nil
		}
	}
}

func viewQueue(q []store.QueuedMessage) []wire.QueuedMessage {
	out := make([]wire.QueuedMessage, len(q))
	for i, m := range q {
		out[i] = ViewQueued(m)
	}
	return out
}

// sync publishes what changed in the database since the hub last looked:
// new messages in seq order (each after a truncate event when an edit
// deleted what came before it), then the chat snapshot and queue.
// Publishing from the database rather than from each caller's result keeps
// messages in order when transitions race.
func (s *Service) sync(ctx context.Context, chatID string) {
	s.publish(ctx, chatID, change{})
}

// syncRead is sync with the chat row already read (nil: read it here). The
// row must have been read before the messages, as sync does.
func (s *Service) syncRead(ctx context.Context, chatID string, read *store.Chat) {
	s.publish(ctx, chatID, change{chat: read})
}

// change is what a caller knows of the transition it publishes, so that
// publish reads back only what it cannot know. The zero change knows
// nothing: publish reads the chat, the new messages and the queue.
type change struct {
	// chat is the row the transition returned (nil: read it). A row is
	// committed before publish reads the messages, as sync requires.
	chat *store.Chat
	// noMessages says the transition added and deleted no message.
	noMessages bool
	// sameQueue says the transition left the queue as it was.
	sameQueue bool
}

// transitionChange describes a transition that returned c.
func transitionChange(c store.Chat, noMessages, sameQueue bool) change {
	return change{chat: &c, noMessages: noMessages, sameQueue: sameQueue}
}

// publish publishes a transition. When the transition returned version W,
// and everything up to version W-1 is known published, what the
// transition did not touch is unchanged since W-1 and is not read again:
// no transition of another writer can come between W-1 and W. Otherwise
// (a gap, a race, an unknown effect) it reads as sync does.
func (s *Service) publish(ctx context.Context, chatID string, ch change) {
	st, watched := s.hub.startSync(chatID)
	defer s.hub.endSync(chatID, st)
	if !watched {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	st.syncMu.Lock()
	defer st.syncMu.Unlock()
	var c store.Chat
	if ch.chat != nil {
		c = *ch.chat
	} else {
		var err error
		c, err = s.chats.GetChat(ctx, chatID)
		if errors.Is(err, store.ErrNotFound) {
			s.hub.closeChat(chatID)
			return
		}
		if err != nil {
			s.log.Warn("chat: publish changes", "chat_id", chatID, "error", err)
			return
		}
	}
	v := c.SnapshotVersion
	if ch.chat != nil && ch.noMessages && st.msgV >= 0 && st.msgV == v-1 {
		st.msgV = v
	} else {
		evs, _, err := s.messageEvents(ctx, chatID, s.hub.lastSeq(st))
		if err != nil {
			s.log.Warn("chat: publish messages", "chat_id", chatID, "error", err)
			return
		}
		for _, ev := range evs {
			if ev.typ == wire.EventTruncate {
				s.hub.publishTruncate(st, ev.from, ev.s)
				continue
			}
			s.hub.publishMessage(st, *ev.msg)
		}
		st.msgV = max(st.msgV, v)
	}
	if !(ch.chat != nil && ch.sameQueue && st.queueV >= 0 && st.queueV == v-1) {
		q, err := s.chats.ListQueued(ctx, chatID)
		if err != nil {
			s.log.Warn("chat: publish queue", "chat_id", chatID, "error", err)
			return
		}
		if v < st.queueV {
			// An older row: the queue just read is no worse than the one
			// cached, but the cache stays tied to its version.
			s.hub.publishChat(st, ViewChat(c), viewQueue(q))
			return
		}
		st.queue = viewQueue(q)
	}
	st.queueV = v
	s.hub.publishChat(st, ViewChat(c), st.queue)
}
