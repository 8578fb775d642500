package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/chatd/chatd/internal/sse"
)

// defaultStreamHeartbeat is how long a chat stream may stay silent before
// a comment line is written, so proxies and clients see a live connection.
const defaultStreamHeartbeat = 15 * time.Second

// streamChat serves GET /chats/{id}/stream: the chat's events as
// Server-Sent Events, each flushed as it is written. A reconnecting client
// sends the id of the last event it saw in Last-Event-ID (or
// ?last_event_id= where it cannot set headers) and gets what followed it.
// The stream ends when the client goes away or the subscription closes (a
// watcher too slow to keep up); the client then reconnects with its last
// id.
func (a *API) streamChat(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	last := r.Header.Get("Last-Event-ID")
	if q := r.URL.Query().Get("last_event_id"); q != "" && last == "" {
		last = q
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	sub, err := a.chats.Subscribe(ctx, c.ID, last)
	if err != nil {
		return chatError("chat", err)
	}
	// On the way out, end the subscription and wait for it to close, so
	// no forwarding goroutine outlives the handler.
	defer func() {
		cancel()
		for range sub.Events {
		}
		if a.streamEnded != nil {
			a.streamEnded(c.ID)
		}
	}()

	rc := http.NewResponseController(w)
	// A server-wide write timeout must not cut a long-lived stream.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		a.log.Debug("chat stream ended", "chat_id", c.ID, "err", err)
		return nil
	}

	heartbeat := time.NewTicker(a.streamHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-heartbeat.C:
			// A comment: readers skip it, and it moves no event id.
			if _, err := w.Write([]byte(": heartbeat\n\n")); err != nil {
				a.log.Debug("chat stream ended", "chat_id", c.ID, "err", err)
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		case ev, ok := <-sub.Events:
			if !ok {
				return nil
			}
			data, err := json.Marshal(ev)
			if err != nil {
				a.log.Error("encode chat event", "chat_id", c.ID, "event_id", ev.ID, "err", err)
				return nil
			}
			if err := sse.WriteEvent(w, sse.Event{ID: ev.ID, Event: string(ev.Type), Data: data}); err != nil {
				a.log.Debug("chat stream ended", "chat_id", c.ID, "err", err)
				return nil
			}
			if err := rc.Flush(); err != nil {
				a.log.Debug("chat stream ended", "chat_id", c.ID, "err", fmt.Errorf("flush: %w", err))
				return nil
			}
			heartbeat.Reset(a.streamHeartbeat)
		}
	}
}
