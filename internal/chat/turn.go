package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// turn is one run of a chat's agent loop by a worker that holds its lease.
type turn struct {
	s   *Service
	log *slog.Logger
	wid string
	c   store.Chat
	// The turn keeps its contexts, against the house rule, because they
	// are its lifetime, not a request's: ctx carries the worker's life
	// (store transitions use it, so an interrupt can still commit the
	// partial answer); tctx is cancelled, with a cause, by interrupts, a
	// lost lease or shutdown, to stop the model call and tools. Its
	// cancel func is in Service.running.
	ctx  context.Context
	tctx context.Context
	// step is the hub's number of the step in progress (zero: none yet),
	// so that the turn ends its own step and never a later turn's.
	step int64
	// dbg is the turn's debug run, started with its first model (nil:
	// unrecorded); dbgDecided is set once the first model was routed.
	dbg        *chatdebug.Run
	dbgDecided bool
	// steps, toolCalls and lastFinish count the committed steps, for the
	// debug run's summary.
	steps, toolCalls int
	lastFinish       fantasy.FinishReason
}

// stepResult is what one model call produced.
type stepResult struct {
	parts  []store.Part
	usage  fantasy.Usage
	finish fantasy.FinishReason
}

// runTurn runs a turn of an acquired chat, then leaves the chat finished,
// in error, waiting for the client, or released (on shutdown).
func (s *Service) runTurn(ctx context.Context, workerID string, c store.Chat) {
	log := s.log.With("chat_id", c.ID, "worker_id", workerID)
	tctx, cancel := context.WithCancelCause(ctx)
	t := &turn{s: s, log: log, wid: workerID, c: c, ctx: ctx, tctx: tctx}
	own := &runningTurn{cancel: cancel}
	s.mu.Lock()
	s.running[c.ID] = own
	s.mu.Unlock()
	done := make(chan struct{})
	var hb sync.WaitGroup
	hb.Go(func() { s.heartbeat(ctx, done, c.ID, workerID, cancel) })
	defer func() {
		close(done)
		hb.Wait()
		if s.cfg.beforeTurnCleanup != nil {
			s.cfg.beforeTurnCleanup(c.ID)
		}
		// By now the finishing transition may have started the chat's
		// next turn (a queued message), here or elsewhere: only this
		// turn's own entry and step are removed.
		s.mu.Lock()
		if s.running[c.ID] == own {
			delete(s.running, c.ID)
		}
		s.mu.Unlock()
		cancel(nil)
		s.hub.endStep(c.ID, t.step)
		if s.cfg.afterTurnCleanup != nil {
			s.cfg.afterTurnCleanup(c.ID)
		}
	}()
	// Acquiring leases the chat and touches neither messages nor queue.
	s.publish(ctx, c.ID, transitionChange(c, true, true))

	err := t.run()
	t.endDebugAfter(err)
	switch {
	case ctx.Err() != nil:
		// Shutting down: hand the chat to another worker, which redoes
		// the step that was in progress.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if err := s.chats.ReleaseChat(rctx, c.ID, workerID); err != nil && !errors.Is(err, store.ErrLeaseLost) && !errors.Is(err, store.ErrNotFound) {
			log.Warn("chat: release on shutdown", "error", err)
		}
		s.sync(rctx, c.ID)
	case errors.Is(err, store.ErrLeaseLost):
		log.Info("chat: lease lost; another worker owns the chat")
	case errors.Is(err, store.ErrNotFound):
		log.Debug("chat: deleted during its turn")
	case err != nil:
		log.Warn("chat: turn", "error", err)
	}
}

func (t *turn) run() error {
	if t.c.Status == store.ChatInterrupting {
		return t.finish()
	}
	for step := 1; ; step++ {
		history, err := t.history()
		if err != nil {
			return err
		}
		if step > t.s.cfg.MaxSteps {
			return t.fail(fmt.Sprintf("the turn stopped after %d model steps without a final answer; send a message to continue", t.s.cfg.MaxSteps))
		}
		keyID := activeKey(history)
		if keyID == "" {
			return t.fail("the latest user message has no API key to attribute the model call to; send it again with an API key")
		}
		req := route.Request{
			UserID:        t.c.OwnerID,
			ModelConfigID: t.c.ModelConfigID,
			APIKeyID:      keyID,
			ChatID:        t.c.ID,
			Purpose:       route.PurposeChat,
			Debug:         t.debugInfo(history),
		}
		if t.c.ParentChatID != "" {
			req.ChatID, req.SubchatID = t.c.ParentChatID, t.c.ID
		}
		res, err := t.routeWithRetry(req)
		if err != nil {
			if cause := t.stopCause(); cause != nil {
				return t.stopped(cause, stepResult{}, route.Result{})
			}
			if errors.Is(err, store.ErrLeaseLost) || errors.Is(err, store.ErrNotFound) {
				return err
			}
			return t.fail(classifyRoute(err).Message)
		}
		t.routed(res)
		// Before every model call, a turn's first included, so that a
		// plain conversation compacts too, not only a tool loop.
		compacted, err := t.maybeCompact(history, res)
		if err != nil {
			return err
		}
		if compacted {
			if history, err = t.history(); err != nil {
				return err
			}
		}
		call := fantasy.Call{Prompt: buildPrompt(history), Tools: t.s.callTools(t.c)}
		base := int64(0)
		if len(history) > 0 {
			base = history[len(history)-1].Seq
		}
		t.step = t.s.hub.beginStep(t.c.ID, base)
		if step == 1 {
			// This worker's first step may be one a crashed or stopped
			// worker already streamed part of: watchers drop that partial.
			t.s.hub.part(t.c.ID, wire.PartDelta{Kind: wire.PartRestart})
		}
		r, err := t.streamWithRetry(res.Model, call)
		if err != nil {
			if cause := t.stopCause(); cause != nil {
				return t.stopped(cause, r, res)
			}
			if errors.Is(err, store.ErrLeaseLost) || errors.Is(err, store.ErrNotFound) {
				return err
			}
			return t.fail(classify(err).Message)
		}
		more, err := t.commit(r, res)
		if err != nil || !more {
			return err
		}
	}
}

// history reads the chat's visible messages.
func (t *turn) history() ([]store.Message, error) {
	var out []store.Message
	after := int64(0)
	for {
		msgs, err := t.s.chats.ListMessages(t.ctx, t.c.ID, after, pageSize)
		if err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		out = append(out, msgs...)
		if len(msgs) < pageSize {
			return out, nil
		}
		after = msgs[len(msgs)-1].Seq
	}
}

// activeKey is the API key of the latest visible user message; older
// messages never stand in for it.
func activeKey(history []store.Message) string {
	for _, m := range slices.Backward(history) {
		if m.Role == store.RoleUser {
			return m.APIKeyID
		}
	}
	return ""
}

// stopCause says why the turn's context ended, or nil if it did not.
func (t *turn) stopCause() error {
	if t.tctx.Err() == nil {
		return nil
	}
	return context.Cause(t.tctx)
}

// stopped ends a turn cut short: an interrupt keeps the partial answer;
// a lost lease or a shutdown commits nothing.
func (t *turn) stopped(cause error, partial stepResult, res route.Result) error {
	mc := res.ModelConfig
	if !errors.Is(cause, errInterrupted) {
		return cause
	}
	t.endDebug(store.DebugInterrupted, "interrupted")
	var keep []store.Part
	for _, p := range partial.parts {
		if (p.Type == store.PartText || p.Type == store.PartReasoning) && p.Text != "" {
			keep = append(keep, p)
		}
	}
	if len(keep) > 0 {
		m := store.Message{
			Role:          store.RoleAssistant,
			Parts:         keep,
			Usage:         toUsage(partial.usage, res.Provider.Type),
			ModelConfigID: mc.ID,
			EndReason:     store.EndInterrupted,
		}
		// Usage arrives with the end of the stream, so an interrupted
		// answer rarely has any: it stays unmetered (no cost), which the
		// cost summary counts apart from unpriced models.
		if partial.usage != (fantasy.Usage{}) {
			m.CostMicros = mc.Prices.CostMicros(m.Usage, res.Provider.Type)
		}
		c, _, err := t.s.chats.CommitStep(t.ctx, t.c.ID, t.wid, []store.Message{m})
		if err != nil {
			return fmt.Errorf("commit partial answer: %w", err)
		}
		t.s.publish(t.ctx, t.c.ID, transitionChange(c, false, true))
	}
	return t.finish()
}

// finish ends the turn; the store starts the next queued message, if any.
func (t *turn) finish() error {
	t.endDebug(store.DebugCompleted, "")
	c, err := t.s.chats.FinishTurn(t.ctx, t.c.ID, t.wid)
	if err != nil {
		return fmt.Errorf("finish turn: %w", err)
	}
	t.s.hub.endStep(t.c.ID, t.step)
	// A chat left waiting had an empty queue, so nothing was popped into
	// a new turn; a running one took the head of the queue as a message.
	idle := c.Status == store.ChatWaiting
	t.s.changedBy(t.ctx, t.c.ID, transitionChange(c, idle, idle))
	return nil
}

// fail ends the turn in error with a message a person can act on.
func (t *turn) fail(msg string) error {
	t.log.Info("chat: turn failed", "reason", msg)
	t.endDebug(store.DebugError, msg)
	c, err := t.s.chats.FinishWithError(t.ctx, t.c.ID, t.wid, msg)
	if err != nil {
		return fmt.Errorf("finish with error: %w", err)
	}
	t.s.hub.endStep(t.c.ID, t.step)
	// The chat keeps its queue and gets no message.
	t.s.publish(t.ctx, t.c.ID, transitionChange(c, true, true))
	return nil
}

// streamWithRetry runs one model step, retrying what is worth retrying
// with exponential backoff and visible retry state.
func (t *turn) streamWithRetry(model fantasy.LanguageModel, call fantasy.Call) (stepResult, error) {
	for attempt := 0; ; attempt++ {
		r, err := t.stream(model, call)
		if err == nil {
			if attempt > 0 {
				// CommitStep clears the retry state too; clearing it now
				// shows watchers the retry worked while the step commits.
				if _, err := t.s.chats.SetRetry(t.ctx, t.c.ID, t.wid, nil); err != nil && !errors.Is(err, store.ErrConflict) {
					return r, err
				}
				t.s.sync(t.ctx, t.c.ID)
			}
			return r, nil
		}
		if t.stopCause() != nil {
			return r, err
		}
		me := classify(err)
		if !me.Retryable || attempt >= t.s.cfg.RetryAttempts {
			if me.Retryable {
				return r, &modelError{Message: fmt.Sprintf("%s (gave up after %d retries)", me.Message, attempt), Cause: err}
			}
			return r, me
		}
		t.log.Info("chat: retrying model call", "attempt", attempt+1, "error", err)
		if err := t.retryWait(attempt+1, me.Message); err != nil {
			return stepResult{}, err
		}
		t.s.hub.part(t.c.ID, wire.PartDelta{Kind: wire.PartRestart, Attempt: attempt + 1})
	}
}

// routeWithRetry routes the step's model. A failure other than
// route.ErrUnroutable (a database hiccup) is retried like a failed model
// call instead of ending the chat.
func (t *turn) routeWithRetry(req route.Request) (route.Result, error) {
	for attempt := 0; ; attempt++ {
		res, err := t.s.router.Model(t.tctx, req, route.Options{})
		if err == nil {
			if attempt > 0 {
				if _, err := t.s.chats.SetRetry(t.ctx, t.c.ID, t.wid, nil); err != nil && !errors.Is(err, store.ErrConflict) {
					return res, err
				}
				t.s.sync(t.ctx, t.c.ID)
			}
			return res, nil
		}
		if t.stopCause() != nil {
			return res, err
		}
		me := classifyRoute(err)
		if !me.Retryable || attempt >= t.s.cfg.RetryAttempts {
			if me.Retryable {
				t.log.Warn("chat: route model; giving up", "attempts", attempt+1, "error", err)
				return res, &modelError{Message: fmt.Sprintf("%s (gave up after %d retries)", me.Message, attempt), Cause: err}
			}
			return res, me
		}
		t.log.Warn("chat: route model; retrying", "attempt", attempt+1, "error", err)
		if err := t.retryWait(attempt+1, me.Message); err != nil {
			return route.Result{}, err
		}
	}
}

// retryWait shows retry attempt n with msg on the chat, then waits out
// its backoff; it returns early, with the cause, when the turn stops.
func (t *turn) retryWait(n int, msg string) error {
	delay := backoff(n, t.s.cfg.RetryBase, t.s.cfg.RetryMax)
	rs := &store.RetryState{Attempt: n, NextAt: t.s.now().Add(delay), Error: msg}
	c, err := t.s.chats.SetRetry(t.ctx, t.c.ID, t.wid, rs)
	if err != nil {
		if errors.Is(err, store.ErrConflict) && t.stopCause() != nil {
			return err
		}
		return fmt.Errorf("set retry: %w", err)
	}
	t.s.publish(t.ctx, t.c.ID, transitionChange(c, true, true))
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-t.tctx.Done():
		return context.Cause(t.tctx)
	}
}

// stream runs one model call, publishing its parts as they arrive. On
// error it returns what arrived so far. A call that goes
// StreamIdleTimeout without a part, from the request on, is cancelled
// with a retryable error.
func (t *turn) stream(model fantasy.LanguageModel, call fantasy.Call) (stepResult, error) {
	var r stepResult
	idle := t.s.cfg.StreamIdleTimeout
	sctx, cancel := context.WithCancelCause(t.tctx)
	defer cancel(nil)
	timer := time.AfterFunc(idle, func() { cancel(errStreamIdle) })
	defer timer.Stop()
	// ended says why sctx ended: the turn's cause, or the idle timeout.
	ended := func() error {
		if t.tctx.Err() != nil {
			return context.Cause(t.tctx)
		}
		if sctx.Err() != nil {
			return &modelError{Message: fmt.Sprintf("the model provider sent nothing for %s", idle), Retryable: true, Cause: context.Cause(sctx)}
		}
		return nil
	}
	resp, err := model.Stream(sctx, call)
	if err != nil {
		if e := ended(); e != nil {
			return r, e
		}
		return r, err
	}
	blocks := map[string]int{} // "t:"/"r:" + stream id -> index in r.parts
	block := func(kind store.PartType, id string) int {
		key := string(kind) + ":" + id
		if i, ok := blocks[key]; ok {
			return i
		}
		r.parts = append(r.parts, store.Part{Type: kind})
		blocks[key] = len(r.parts) - 1
		return len(r.parts) - 1
	}
	finished := false
	for part := range resp {
		if sctx.Err() != nil {
			break
		}
		timer.Reset(idle)
		switch part.Type {
		case fantasy.StreamPartTypeTextStart:
			block(store.PartText, part.ID)
		case fantasy.StreamPartTypeTextDelta:
			i := block(store.PartText, part.ID)
			r.parts[i].Text += part.Delta
			if part.Delta != "" {
				t.s.hub.part(t.c.ID, wire.PartDelta{Kind: wire.PartTextDelta, Block: part.ID, Delta: part.Delta})
			}
		case fantasy.StreamPartTypeTextEnd:
			if len(part.ProviderMetadata) > 0 {
				r.parts[block(store.PartText, part.ID)].ProviderMetadata = encodeMetadata(part.ProviderMetadata)
			}
		case fantasy.StreamPartTypeReasoningStart, fantasy.StreamPartTypeReasoningDelta, fantasy.StreamPartTypeReasoningEnd:
			i := block(store.PartReasoning, part.ID)
			r.parts[i].Text += part.Delta
			if len(part.ProviderMetadata) > 0 {
				r.parts[i].ProviderMetadata = encodeMetadata(part.ProviderMetadata)
			}
			if part.Delta != "" {
				t.s.hub.part(t.c.ID, wire.PartDelta{Kind: wire.PartReasoningDelta, Block: part.ID, Delta: part.Delta})
			}
		case fantasy.StreamPartTypeToolInputStart:
			t.s.hub.part(t.c.ID, wire.PartDelta{Kind: wire.PartToolCallStart, ToolCallID: part.ID, ToolName: part.ToolCallName, ClientSide: t.clientTool(part.ToolCallName)})
		case fantasy.StreamPartTypeToolInputDelta:
			if part.Delta != "" {
				t.s.hub.part(t.c.ID, wire.PartDelta{Kind: wire.PartToolCallDelta, ToolCallID: part.ID, Delta: part.Delta})
			}
		case fantasy.StreamPartTypeToolCall:
			if part.ProviderExecuted {
				continue
			}
			p := store.Part{
				Type:             store.PartToolCall,
				ToolCallID:       part.ID,
				ToolName:         part.ToolCallName,
				Input:            part.ToolCallInput,
				ClientSide:       t.clientTool(part.ToolCallName),
				ProviderMetadata: encodeMetadata(part.ProviderMetadata),
			}
			r.parts = append(r.parts, p)
			t.s.hub.part(t.c.ID, wire.PartDelta{Kind: wire.PartToolCall, ToolCallID: p.ToolCallID, ToolName: p.ToolName, Input: p.Input, ClientSide: p.ClientSide})
		case fantasy.StreamPartTypeFinish:
			r.usage = part.Usage
			r.finish = part.FinishReason
			finished = true
		case fantasy.StreamPartTypeError:
			if e := ended(); e != nil {
				return r, e
			}
			return r, part.Error
		}
	}
	if t.tctx.Err() != nil {
		return r, context.Cause(t.tctx)
	}
	if finished {
		// Complete, even if the idle timer fired on what followed the
		// finish event.
		return r, nil
	}
	if e := ended(); e != nil {
		return r, e
	}
	return r, errIncompleteStream
}

// clientTool reports whether name is a tool the API client runs.
func (t *turn) clientTool(name string) bool {
	if _, ok := t.s.tools[name]; ok {
		return false
	}
	for _, ct := range t.c.ClientTools {
		if ct.Name == name {
			return true
		}
	}
	return false
}

// commit runs the step's server tools and commits the assistant message
// with their results in one transition. It reports whether the loop goes
// on with another step.
func (t *turn) commit(r stepResult, res route.Result) (bool, error) {
	var results []store.Part
	calls, client := 0, 0
	// Tools that call a model (the advisor) report their usage here.
	m := &meter{}
	tctx := withDebug(withMeter(t.tctx, m), t.debugInfo(nil))
	for _, p := range r.parts {
		if p.Type != store.PartToolCall {
			continue
		}
		calls++
		if p.ClientSide {
			client++
			continue
		}
		out, isErr := t.runTool(tctx, p)
		rp := store.Part{Type: store.PartToolResult, ToolCallID: p.ToolCallID, ToolName: p.ToolName, Output: out, IsError: isErr}
		results = append(results, rp)
		t.s.hub.part(t.c.ID, wire.PartDelta{Kind: wire.PartToolResult, ToolCallID: rp.ToolCallID, ToolName: rp.ToolName, Output: rp.Output, IsError: rp.IsError})
	}
	t.steps++
	t.toolCalls += calls
	t.lastFinish = r.finish
	usage := toUsage(r.usage, res.Provider.Type)
	msgs := []store.Message{{
		Role:          store.RoleAssistant,
		Parts:         r.parts,
		Usage:         usage,
		CostMicros:    res.ModelConfig.Prices.CostMicros(usage, res.Provider.Type),
		ModelConfigID: res.ModelConfig.ID,
	}}
	if len(results) > 0 {
		tm := store.Message{Role: store.RoleTool, Parts: results}
		m.apply(&tm)
		msgs = append(msgs, tm)
	}
	c, _, err := t.s.chats.CommitStep(t.ctx, t.c.ID, t.wid, msgs)
	if err != nil {
		// The step's calls were paid for (a worker that took the chat
		// over redoes the step).
		for _, m := range msgs {
			t.s.spentWithoutMessage(t.ctx, t.c.ID, m)
		}
		return false, fmt.Errorf("commit step: %w", err)
	}
	t.s.publish(t.ctx, t.c.ID, transitionChange(c, false, true))
	t.s.hub.endStep(t.c.ID, t.step)
	switch cause := t.stopCause(); {
	case errors.Is(cause, errInterrupted):
		return false, t.finish()
	case cause != nil:
		return false, cause
	}
	if client > 0 {
		t.endDebug(store.DebugCompleted, "waiting for client tool results")
		deadline := t.s.now().Add(t.s.cfg.ActionTimeout)
		c, err := t.s.chats.EnterRequiresAction(t.ctx, t.c.ID, t.wid, deadline)
		if err != nil {
			if errors.Is(err, store.ErrConflict) {
				// Interrupted between the commit and now.
				return false, t.finish()
			}
			return false, fmt.Errorf("enter requires_action: %w", err)
		}
		t.s.publish(t.ctx, t.c.ID, transitionChange(c, true, true))
		return false, nil
	}
	if calls == 0 {
		return false, t.finish()
	}
	return true, nil
}

// runTool runs a server tool call; failures become error results.
func (t *turn) runTool(ctx context.Context, p store.Part) (string, bool) {
	tool, ok := t.s.tools[p.ToolName]
	if !ok {
		return fmt.Sprintf("unknown tool %q", p.ToolName), true
	}
	out, err := tool.Run(ctx, ToolCall{ChatID: t.c.ID, ID: p.ToolCallID, Input: p.Input})
	if err != nil {
		if t.tctx.Err() != nil {
			return "the tool was interrupted", true
		}
		return err.Error(), true
	}
	return out, false
}

// toUsage converts fantasy's usage, whose input never includes cached
// tokens, to chatd's, which follows each provider's own convention like
// the gateway's records: OpenAI-style input includes cached tokens.
func toUsage(u fantasy.Usage, t store.ProviderType) store.Usage {
	in := u.InputTokens
	if t != store.ProviderAnthropic {
		in += u.CacheReadTokens + u.CacheCreationTokens
	}
	return store.Usage{
		Input:      in,
		Output:     u.OutputTokens,
		CacheRead:  u.CacheReadTokens,
		CacheWrite: u.CacheCreationTokens,
		Reasoning:  u.ReasoningTokens,
	}
}
