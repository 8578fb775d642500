// Package chat is the chat daemon core: it runs chat turns server-side on
// leased workers, streams their parts to watchers and drives every state
// transition through the store.
package chat

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/store"
)

// ErrInvalid marks input that can never be valid (an empty message, an
// unknown tool); the API answers 400. It wraps store.ErrInvalid so either
// test matches.
var ErrInvalid = fmt.Errorf("chat: %w", store.ErrInvalid)

// Defaults of Config.
const (
	defaultWorkers       = 8
	defaultLease         = 30 * time.Second
	defaultPollInterval  = time.Second
	defaultMaxSteps      = 25
	defaultRetryAttempts = 6
	defaultRetryBase     = time.Second
	defaultRetryMax      = 60 * time.Second
	defaultActionTimeout = 5 * time.Minute
	defaultStreamIdle    = 10 * time.Minute
	heartbeatInterval    = 15 * time.Second
	maxTitleLen          = 80
)

// Config configures a Service.
type Config struct {
	// Store holds model configs and the rest of chatd's data. Required.
	Store store.Store
	// Chats performs chat transitions. Required; the sqlite and postgres
	// *DB implement both Store and Chats.
	Chats store.Chats
	// Router builds every model, and decides and starts their debug
	// recording. Required.
	Router *route.Router
	// Debug is the debug recorder, cleaned up after edits, archives and
	// deletes. If nil, nothing is cleaned up.
	Debug *chatdebug.Service
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// WorkerID names this replica's workers in leases. If empty,
	// hostname-pid-random.
	WorkerID string
	// Workers is how many turns may run the model at once. A turn that
	// only waits for its subagents gives its slot up meanwhile. If zero, 8.
	Workers int
	// Lease is how long a worker's claim on a chat lasts without a
	// heartbeat (sent every Lease/3). If zero, 30s.
	Lease time.Duration
	// PollInterval is how often idle workers look for runnable chats when
	// nothing woke them (work created by other replicas). If zero, 1s.
	PollInterval time.Duration
	// WatchPollInterval is how often a chat that has watchers on this
	// replica, and whose turn runs elsewhere, is checked for changes
	// committed by other replicas. If zero, 500ms; if negative, never (one
	// replica alone).
	WatchPollInterval time.Duration
	// Relay carries live parts between replicas sharing the database, so
	// that a watcher sees a turn stream whichever replica runs it (see
	// RelayOf). If nil, they stay on the replica running the turn, and
	// other replicas' watchers see each step when it commits.
	Relay PartRelay
	// MaxSteps caps the model calls of one turn. If zero, 25.
	MaxSteps int
	// RetryAttempts caps retries of a failing model call. If zero, 6.
	RetryAttempts int
	// RetryBase is the first retry's backoff, doubled on each attempt. If
	// zero, 1s.
	RetryBase time.Duration
	// RetryMax caps the backoff. If zero, 60s.
	RetryMax time.Duration
	// ActionTimeout is how long a chat waits for client tool results. If
	// zero, 5m.
	ActionTimeout time.Duration
	// StreamIdleTimeout is how long a model call may go without a stream
	// part, the wait for the response's first byte included, before it is
	// cancelled and retried like a broken stream: heartbeats keep a turn's
	// lease, so a silent upstream would otherwise hold the chat for good.
	// Reasoning models may think for minutes before their first token, so
	// it is generous. If zero, 10m.
	StreamIdleTimeout time.Duration
	// TitleModelID is the model config for titles. If empty, the chat's.
	TitleModelID string
	// Now; if nil, time.Now.
	Now func() time.Time
	// Tools are the server-side tools offered to the model. If nil, the
	// built-in current_time tool alone. The subagent tools are added to
	// them unless NoSubagents is set.
	Tools []Tool
	// NoSubagents leaves the subagent tools (spawn_agent and friends) out.
	// If false, root chats may delegate to subagents.
	NoSubagents bool
	// MaxSubagentsPerUser caps one user's busy subagents (running,
	// requires_action or interrupting); a spawn, or a message_agent that
	// would restart an idle subagent, beyond it is a tool error. If zero,
	// 8.
	MaxSubagentsPerUser int
	// MaxSubagents caps the deployment's busy subagents. If zero, 64.
	// Both caps count the subagents this replica started.
	MaxSubagents int
	// SubagentPollInterval is how often wait_agent re-reads its subagents
	// when no event woke it. If zero, 2s.
	SubagentPollInterval time.Duration

	// heartbeat is the watcher heartbeat period; zero: 15s.
	heartbeat time.Duration
	// sweepInterval is how often expired requires_action waits are
	// cancelled; zero: 1s.
	sweepInterval time.Duration
	// agentWaiting, if set, is called with the parent chat id once a
	// wait_agent call waits with its slot released (tests).
	agentWaiting func(chatID string)
	// compactDone, if set, is called with the chat id once a manual
	// compaction ended, committed or not (tests).
	compactDone func(chatID string)
	// beforeTurnCleanup and afterTurnCleanup, if set, are called with
	// the chat id when a finished turn starts and ends dropping its
	// registration and live step (tests).
	beforeTurnCleanup, afterTurnCleanup func(chatID string)
	// relayListening, if set, is called each time the relay listens, and
	// relayReceived with each payload of another replica once handled
	// (tests).
	relayListening func()
	relayReceived  func(relayPayload)
}

// Service runs chats. It is safe for concurrent use.
type Service struct {
	store  store.Store
	chats  store.Chats
	router *route.Router
	log    *slog.Logger
	cfg    Config
	now    func() time.Time
	tools  map[string]Tool
	hub    *hub
	relay  *relay // nil without Config.Relay
	agents agentTracker

	slots chan struct{} // a token per running turn; capacity Workers
	wake  chan struct{}
	sweep chan struct{} // asks the sweeper to run now (tests)

	// bg owns every goroutine that outlives the call that started it:
	// title generations, idle compactions, watch forwarders and replica
	// pollers. Run cancels bgCtx and waits for bg on its way out, so
	// nothing reads the store after Run returns. bgCtx is stored, against
	// the house rule, because it is the Service's own lifetime, not a
	// request's. New goroutines start under mu only while it is live
	// (see goBackground).
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc

	mu      sync.Mutex
	running map[string]*runningTurn // guarded by mu: chat id -> the turn running here
	titling map[string]bool         // guarded by mu: chats whose title is being generated
}

// runningTurn is a turn's entry in Service.running. Entries are compared
// by identity: a turn removes its own and never its successor's.
type runningTurn struct {
	cancel context.CancelCauseFunc
}

// New returns a Service; call Run to start its workers.
func New(c Config) (*Service, error) {
	if c.Store == nil || c.Chats == nil || c.Router == nil {
		return nil, errors.New("new chat service: Store, Chats and Router are required")
	}
	if c.Workers < 0 || c.StreamIdleTimeout < 0 || c.Lease < 0 || c.ActionTimeout < 0 {
		return nil, errors.New("new chat service: Workers, StreamIdleTimeout, Lease and ActionTimeout must not be negative")
	}
	c.Workers = cmp.Or(c.Workers, defaultWorkers)
	c.Lease = cmp.Or(c.Lease, defaultLease)
	c.PollInterval = cmp.Or(c.PollInterval, defaultPollInterval)
	c.MaxSteps = cmp.Or(c.MaxSteps, defaultMaxSteps)
	c.RetryAttempts = cmp.Or(c.RetryAttempts, defaultRetryAttempts)
	c.RetryBase = cmp.Or(c.RetryBase, defaultRetryBase)
	c.RetryMax = cmp.Or(c.RetryMax, defaultRetryMax)
	c.ActionTimeout = cmp.Or(c.ActionTimeout, defaultActionTimeout)
	c.StreamIdleTimeout = cmp.Or(c.StreamIdleTimeout, defaultStreamIdle)
	c.MaxSubagentsPerUser = cmp.Or(c.MaxSubagentsPerUser, defaultMaxChildrenPerUser)
	c.MaxSubagents = cmp.Or(c.MaxSubagents, defaultMaxChildren)
	c.SubagentPollInterval = cmp.Or(c.SubagentPollInterval, defaultAgentPollInterval)
	c.heartbeat = cmp.Or(c.heartbeat, heartbeatInterval)
	c.sweepInterval = cmp.Or(c.sweepInterval, time.Second)
	if c.WorkerID == "" {
		c.WorkerID = defaultWorkerID()
	}
	tools := c.Tools
	if tools == nil {
		tools = []Tool{CurrentTime{Now: c.Now}}
	}
	s := &Service{
		store:   c.Store,
		chats:   c.Chats,
		router:  c.Router,
		log:     cmp.Or(c.Logger, slog.Default()),
		cfg:     c,
		now:     c.Now,
		tools:   make(map[string]Tool, len(tools)),
		slots:   make(chan struct{}, c.Workers),
		wake:    make(chan struct{}, 1),
		sweep:   make(chan struct{}, 1),
		running: make(map[string]*runningTurn),
		titling: make(map[string]bool),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if !c.NoSubagents {
		tools = append(slices.Clip(tools), s.agentTools()...)
	}
	tools = append(slices.Clip(tools), NewAdvisorTool(s))
	for _, t := range tools {
		s.tools[t.Name()] = t
	}
	s.hub = newHub(s.cfg.heartbeat)
	if c.Relay != nil {
		s.relay = newRelay(c.Relay)
		s.hub.relay = s.relay
	}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	return s, nil
}

func defaultWorkerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", cmp.Or(host, "chatd"), os.Getpid(), hex.EncodeToString(b))
}

// Run runs the workers, the requires_action deadline sweeper and, with a
// Relay, its sender and listener until ctx ends, then releases the chats its workers hold, stops the Service's
// background goroutines (title generations, compactions, watchers'
// forwarders and pollers: their subscriptions end) and waits for them.
func (s *Service) Run(ctx context.Context) error {
	var wg, turns sync.WaitGroup
	wg.Go(func() { s.acquire(ctx, &turns) })
	wg.Go(func() { s.sweeper(ctx) })
	if s.relay != nil {
		wg.Go(func() { s.relay.send(ctx, s.log) })
		wg.Go(func() { s.listenParts(ctx) })
	}
	wg.Wait()
	turns.Wait()
	// Under mu, so that no title generation starts once Wait may run.
	s.mu.Lock()
	s.bgCancel()
	s.mu.Unlock()
	s.bg.Wait()
	return nil
}

// goBackground runs f on a goroutine owned by the Service, with a context
// that ends when Run returns. It reports false, without running f, when
// the Service already stopped.
func (s *Service) goBackground(f func(ctx context.Context)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bgCtx.Err() != nil {
		return false
	}
	s.bg.Go(func() { f(s.bgCtx) })
	return true
}

// wakeWorkers nudges an idle worker to look for runnable chats.
func (s *Service) wakeWorkers() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
