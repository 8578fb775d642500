package gateway

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipUpstream answers every request with status, header and body,
// gzipped when the request accepts gzip (or always, if force).
func gzipUpstream(t *testing.T, status int, header http.Header, body []byte, force bool) *httptest.Server {
	t.Helper()
	zb := gzipBytes(t, body)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header()[k] = v
		}
		b := body
		if force || strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			b = zb
		}
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCompressedStream: a client that accepts gzip still gets a whole
// stream, and a record with usage, from a provider that gzips when asked.
func TestCompressedStream(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "anthropic-messages/stream-tool")
	up := gzipUpstream(t, http.StatusOK, f.Response().Header, f.Body, false)
	e := newEnv(t, envOptions{})
	e.addProvider("p", store.ProviderAnthropic, up.URL)
	hdr := e.bearer()
	hdr["Accept-Encoding"] = "gzip"
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/gateway/p"+f.Path(), bytes.NewReader(f.Request))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, f.Body) {
		t.Fatalf("status %d, encoding %q, body %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
	}
	in := e.oneRecord()
	if in.Error != "" || in.Usage.Output != f.Expect.OutputTokens {
		t.Fatalf("record = %+v", in)
	}
}

// TestCompressedErrorScrubbed: a gzipped 401 quoting the central key never
// reaches the client with the key, on model calls and pass-through ones.
func TestCompressedErrorScrubbed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path string
		body               []byte
	}{
		{"model call", http.MethodPost, "/v1/chat/completions", []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)},
		{"pass-through", http.MethodGet, "/v1/models", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := echoKeyResponse(centralKey)
			up := gzipUpstream(t, r.Status, r.Header, r.Body, true)
			e := newEnv(t, envOptions{})
			e.addProvider("p", store.ProviderOpenAI, up.URL)
			hdr := e.bearer()
			hdr["Accept-Encoding"] = "gzip"
			resp, body := e.do(tt.method, "/gateway/p"+tt.path, tt.body, hdr)
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if strings.Contains(string(body), centralKey) {
				t.Fatalf("central key reached the client: %s", body)
			}
			if !strings.Contains(string(body), "[REDACTED]") {
				t.Fatalf("body = %s, want the scrubbed provider error", body)
			}
		})
	}
}

type cancelKey struct{}

// cancelAtEOF ends a body by canceling the client's request first, so the
// handler finishes its record after the client has gone.
type cancelAtEOF struct{ cancel context.CancelFunc }

func (c cancelAtEOF) Read([]byte) (int, error) {
	c.cancel()
	return 0, io.EOF
}

// TestCostAfterClientLeft: a client gone before the record is finished
// (with no prices cached yet) still gets a priced record.
func TestCostAfterClientLeft(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "openai-chat/stream-reasoning-cached")
	e := newEnv(t, envOptions{
		wrapHandler: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx, cancel := context.WithCancel(r.Context())
				defer cancel()
				h.ServeHTTP(w, r.WithContext(context.WithValue(ctx, cancelKey{}, cancel)))
			})
		},
		upstream: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			_, _ = io.Copy(io.Discard, r.Body)
			cancel := r.Context().Value(cancelKey{}).(context.CancelFunc)
			return &http.Response{
				StatusCode: http.StatusOK, Header: f.Response().Header.Clone(), ContentLength: -1, Request: r,
				Body: io.NopCloser(io.MultiReader(bytes.NewReader(f.Body), cancelAtEOF{cancel})),
			}, nil
		}),
	})
	p := e.addProvider("p", store.ProviderOpenAI, "http://unused.invalid")
	in, out, cached := 1.1, 4.4, 0.275
	if _, err := e.store.CreateModel(t.Context(), store.ModelConfig{ProviderID: p.ID, Model: "o4-mini", Enabled: true,
		Prices: store.Prices{Input: &in, Output: &out, CacheRead: &cached}}); err != nil {
		t.Fatal(err)
	}
	e.do(http.MethodPost, "/gateway/p/v1/chat/completions", f.Request, e.bearer())
	rec := e.oneRecord()
	if rec.CostMicros == nil || *rec.CostMicros != 1596 {
		t.Fatalf("cost = %v, want 1596", rec.CostMicros)
	}
}

// TestSlowBodyTimesOut: a client trickling its body is answered within
// the body read timeout instead of holding the handler.
func TestSlowBodyTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	gw, err := New(Config{Store: e.store, Auth: e.gw.auth, Keyring: e.keyring, Logger: e.gw.log, BodyReadTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close(context.Background()) })
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	e.addProvider("p", store.ProviderOpenAI, "http://unused.invalid")

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(conn, "POST /gateway/p/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+e.key+
		"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
}

// TestCloseExpiredLeavesNoGoroutine: Close with an expired context while
// an in-process call runs returns at once and leaves nothing behind.
func TestCloseExpiredLeavesNoGoroutine(t *testing.T) {
	checkGoroutines(t)
	f := llmtest.Load(t, "anthropic-messages/stream-plain")
	gate := make(chan struct{}, 1)
	r := f.Response()
	r.Gate = gate
	up := llmtest.NewServer(t, r)
	e := newEnv(t, envOptions{})
	e.addProvider("p", store.ProviderAnthropic, up.URL)
	resp, err := e.gw.TransportFor("p", "").RoundTrip(inProcRequest(t, WithDelegatedKeyID(t.Context(), e.keyID), f))
	if err != nil {
		t.Fatal(err)
	}
	gate <- struct{}{}
	first := llmtest.SplitEvents(f.Body)[0]
	if _, err := io.ReadFull(resp.Body, make([]byte, len(first))); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	before := runtime.NumGoroutine()
	if err := e.gw.Close(ctx); err == nil {
		t.Fatal("Close with a running call and an expired context: want an error")
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines: %d before Close, %d after", before, after)
	}
	e.closed = true // the recorder stays open for the running call
	_ = resp.Body.Close()
	waitClosed(t, up.Canceled(), "upstream call canceled")
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	if err := e.gw.Close(cctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
