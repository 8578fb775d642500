package chatdebug

import (
	"cmp"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// Run is one recorded chat turn or quick generation. A nil *Run is valid
// and records nothing, so callers need not check whether recording is on.
//
// A Run is safe for concurrent use.
type Run struct {
	s      *Service
	id     string
	chatID string

	steps atomic.Int64 // last step number used

	mu       sync.Mutex
	secrets  []string          // known secret values to scrub; guarded by mu
	queue    []func()          // pending writes, in order; guarded by mu
	draining bool              // a goroutine is draining queue; guarded by mu
	final    store.DebugStatus // the first final status given to Finish; guarded by mu
}

// newID returns a time-ordered ID, like the store's own.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// StartRun creates a run in the store and returns it, in progress. It is
// best effort: if the store fails or takes longer than CreateTimeout, it
// logs a warning and returns nil, and the caller goes on unrecorded.
func (s *Service) StartRun(ctx context.Context, r store.DebugRun) *Run {
	if s == nil {
		return nil
	}
	if r.ID == "" {
		r.ID = newID()
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = time.Now()
	}
	r.Status = store.DebugInProgress
	r.UpdatedAt = r.StartedAt
	r.FinishedAt = nil

	type result struct {
		run store.DebugRun
		err error
	}
	done := make(chan result, 1)
	var claim atomic.Int32 // 1: the caller takes the result; 2: it gave up
	cctx, cancel := context.WithTimeout(ctx, s.c.CreateTimeout)
	// The store may not honour its context (a locked SQLite file): create
	// in a goroutine so the turn waits CreateTimeout at most.
	s.goBackground(func() {
		defer cancel()
		created, err := s.c.Runs.CreateDebugRun(cctx, r)
		if claim.CompareAndSwap(0, 1) {
			done <- result{created, err}
			return
		}
		if err != nil {
			return
		}
		// Created after the caller gave up: nobody will finish it.
		wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), s.c.WriteTimeout)
		defer wcancel()
		st, summary, now := store.DebugError, "recording abandoned: run creation timed out", time.Now()
		if _, err := s.c.Runs.UpdateDebugRun(wctx, cmp.Or(created.ID, r.ID), store.DebugRunPatch{Status: &st, Summary: &summary, FinishedAt: &now}); err != nil {
			s.log.WarnContext(ctx, "finish abandoned debug run", "run_id", r.ID, "error", err)
		}
	})
	timer := time.NewTimer(s.c.CreateTimeout)
	defer timer.Stop()
	var res result
	select {
	case res = <-done:
	case <-timer.C:
		if claim.CompareAndSwap(0, 2) {
			s.log.WarnContext(ctx, "debug recording skipped: create run timed out", "chat_id", r.ChatID, "timeout", s.c.CreateTimeout)
			return nil
		}
		// The create finished just now and is handing over its result.
		res = <-done
	}
	if res.err != nil {
		s.log.WarnContext(ctx, "debug recording skipped: create run", "chat_id", r.ChatID, "error", res.err)
		return nil
	}
	id := cmp.Or(res.run.ID, r.ID)
	s.notify(RunEvent{Kind: RunCreated, ChatID: r.ChatID, RunID: id, Status: store.DebugInProgress})
	return &Run{s: s, id: id, chatID: r.ChatID}
}

// ID returns the run's ID, or "" for a nil Run.
func (r *Run) ID() string {
	if r == nil {
		return ""
	}
	return r.id
}

// AddSecrets registers values (a central or BYOK provider key, the chatd
// API key) that are scrubbed wherever they appear in what the run stores.
func (r *Run) AddSecrets(vals ...secret.Value) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vals {
		s := v.Reveal()
		if len(s) < minSecretLen {
			continue
		}
		r.secrets = append(r.secrets, s)
		// A key may also appear JSON-escaped.
		if b, err := json.Marshal(s); err == nil {
			if esc := strings.Trim(string(b), `"`); esc != s {
				r.secrets = append(r.secrets, esc)
			}
		}
	}
}

// redactor returns a redactor scrubbing the run's known secrets.
func (r *Run) redactor() redactor {
	r.mu.Lock()
	defer r.mu.Unlock()
	return redactor{secrets: append([]string(nil), r.secrets...)}
}

// enqueue schedules a store write after every write enqueued before it.
// Writes run in a goroutine owned by the Service, so a slow database never
// holds up a model call or its stream.
func (r *Run) enqueue(ctx context.Context, f func(ctx context.Context)) {
	base := context.WithoutCancel(ctx)
	job := func() {
		wctx, cancel := context.WithTimeout(base, r.s.c.WriteTimeout)
		defer cancel()
		f(wctx)
	}
	r.mu.Lock()
	r.queue = append(r.queue, job)
	start := !r.draining
	r.draining = true
	r.mu.Unlock()
	if start {
		r.s.goBackground(r.drain)
	}
}

func (r *Run) drain() {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.draining = false
			r.mu.Unlock()
			return
		}
		job := r.queue[0]
		r.queue[0] = nil
		r.queue = r.queue[1:]
		r.mu.Unlock()
		job()
	}
}

// flush waits until every write enqueued so far is done, or ctx ends.
func (r *Run) flush(ctx context.Context) {
	done := make(chan struct{})
	r.enqueue(ctx, func(context.Context) { close(done) })
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Finish records the run's end: a final status and a short summary. It
// waits for the run's pending writes, at most WriteTimeout each. The first
// final status wins; later calls change nothing, so a late update never
// moves a status backwards.
func (r *Run) Finish(ctx context.Context, status store.DebugStatus, summary string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	if r.final.Final() {
		r.mu.Unlock()
		r.s.log.DebugContext(ctx, "debug run already finished", "run_id", r.id, "status", r.final, "ignored", status)
		return
	}
	if status.Final() {
		r.final = status
	}
	r.mu.Unlock()
	rd := r.redactor()
	summary = rd.text(summary)
	now := time.Now()
	p := store.DebugRunPatch{Status: &status, Summary: &summary}
	if status.Final() {
		p.FinishedAt = &now
	}
	r.enqueue(ctx, func(ctx context.Context) {
		run, err := r.s.c.Runs.UpdateDebugRun(ctx, r.id, p)
		if err != nil {
			r.s.log.WarnContext(ctx, "finish debug run", "run_id", r.id, "error", err)
			return
		}
		r.s.notify(RunEvent{Kind: RunFinished, ChatID: r.chatID, RunID: r.id, Status: cmp.Or(run.Status, status)})
	})
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.s.c.WriteTimeout)
	defer cancel()
	r.flush(fctx)
}
