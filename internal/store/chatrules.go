package store

import (
	"errors"
	"fmt"
	"time"
)

// ErrLeaseLost means a worker no longer holds a chat's lease (it went
// stale and another worker took the chat over); the worker must stop.
var ErrLeaseLost = errors.New("chat lease lost")

// ChatOp names a transition, for the rules table and for error messages.
type ChatOp string

// Transitions.
const (
	OpSend                 ChatOp = "send"
	OpEdit                 ChatOp = "edit"
	OpDeleteQueued         ChatOp = "delete queued message"
	OpPromoteQueued        ChatOp = "promote queued message"
	OpInterrupt            ChatOp = "interrupt"
	OpSubmitToolResults    ChatOp = "submit tool results"
	OpArchive              ChatOp = "archive"
	OpUnarchive            ChatOp = "unarchive"
	OpSetTitle             ChatOp = "set title"
	OpAcquire              ChatOp = "acquire"
	OpCommitStep           ChatOp = "commit step"
	OpSetRetry             ChatOp = "set retry"
	OpFinishTurn           ChatOp = "finish turn"
	OpFinishWithError      ChatOp = "finish with error"
	OpEnterRequiresAction  ChatOp = "enter requires_action"
	OpCancelRequiresAction ChatOp = "cancel requires_action"
	// OpCompact commits a summary from outside the turn (a manual
	// compaction). Any live chat allows it: the summary covers messages
	// by seq, so a turn that started while it was written still sees its
	// own messages. The running turn's own compaction is an OpCommitStep.
	OpCompact ChatOp = "compact"
)

// TransitionError refuses a transition that is invalid in the chat's
// current state. It matches ErrConflict, so the API answers 409, and its
// message says why.
type TransitionError struct {
	Op     ChatOp
	Status ChatStatus
	Reason string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s: %s", e.Op, e.Reason)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *TransitionError) Unwrap() error { return ErrConflict }

// busy reports whether a turn is in progress or waiting on the client.
func (s ChatStatus) busy() bool {
	return s == ChatRunning || s == ChatInterrupting || s == ChatRequiresAction
}

// CheckTransition says whether op may run on c now. Backends call it inside
// the transaction, after locking the chat, so the rules live in one place.
// Lease ownership is checked separately (ErrLeaseLost).
func CheckTransition(c Chat, op ChatOp, now time.Time) error {
	refuse := func(reason string) error { return &TransitionError{Op: op, Status: c.Status, Reason: reason} }
	if c.Archived && op != OpUnarchive && op != OpSetTitle {
		return refuse("the chat is archived; unarchive it first")
	}
	switch op {
	case OpSend, OpDeleteQueued, OpPromoteQueued, OpSetTitle, OpCompact:
		return nil
	case OpEdit:
		if c.Status == ChatRunning || c.Status == ChatInterrupting {
			return refuse("a turn is running; interrupt it first")
		}
	case OpInterrupt:
		if !c.Status.busy() {
			return refuse("no turn is running")
		}
	case OpSubmitToolResults:
		if c.Status != ChatRequiresAction {
			return refuse("the chat is not waiting for tool results")
		}
	case OpArchive:
		if c.Status.busy() {
			return refuse("a turn is running; interrupt it first")
		}
	case OpUnarchive:
		if !c.Archived {
			return refuse("the chat is not archived")
		}
	case OpAcquire, OpCommitStep, OpFinishTurn, OpFinishWithError:
		if c.Status != ChatRunning && c.Status != ChatInterrupting {
			return refuse(fmt.Sprintf("the chat is %s, not running", c.Status))
		}
	case OpSetRetry, OpEnterRequiresAction:
		if c.Status != ChatRunning {
			return refuse(fmt.Sprintf("the chat is %s, not running", c.Status))
		}
	case OpCancelRequiresAction:
		if c.Status != ChatRequiresAction {
			return refuse("the chat is not waiting for tool results")
		}
		// Judged inside the transaction: a chat that got its results and
		// waits again, with a new deadline, since a sweeper listed it as
		// expired must not lose the new wait.
		if c.ActionDeadline != nil && now.Before(*c.ActionDeadline) {
			return refuse("the deadline for tool results has not passed")
		}
	default:
		return refuse("unknown transition")
	}
	return nil
}

// LeaseLive reports whether a worker's lease on c is still valid at now.
func LeaseLive(c Chat, now time.Time) bool {
	return c.WorkerID != "" && c.LeaseExpiresAt != nil && now.Before(*c.LeaseExpiresAt)
}
