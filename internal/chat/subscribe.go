package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// pageSize is how many messages one read returns.
const pageSize = 500

// Subscription is a watcher's stream of events.
type Subscription struct {
	// Events is closed when the Subscribe context ends, the chat is
	// deleted, or the watcher fell too far behind; the client then
	// subscribes again with the last ID it saw.
	Events <-chan Event
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
	sub, live := s.hub.subscribe(chatID)
	out := make(chan Event, 64)
	go s.forward(ctx, chatID, sub, cur, live, out)
	return &Subscription{Events: out}, nil
}

func (s *Service) forward(ctx context.Context, chatID string, sub *subscriber, cur cursor, live []hubEvent, out chan<- Event) {
	defer close(out)
	defer s.hub.unsubscribe(chatID, sub)

	send := func(ev hubEvent) bool {
		if !cur.admit(ev) {
			return true
		}
		e := Event{ID: cur.String(), Type: ev.typ, Chat: ev.chat, Message: ev.msg, Queue: ev.queue, Part: ev.part}
		select {
		case out <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}
	backlog, err := s.backlog(ctx, chatID, cur.S)
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
			case out <- Event{Type: EventHeartbeat}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// backlog reads the chat snapshot, the messages after afterSeq and the
// queue from the database.
func (s *Service) backlog(ctx context.Context, chatID string, afterSeq int64) ([]hubEvent, error) {
	c, err := s.chats.GetChat(ctx, chatID)
	if err != nil {
		return nil, err
	}
	cv := ViewChat(c)
	evs := []hubEvent{{typ: EventChat, v: c.SnapshotVersion, chat: &cv}}
	for {
		msgs, err := s.chats.ListMessages(ctx, chatID, afterSeq, pageSize)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			mv := ViewMessage(m)
			evs = append(evs, hubEvent{typ: EventMessage, s: m.Seq, msg: &mv})
			afterSeq = m.Seq
		}
		if len(msgs) < pageSize {
			break
		}
	}
	q, err := s.chats.ListQueued(ctx, chatID)
	if err != nil {
		return nil, err
	}
	evs = append(evs, hubEvent{typ: EventQueue, v: c.SnapshotVersion, queue: viewQueue(q)})
	return evs, nil
}

func viewQueue(q []store.QueuedMessage) []QueuedView {
	out := make([]QueuedView, len(q))
	for i, m := range q {
		out[i] = ViewQueued(m)
	}
	return out
}

// sync publishes what changed in the database since the hub last looked:
// new messages in seq order, then the chat snapshot and queue. Publishing
// from the database rather than from each caller's result keeps messages
// in order when transitions race.
func (s *Service) sync(ctx context.Context, chatID string) {
	st, watched := s.hub.startSync(chatID)
	defer s.hub.endSync(chatID, st)
	if !watched {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	st.syncMu.Lock()
	defer st.syncMu.Unlock()
	c, err := s.chats.GetChat(ctx, chatID)
	if errors.Is(err, store.ErrNotFound) {
		s.hub.closeChat(chatID)
		return
	}
	if err != nil {
		s.log.Warn("chat: publish changes", "chat_id", chatID, "error", err)
		return
	}
	after := s.hub.lastSeq(st)
	for {
		msgs, err := s.chats.ListMessages(ctx, chatID, after, pageSize)
		if err != nil {
			s.log.Warn("chat: publish messages", "chat_id", chatID, "error", err)
			return
		}
		for _, m := range msgs {
			s.hub.publishMessage(st, ViewMessage(m))
			after = m.Seq
		}
		if len(msgs) < pageSize {
			break
		}
	}
	q, err := s.chats.ListQueued(ctx, chatID)
	if err != nil {
		s.log.Warn("chat: publish queue", "chat_id", chatID, "error", err)
		return
	}
	s.hub.publishChat(st, ViewChat(c), viewQueue(q))
}
