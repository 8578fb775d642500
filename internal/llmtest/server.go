package llmtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Response is one scripted answer of a Server, with optional faults.
type Response struct {
	// Status is the status code. If zero, 200 is used.
	Status int
	// Header is copied into the response headers. If it has no
	// Content-Type, none is sent beyond what net/http sniffs.
	Header http.Header
	// Body is the raw response body.
	Body []byte
	// Chunks sends Body one SSE event at a time (split after each blank
	// line), flushing after each. If false, Body is written at once, unless
	// a fault or pacing field below needs events.
	Chunks bool
	// ResetAfterEvents, if positive, aborts the connection abruptly after
	// that many events, so the client sees an unexpected EOF or a reset.
	ResetAfterEvents int
	// TruncateAfterEvents, if positive, sends that many events and then ends
	// the body cleanly, without the remaining (terminal) events.
	TruncateAfterEvents int
	// Gate, if not nil, is received from before each event is sent, so a
	// test can release a stream event by event.
	Gate <-chan struct{}
	// Delay is slept before each event, for load scripts; tests should use
	// Gate instead. Zero means no delay.
	Delay time.Duration
	// OnRequest, if not nil, is called with the request before answering.
	// Its body is a fresh reader of the request body.
	OnRequest func(*http.Request)
}

func (r Response) evented() bool {
	return r.Chunks || r.ResetAfterEvents > 0 || r.TruncateAfterEvents > 0 || r.Gate != nil || r.Delay > 0
}

// Request is a request the Server received.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// Server is a fake upstream that serves its Responses in order, one per
// request, and fails the test on an unexpected extra call or, at cleanup,
// on a missing one.
//
// A Server is safe for concurrent use.
type Server struct {
	// URL is the server's base URL, without a trailing slash and without
	// "/v1".
	URL string

	t         testing.TB
	srv       *httptest.Server
	responses []Response
	done      chan struct{} // closed at cleanup to release handlers
	canceled  chan struct{}
	cancelOne sync.Once

	mu       sync.Mutex
	requests []Request // guarded by mu
}

// NewServer starts a Server answering with responses in order. It is closed
// at the end of the test.
func NewServer(t testing.TB, responses ...Response) *Server {
	t.Helper()
	s := &Server{
		t:         t,
		responses: responses,
		done:      make(chan struct{}),
		canceled:  make(chan struct{}),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(func() {
		close(s.done)
		s.srv.Close()
		s.mu.Lock()
		n := len(s.requests)
		s.mu.Unlock()
		if n < len(s.responses) {
			t.Errorf("llmtest: server got %d requests, want %d", n, len(s.responses))
		}
	})
	return s
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Requests returns copies of the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

// Canceled returns a channel closed once a client has gone away while one
// of its requests was still being answered.
func (s *Server) Canceled() <-chan struct{} { return s.canceled }

func (s *Server) markCanceled() { s.cancelOne.Do(func() { close(s.canceled) }) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	stop := context.AfterFunc(r.Context(), s.markCanceled)
	defer func() {
		// A handler that returned because its client went away may stop
		// the AfterFunc before it ran: mark the cancellation here then.
		// net/http cancels the context of a finished request only after
		// the handler returns, so a normal answer is never marked.
		stop()
		if r.Context().Err() != nil {
			s.markCanceled()
		}
	}()

	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("llmtest: read request body: %v", err)
	}
	s.mu.Lock()
	idx := len(s.requests)
	s.requests = append(s.requests, Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
	})
	s.mu.Unlock()

	if idx >= len(s.responses) {
		s.t.Errorf("llmtest: unexpected request %d (%s %s), only %d responses scripted", idx+1, r.Method, r.URL.Path, len(s.responses))
		http.Error(w, "llmtest: unexpected request", http.StatusInternalServerError)
		return
	}
	resp := s.responses[idx]
	if resp.OnRequest != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		resp.OnRequest(r)
	}
	writeResponse(w, r, resp, s.done)
}

// writeResponse sends resp; done releases a gated or delayed stream.
func writeResponse(w http.ResponseWriter, r *http.Request, resp Response, done <-chan struct{}) {
	for k, v := range resp.Header {
		w.Header()[k] = append([]string(nil), v...)
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	if !resp.evented() {
		w.WriteHeader(status)
		_, _ = w.Write(resp.Body)
		return
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for i, ev := range SplitEvents(resp.Body) {
		if resp.TruncateAfterEvents > 0 && i >= resp.TruncateAfterEvents {
			return
		}
		if resp.ResetAfterEvents > 0 && i >= resp.ResetAfterEvents {
			// The server closes the connection without ending the chunked
			// body, so the client sees an unexpected EOF.
			panic(http.ErrAbortHandler)
		}
		if resp.Gate != nil {
			select {
			case <-resp.Gate:
			case <-r.Context().Done():
				return
			case <-done:
				return
			}
		}
		if resp.Delay > 0 {
			t := time.NewTimer(resp.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-done:
				t.Stop()
				return
			}
		}
		if _, err := w.Write(ev); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// SplitEvents splits a raw SSE body after each blank line, keeping every
// byte, so that concatenating the parts gives body back. A tail without a
// closing blank line is the last part.
func SplitEvents(body []byte) [][]byte {
	var parts [][]byte
	start := 0
	for i := 0; i < len(body); i++ {
		if body[i] != '\n' && body[i] != '\r' {
			continue
		}
		// Line end at i; is the next line empty?
		j := i + 1
		if body[i] == '\r' && j < len(body) && body[j] == '\n' {
			j++
		}
		if j < len(body) && (body[j] == '\n' || body[j] == '\r') {
			k := j + 1
			if body[j] == '\r' && k < len(body) && body[k] == '\n' {
				k++
			}
			parts = append(parts, body[start:k])
			start = k
			i = k - 1
			continue
		}
		i = j - 1
	}
	if start < len(body) {
		parts = append(parts, body[start:])
	}
	return parts
}
