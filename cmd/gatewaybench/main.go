// Command gatewaybench measures what the AI gateway adds to a model call,
// on loopback against the built-in fake provider, and prints the figures.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
)

func main() {
	var (
		latency  = flag.Duration("latency", time.Millisecond, "fake upstream latency before each answer")
		n        = flag.Int("n", 400, "requests per latency measurement")
		conc     = flag.Int("c", 64, "concurrency of the throughput runs")
		duration = flag.Duration("d", 3*time.Second, "length of each throughput run")
	)
	flag.Parse()
	if err := run(*latency, *n, *conc, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "gatewaybench:", err)
		os.Exit(1)
	}
}

// target is one way of reaching the upstream.
type target struct {
	name   string
	url    string // chat completions URL
	client *http.Client
	header http.Header
	ctx    context.Context
}

func run(latency time.Duration, n, conc int, dur time.Duration) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gatewaybench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// Fake upstream with a fixed latency before each answer.
	dev := llmtest.NewDev(llmtest.DevConfig{})
	upURL, stopUp, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		dev.ServeHTTP(w, r)
	}))
	if err != nil {
		return err
	}
	defer stopUp()

	// Gateway with recording on, on a real SQLite store.
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "chatd.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer db.Close()
	k := make([]byte, secret.KeySize)
	_, _ = rand.Read(k)
	kr, err := secret.NewKeyring(k)
	if err != nil {
		return err
	}
	u, err := db.CreateUser(ctx, store.User{Username: "bench", Role: store.RoleMember})
	if err != nil {
		return err
	}
	keyID, key, hash := auth.NewKey()
	if _, err := db.CreateAPIKey(ctx, store.APIKey{ID: keyID, UserID: u.ID, Name: "bench", Kind: store.APIKeyKindAPI, SecretHash: hash}); err != nil {
		return err
	}
	sealed, err := kr.Seal(secret.New("sk-bench-central"))
	if err != nil {
		return err
	}
	if _, err := db.CreateProvider(ctx, store.Provider{Name: "dev", Type: store.ProviderOpenAI, BaseURL: upURL, Enabled: true, APIKeyCipher: sealed, APIKeyHint: "sk-b…tral"}); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	au := auth.New(auth.Config{Store: db, Logger: log, CacheTTL: time.Second})
	gw, err := gateway.New(gateway.Config{Store: db, Auth: au, Keyring: kr, Logger: log, AllowBYOK: true, RecordContent: true, Registerer: prometheus.NewRegistry()})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/gateway/", gw)
	gwURL, stopGW, err := serve(mux)
	if err != nil {
		return err
	}
	defer stopGW()

	// Bare reverse proxy: the floor for any proxy. It gets the gateway's
	// upstream transport tuning and a buffer pool as the gateway has: with
	// http.DefaultTransport (2 idle connections per host) it was starved of
	// connections at 64 concurrent, which flattered the gateway's ratio.
	up, _ := url.Parse(upURL)
	bare := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(up) },
		Transport:     gateway.NewUpstreamTransport(),
		FlushInterval: -1,
		BufferPool:    &bufferPool{},
	}
	bareURL, stopBare, err := serve(bare)
	if err != nil {
		return err
	}
	defer stopBare()

	// Every client leg (to the upstream directly, to the bare proxy, to
	// the gateway) uses the same tuning as the proxies' upstream legs.
	client := &http.Client{Transport: gateway.NewUpstreamTransport()}
	gwHeader := http.Header{"Authorization": {"Bearer " + key.Reveal()}, "Content-Type": {"application/json"}}
	plain := http.Header{"Authorization": {"Bearer sk-bench-central"}, "Content-Type": {"application/json"}}
	direct := target{"direct", upURL + "/v1/chat/completions", client, plain, ctx}
	bareT := target{"bare proxy", bareURL + "/v1/chat/completions", client, plain, ctx}
	gwT := target{"gateway", gwURL + "/gateway/dev/v1/chat/completions", client, gwHeader, ctx}
	inproc := target{"in-process", "http://gateway/v1/chat/completions", &http.Client{Transport: gw.TransportFor("dev", store.SourceAgents)},
		http.Header{"Authorization": {"Bearer placeholder"}, "Content-Type": {"application/json"}}, gateway.WithDelegatedKeyID(ctx, keyID)}

	blocking := []byte(`{"model":"fake-echo","messages":[{"role":"user","content":"Say hello to the benchmark."}]}`)
	streaming := []byte(`{"model":"fake-echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say hello to the benchmark."}]}`)

	start := time.Now()
	fmt.Printf("gatewaybench: loopback, fake upstream latency %v, recording on (SQLite), %d requests per latency figure\n\n", latency, n)

	fmt.Println("Concurrency 1, median (p90) per request:")
	fmt.Printf("%-12s %-22s %-22s\n", "", "blocking total", "streaming TTFB")
	lat := map[string][2]stats{}
	for _, t := range []target{direct, bareT, gwT} {
		for i := range 50 { // warm connections and caches
			_ = i
			if _, err := once(t, blocking, false); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
		b, err := measure(t, blocking, false, n)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		s, err := measure(t, streaming, true, n)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		lat[t.name] = [2]stats{b, s}
		fmt.Printf("%-12s %-22s %-22s\n", t.name, b, s)
	}
	d, bp, g := lat["direct"], lat["bare proxy"], lat["gateway"]
	for i, kind := range []string{"blocking", "streaming TTFB"} {
		bo, gO := bp[i].p50-d[i].p50, g[i].p50-d[i].p50
		fmt.Printf("overhead %-15s bare proxy %8v   gateway %8v   ratio %.2fx\n", kind+":", bo.Round(time.Microsecond), gO.Round(time.Microsecond), ratio(gO, bo))
	}

	fmt.Println("\nIn-process transport vs loopback hop to the gateway, concurrency 1, median (p90):")
	for i := range 50 {
		_ = i
		if _, err := once(inproc, blocking, false); err != nil {
			return fmt.Errorf("in-process: %w", err)
		}
	}
	ib, err := measure(inproc, blocking, false, n)
	if err != nil {
		return err
	}
	is, err := measure(inproc, streaming, true, n)
	if err != nil {
		return err
	}
	fmt.Printf("%-12s %-22s %-22s\n", "", "blocking total", "streaming TTFB")
	fmt.Printf("%-12s %-22s %-22s\n", "loopback", g[0], g[1])
	fmt.Printf("%-12s %-22s %-22s\n", "in-process", ib, is)
	fmt.Printf("in-process saves %v per blocking call, %v of streaming TTFB\n",
		(g[0].p50 - ib.p50).Round(time.Microsecond), (g[1].p50 - is.p50).Round(time.Microsecond))

	fmt.Printf("\nThroughput, %d concurrent, blocking, %v each:\n", conc, dur)
	rps := map[string]float64{}
	for _, t := range []target{direct, bareT, gwT} {
		// Open conc connections on every leg before measuring, so that
		// no target pays for dialling inside its run.
		if _, err := throughput(t, blocking, conc, dur/10); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		r, err := throughput(t, blocking, conc, dur)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		rps[t.name] = r
		fmt.Printf("%-12s %8.0f req/s\n", t.name, r)
	}
	fmt.Printf("gateway / bare proxy: %.2fx\n", rps["gateway"]/rps["bare proxy"])

	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := gw.Close(cctx); err != nil {
		return err
	}
	recs, err := db.ListInterceptions(ctx, store.InterceptionFilter{Limit: 1})
	if err != nil || len(recs) == 0 {
		return fmt.Errorf("no records written: %v", err)
	}
	fmt.Printf("\ndone in %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// bufferPool lends the bare proxy 32 KiB copy buffers, as the gateway's
// relay has.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// serve starts an HTTP server on a loopback port.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

type stats struct{ p50, p90 time.Duration }

func (s stats) String() string {
	return fmt.Sprintf("%v (%v)", s.p50.Round(time.Microsecond), s.p90.Round(time.Microsecond))
}

// once sends one request and returns the time to the first body byte
// (ttfb) or to the end of the body.
func once(t target, body []byte, ttfb bool) (time.Duration, error) {
	req, err := http.NewRequestWithContext(t.ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = t.header.Clone()
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var d time.Duration
	if ttfb {
		if _, err := resp.Body.Read(make([]byte, 1)); err != nil {
			return 0, err
		}
		d = time.Since(start)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	if !ttfb {
		d = time.Since(start)
	}
	return d, nil
}

func measure(t target, body []byte, ttfb bool, n int) (stats, error) {
	ds := make([]time.Duration, 0, n)
	for range n {
		d, err := once(t, body, ttfb)
		if err != nil {
			return stats{}, err
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return stats{p50: ds[len(ds)/2], p90: ds[len(ds)*9/10]}, nil
}

func throughput(t target, body []byte, conc int, dur time.Duration) (float64, error) {
	var (
		count    atomic.Int64
		firstErr error
		mu       sync.Mutex
		wg       sync.WaitGroup
	)
	deadline := time.Now().Add(dur)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := once(t, body, false); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(count.Load()) / time.Since(start).Seconds(), firstErr
}
