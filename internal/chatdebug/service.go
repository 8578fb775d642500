// Package chatdebug records the model calls of chats whose debug recording
// is on: runs, steps and HTTP attempts, with every secret redacted before
// it is stored.
package chatdebug

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// Config configures a Service.
type Config struct {
	// Runs stores the recordings. Required.
	Runs store.DebugRuns
	// UserSettings holds the per-user toggle. If nil, the user level is
	// skipped.
	UserSettings store.UserSettings
	// Settings holds the deployment toggle. If nil, the deployment level is
	// only Force.
	Settings store.Settings
	// Clock returns the database's time (store.Store.Now), so cleanup and
	// sweep cutoffs do not depend on this replica's clock. Required.
	Clock func(ctx context.Context) (time.Time, error)
	// Force turns recording on for everyone without a chat or user
	// setting (--debug-recording).
	Force bool
	// Logger receives warnings. If nil, nothing is logged.
	Logger *slog.Logger
	// CreateTimeout bounds the creation of a run. If zero, 5s.
	CreateTimeout time.Duration
	// WriteTimeout bounds each later write (steps, attempts, finish). If
	// zero, 5s.
	WriteTimeout time.Duration
	// StaleAfter is how long a run may stay in_progress without an update
	// before the sweep finalises it. If zero, 10m.
	StaleAfter time.Duration
	// SweepInterval is how often Run sweeps and purges. If zero, 1m.
	SweepInterval time.Duration
	// Retention is how long runs are kept. If zero, runs are never purged
	// (the caller sets the 7-day default).
	Retention time.Duration
	// CleanupAttempts is how many times a cleanup is tried. If zero, 3.
	CleanupAttempts int
	// CleanupDelay is the pause between cleanup attempts. If zero, 500ms.
	CleanupDelay time.Duration
	// CleanupTimeout bounds each cleanup attempt. If zero, 5s.
	CleanupTimeout time.Duration
	// SkewMargin is subtracted from the database time when computing an
	// edit cleanup's window, so a replica whose clock lags cannot delete
	// the newer turn's rows. If zero, 30s.
	SkewMargin time.Duration
}

// Service decides whether chats are recorded, starts runs, and owns the
// background cleanups, writes and sweeps. A nil *Service records nothing.
//
// A Service is safe for concurrent use.
type Service struct {
	c   Config
	log *slog.Logger
	wg  sync.WaitGroup // write queues and run creations

	// cleanups counts the running cleanups (see retry). They run on stop,
	// a context stored, against the house rule, because it is the
	// Service's own lifetime: Close cancels it when its own context ends
	// first, so that no cleanup outlives Close against a closing store.
	cleanups   sync.WaitGroup
	stop       context.Context
	cancelStop context.CancelFunc

	mu      sync.Mutex
	subs    map[string]map[*subscriber]struct{} // by chat ID; guarded by mu
	closing bool                                // guarded by mu: Close cancelled the cleanups; none starts
}

// New returns a Service.
func New(c Config) *Service {
	c.CreateTimeout = cmp.Or(c.CreateTimeout, 5*time.Second)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, 5*time.Second)
	c.StaleAfter = cmp.Or(c.StaleAfter, 10*time.Minute)
	c.SweepInterval = cmp.Or(c.SweepInterval, time.Minute)
	c.CleanupAttempts = cmp.Or(c.CleanupAttempts, 3)
	c.CleanupDelay = cmp.Or(c.CleanupDelay, 500*time.Millisecond)
	c.CleanupTimeout = cmp.Or(c.CleanupTimeout, 5*time.Second)
	c.SkewMargin = cmp.Or(c.SkewMargin, 30*time.Second)
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stop, cancelStop := context.WithCancel(context.Background())
	return &Service{c: c, log: log, subs: make(map[string]map[*subscriber]struct{}), stop: stop, cancelStop: cancelStop}
}

// Close waits for background cleanups and pending writes, or until ctx
// ends. When ctx ends first, the cleanups still running are cancelled and
// Close waits for them to stop before it returns ctx's error, so none
// outlives it; cleanups asked for later are skipped. Close may be called
// again (tests use it to flush).
func (s *Service) Close(ctx context.Context) error {
	if s == nil {
		return nil
	}
	done := make(chan struct{})
	go func() {
		s.cleanups.Wait()
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		s.cancelStop()
		s.cleanups.Wait()
		return ctx.Err()
	}
}

// EventKind says what changed in a chat's debug recording.
type EventKind string

// Event kinds.
const (
	RunCreated   EventKind = "run_created"
	RunFinished  EventKind = "run_finished"
	StepCreated  EventKind = "step_created"
	StepFinished EventKind = "step_finished"
)

// RunEvent tells a watcher of a chat's debug view that a run or step
// changed; it reloads what it shows.
type RunEvent struct {
	Kind   EventKind
	ChatID string
	RunID  string
	StepID string // empty for run events
	Status store.DebugStatus
}

type subscriber struct {
	ch chan RunEvent
}

// subscriberBuffer is how many events a slow watcher may fall behind
// before events are dropped; a watcher only needs to know that something
// changed.
const subscriberBuffer = 32

// Subscribe returns a channel of the chat's debug events, closed when ctx
// ends. Events are dropped rather than block a recording.
func (s *Service) Subscribe(ctx context.Context, chatID string) <-chan RunEvent {
	sub := &subscriber{ch: make(chan RunEvent, subscriberBuffer)}
	if s == nil {
		close(sub.ch)
		return sub.ch
	}
	s.mu.Lock()
	m := s.subs[chatID]
	if m == nil {
		m = make(map[*subscriber]struct{})
		s.subs[chatID] = m
	}
	m[sub] = struct{}{}
	s.mu.Unlock()
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs[chatID], sub)
		if len(s.subs[chatID]) == 0 {
			delete(s.subs, chatID)
		}
		close(sub.ch)
	})
	return sub.ch
}

// notify sends ev to the chat's watchers without blocking.
func (s *Service) notify(ev RunEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs[ev.ChatID] {
		select {
		case sub.ch <- ev:
		default:
		}
	}
}

// goBackground runs f in a goroutine that Close waits for.
func (s *Service) goBackground(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}
