package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/chatd/chatd/internal/api"
	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/chat"
	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/sse"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/store/sqlite"
	"github.com/chatd/chatd/internal/wire"
)

type config struct {
	chats, turns, words, workers int
	latency, timeout, watchPoll  time.Duration
	postgres                     string
}

// result is what the watchers measured.
type result struct {
	mu        sync.Mutex
	delays    []time.Duration // guarded by mu
	mismatch  int             // guarded by mu: deltas whose text differs from the one sent
	unmatched int             // guarded by mu: deltas with no stamp
}

func run(ctx context.Context, c config, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	// stmts counts the SQL statements the store sends, beside the store
	// calls counted above it.
	var stmts atomic.Int64
	var db backend
	kind := "sqlite"
	if c.postgres != "" {
		kind = "postgres"
		dbURL, drop, err := tempDatabase(ctx, c.postgres)
		if err != nil {
			return err
		}
		defer drop()
		pg, err := postgres.Open(ctx, postgres.Config{URL: dbURL, Logger: log, MaxConns: 32, Statements: &stmts})
		if err != nil {
			return err
		}
		defer pg.Close()
		db = pg
	} else {
		dir, err := os.MkdirTemp("", "chatload-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		sq, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "chatd.db"), Logger: log, Statements: &stmts})
		if err != nil {
			return err
		}
		defer sq.Close()
		db = sq
	}
	cs := newCounting(db)

	k := make([]byte, secret.KeySize)
	_, _ = rand.Read(k)
	kr, err := secret.NewKeyring(k)
	if err != nil {
		return err
	}
	authn := auth.New(auth.Config{Store: cs, Logger: log})
	gw, err := gateway.New(gateway.Config{Store: cs, Auth: authn, Keyring: kr, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_ = gw.Close(cctx)
	}()
	router := route.New(route.Config{Store: cs, Keyring: kr, Gateway: gw, Logger: log})

	stamps := newStamper(llmtest.NewDev(llmtest.DevConfig{Latency: c.latency}))
	up := httptest.NewServer(stamps)
	defer up.Close()

	// Unique names, so a PostgreSQL database can be reused.
	suffix := randHex()
	user, err := db.CreateUser(ctx, store.User{Username: "load-" + suffix, Role: store.RoleMember})
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	keyID, key, hash := auth.NewKey()
	if _, err := db.CreateAPIKey(ctx, store.APIKey{ID: keyID, UserID: user.ID, Name: "load", Kind: store.APIKeyKindAPI, SecretHash: hash}); err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	central, err := kr.Seal(secret.New("sk-fake-central"))
	if err != nil {
		return err
	}
	prov, err := db.CreateProvider(ctx, store.Provider{Name: "load-" + suffix, Type: store.ProviderOpenAI, BaseURL: up.URL + "/v1", Enabled: true, APIKeyCipher: central, APIKeyHint: "sk-…"})
	if err != nil {
		return fmt.Errorf("create provider: %w", err)
	}
	model, err := db.CreateModel(ctx, store.ModelConfig{ProviderID: prov.ID, Model: llmtest.DevModelID, DisplayName: "load " + suffix, Enabled: true})
	if err != nil {
		return fmt.Errorf("create model: %w", err)
	}

	svc, err := chat.New(chat.Config{
		Store: cs, Chats: cs, Router: router, Logger: log,
		Workers: max(c.workers, c.chats), PollInterval: time.Second, WatchPollInterval: c.watchPoll,
		// As the server sets it: PostgreSQL relays live parts.
		Relay: chat.RelayOf(db),
	})
	if err != nil {
		return err
	}
	sctx, scancel := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Go(func() { _ = svc.Run(sctx) })
	defer func() { scancel(); bg.Wait() }()

	srv := httptest.NewServer(api.New(api.Config{Store: cs, Auth: authn, Keyring: kr, Logger: log, Chats: svc}))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * c.chats, MaxConnsPerHost: 0}}
	defer hc.CloseIdleConnections()
	bearer := "Bearer " + key.Reveal()

	// Chats start empty, so every turn runs while its watcher listens.
	type load struct {
		id   string
		done chan string // turn tokens finished
	}
	loads := make([]*load, c.chats)
	for i := range loads {
		ch, err := svc.CreateChat(ctx, store.NewChat{OwnerID: user.ID, Title: fmt.Sprintf("load %d", i), ModelConfigID: model.ID, APIKeyID: keyID})
		if err != nil {
			return fmt.Errorf("create chat: %w", err)
		}
		loads[i] = &load{id: ch.ID, done: make(chan string, c.turns)}
	}
	res := &result{}
	wctx, wcancel := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	ready := make(chan error, c.chats)
	for _, l := range loads {
		watchers.Go(func() { watch(wctx, hc, srv.URL, bearer, l.id, stamps, res, l.done, ready) })
	}
	for range loads {
		if err := <-ready; err != nil {
			wcancel()
			watchers.Wait()
			return fmt.Errorf("open stream: %w", err)
		}
	}
	cs.take()
	stmts.Store(0)

	start := time.Now()
	words := make([]string, c.words)
	for i := range words {
		words[i] = fmt.Sprintf("w%d", i)
	}
	var drivers sync.WaitGroup
	errs := make(chan error, c.chats)
	for i, l := range loads {
		drivers.Go(func() {
			for t := range c.turns {
				token := fmt.Sprintf("ct-%d-%d", i, t)
				if err := post(ctx, hc, srv.URL+api.Prefix+"/chats/"+l.id+"/messages", bearer, token+" "+strings.Join(words, " ")); err != nil {
					errs <- err
					return
				}
				for {
					select {
					case <-ctx.Done():
						errs <- fmt.Errorf("chat %d turn %d: %w", i, t, ctx.Err())
						return
					case got := <-l.done:
						if got != token {
							continue
						}
					}
					break
				}
			}
		})
	}
	drivers.Wait()
	elapsed := time.Since(start)
	counts := cs.take()
	statements := stmts.Load()
	wcancel()
	watchers.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}

	turns := c.chats * c.turns
	ops, total := sorted(counts)
	res.mu.Lock()
	defer res.mu.Unlock()
	slices.Sort(res.delays)
	pct := func(p float64) time.Duration {
		if len(res.delays) == 0 {
			return 0
		}
		return res.delays[min(len(res.delays)-1, int(float64(len(res.delays))*p))].Round(10 * time.Microsecond)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "chatload: %d chats x %d turns, %d-word prompts, fake upstream %s/delta, store %s, %d workers\n", c.chats, c.turns, c.words, c.latency, kind, max(c.workers, c.chats))
	fmt.Fprintf(tw, "metric\tvalue\n")
	fmt.Fprintf(tw, "turns\t%d in %s\n", turns, elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "turns/s\t%.1f\n", float64(turns)/elapsed.Seconds())
	fmt.Fprintf(tw, "delta model->watcher p50\t%s\n", pct(0.50))
	fmt.Fprintf(tw, "delta model->watcher p95\t%s\n", pct(0.95))
	fmt.Fprintf(tw, "delta model->watcher p99\t%s\n", pct(0.99))
	fmt.Fprintf(tw, "deltas measured\t%d (text mismatches %d, unstamped %d)\n", len(res.delays), res.mismatch, res.unmatched)
	fmt.Fprintf(tw, "statements/turn\t%.1f (SQL statements sent to %s, BEGIN, COMMIT and ROLLBACK included)\n", float64(statements)/float64(turns), kind)
	fmt.Fprintf(tw, "store calls/turn\t%.1f (counted at the store interface; each is one query or one short transaction)\n", float64(total)/float64(turns))
	for _, o := range ops {
		fmt.Fprintf(tw, "  %s/turn\t%.2f\n", o.op, float64(o.n)/float64(turns))
	}
	return tw.Flush()
}

func randHex() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func post(ctx context.Context, hc *http.Client, url, bearer, msg string) error {
	body, _ := json.Marshal(map[string]string{"message": msg})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("send: %s: %s", resp.Status, b)
	}
	return nil
}

// watch reads a chat's stream: it matches each text delta with its stamp,
// and reports a turn done when the chat is waiting after its answer.
func watch(ctx context.Context, hc *http.Client, base, bearer, chatID string, stamps *stamper, res *result, done chan<- string, ready chan<- error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+api.Prefix+"/chats/"+chatID+"/stream", nil)
	if err != nil {
		ready <- err
		return
	}
	req.Header.Set("Authorization", bearer)
	resp, err := hc.Do(req)
	if err != nil {
		ready <- err
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ready <- fmt.Errorf("stream: %s", resp.Status)
		return
	}
	r := sse.NewReader(resp.Body)
	var (
		token    string
		idx      int
		answered bool
		started  bool
	)
	for {
		e, err := r.Next()
		if err != nil {
			if !started {
				ready <- err
			}
			if ctx.Err() == nil && !errors.Is(err, io.EOF) {
				fmt.Fprintln(os.Stderr, "chatload: stream:", err)
			}
			return
		}
		now := time.Now()
		var ev wire.Event
		if json.Unmarshal(e.Data, &ev) != nil {
			continue
		}
		switch {
		case ev.Type == wire.EventChat && !started:
			started = true
			ready <- nil
		case ev.Type == wire.EventMessage && ev.Message.Role == wire.RoleUser:
			token, idx, answered = "", 0, false
			for _, p := range ev.Message.Parts {
				if m := tokenRE.FindString(p.Text); m != "" {
					token = m
				}
			}
		case ev.Type == wire.EventMessage && ev.Message.Role == wire.RoleAssistant:
			answered = true
		case ev.Type == wire.EventPart && ev.Part.Kind == wire.PartTextDelta && ev.Part.Delta != "":
			st, ok := stamps.lookup(token, idx)
			idx++
			res.mu.Lock()
			switch {
			case !ok:
				res.unmatched++
			case st.text != ev.Part.Delta:
				res.mismatch++
			default:
				res.delays = append(res.delays, now.Sub(st.at))
			}
			res.mu.Unlock()
		case ev.Type == wire.EventChat && answered && ev.Chat.Status == wire.ChatWaiting:
			answered = false
			done <- token
		}
	}
}
