package llmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chatd/chatd/internal/sse"
)

// fakeTB records failures and cleanups instead of acting on them, so a test
// can check that the Server fails the test it belongs to.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeTB) runCleanups() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

func (f *fakeTB) errors() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

func post(t *testing.T, s *Server, path string, body string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	return resp
}

func TestServerServesInOrderAndRecords(t *testing.T) {
	t.Parallel()
	first := Load(t, "anthropic-messages/blocking-plain")
	second := Load(t, "anthropic-messages/error-529")
	s := NewServer(t, first.Response(), second.Response())

	resp := post(t, s, "/v1/messages?beta=true", string(first.Request), http.Header{"X-Api-Key": {"sk-ant-1"}})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(b, first.Body) {
		t.Fatalf("first answer %d %q", resp.StatusCode, b)
	}
	if got := resp.Header.Get("Request-Id"); got != "req_011CRaBcDeFgHiJkLmNoPqRs" {
		t.Fatalf("request-id header %q", got)
	}
	resp = post(t, s, "/v1/messages", "{}", http.Header{"Authorization": {"Bearer tok"}})
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 529 || !strings.Contains(string(b), "overloaded_error") {
		t.Fatalf("second answer %d %q", resp.StatusCode, b)
	}

	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	if r := reqs[0]; r.Method != "POST" || r.Path != "/v1/messages" || r.RawQuery != "beta=true" ||
		r.Header.Get("X-Api-Key") != "sk-ant-1" || !bytes.Equal(r.Body, first.Request) {
		t.Fatalf("first request recorded as %+v", r)
	}
	if r := reqs[1]; r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("X-Api-Key") != "" {
		t.Fatalf("second request headers %v", r.Header)
	}
}

func TestServerCallCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		responses int
		calls     int
		wantErrs  int
		wantInErr string
	}{
		{name: "exact", responses: 1, calls: 1, wantErrs: 0},
		{name: "extra call", responses: 1, calls: 2, wantErrs: 1, wantInErr: "unexpected request 2"},
		{name: "missing call", responses: 2, calls: 1, wantErrs: 1, wantInErr: "got 1 requests, want 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ftb := &fakeTB{TB: t}
			var rs []Response
			for range tt.responses {
				rs = append(rs, Response{Body: []byte("{}")})
			}
			s := NewServer(ftb, rs...)
			for i := range tt.calls {
				resp := post(t, s, "/v1/chat/completions", "{}", nil)
				resp.Body.Close()
				want := 200
				if i >= tt.responses {
					want = 500
				}
				if resp.StatusCode != want {
					t.Fatalf("call %d: status %d, want %d", i+1, resp.StatusCode, want)
				}
			}
			ftb.runCleanups()
			errs := ftb.errors()
			if len(errs) != tt.wantErrs {
				t.Fatalf("errors %q, want %d", errs, tt.wantErrs)
			}
			if tt.wantErrs > 0 && !strings.Contains(errs[0], tt.wantInErr) {
				t.Fatalf("error %q does not mention %q", errs[0], tt.wantInErr)
			}
		})
	}
}

func TestServerFaults(t *testing.T) {
	t.Parallel()
	f := Load(t, "anthropic-messages/stream-plain")
	all := len(SplitEvents(f.Body))
	tests := []struct {
		name       string
		edit       func(*Response)
		wantEvents int
		wantErr    error
	}{
		{name: "whole", edit: func(*Response) {}, wantEvents: all, wantErr: io.EOF},
		{name: "truncate", edit: func(r *Response) { r.TruncateAfterEvents = 3 }, wantEvents: 3, wantErr: io.EOF},
		{name: "reset", edit: func(r *Response) { r.ResetAfterEvents = 4 }, wantEvents: 4, wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := f.Response()
			tt.edit(&r)
			s := NewServer(t, r)
			resp := post(t, s, "/v1/messages", string(f.Request), nil)
			defer resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("content type %q", ct)
			}
			rd := sse.NewReader(resp.Body)
			n := 0
			var err error
			for {
				if _, err = rd.Next(); err != nil {
					break
				}
				n++
			}
			if n != tt.wantEvents {
				t.Fatalf("got %d events, want %d", n, tt.wantEvents)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("end of stream: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestServerGate(t *testing.T) {
	t.Parallel()
	f := Load(t, "openai-chat/stream-plain")
	gate := make(chan struct{})
	r := f.Response()
	r.Gate = gate
	onRequest := make(chan bool, 1)
	r.OnRequest = func(req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		onRequest <- bytes.Equal(b, f.Request)
	}
	s := NewServer(t, r)
	resp := post(t, s, "/v1/chat/completions", string(f.Request), nil)
	defer resp.Body.Close()
	if !<-onRequest {
		t.Fatalf("OnRequest did not see the request body")
	}
	rd := sse.NewReader(resp.Body)
	want := readAll(t, f.Body)
	for i := range want {
		// The event cannot be sent before the gate lets it through: the
		// unbuffered send completes only once the handler is ready for it.
		gate <- struct{}{}
		e, err := rd.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !bytes.Equal(e.Data, want[i].Data) {
			t.Fatalf("event %d: %q, want %q", i, e.Data, want[i].Data)
		}
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("after last event: %v, want EOF", err)
	}
}

func TestServerNoticesClientDisconnect(t *testing.T) {
	t.Parallel()
	f := Load(t, "openai-responses/stream-plain")
	gate := make(chan struct{})
	r := f.Response()
	r.Gate = gate
	s := NewServer(t, r)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1/responses", bytes.NewReader(f.Request))
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	gate <- struct{}{}
	if _, err := sse.NewReader(resp.Body).Next(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	select {
	case <-s.Canceled():
		t.Fatalf("canceled before the client went away")
	default:
	}
	cancel()
	<-s.Canceled()
}

func TestSplitEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "lf", in: "data: a\n\ndata: b\n\n", want: []string{"data: a\n\n", "data: b\n\n"}},
		{name: "crlf", in: "event: x\r\ndata: a\r\n\r\ndata: b\r\n\r\n", want: []string{"event: x\r\ndata: a\r\n\r\n", "data: b\r\n\r\n"}},
		{name: "tail", in: "data: a\n\ndata: b\n", want: []string{"data: a\n\n", "data: b\n"}},
		{name: "empty", in: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, p := range SplitEvents([]byte(tt.in)) {
				got = append(got, string(p))
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
