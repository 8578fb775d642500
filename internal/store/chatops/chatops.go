// Package chatops holds the chat transitions in terms of Tx, one backend
// transaction, so the rules are written once for every store backend.
package chatops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/store"
)

// Tx is what the transitions need from one backend transaction. Every
// method runs inside the transaction that locked the chat.
type Tx interface {
	// Lock returns the chat, locked until the transaction ends, and the
	// transaction's clock.
	Lock(ctx context.Context, chatID string) (store.Chat, time.Time, error)
	// Runnable locks the least recently updated runnable chat no other
	// transaction holds; ok is false when there is none.
	Runnable(ctx context.Context) (c store.Chat, now time.Time, ok bool, err error)
	// Save writes c's mutable fields; bump also increments
	// snapshot_version and sets updated_at to now.
	Save(ctx context.Context, c store.Chat, now time.Time, bump bool) (store.Chat, error)
	// InsertMessage gives m the chat's next seq, an ID when it has none,
	// and CreatedAt now.
	InsertMessage(ctx context.Context, m store.Message, now time.Time) (store.Message, error)
	// VisibleMessage returns a message of the chat that is not deleted.
	VisibleMessage(ctx context.Context, chatID, messageID string) (store.Message, error)
	// Tail returns the visible messages from the last assistant message
	// on, in order; none when there is no assistant message.
	Tail(ctx context.Context, chatID string) ([]store.Message, error)
	// DeleteFrom soft-deletes the visible messages with seq >= seq.
	DeleteFrom(ctx context.Context, chatID string, seq int64, now time.Time) error
	// Enqueue appends q at the end of the chat's queue.
	Enqueue(ctx context.Context, q store.QueuedMessage, now time.Time) (store.QueuedMessage, error)
	// EnqueueHead puts q at the head of the chat's queue.
	EnqueueHead(ctx context.Context, q store.QueuedMessage, now time.Time) (store.QueuedMessage, error)
	// PopQueued removes and returns the head of the queue; ok is false
	// when the queue is empty.
	PopQueued(ctx context.Context, chatID string) (q store.QueuedMessage, ok bool, err error)
	// DeleteQueued removes one queued message (ErrNotFound when missing).
	DeleteQueued(ctx context.Context, chatID, queuedID string) error
	// PromoteQueued moves one queued message to the head of the queue.
	PromoteQueued(ctx context.Context, chatID, queuedID string) error
}

// Cancellation outputs of pending client tool calls.
const (
	cancelNewMessage = "cancelled: the user sent a new message"
	cancelInterrupt  = "cancelled: interrupted by the user"
	cancelDeadline   = "cancelled: no result before the deadline"
)

// maxTitleRunes caps chat titles.
const maxTitleRunes = 200

func CleanTitle(s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxTitleRunes {
		s = strings.TrimSpace(string([]rune(s)[:maxTitleRunes]))
	}
	return s
}

// UserOp runs a user transition on the locked chat: it checks op, lets fn
// change the chat, and saves it with a bumped snapshot_version.
func UserOp(ctx context.Context, tx Tx, chatID string, op store.ChatOp, fn func(c *store.Chat, now time.Time) error) (store.Chat, error) {
	c, now, err := tx.Lock(ctx, chatID)
	if err != nil {
		return store.Chat{}, err
	}
	if err := store.CheckTransition(c, op, now); err != nil {
		return store.Chat{}, err
	}
	if fn != nil {
		if err := fn(&c, now); err != nil {
			return store.Chat{}, err
		}
	}
	return tx.Save(ctx, c, now, true)
}

// workerOp is userOp for a worker transition: workerID must own the chat.
func workerOp(ctx context.Context, tx Tx, chatID, workerID string, op store.ChatOp, fn func(c *store.Chat, now time.Time) error) (store.Chat, error) {
	return UserOp(ctx, tx, chatID, op, func(c *store.Chat, now time.Time) error {
		if c.WorkerID == "" || c.WorkerID != workerID {
			return store.ErrLeaseLost
		}
		if fn == nil {
			return nil
		}
		return fn(c, now)
	})
}

// release drops the worker's lease.
func release(c *store.Chat) {
	c.WorkerID = ""
	c.LeaseExpiresAt = nil
}

// commitUser commits a user message and makes the chat runnable.
func commitUser(ctx context.Context, tx Tx, c *store.Chat, parts []store.Part, apiKeyID, createdBy string, now time.Time) (store.Message, error) {
	m, err := tx.InsertMessage(ctx, store.Message{
		ChatID: c.ID, Role: store.RoleUser, Parts: parts, APIKeyID: apiKeyID, CreatedBy: createdBy,
	}, now)
	if err != nil {
		return store.Message{}, err
	}
	c.Status = store.ChatRunning
	c.APIKeyID = apiKeyID
	c.LastError = ""
	c.Retry = nil
	c.ActionDeadline = nil
	return m, nil
}

// popIntoTurn commits the head of the queue, if any, as the next user
// message and reports whether there was one.
func popIntoTurn(ctx context.Context, tx Tx, c *store.Chat, now time.Time) (bool, error) {
	q, ok, err := tx.PopQueued(ctx, c.ID)
	if err != nil || !ok {
		return false, err
	}
	_, err = commitUser(ctx, tx, c, q.Parts, q.APIKeyID, q.CreatedBy, now)
	return err == nil, err
}

// pendingCalls returns the client-side tool calls of the last assistant
// message that have no result yet, in order.
func pendingCalls(ctx context.Context, tx Tx, chatID string) ([]store.Part, error) {
	msgs, err := tx.Tail(ctx, chatID)
	if err != nil || len(msgs) == 0 {
		return nil, err
	}
	answered := map[string]bool{}
	for _, m := range msgs[1:] {
		for _, p := range m.Parts {
			if p.Type == store.PartToolResult {
				answered[p.ToolCallID] = true
			}
		}
	}
	var pending []store.Part
	for _, p := range msgs[0].Parts {
		if p.Type == store.PartToolCall && p.ClientSide && !answered[p.ToolCallID] {
			pending = append(pending, p)
		}
	}
	return pending, nil
}

// cancelPending answers every pending client tool call with an error
// result saying why.
func cancelPending(ctx context.Context, tx Tx, c *store.Chat, output string, now time.Time) error {
	pending, err := pendingCalls(ctx, tx, c.ID)
	if err != nil || len(pending) == 0 {
		return err
	}
	parts := make([]store.Part, len(pending))
	for i, p := range pending {
		parts[i] = store.Part{Type: store.PartToolResult, ToolCallID: p.ToolCallID, ToolName: p.ToolName, Output: output, IsError: true}
	}
	_, err = tx.InsertMessage(ctx, store.Message{ChatID: c.ID, Role: store.RoleTool, Parts: parts}, now)
	c.ActionDeadline = nil
	return err
}

func CreateChat(ctx context.Context, tx Tx, c store.Chat, first []store.Part, now time.Time) (store.Chat, error) {
	if len(first) == 0 {
		return c, nil
	}
	if _, err := commitUser(ctx, tx, &c, first, c.APIKeyID, c.OwnerID, now); err != nil {
		return store.Chat{}, err
	}
	// The creating insert set snapshot_version 1; this write is part of
	// the same transition.
	return tx.Save(ctx, c, now, false)
}

func Send(ctx context.Context, tx Tx, chatID string, parts []store.Part, apiKeyID, createdBy string, mode store.SendMode) (store.SendResult, error) {
	switch mode {
	case "", store.SendQueue, store.SendInterrupt:
	default:
		return store.SendResult{}, fmt.Errorf("%w: unknown send mode %q", store.ErrInvalid, mode)
	}
	if len(parts) == 0 {
		return store.SendResult{}, fmt.Errorf("%w: empty message", store.ErrInvalid)
	}
	var res store.SendResult
	c, err := UserOp(ctx, tx, chatID, store.OpSend, func(c *store.Chat, now time.Time) error {
		nq := store.QueuedMessage{ChatID: c.ID, Parts: parts, APIKeyID: apiKeyID, CreatedBy: createdBy}
		commit := c.Status == store.ChatWaiting || c.Status == store.ChatError
		// A failed turn keeps its queue: what was queued first runs
		// first, and this message waits behind it. (A waiting chat's
		// queue is empty: a turn ends waiting only when nothing is left
		// to pop.)
		if c.Status == store.ChatError && mode != store.SendInterrupt {
			q, ok, err := tx.PopQueued(ctx, c.ID)
			if err != nil {
				return err
			}
			if ok {
				m, err := commitUser(ctx, tx, c, q.Parts, q.APIKeyID, q.CreatedBy, now)
				if err != nil {
					return err
				}
				res.Started = &m
				nq, err = tx.Enqueue(ctx, nq, now)
				res.Queued = &nq
				return err
			}
		}
		if c.Status == store.ChatRequiresAction && mode == store.SendInterrupt {
			if err := cancelPending(ctx, tx, c, cancelNewMessage, now); err != nil {
				return err
			}
			commit = true
		}
		if commit {
			m, err := commitUser(ctx, tx, c, parts, apiKeyID, createdBy, now)
			res.Message = &m
			return err
		}
		if mode == store.SendInterrupt {
			// It runs next: the turn stops and the head of the queue
			// starts the next one.
			q, err := tx.EnqueueHead(ctx, nq, now)
			res.Queued = &q
			if c.Status == store.ChatRunning {
				c.Status = store.ChatInterrupting
			}
			return err
		}
		q, err := tx.Enqueue(ctx, nq, now)
		res.Queued = &q
		return err
	})
	if err != nil {
		return store.SendResult{}, err
	}
	res.Chat = c
	return res, nil
}

func EditMessage(ctx context.Context, tx Tx, chatID, messageID string, parts []store.Part, apiKeyID string) (store.Chat, store.Message, error) {
	if len(parts) == 0 {
		return store.Chat{}, store.Message{}, fmt.Errorf("%w: empty message", store.ErrInvalid)
	}
	var m store.Message
	c, err := UserOp(ctx, tx, chatID, store.OpEdit, func(c *store.Chat, now time.Time) error {
		old, err := tx.VisibleMessage(ctx, c.ID, messageID)
		if err != nil {
			return fmt.Errorf("message %q: %w", messageID, err)
		}
		if old.Role != store.RoleUser {
			return fmt.Errorf("%w: message %q is a %s message; only user messages can be edited", store.ErrInvalid, messageID, old.Role)
		}
		if err := tx.DeleteFrom(ctx, c.ID, old.Seq, now); err != nil {
			return err
		}
		m, err = commitUser(ctx, tx, c, parts, apiKeyID, old.CreatedBy, now)
		return err
	})
	if err != nil {
		return store.Chat{}, store.Message{}, err
	}
	return c, m, nil
}

func Interrupt(ctx context.Context, tx Tx, chatID string) (store.Chat, error) {
	return UserOp(ctx, tx, chatID, store.OpInterrupt, func(c *store.Chat, now time.Time) error {
		switch c.Status {
		case store.ChatRunning:
			c.Status = store.ChatInterrupting
		case store.ChatRequiresAction:
			if err := cancelPending(ctx, tx, c, cancelInterrupt, now); err != nil {
				return err
			}
			c.ActionDeadline = nil
			ok, err := popIntoTurn(ctx, tx, c, now)
			if err != nil {
				return err
			}
			if !ok {
				c.Status = store.ChatWaiting
			}
		}
		return nil
	})
}

func SubmitToolResults(ctx context.Context, tx Tx, chatID string, results []store.Part) (store.Chat, error) {
	return UserOp(ctx, tx, chatID, store.OpSubmitToolResults, func(c *store.Chat, now time.Time) error {
		pending, err := pendingCalls(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		calls := make(map[string]store.Part, len(pending))
		for _, p := range pending {
			calls[p.ToolCallID] = p
		}
		seen := make(map[string]bool, len(results))
		parts := make([]store.Part, len(results))
		for i, r := range results {
			if r.Type != store.PartToolResult {
				return fmt.Errorf("%w: result %d is a %q part, not %q", store.ErrInvalid, i, r.Type, store.PartToolResult)
			}
			call, ok := calls[r.ToolCallID]
			if !ok {
				return fmt.Errorf("%w: tool_call_id %q answers no pending client tool call", store.ErrInvalid, r.ToolCallID)
			}
			if seen[r.ToolCallID] {
				return fmt.Errorf("%w: tool_call_id %q answered twice", store.ErrInvalid, r.ToolCallID)
			}
			seen[r.ToolCallID] = true
			r.ToolName = call.ToolName
			r.ClientSide = false
			parts[i] = r
		}
		for _, p := range pending {
			if !seen[p.ToolCallID] {
				return fmt.Errorf("%w: missing result for tool_call_id %q", store.ErrInvalid, p.ToolCallID)
			}
		}
		if _, err := tx.InsertMessage(ctx, store.Message{ChatID: c.ID, Role: store.RoleTool, Parts: parts}, now); err != nil {
			return err
		}
		c.Status = store.ChatRunning
		c.ActionDeadline = nil
		return nil
	})
}

func SetArchived(ctx context.Context, tx Tx, chatID string, archived bool) (store.Chat, error) {
	op := store.OpUnarchive
	if archived {
		op = store.OpArchive
	}
	return UserOp(ctx, tx, chatID, op, func(c *store.Chat, _ time.Time) error {
		c.Archived = archived
		return nil
	})
}

func Acquire(ctx context.Context, tx Tx, workerID string, lease time.Duration) (store.Chat, bool, error) {
	if workerID == "" {
		return store.Chat{}, false, fmt.Errorf("%w: empty worker id", store.ErrInvalid)
	}
	c, now, ok, err := tx.Runnable(ctx)
	if err != nil || !ok {
		return store.Chat{}, false, err
	}
	if err := store.CheckTransition(c, store.OpAcquire, now); err != nil {
		return store.Chat{}, false, err
	}
	c.WorkerID = workerID
	exp := now.Add(lease)
	c.LeaseExpiresAt = &exp
	c, err = tx.Save(ctx, c, now, true)
	if err != nil {
		return store.Chat{}, false, err
	}
	return c, true, nil
}

func Heartbeat(ctx context.Context, tx Tx, chatID, workerID string, lease time.Duration) error {
	c, now, err := tx.Lock(ctx, chatID)
	if err != nil {
		return err
	}
	if c.WorkerID == "" || c.WorkerID != workerID {
		return store.ErrLeaseLost
	}
	exp := now.Add(lease)
	c.LeaseExpiresAt = &exp
	_, err = tx.Save(ctx, c, now, false)
	return err
}

func Release(ctx context.Context, tx Tx, chatID, workerID string) error {
	c, now, err := tx.Lock(ctx, chatID)
	if err != nil {
		return err
	}
	if c.WorkerID == "" || c.WorkerID != workerID {
		return store.ErrLeaseLost
	}
	release(&c)
	_, err = tx.Save(ctx, c, now, true)
	return err
}

func CommitStep(ctx context.Context, tx Tx, chatID, workerID string, msgs []store.Message) (store.Chat, []store.Message, error) {
	out := make([]store.Message, 0, len(msgs))
	c, err := workerOp(ctx, tx, chatID, workerID, store.OpCommitStep, func(c *store.Chat, now time.Time) error {
		for _, m := range msgs {
			m.ChatID = c.ID
			m, err := tx.InsertMessage(ctx, m, now)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		c.Retry = nil
		return nil
	})
	if err != nil {
		return store.Chat{}, nil, err
	}
	return c, out, nil
}

func SetRetry(ctx context.Context, tx Tx, chatID, workerID string, r *store.RetryState) (store.Chat, error) {
	return workerOp(ctx, tx, chatID, workerID, store.OpSetRetry, func(c *store.Chat, _ time.Time) error {
		if r == nil {
			c.Retry = nil
			return nil
		}
		v := *r
		v.NextAt = v.NextAt.UTC().Truncate(time.Microsecond)
		c.Retry = &v
		return nil
	})
}

func FinishTurn(ctx context.Context, tx Tx, chatID, workerID string) (store.Chat, error) {
	return workerOp(ctx, tx, chatID, workerID, store.OpFinishTurn, func(c *store.Chat, now time.Time) error {
		release(c)
		c.Retry = nil
		ok, err := popIntoTurn(ctx, tx, c, now)
		if err != nil {
			return err
		}
		if !ok {
			c.Status = store.ChatWaiting
		}
		return nil
	})
}

func FinishWithError(ctx context.Context, tx Tx, chatID, workerID, msg string) (store.Chat, error) {
	return workerOp(ctx, tx, chatID, workerID, store.OpFinishWithError, func(c *store.Chat, _ time.Time) error {
		release(c)
		c.Retry = nil
		c.Status = store.ChatError
		c.LastError = msg
		return nil
	})
}

func EnterRequiresAction(ctx context.Context, tx Tx, chatID, workerID string, deadline time.Time) (store.Chat, error) {
	return workerOp(ctx, tx, chatID, workerID, store.OpEnterRequiresAction, func(c *store.Chat, _ time.Time) error {
		release(c)
		c.Retry = nil
		c.Status = store.ChatRequiresAction
		d := deadline.UTC().Truncate(time.Microsecond)
		c.ActionDeadline = &d
		return nil
	})
}

func CancelRequiresAction(ctx context.Context, tx Tx, chatID string) (store.Chat, error) {
	return UserOp(ctx, tx, chatID, store.OpCancelRequiresAction, func(c *store.Chat, now time.Time) error {
		if err := cancelPending(ctx, tx, c, cancelDeadline, now); err != nil {
			return err
		}
		c.Status = store.ChatRunning
		c.ActionDeadline = nil
		return nil
	})
}

// WrapErr prefixes op to unexpected errors, mapping driver errors onto the
// store's sentinels with the backend's wrap. Refusals callers show to a
// person (*TransitionError, ErrInvalid) and ErrLeaseLost pass unchanged so
// their messages read well.
func WrapErr(op string, err error, wrap func(op string, err error) error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*store.TransitionError](err); ok {
		return err
	}
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrLeaseLost) {
		return err
	}
	return wrap(op, err)
}
