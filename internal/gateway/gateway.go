// Package gateway is chatd's AI gateway: an authenticating, recording
// reverse proxy in front of OpenAI- and Anthropic-style LLM APIs, with an
// in-process transport for the chat daemon.
package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// GovernanceHeader carries the caller's chatd API key when the provider
// auth headers hold the caller's own provider key (BYOK).
const GovernanceHeader = "X-Chatd-Governance-Token"

// DelegatedMarker is the GovernanceHeader value the chat daemon sends on
// the in-process transport when the provider auth headers are the user's
// own key. Its identity comes from the context (WithDelegatedKeyID).
const DelegatedMarker = "delegated"

// Request limits.
const (
	// maxRequestBody bounds what a client may send; beyond it: 413.
	maxRequestBody = 32 << 20
	// maxTapBody bounds how much of a blocking response is kept to read
	// usage from; the client still gets every byte.
	maxTapBody = 16 << 20
)

// Cache lifetimes. Short, so that a disabled provider or a
// new price takes effect within seconds without a lock on the hot path.
const (
	providerTTL = time.Second
	modelTTL    = 10 * time.Second
)

// Config configures a Gateway.
type Config struct {
	// Store holds providers, models and interceptions. Required.
	Store store.Store
	// Auth authenticates chatd API keys. Required.
	Auth *auth.Authenticator
	// Keyring opens the central provider keys. Required.
	Keyring *secret.Keyring
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// AllowBYOK lets callers send their own provider keys; if false such
	// requests get 403.
	AllowBYOK bool
	// RecordContent keeps prompts, tool arguments and reasoning text in
	// records; if false only tokens, costs and metadata are kept.
	RecordContent bool
	// Registerer receives the gateway's metrics; if nil, no metrics.
	Registerer prometheus.Registerer
	// Upstream sends requests to providers; if nil, NewUpstreamTransport().
	Upstream http.RoundTripper
	// Now; if nil, time.Now.
	Now func() time.Time
	// RecordTimeout bounds each record write, and the price lookup of a
	// record whose client went away; if zero, 5s.
	RecordTimeout time.Duration
	// BodyReadTimeout bounds reading a request body, so a client trickling
	// its body cannot hold a handler forever; if zero, 60s.
	BodyReadTimeout time.Duration
}

// Gateway is the AI gateway. It is an http.Handler for every path under
// /gateway/ and is safe for concurrent use.
type Gateway struct {
	store         store.Store
	auth          *auth.Authenticator
	keyring       *secret.Keyring
	log           *slog.Logger
	allowBYOK     bool
	recordContent bool
	upstream      http.RoundTripper
	now           func() time.Time
	metrics       *metrics
	recordTimeout time.Duration
	bodyTimeout   time.Duration

	providers *ttlCache[*providerEntry] // by name
	models    *ttlCache[modelEntry]     // by providerID + "\x00" + model

	rec    *recorder
	inproc tracker // handlers running for the in-process transport
}

// New returns a Gateway. Close it to flush pending records.
func New(c Config) (*Gateway, error) {
	if c.Store == nil || c.Auth == nil || c.Keyring == nil {
		return nil, errors.New("new gateway: Store, Auth and Keyring are required")
	}
	g := &Gateway{
		store:         c.Store,
		auth:          c.Auth,
		keyring:       c.Keyring,
		log:           cmp.Or(c.Logger, slog.Default()),
		allowBYOK:     c.AllowBYOK,
		recordContent: c.RecordContent,
		upstream:      c.Upstream,
		now:           c.Now,
		recordTimeout: cmp.Or(c.RecordTimeout, 5*time.Second),
		bodyTimeout:   cmp.Or(c.BodyReadTimeout, 60*time.Second),
		providers:     newTTLCache[*providerEntry](maxCachedProviders),
		models:        newTTLCache[modelEntry](maxCachedModels),
	}
	if g.upstream == nil {
		g.upstream = NewUpstreamTransport()
	}
	if g.now == nil {
		g.now = time.Now
	}
	m, err := newMetrics(c.Registerer)
	if err != nil {
		return nil, fmt.Errorf("new gateway: %w", err)
	}
	g.metrics = m
	g.rec = newRecorder(c.Store, g.log, g.recordTimeout)
	return g, nil
}

// NewUpstreamTransport returns a new transport tuned as the gateway's
// default upstream (Config.Upstream nil): http.DefaultTransport with many
// idle connections per provider host, and no transparent decompression,
// so the bytes and the Content-Encoding the client gets are the
// provider's own. Benchmarks give it to the proxies they compare the
// gateway with, so that none is starved of connections.
func NewUpstreamTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.DisableCompression = true
	t.ResponseHeaderTimeout = 0 // a model may think for minutes before answering
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// Close waits for in-process calls and pending record writes, or until
// ctx is done. Call it after the HTTP server has shut down. It starts no
// goroutine, so nothing of it outlives an expired ctx.
func (g *Gateway) Close(ctx context.Context) error {
	if err := g.inproc.wait(ctx); err != nil {
		return fmt.Errorf("close gateway: %w", err)
	}
	if err := g.rec.close(ctx); err != nil {
		return fmt.Errorf("close gateway: %w", err)
	}
	return nil
}

// Purge deletes records older than olderThan (by the database clock) and
// returns how many went.
func (g *Gateway) Purge(ctx context.Context, olderThan time.Duration) (int64, error) {
	now, err := g.store.Now(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge interceptions: %w", err)
	}
	n, err := g.store.PurgeInterceptions(ctx, now.Add(-olderThan))
	if err != nil {
		return 0, fmt.Errorf("purge interceptions: %w", err)
	}
	return n, nil
}

// tracker counts running calls and lets a caller wait, with a deadline,
// until none runs, without a goroutine that would outlive the wait (as one
// blocked in sync.WaitGroup.Wait would). It is safe for concurrent use.
type tracker struct {
	mu      sync.Mutex
	n       int             // guarded by mu
	waiters []chan struct{} // guarded by mu; closed when n reaches zero
}

func (t *tracker) add() {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
}

func (t *tracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n > 0 {
		return
	}
	for _, c := range t.waiters {
		close(c)
	}
	t.waiters = nil
}

// wait returns nil once no call runs, or ctx's error if it ends first.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	c := make(chan struct{})
	t.waiters = append(t.waiters, c)
	t.mu.Unlock()
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		t.mu.Lock()
		defer t.mu.Unlock()
		for i, w := range t.waiters {
			if w == c {
				t.waiters = append(t.waiters[:i], t.waiters[i+1:]...)
				break
			}
		}
		return ctx.Err()
	}
}
