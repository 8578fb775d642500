package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
)

// Bodies of the benchmarks' trivial upstream, in Chat Completions wire
// format, so that the request parse and the response tap do their real work.
var (
	benchBlockingReq  = []byte(`{"model":"fake-echo","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello to the benchmark."}]}`)
	benchStreamingReq = []byte(`{"model":"fake-echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say hello to the benchmark."}]}`)
	benchBlockingResp = []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"fake-echo","choices":[{"index":0,"message":{"role":"assistant","content":"Hello, benchmark."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`)
	benchStreamEvents = []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"fake-echo","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"fake-echo","choices":[{"index":0,"delta":{"content":"Hello, "},"finish_reason":null}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"fake-echo","choices":[{"index":0,"delta":{"content":"benchmark."},"finish_reason":null}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"fake-echo","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"fake-echo","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}}`,
		`[DONE]`,
	}
)

// benchUpstream answers every request at once, blocking or streaming as
// the request asks.
func benchUpstream(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if !bytes.Contains(b, []byte(`"stream":true`)) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(benchBlockingResp)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	f := w.(http.Flusher)
	for _, e := range benchStreamEvents {
		_, _ = io.WriteString(w, "data: "+e+"\n\n")
		f.Flush()
	}
}

// benchTarget is a URL and headers that reach benchUpstream one way.
type benchTarget struct {
	url    string
	header http.Header
	client *http.Client
	gw     *Gateway
}

// memUpstream is an upstream RoundTripper that runs benchUpstream in
// memory, so handler benchmarks measure the gateway and not a socket.
type memUpstream struct{}

func (memUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	benchUpstream(rec, r)
	resp := rec.Result()
	resp.ContentLength = -1
	resp.Request = r
	return resp, nil
}

func newBenchGateway(b *testing.B) (gw, bare benchTarget) {
	return newBenchGatewayWith(b, nil)
}

func newBenchGatewayWith(b *testing.B, upstream http.RoundTripper) (gw, bare benchTarget) {
	b.Helper()
	ctx := context.Background()
	up := httptest.NewServer(http.HandlerFunc(benchUpstream))
	b.Cleanup(up.Close)

	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "chatd.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	k := make([]byte, secret.KeySize)
	_, _ = rand.Read(k)
	kr, err := secret.NewKeyring(k)
	if err != nil {
		b.Fatal(err)
	}
	u, err := db.CreateUser(ctx, store.User{Username: "bench", Role: store.RoleMember})
	if err != nil {
		b.Fatal(err)
	}
	id, key, hash := auth.NewKey()
	if _, err := db.CreateAPIKey(ctx, store.APIKey{ID: id, UserID: u.ID, Name: "bench", Kind: store.APIKeyKindAPI, SecretHash: hash}); err != nil {
		b.Fatal(err)
	}
	sealed, err := kr.Seal(secret.New(centralKey))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.CreateProvider(ctx, store.Provider{Name: "dev", Type: store.ProviderOpenAI, BaseURL: up.URL, Enabled: true, APIKeyCipher: sealed, APIKeyHint: secret.Hint(centralKey)}); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	g, err := New(Config{
		Store: db, Auth: auth.New(auth.Config{Store: db, Logger: log, CacheTTL: time.Minute}), Keyring: kr,
		Logger: log, AllowBYOK: true, RecordContent: true, Registerer: prometheus.NewRegistry(), Upstream: upstream,
	})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/gateway/", g)
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	b.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = g.Close(cctx)
	})

	upURL, _ := url.Parse(up.URL)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(upURL) }, FlushInterval: -1})
	b.Cleanup(proxy.Close)

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)
	gw = benchTarget{
		url:    srv.URL + "/gateway/dev/v1/chat/completions",
		header: http.Header{"Authorization": {"Bearer " + key.Reveal()}, "Content-Type": {"application/json"}, "User-Agent": {"OpenAI/Go 3.0"}},
		client: client,
		gw:     g,
	}
	bare = benchTarget{
		url:    proxy.URL + "/v1/chat/completions",
		header: http.Header{"Authorization": {"Bearer " + centralKey}, "Content-Type": {"application/json"}, "User-Agent": {"OpenAI/Go 3.0"}},
		client: client,
	}
	return gw, bare
}

// call sends one request and reads the whole answer.
func (t benchTarget) call(b *testing.B, body []byte) {
	req, err := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header = t.header.Clone()
	resp, err := t.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d, err %v", resp.StatusCode, err)
	}
}

func runBench(b *testing.B, gateway bool, body []byte, parallel bool) {
	gw, bare := newBenchGateway(b)
	t := bare
	if gateway {
		t = gw
	}
	for range 20 {
		t.call(b, body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t.call(b, body)
			}
		})
	} else {
		for b.Loop() {
			t.call(b, body)
		}
	}
	b.StopTimer()
}

func BenchmarkGatewayBlocking(b *testing.B)           { runBench(b, true, benchBlockingReq, false) }
func BenchmarkGatewayStreaming(b *testing.B)          { runBench(b, true, benchStreamingReq, false) }
func BenchmarkGatewayBlockingParallel(b *testing.B)   { runBench(b, true, benchBlockingReq, true) }
func BenchmarkBareProxyBlocking(b *testing.B)         { runBench(b, false, benchBlockingReq, false) }
func BenchmarkBareProxyStreaming(b *testing.B)        { runBench(b, false, benchStreamingReq, false) }
func BenchmarkBareProxyBlockingParallel(b *testing.B) { runBench(b, false, benchBlockingReq, true) }

// runHandlerBench calls the gateway handler directly with an in-memory
// upstream: the steadiest measure of what the gateway itself costs.
func runHandlerBench(b *testing.B, body []byte) {
	gw, _ := newBenchGatewayWith(b, memUpstream{})
	do := func() {
		req := httptest.NewRequest(http.MethodPost, "/gateway/dev/v1/chat/completions", bytes.NewReader(body))
		req.Header = gw.header.Clone()
		rec := httptest.NewRecorder()
		gw.gw.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	for range 20 {
		do()
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		do()
	}
	b.StopTimer()
	// Process CPU per call, records included, is steadier than wall time
	// on a machine shared with other work.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := gw.gw.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkHandlerBlocking(b *testing.B)  { runHandlerBench(b, benchBlockingReq) }
func BenchmarkHandlerStreaming(b *testing.B) { runHandlerBench(b, benchStreamingReq) }
