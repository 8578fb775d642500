package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// errWaitInterrupted ends a wait whose turn was cancelled.
var errWaitInterrupted = errors.New("the wait was interrupted")

type waitInput struct {
	AgentIDs       []string `json:"agent_ids"`
	TimeoutSeconds *float64 `json:"timeout_seconds"`
}

// agentResult is what wait_agent reports of one subagent.
type agentResult struct {
	AgentID string `json:"agent_id"`
	Title   string `json:"title,omitempty"`
	// Status is "completed", "error" or, after a timeout, "running".
	Status string `json:"status"`
	// Answer is the subagent's final answer, or what it wrote before an
	// error.
	Answer string `json:"answer,omitempty"`
	Error  string `json:"error,omitempty"`
}

type waitResult struct {
	Agents   []agentResult `json:"agents"`
	TimedOut bool          `json:"timed_out,omitempty"`
	Message  string        `json:"message,omitempty"`
}

// waitAgent returns once every listed subagent has finished (all of
// them, not the first: the agent usually needs every answer, and can
// list one id to wait for one), or when the timeout passes. It wakes on
// the subagents' chat events and polls as a fallback (events of a chat
// another replica runs may not reach this one). While it waits the turn
// gives its worker slot up, so that the subagents can run even when every
// slot holds a waiting parent.
func (s *Service) waitAgent(ctx context.Context, parent store.Chat, input string) (string, error) {
	var in waitInput
	if err := decodeInput(input, &in); err != nil {
		return "", err
	}
	var ids []string
	for _, id := range in.AgentIDs {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "", errors.New("agent_ids is required: list the subagents to wait for")
	}
	timeout := agentWaitTimeout(in.TimeoutSeconds)
	for _, id := range ids {
		if _, err := s.child(ctx, parent, id); err != nil {
			return "", err
		}
	}

	wctx, cancel := context.WithCancel(ctx)
	var drains sync.WaitGroup
	defer drains.Wait()
	defer cancel()
	notify := make(chan struct{}, 1)
	for _, id := range ids {
		sub, err := s.Subscribe(wctx, id, "")
		if err != nil {
			// The poll still sees it finish.
			s.log.Debug("chat: watch subagent", "subchat_id", id, "error", err)
			continue
		}
		drains.Go(func() {
			for ev := range sub.Events {
				if ev.Type != wire.EventChat || ev.Chat.Busy() {
					continue
				}
				select {
				case notify <- struct{}{}:
				default:
				}
			}
		})
	}

	reacquire := releaseSlot(ctx)
	// Every return takes the slot back: a turn that went on without one
	// would call the model past the worker limit.
	reacquired := false
	defer func() {
		if !reacquired {
			// Fails only when the turn was stopped, which then calls no
			// model; the slot's release stays a no-op.
			_ = reacquire(ctx)
		}
	}()
	if s.cfg.agentWaiting != nil {
		s.cfg.agentWaiting(parent.ID)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	poll := time.NewTicker(s.cfg.SubagentPollInterval)
	defer poll.Stop()
	timedOut := false
	for {
		results, done, err := s.agentResults(ctx, ids)
		if err != nil {
			if ctx.Err() != nil {
				return "", errWaitInterrupted
			}
			return "", err
		}
		if done || timedOut {
			reacquired = true
			if err := reacquire(ctx); err != nil {
				return "", errWaitInterrupted
			}
			r := waitResult{Agents: results}
			if !done {
				r.TimedOut = true
				r.Message = fmt.Sprintf("Timed out after %s; the subagents marked running are still working. Wait again, message them, or interrupt them.", timeout)
			}
			return toolJSON(r)
		}
		select {
		case <-ctx.Done():
			return "", errWaitInterrupted
		case <-notify:
		case <-poll.C:
		case <-timer.C:
			timedOut = true
		}
	}
}

// agentWaitTimeout turns the model's timeout_seconds into a duration: a
// missing, non-positive or NaN value means the default, and anything
// above maxAgentWait is capped before the conversion, which would
// overflow for huge values.
func agentWaitTimeout(seconds *float64) time.Duration {
	if seconds == nil || !(*seconds > 0) {
		return defaultAgentWait
	}
	if *seconds >= maxAgentWait.Seconds() {
		return maxAgentWait
	}
	return time.Duration(*seconds * float64(time.Second))
}

// agentResults reads the subagents' states; done is true when none is
// busy.
func (s *Service) agentResults(ctx context.Context, ids []string) ([]agentResult, bool, error) {
	out := make([]agentResult, 0, len(ids))
	done := true
	for _, id := range ids {
		c, err := s.chats.GetChat(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			out = append(out, agentResult{AgentID: id, Status: "error", Error: "the subagent was deleted"})
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("read subagent %s: %w", id, err)
		}
		r := agentResult{AgentID: id, Title: c.Title}
		switch {
		case busy(c.Status):
			done = false
			r.Status = "running"
		case c.Status == store.ChatError:
			r.Status = "error"
			r.Error = c.LastError
		default:
			r.Status = "completed"
		}
		if r.Status != "running" {
			if r.Answer, err = s.lastAnswer(ctx, id); err != nil {
				return nil, false, err
			}
		}
		out = append(out, r)
	}
	return out, done, nil
}

// lastAnswer is the text of a chat's latest assistant message that has
// any: its final answer, or what it reported before failing.
func (s *Service) lastAnswer(ctx context.Context, chatID string) (string, error) {
	var answer string
	after := int64(0)
	for {
		msgs, err := s.chats.ListMessages(ctx, chatID, after, pageSize)
		if err != nil {
			return "", fmt.Errorf("read subagent %s: %w", chatID, err)
		}
		for _, m := range msgs {
			if m.Role != store.RoleAssistant {
				continue
			}
			if t := strings.TrimSpace(textOf(m.Parts)); t != "" {
				answer = t
			}
		}
		if len(msgs) < pageSize {
			return answer, nil
		}
		after = msgs[len(msgs)-1].Seq
	}
}
