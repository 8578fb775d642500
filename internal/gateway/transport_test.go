package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func inProcRequest(t *testing.T, ctx context.Context, f llmtest.Fixture) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://chatd-gateway"+f.Path(), bytes.NewReader(f.Request))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer placeholder")
	return req
}

func TestTransportNeedsDelegatedKey(t *testing.T) {
	t.Parallel()
	up := llmtest.NewServer(t) // no call expected
	e := newEnv(t, envOptions{})
	e.addProvider("p", store.ProviderOpenAI, up.URL)
	f := llmtest.Load(t, "openai-chat/blocking-plain")
	_, err := e.gw.TransportFor("p", store.SourceAgents).RoundTrip(inProcRequest(t, t.Context(), f))
	if !errors.Is(err, ErrNoDelegatedKey) {
		t.Fatalf("err = %v, want ErrNoDelegatedKey", err)
	}
}

// TestTransportStreams: events arrive through the pipe one by one, and the
// response is returned before the stream ends.
func TestTransportStreams(t *testing.T) {
	checkGoroutines(t)
	f := llmtest.Load(t, "openai-chat/stream-tool")
	gate := make(chan struct{})
	r := f.Response()
	r.Gate = gate
	up := llmtest.NewServer(t, r)
	e := newEnv(t, envOptions{})
	e.addProvider("p", store.ProviderOpenAI, up.URL)

	ctx := WithDelegatedKeyID(t.Context(), e.keyID)
	resp, err := e.gw.TransportFor("p", "").RoundTrip(inProcRequest(t, ctx, f))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for i, ev := range llmtest.SplitEvents(f.Body) {
		gate <- struct{}{}
		got := make([]byte, len(ev))
		if _, err := io.ReadFull(resp.Body, got); err != nil || !bytes.Equal(got, ev) {
			t.Fatalf("event %d = %q, %v", i, got, err)
		}
	}
	if _, err := resp.Body.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("end: %v, want EOF", err)
	}
	in := e.oneRecord()
	if in.Source != store.SourceAgents || in.Client != ClientChatd || len(in.ToolCalls) != 1 {
		t.Fatalf("record = %+v", in)
	}
}

// TestTransportCancellation: the caller's context and an early Close both
// end the upstream call.
func TestTransportCancellation(t *testing.T) {
	checkGoroutines(t)
	for _, how := range []string{"context", "close body"} {
		t.Run(how, func(t *testing.T) {
			f := llmtest.Load(t, "anthropic-messages/stream-plain")
			gate := make(chan struct{}, 1)
			r := f.Response()
			r.Gate = gate
			up := llmtest.NewServer(t, r)
			e := newEnv(t, envOptions{})
			e.addProvider("p", store.ProviderAnthropic, up.URL)
			ctx, cancel := context.WithCancel(WithDelegatedKeyID(t.Context(), e.keyID))
			defer cancel()
			resp, err := e.gw.TransportFor("p", "").RoundTrip(inProcRequest(t, ctx, f))
			if err != nil {
				t.Fatal(err)
			}
			gate <- struct{}{}
			first := llmtest.SplitEvents(f.Body)[0]
			if _, err := io.ReadFull(resp.Body, make([]byte, len(first))); err != nil {
				t.Fatal(err)
			}
			if how == "context" {
				cancel()
				if _, err := io.ReadAll(resp.Body); err == nil {
					t.Fatal("read after cancel: want an error")
				}
			}
			_ = resp.Body.Close()
			waitClosed(t, up.Canceled(), "upstream call canceled")
			if in := e.oneRecord(); !strings.Contains(in.Error, "client went away") {
				t.Fatalf("record error = %q", in.Error)
			}
		})
	}
}

// TestTransportPanic: a panic in the handler becomes a provider-shaped 502
// before the response starts, and a broken body after.
func TestTransportPanic(t *testing.T) {
	checkGoroutines(t)
	t.Run("before headers", func(t *testing.T) {
		e := newEnv(t, envOptions{upstream: roundTripFunc(func(*http.Request) (*http.Response, error) { panic("boom") })})
		e.addProvider("p", store.ProviderAnthropic, "http://unused.invalid")
		f := llmtest.Load(t, "anthropic-messages/blocking-plain")
		resp, err := e.gw.TransportFor("p", "").RoundTrip(inProcRequest(t, WithDelegatedKeyID(t.Context(), e.keyID), f))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("status %d", resp.StatusCode)
		}
		checkErrorShape(t, body, true)
		if !strings.Contains(e.logs.String(), "boom") {
			t.Fatal("panic not logged")
		}
	})
	t.Run("mid stream", func(t *testing.T) {
		f := llmtest.Load(t, "openai-chat/stream-plain")
		e := newEnv(t, envOptions{upstream: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{
				StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
				Body: io.NopCloser(io.MultiReader(bytes.NewReader(llmtest.SplitEvents(f.Body)[0]), panicReader{})),
			}, nil
		})})
		e.addProvider("p", store.ProviderOpenAI, "http://unused.invalid")
		resp, err := e.gw.TransportFor("p", "").RoundTrip(inProcRequest(t, WithDelegatedKeyID(t.Context(), e.keyID), f))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("read: %v, want unexpected EOF", err)
		}
	})
}

// waitClosed waits for c to close, failing the test after a generous
// deadline instead of hanging it.
func waitClosed(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-c:
	case <-timer.C:
		t.Fatalf("timed out waiting for: %s", what)
	}
}

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("reader boom") }

// TestTransportProviderNamedV1: the transport found the endpoint by the
// first "/v1/" in the path, so the route's base URL for a provider
// called "v1" ("/gateway/v1/v1/...") reached no endpoint.
func TestTransportProviderNamedV1(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "openai-chat/blocking-plain")
	up := llmtest.NewServer(t, f.Response(), f.Response())
	e := newEnv(t, envOptions{})
	e.addProvider("v1", store.ProviderOpenAI, up.URL)
	for _, u := range []string{"http://chatd-gateway/gateway/v1/v1/chat/completions", "http://chatd-gateway/v1/chat/completions"} {
		req, err := http.NewRequestWithContext(WithDelegatedKeyID(t.Context(), e.keyID), http.MethodPost, u, bytes.NewReader(f.Request))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.gw.TransportFor("v1", "").RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, f.Body) {
			t.Fatalf("%s: status %d: %s", u, resp.StatusCode, body)
		}
	}
	for _, r := range up.Requests() {
		if r.Path != "/v1/chat/completions" {
			t.Fatalf("upstream path %q", r.Path)
		}
	}
}
