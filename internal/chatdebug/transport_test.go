package chatdebug

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// httpModel's Generate makes one raw HTTP call with the context it is
// given, reading at most readN bytes of the answer (all if zero).
type httpModel struct {
	fakeModel
	client *http.Client
	url    string
	body   string
	readN  int
	got    []byte
}

func (m *httpModel) Generate(ctx context.Context, _ fantasy.Call) (*fantasy.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url, strings.NewReader(m.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if m.readN > 0 {
		r = io.LimitReader(r, int64(m.readN))
	}
	m.got, err = io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return &fantasy.Response{}, nil
}

func TestTransportAttempts(t *testing.T) {
	t.Parallel()
	stream := llmtest.Load(t, "openai-chat/stream-plain")
	limited := llmtest.Load(t, "anthropic-messages/error-429")
	huge := `{"text":"` + strings.Repeat("a", maxResponseCapture) + `"}`
	tests := []struct {
		name       string
		resp       llmtest.Response
		body       string
		readN      int
		wantErr    bool
		wantStatus int
		check      func(t *testing.T, a store.DebugAttempt)
	}{
		{
			name: "stream", resp: stream.Response(), wantStatus: 200,
			check: func(t *testing.T, a store.DebugAttempt) {
				if !strings.HasSuffix(a.ResponseBody, "data: [DONE]\n\n") {
					t.Fatalf("stream not captured whole: %q", a.ResponseBody)
				}
			},
		},
		{
			name: "mid-stream reset", resp: func() llmtest.Response { r := stream.Response(); r.ResetAfterEvents = 2; return r }(),
			wantErr: true, wantStatus: 200,
			check: func(t *testing.T, a store.DebugAttempt) {
				if a.Error == "" || !strings.Contains(a.ResponseBody, "data: {") {
					t.Fatalf("reset attempt error %q body %q", a.Error, a.ResponseBody)
				}
			},
		},
		{
			name: "closed early", resp: stream.Response(), readN: 10, wantStatus: 200,
			check: func(t *testing.T, a store.DebugAttempt) {
				if a.ResponseBody == "" {
					t.Fatalf("nothing captured")
				}
			},
		},
		{
			name: "429 keeps rate-limit headers", resp: limited.Response(), wantStatus: limited.Status,
			check: func(t *testing.T, a store.DebugAttempt) {
				for k := range limited.Header {
					if strings.HasPrefix(strings.ToLower(k), "anthropic-ratelimit") || strings.EqualFold(k, "retry-after") {
						if a.ResponseHeader.Get(k) != limited.Header.Get(k) {
							t.Fatalf("%s = %q, want %q", k, a.ResponseHeader.Get(k), limited.Header.Get(k))
						}
					}
				}
			},
		},
		{
			name: "huge body counted", resp: llmtest.Response{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(huge)}, wantStatus: 200,
			body: `{"input":"` + strings.Repeat("b", maxRequestCapture) + `"}`,
			check: func(t *testing.T, a store.DebugAttempt) {
				if !strings.Contains(a.ResponseBody, "more bytes not captured") || len(a.ResponseBody) > 200 {
					t.Fatalf("response body %.200q", a.ResponseBody)
				}
				if !strings.Contains(a.RequestBody, "more bytes not captured") {
					t.Fatalf("request body %.200q", a.RequestBody)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var seen []byte
			tt.resp.OnRequest = func(r *http.Request) { seen, _ = io.ReadAll(r.Body) }
			srv := llmtest.NewServer(t, tt.resp)
			f := newFakeRuns()
			s := newTestService(t, f)
			r := s.StartRun(context.Background(), testRun())
			body := cmpStr(tt.body, `{"model":"m","api_key":"k"}`)
			hm := &httpModel{client: &http.Client{Transport: r.Transport(srv.Client().Transport)}, url: srv.URL + "/v1/chat/completions", body: body, readN: tt.readN}
			_, err := r.WrapModel(hm).Generate(context.Background(), fantasy.Call{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("generate error %v, want error %v", err, tt.wantErr)
			}
			if string(seen) != body {
				t.Fatalf("upstream got a body of %d bytes, want %d", len(seen), len(body))
			}
			if tt.readN == 0 && !tt.wantErr && string(hm.got) != string(tt.resp.Body) {
				t.Fatalf("caller got %d bytes, want %d", len(hm.got), len(tt.resp.Body))
			}
			r.Finish(context.Background(), store.DebugCompleted, "")
			_, steps, err := f.GetDebugRun(context.Background(), r.ID())
			if err != nil || len(steps) != 1 || len(steps[0].Attempts) != 1 {
				t.Fatalf("steps %+v, %v", steps, err)
			}
			a := steps[0].Attempts[0]
			if a.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d", a.Status, tt.wantStatus)
			}
			if tt.body == "" && a.RequestBody != `{"api_key":"[REDACTED]","model":"m"}` {
				t.Fatalf("request body %q", a.RequestBody)
			}
			tt.check(t, a)
		})
	}
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// failingTransport fails every request.
type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp: connection refused")
}

func TestTransportError(t *testing.T) {
	t.Parallel()
	f := newFakeRuns()
	s := newTestService(t, f)
	r := s.StartRun(context.Background(), testRun())
	hm := &httpModel{client: &http.Client{Transport: r.Transport(failingTransport{})}, url: "http://upstream.invalid/v1/x", body: "{}"}
	if _, err := r.WrapModel(hm).Generate(context.Background(), fantasy.Call{}); err == nil {
		t.Fatalf("no error")
	}
	r.Finish(context.Background(), store.DebugError, "")
	_, steps, _ := f.GetDebugRun(context.Background(), r.ID())
	if len(steps) != 1 || steps[0].Status != store.DebugError || len(steps[0].Attempts) != 1 {
		t.Fatalf("steps %+v", steps)
	}
	if a := steps[0].Attempts[0]; a.Status != 0 || !strings.Contains(a.Error, "connection refused") {
		t.Fatalf("attempt %d %q", a.Status, a.Error)
	}
}
