package store

import (
	"errors"
	"testing"
	"time"
)

func TestCheckTransition(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name     string
		status   ChatStatus
		archived bool
		op       ChatOp
		ok       bool
	}{
		{"send while running", ChatRunning, false, OpSend, true},
		{"send to archived", ChatWaiting, true, OpSend, false},
		{"title of archived", ChatWaiting, true, OpSetTitle, true},
		{"unarchive", ChatWaiting, true, OpUnarchive, true},
		{"unarchive live chat", ChatWaiting, false, OpUnarchive, false},
		{"edit while running", ChatRunning, false, OpEdit, false},
		{"edit while waiting for tools", ChatRequiresAction, false, OpEdit, true},
		{"interrupt idle", ChatWaiting, false, OpInterrupt, false},
		{"interrupt interrupting", ChatInterrupting, false, OpInterrupt, true},
		{"archive busy", ChatRequiresAction, false, OpArchive, false},
		{"archive error", ChatError, false, OpArchive, true},
		{"submit while running", ChatRunning, false, OpSubmitToolResults, false},
		{"finish interrupting", ChatInterrupting, false, OpFinishTurn, true},
		{"retry interrupting", ChatInterrupting, false, OpSetRetry, false},
		{"cancel running", ChatRunning, false, OpCancelRequiresAction, false},
		{"compact waiting", ChatWaiting, false, OpCompact, true},
		{"compact running", ChatRunning, false, OpCompact, true},
		{"compact archived", ChatError, true, OpCompact, false},
		{"unknown op", ChatRunning, false, ChatOp("dance"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckTransition(Chat{Status: tt.status, Archived: tt.archived}, tt.op, now)
			if tt.ok {
				if err != nil {
					t.Fatalf("CheckTransition = %v, want nil", err)
				}
				return
			}
			var te *TransitionError
			if !errors.As(err, &te) || !errors.Is(err, ErrConflict) {
				t.Fatalf("CheckTransition = %v, want a *TransitionError matching ErrConflict", err)
			}
			if te.Op != tt.op || te.Status != tt.status || te.Reason == "" {
				t.Fatalf("TransitionError = %+v", te)
			}
		})
	}
}

// TestCancelRequiresActionDeadline: a wait is cancelled only once its
// deadline passed, judged by the transition's own clock, so a sweeper
// working from a stale list cannot cut a newer wait short.
func TestCancelRequiresActionDeadline(t *testing.T) {
	t.Parallel()
	now := time.Now()
	later, earlier := now.Add(time.Second), now.Add(-time.Second)
	tests := []struct {
		name     string
		deadline *time.Time
		ok       bool
	}{
		{"before the deadline", &later, false},
		{"at the deadline", &now, true},
		{"after the deadline", &earlier, true},
		{"no deadline", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckTransition(Chat{Status: ChatRequiresAction, ActionDeadline: tt.deadline}, OpCancelRequiresAction, now)
			if tt.ok != (err == nil) {
				t.Fatalf("CheckTransition = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConflict) {
				t.Fatalf("CheckTransition = %v, want ErrConflict", err)
			}
		})
	}
}

func TestLeaseLive(t *testing.T) {
	t.Parallel()
	now := time.Now()
	later, earlier := now.Add(time.Second), now.Add(-time.Second)
	tests := []struct {
		name string
		c    Chat
		want bool
	}{
		{"no worker", Chat{LeaseExpiresAt: &later}, false},
		{"live", Chat{WorkerID: "w", LeaseExpiresAt: &later}, true},
		{"expired", Chat{WorkerID: "w", LeaseExpiresAt: &earlier}, false},
		{"expires now", Chat{WorkerID: "w", LeaseExpiresAt: &now}, false},
	}
	for _, tt := range tests {
		if got := LeaseLive(tt.c, now); got != tt.want {
			t.Errorf("%s: LeaseLive = %v, want %v", tt.name, got, tt.want)
		}
	}
}
