package chatops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// RunFunc runs fn in one backend write transaction, committing when fn
// returns nil.
type RunFunc func(ctx context.Context, fn func(tx Tx) error) error

// Transitions implements the transition half of store.Chats on top of a
// backend's transactions, so each backend keeps only its SQL. A backend
// embeds it in its DB. It is safe for concurrent use when run is.
type Transitions struct {
	run  RunFunc
	wrap func(op string, err error) error
}

// NewTransitions returns the transitions run by run. wrap prefixes op to
// an unexpected error and maps driver errors onto the store's sentinels;
// refusals never reach it (see WrapErr).
func NewTransitions(run RunFunc, wrap func(op string, err error) error) Transitions {
	return Transitions{run: run, wrap: wrap}
}

// errf wraps err as the failure of the operation op.
func (t Transitions) errf(op string, err error) error { return WrapErr(op, err, t.wrap) }

// chat runs fn as one transition and wraps its error with op.
func (t Transitions) chat(ctx context.Context, op string, fn func(tx Tx) (store.Chat, error)) (store.Chat, error) {
	var c store.Chat
	err := t.run(ctx, func(tx Tx) (err error) {
		c, err = fn(tx)
		return err
	})
	if err != nil {
		return store.Chat{}, t.errf(op, err)
	}
	return c, nil
}

// Send commits or queues a user message; see store.Chats.
func (t Transitions) Send(ctx context.Context, chatID string, parts []store.Part, apiKeyID, createdBy string, mode store.SendMode) (store.SendResult, error) {
	var res store.SendResult
	err := t.run(ctx, func(tx Tx) (err error) {
		res, err = Send(ctx, tx, chatID, parts, apiKeyID, createdBy, mode)
		return err
	})
	return res, t.errf(fmt.Sprintf("send to chat %q", chatID), err)
}

// EditMessage replaces a user message and everything after it.
func (t Transitions) EditMessage(ctx context.Context, chatID, messageID string, parts []store.Part, apiKeyID string) (store.Chat, store.Message, error) {
	var (
		c store.Chat
		m store.Message
	)
	err := t.run(ctx, func(tx Tx) (err error) {
		c, m, err = EditMessage(ctx, tx, chatID, messageID, parts, apiKeyID)
		return err
	})
	return c, m, t.errf(fmt.Sprintf("edit message of chat %q", chatID), err)
}

// DeleteQueued removes a queued message.
func (t Transitions) DeleteQueued(ctx context.Context, chatID, queuedID string) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("delete queued message of chat %q", chatID), func(tx Tx) (store.Chat, error) {
		return UserOp(ctx, tx, chatID, store.OpDeleteQueued, func(c *store.Chat, _ time.Time) error {
			return tx.DeleteQueued(ctx, c.ID, queuedID)
		})
	})
}

// PromoteQueued moves a queued message to the head of the queue.
func (t Transitions) PromoteQueued(ctx context.Context, chatID, queuedID string) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("promote queued message of chat %q", chatID), func(tx Tx) (store.Chat, error) {
		return UserOp(ctx, tx, chatID, store.OpPromoteQueued, func(c *store.Chat, _ time.Time) error {
			return tx.PromoteQueued(ctx, c.ID, queuedID)
		})
	})
}

// Interrupt stops the running turn, keeping what it committed.
func (t Transitions) Interrupt(ctx context.Context, chatID string) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("interrupt chat %q", chatID), func(tx Tx) (store.Chat, error) {
		return Interrupt(ctx, tx, chatID)
	})
}

// SubmitToolResults answers the pending client tool calls.
func (t Transitions) SubmitToolResults(ctx context.Context, chatID string, results []store.Part) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("submit tool results to chat %q", chatID), func(tx Tx) (store.Chat, error) {
		return SubmitToolResults(ctx, tx, chatID, results)
	})
}

// SetArchived archives or unarchives a chat.
func (t Transitions) SetArchived(ctx context.Context, chatID string, archived bool) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("archive chat %q", chatID), func(tx Tx) (store.Chat, error) {
		return SetArchived(ctx, tx, chatID, archived)
	})
}

// SetTitle renames a chat.
func (t Transitions) SetTitle(ctx context.Context, chatID, title string) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("set title of chat %q", chatID), func(tx Tx) (store.Chat, error) {
		return UserOp(ctx, tx, chatID, store.OpSetTitle, func(c *store.Chat, _ time.Time) error {
			c.Title = CleanTitle(title)
			return nil
		})
	})
}

// SetDebugOverride switches debug recording for a chat; nil inherits.
func (t Transitions) SetDebugOverride(ctx context.Context, chatID string, on *bool) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("set debug override of chat %q", chatID), func(tx Tx) (store.Chat, error) {
		// Like a title, the override is metadata any state allows.
		return UserOp(ctx, tx, chatID, store.OpSetTitle, func(c *store.Chat, _ time.Time) error {
			c.DebugOverride = on
			return nil
		})
	})
}

// AcquireChat leases the least recently updated runnable chat to workerID.
// A lease of zero or less is already expired, which tests use to make a
// stale lease without waiting.
func (t Transitions) AcquireChat(ctx context.Context, workerID string, lease time.Duration) (store.Chat, bool, error) {
	var (
		c  store.Chat
		ok bool
	)
	err := t.run(ctx, func(tx Tx) (err error) {
		c, ok, err = Acquire(ctx, tx, workerID, lease)
		return err
	})
	if err != nil {
		return store.Chat{}, false, t.errf("acquire chat", err)
	}
	return c, ok, nil
}

// Heartbeat extends workerID's lease on a chat.
func (t Transitions) Heartbeat(ctx context.Context, chatID, workerID string, lease time.Duration) error {
	err := t.run(ctx, func(tx Tx) error { return Heartbeat(ctx, tx, chatID, workerID, lease) })
	return t.errf(fmt.Sprintf("heartbeat chat %q", chatID), err)
}

// ReleaseChat gives up workerID's lease, leaving the status as it is.
func (t Transitions) ReleaseChat(ctx context.Context, chatID, workerID string) error {
	err := t.run(ctx, func(tx Tx) error { return Release(ctx, tx, chatID, workerID) })
	return t.errf(fmt.Sprintf("release chat %q", chatID), err)
}

// CommitStep appends a step's messages.
func (t Transitions) CommitStep(ctx context.Context, chatID, workerID string, msgs []store.Message) (store.Chat, []store.Message, error) {
	var (
		c   store.Chat
		out []store.Message
	)
	err := t.run(ctx, func(tx Tx) (err error) {
		c, out, err = CommitStep(ctx, tx, chatID, workerID, msgs)
		return err
	})
	if err != nil {
		return store.Chat{}, nil, t.errf(fmt.Sprintf("commit step of chat %q", chatID), err)
	}
	return c, out, nil
}

// SetRetry records or clears the retry state shown to watchers.
func (t Transitions) SetRetry(ctx context.Context, chatID, workerID string, r *store.RetryState) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("set retry of chat %q", chatID), func(tx Tx) (store.Chat, error) {
		return SetRetry(ctx, tx, chatID, workerID, r)
	})
}

// FinishTurn ends the turn: the next queued message starts the next one,
// or the chat waits.
func (t Transitions) FinishTurn(ctx context.Context, chatID, workerID string) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("finish turn of chat %q", chatID), func(tx Tx) (store.Chat, error) {
		return FinishTurn(ctx, tx, chatID, workerID)
	})
}

// FinishWithError ends the turn in the error status, keeping the queue.
func (t Transitions) FinishWithError(ctx context.Context, chatID, workerID, msg string) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("finish chat %q with error", chatID), func(tx Tx) (store.Chat, error) {
		return FinishWithError(ctx, tx, chatID, workerID, msg)
	})
}

// EnterRequiresAction waits for client tool results until deadline.
func (t Transitions) EnterRequiresAction(ctx context.Context, chatID, workerID string, deadline time.Time) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("enter requires_action on chat %q", chatID), func(tx Tx) (store.Chat, error) {
		return EnterRequiresAction(ctx, tx, chatID, workerID, deadline)
	})
}

// CancelRequiresAction answers the pending client tool calls with errors
// and makes the chat runnable.
func (t Transitions) CancelRequiresAction(ctx context.Context, chatID string) (store.Chat, error) {
	return t.chat(ctx, fmt.Sprintf("cancel requires_action on chat %q", chatID), func(tx Tx) (store.Chat, error) {
		return CancelRequiresAction(ctx, tx, chatID)
	})
}

// errNoSummaryTx reports a backend whose Tx cannot check a compaction
// boundary: a programming error, not a refusal.
var errNoSummaryTx = errors.New("transaction does not implement chatops.SummaryTx")

// CommitSummary appends a compaction summary; see store.Chats. The
// backend's Tx must implement SummaryTx.
func (t Transitions) CommitSummary(ctx context.Context, chatID, workerID string, summary store.Message, throughSeq int64) (store.Chat, store.Message, error) {
	var (
		c store.Chat
		m store.Message
	)
	err := t.run(ctx, func(tx Tx) (err error) {
		stx, ok := tx.(SummaryTx)
		if !ok {
			return errNoSummaryTx
		}
		c, m, err = CommitSummary(ctx, stx, chatID, workerID, summary, throughSeq)
		return err
	})
	if err != nil {
		return store.Chat{}, store.Message{}, t.errf(fmt.Sprintf("commit summary of chat %q", chatID), err)
	}
	return c, m, nil
}
