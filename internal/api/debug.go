package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/sse"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// Pages of debug runs.
const (
	defaultDebugRunLimit = 50
	maxDebugRunLimit     = 200
)

func (a *API) debugRoutes() {
	p := Prefix + "/chats/{id}/debug"
	a.handle("GET "+p+"/runs", anyUser, a.chatsOn(a.listDebugRuns))
	a.handle("GET "+p+"/runs/{run}", anyUser, a.chatsOn(a.getDebugRun))
	a.handle("GET "+p+"/stream", anyUser, a.chatsOn(a.streamDebug))
}

// debugChat loads the chat named by {id} for its debug recordings, which
// its owner and admins may read (unlike the chat itself: recordings are
// for troubleshooting). Anyone else gets the 404 of a missing chat.
func (a *API) debugChat(r *http.Request) (store.Chat, error) {
	c, err := a.store.GetChat(r.Context(), r.PathValue("id"))
	p := principal(r)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.OwnerID != p.User.ID && !p.IsAdmin()) {
		return store.Chat{}, errNotFound("chat")
	}
	if err != nil {
		return store.Chat{}, fmt.Errorf("get chat: %w", err)
	}
	return c, nil
}

func viewDebugRun(r store.DebugRun) wire.DebugRun {
	return wire.DebugRun{
		ID:            r.ID,
		Kind:          r.Kind,
		ChatID:        r.ChatID,
		RootChatID:    r.RootChatID,
		ParentChatID:  r.ParentChatID,
		MessageID:     r.MessageID,
		ModelConfigID: r.ModelConfigID,
		Provider:      r.Provider,
		Model:         r.Model,
		Status:        string(r.Status),
		Summary:       r.Summary,
		StartedAt:     r.StartedAt.UTC(),
		UpdatedAt:     r.UpdatedAt.UTC(),
		FinishedAt:    utcPtr(r.FinishedAt),
	}
}

// rawOr returns b when it holds a JSON value, else def.
func rawOr(b json.RawMessage, def string) json.RawMessage {
	if len(b) == 0 || !json.Valid(b) {
		return json.RawMessage(def)
	}
	return b
}

func viewDebugStep(s store.DebugStep) wire.DebugStep {
	v := wire.DebugStep{
		ID:         s.ID,
		Number:     s.Number,
		Operation:  s.Operation,
		Status:     string(s.Status),
		Request:    rawOr(s.Request, "{}"),
		Response:   rawOr(s.Response, "null"),
		Error:      s.Error,
		StartedAt:  s.StartedAt.UTC(),
		FinishedAt: utcPtr(s.FinishedAt),
		Attempts:   make([]wire.DebugAttempt, 0, len(s.Attempts)),
	}
	for _, at := range s.Attempts {
		v.Attempts = append(v.Attempts, wire.DebugAttempt{
			Number:          at.Number,
			Method:          at.Method,
			URL:             at.URL,
			Status:          at.Status,
			RequestHeaders:  nonNilHeader(at.RequestHeader),
			RequestBody:     at.RequestBody,
			ResponseHeaders: nonNilHeader(at.ResponseHeader),
			ResponseBody:    at.ResponseBody,
			Error:           at.Error,
			StartedAt:       at.StartedAt.UTC(),
			DurationMS:      millis(at.Duration),
			TTFBMS:          millis(at.TimeToFirstByte),
		})
	}
	return v
}

// viewDebugEvent is the data of a debug stream's run event.
func viewDebugEvent(ev chatdebug.RunEvent) wire.DebugEvent {
	return wire.DebugEvent{Kind: string(ev.Kind), ChatID: ev.ChatID, RunID: ev.RunID, StepID: ev.StepID, Status: string(ev.Status)}
}

func nonNilHeader(h http.Header) http.Header {
	if h == nil {
		return http.Header{}
	}
	return h
}

func (a *API) listDebugRuns(w http.ResponseWriter, r *http.Request) error {
	c, err := a.debugChat(r)
	if err != nil {
		return err
	}
	limit := defaultDebugRunLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxDebugRunLimit {
			return invalid("limit", "must be an integer from 1 to %d", maxDebugRunLimit)
		}
		limit = n
	}
	runs, err := a.store.ListDebugRuns(r.Context(), c.ID, limit)
	if err != nil {
		return fmt.Errorf("list debug runs: %w", err)
	}
	out := make([]wire.DebugRun, 0, len(runs))
	for _, run := range runs {
		out = append(out, viewDebugRun(run))
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
	return nil
}

func (a *API) getDebugRun(w http.ResponseWriter, r *http.Request) error {
	c, err := a.debugChat(r)
	if err != nil {
		return err
	}
	run, steps, err := a.store.GetDebugRun(r.Context(), r.PathValue("run"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && run.ChatID != c.ID) {
		return errNotFound("debug run")
	}
	if err != nil {
		return fmt.Errorf("get debug run: %w", err)
	}
	out := wire.DebugRunDetail{Run: viewDebugRun(run), Steps: make([]wire.DebugStep, 0, len(steps))}
	for _, s := range steps {
		out.Steps = append(out.Steps, viewDebugStep(s))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// streamDebug serves GET /chats/{id}/debug/stream: a "run" event whenever
// a run or step of the chat recorded on this server changes; the client
// reloads what it shows. Comment lines keep a silent stream open.
func (a *API) streamDebug(w http.ResponseWriter, r *http.Request) error {
	c, err := a.debugChat(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var events <-chan chatdebug.RunEvent
	if a.debug != nil {
		events = a.debug.Subscribe(ctx, c.ID)
	}

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil
	}
	heartbeat := time.NewTicker(a.streamHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-heartbeat.C:
			if _, err := w.Write([]byte(": heartbeat\n\n")); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			data, _ := json.Marshal(viewDebugEvent(ev))
			if err := sse.WriteEvent(w, sse.Event{Event: "run", Data: data}); err != nil {
				a.log.Debug("debug stream ended", "chat_id", c.ID, "err", err)
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
			heartbeat.Reset(a.streamHeartbeat)
		}
	}
}
