// Package server assembles chatd's parts (store, authenticator, API,
// gateway) into one HTTP server and runs it until its context ends.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chatd/chatd/internal/api"
	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/chat"
	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/store/sqlite"
	"github.com/chatd/chatd/internal/web"
)

// Config configures a server. The command line fills it from flags and
// environment variables.
type Config struct {
	// Listen is the TCP address to serve on; if empty, 127.0.0.1:7080.
	Listen string
	// DataDir holds the SQLite database and the secret key file; if empty,
	// ./chatd-data.
	DataDir string
	// PostgresURL selects PostgreSQL instead of SQLite when set.
	PostgresURL string
	// SecretKey is CHATD_SECRET_KEY: base64 keys, comma separated, the
	// first one sealing. If empty, SQLite deployments use (and create) a
	// key file in DataDir; PostgreSQL deployments refuse to start.
	SecretKey secret.Value
	// SecretKeyFile names a file holding SecretKey; ignored when SecretKey
	// is set.
	SecretKeyFile string
	// Dev runs the built-in fake LLM provider and registers it.
	Dev bool
	// DevLatency slows the fake provider: a pause before each streamed
	// delta (for trying queueing and interrupts by hand, and browser
	// tests). Zero: none.
	DevLatency time.Duration
	// FirstAdminUsername names the admin created on an empty database; if
	// empty, "admin".
	FirstAdminUsername string
	// FirstAdminKeyFile, if set, also receives the first admin's API key
	// (mode 0600).
	FirstAdminKeyFile string
	// AllowBYOK lets users bring their own provider keys.
	AllowBYOK bool
	// GatewayRecordContent keeps prompts, tool arguments and thinking in
	// gateway records; when false only tokens and costs are kept.
	GatewayRecordContent bool
	// GatewayRetention is how long gateway records are kept; zero keeps
	// them forever.
	GatewayRetention time.Duration
	// ShutdownTimeout bounds graceful shutdown; if zero, 30s.
	ShutdownTimeout time.Duration
	// DirectRouting makes the chat daemon call providers directly instead
	// of through the in-process gateway (a deployment option).
	DirectRouting bool
	// ChatWorkers is how many chat turns this replica runs at once; if
	// zero, 8.
	ChatWorkers int
	// ModelIdleTimeout is how long a chat turn's model call may stream
	// nothing before it is cancelled and retried; if zero, 10m.
	ModelIdleTimeout time.Duration
	// DebugRecording forces debug recording on for every chat and user
	// without their own setting (--debug-recording).
	DebugRecording bool
	// DebugRetention is how long debug recordings are kept; zero keeps
	// them forever.
	DebugRetention time.Duration

	// Logger receives structured logs; if nil, slog.Default().
	Logger *slog.Logger
	// Out receives the one-time banner (URL, first admin key); if nil,
	// os.Stdout. It is separate from the logs so keys never reach them.
	Out io.Writer
	// Ready, if non-nil, is called with the bound address once the server
	// accepts connections (tests use it with Listen "127.0.0.1:0").
	Ready func(addr net.Addr)
}

// Run serves until ctx is done, then shuts down gracefully, waiting for
// in-flight requests and background work.
func Run(ctx context.Context, c Config) error {
	c.Listen = cmp.Or(c.Listen, "127.0.0.1:7080")
	c.DataDir = cmp.Or(c.DataDir, "chatd-data")
	c.FirstAdminUsername = cmp.Or(c.FirstAdminUsername, "admin")
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, 30*time.Second)
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	out := c.Out
	if out == nil {
		out = os.Stdout
	}

	keyring, err := loadKeyring(c, log)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	// Finishes a key rotation before serving: the pass is short, bounded,
	// and never fails the start.
	resealSecrets(ctx, st, keyring, log)
	warnBaseURLs(ctx, st, log)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	authn := auth.New(auth.Config{Store: st, Logger: log, CacheTTL: time.Second})
	gw, err := gateway.New(gateway.Config{
		Store:         st,
		Auth:          authn,
		Keyring:       keyring,
		Logger:        log.With("component", "gateway"),
		AllowBYOK:     c.AllowBYOK,
		RecordContent: c.GatewayRecordContent,
		Registerer:    reg,
	})
	if err != nil {
		return fmt.Errorf("start gateway: %w", err)
	}
	debug := chatdebug.New(chatdebug.Config{
		Runs:         st,
		UserSettings: st,
		Settings:     st,
		Clock:        st.Now,
		Force:        c.DebugRecording,
		Retention:    c.DebugRetention,
		Logger:       log.With("component", "chatdebug"),
	})
	router := route.New(route.Config{
		Store:     st,
		Keyring:   keyring,
		Gateway:   gw,
		Direct:    c.DirectRouting,
		AllowBYOK: c.AllowBYOK,
		Debug:     debug,
		Logger:    log.With("component", "route"),
	})
	chats, err := chat.New(chat.Config{
		Store:   st,
		Chats:   st,
		Router:  router,
		Debug:   debug,
		Logger:  log.With("component", "chat"),
		Workers: c.ChatWorkers,

		StreamIdleTimeout: c.ModelIdleTimeout,
		// One SQLite process sees every change it makes; only replicas
		// sharing PostgreSQL need to poll for each other's.
		WatchPollInterval: watchPoll(c),
		// PostgreSQL relays live parts to the other replicas' watchers.
		Relay: chat.RelayOf(st),
	})
	if err != nil {
		return fmt.Errorf("start chat daemon: %w", err)
	}
	apiHandler := api.New(api.Config{
		Store:     st,
		Auth:      authn,
		Keyring:   keyring,
		Logger:    log.With("component", "api"),
		AllowBYOK: c.AllowBYOK,
		Chats:     chats,

		Debug:                debug,
		DebugRecordingForced: c.DebugRecording,
	})

	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listen on %s: the address is in use (another chatd?); choose another with --listen or CHATD_LISTEN: %w", c.Listen, err)
		}
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	defer ln.Close()

	// Background work runs under bg and is waited for before the store
	// closes.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var wg sync.WaitGroup

	var dev *devProvider
	if c.Dev {
		dev, err = startDevProvider(ctx, st, keyring, log, c.DevLatency)
		if err != nil {
			return err
		}
		devDone := make(chan struct{})
		go func() { defer close(devDone); dev.serve(log) }()
		defer func() { dev.close(); <-devDone }()
	}

	admin, err := ensureFirstAdmin(ctx, st, c.FirstAdminUsername, c.FirstAdminKeyFile)
	if err != nil {
		return err
	}
	printBanner(out, c, ln.Addr(), admin)

	// Long-lived event streams end when shutdown starts, not when its
	// timeout runs out; other requests drain.
	streams, endStreams := context.WithCancel(context.Background())
	defer endStreams()

	mux := http.NewServeMux()
	mux.Handle("/api/", endOnShutdown(streams, apiHandler))
	mux.Handle("/gateway/", gw)
	// Exactly /gateway too, which ServeMux would otherwise redirect.
	mux.Handle("/gateway", gw)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writePlain(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(pctx); err != nil {
			log.Warn("readiness check", "err", err)
			writePlain(w, http.StatusServiceUnavailable, "database unreachable\n")
			return
		}
		writePlain(w, http.StatusOK, "ok\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/", web.Handler())

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return bg },
	}

	wg.Go(func() { authn.Run(bg) })
	// The chat daemon stops with bg, after the HTTP server has drained, and
	// releases the chats it holds so another replica takes them over.
	wg.Go(func() {
		if err := chats.Run(bg); err != nil {
			log.Error("chat daemon stopped", "err", err)
		}
	})
	// Finalises runs a crash left in progress and purges old ones.
	wg.Go(func() { debug.Run(bg) })
	if c.GatewayRetention > 0 {
		wg.Go(func() {
			purgeLoop(bg, log, "gateway interceptions", time.Hour, func(ctx context.Context) (int64, error) {
				return gw.Purge(ctx, c.GatewayRetention)
			})
		})
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("chatd listening", "addr", ln.Addr().String(), "store", storeKind(c), "dev", c.Dev)
	if c.Ready != nil {
		c.Ready(ln.Addr())
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			stopBG()
			wg.Wait()
			return fmt.Errorf("serve: %w", err)
		}
	}

	log.Info("shutting down")
	endStreams()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	err = srv.Shutdown(sctx)
	cancel()
	if err != nil {
		log.Warn("shutdown http server", "err", err)
	}
	// Workers stop first: their last model calls and commits still need
	// the gateway, the dev provider and the store. Each step gets its own
	// timeout, so that one slow step does not leave the next none.
	stopBG()
	if !waitTimeout(&wg, c.ShutdownTimeout) {
		log.Warn("stop background work: timed out", "timeout", c.ShutdownTimeout)
	}
	// After the chat daemon: its last turns finish their debug runs.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	err = debug.Close(dctx)
	cancel()
	if err != nil {
		log.Warn("finish debug recording writes", "err", err)
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	err = gw.Close(gctx)
	cancel()
	if err != nil {
		log.Warn("flush gateway records", "err", err)
	}

	log.Info("stopped")
	return nil
}

// endOnShutdown ends the event streams h serves (GET requests for a
// .../stream path, or asking for text/event-stream) once shutdown starts,
// so that an open browser tab does not hold the server's shutdown for its
// whole timeout. Other requests keep their context and drain.
func endOnShutdown(shutdown context.Context, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !(strings.HasSuffix(r.URL.Path, "/stream") || strings.Contains(r.Header.Get("Accept"), "text/event-stream")) {
			h.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(shutdown, cancel)
		defer stop()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// waitTimeout waits for wg, up to d, and reports whether it finished. On
// a timeout the waiting goroutine ends with the work it waits for.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

func watchPoll(c Config) time.Duration {
	if c.PostgresURL == "" {
		return -1
	}
	return 0
}

func storeKind(c Config) string {
	if c.PostgresURL != "" {
		return "postgres"
	}
	return "sqlite"
}

func openStore(ctx context.Context, c Config, log *slog.Logger) (store.Store, error) {
	if c.PostgresURL != "" {
		db, err := postgres.Open(ctx, postgres.Config{URL: c.PostgresURL, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return db, nil
	}
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(c.DataDir, "chatd.db"), Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open sqlite in %s: %w", c.DataDir, err)
	}
	return db, nil
}

func loadKeyring(c Config, log *slog.Logger) (*secret.Keyring, error) {
	if !c.SecretKey.IsZero() {
		kr, err := secret.ParseKeys(c.SecretKey.Reveal())
		if err != nil {
			return nil, fmt.Errorf("CHATD_SECRET_KEY: %w", err)
		}
		return kr, nil
	}
	if c.SecretKeyFile != "" {
		b, err := os.ReadFile(c.SecretKeyFile)
		if err != nil {
			return nil, fmt.Errorf("read secret key file: %w", err)
		}
		kr, err := secret.ParseKeys(string(b))
		if err != nil {
			return nil, fmt.Errorf("secret key file %s: %w", c.SecretKeyFile, err)
		}
		return kr, nil
	}
	if c.PostgresURL != "" {
		return nil, errors.New("PostgreSQL deployments need CHATD_SECRET_KEY (or --secret-key-file) shared by every replica; generate one with: head -c 32 /dev/urandom | base64")
	}
	path := filepath.Join(c.DataDir, "secret.key")
	kr, created, err := secret.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("created secret key file; back it up, provider keys cannot be read without it", "path", path, "key_id", kr.PrimaryKeyID())
	}
	return kr, nil
}

func writePlain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// purgeLoop runs purge now and then every interval until ctx ends.
func purgeLoop(ctx context.Context, log *slog.Logger, what string, every time.Duration, purge func(context.Context) (int64, error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := purge(pctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("retention purge", "what", what, "err", err)
		case n > 0:
			log.Info("retention purge", "what", what, "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
