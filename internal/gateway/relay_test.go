package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// startStream posts a streaming fixture request through the gateway and
// returns the response with its body still open.
func startStream(t *testing.T, e *env, ctx context.Context, f llmtest.Fixture) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/gateway/p"+f.Path(), bytes.NewReader(f.Request))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp
}

// TestStreamEventByEvent shows each event reaches the client before the
// provider sends the next: nothing is buffered.
func TestStreamEventByEvent(t *testing.T) {
	checkGoroutines(t)
	f := llmtest.Load(t, "anthropic-messages/stream-tool")
	gate := make(chan struct{})
	r := f.Response()
	r.Gate = gate
	up := llmtest.NewServer(t, r)
	e := newEnv(t, envOptions{})
	e.addProvider("p", store.ProviderAnthropic, up.URL)

	resp := startStream(t, e, t.Context(), f)
	for i, ev := range llmtest.SplitEvents(f.Body) {
		gate <- struct{}{}
		got := make([]byte, len(ev))
		if _, err := io.ReadFull(resp.Body, got); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !bytes.Equal(got, ev) {
			t.Fatalf("event %d = %q, want %q", i, got, ev)
		}
	}
	if n, err := resp.Body.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("after last event: %d, %v; want EOF", n, err)
	}
	in := e.oneRecord()
	if in.Error != "" || len(in.ToolCalls) != 1 || in.TTFB <= 0 {
		t.Fatalf("record = %+v", in)
	}
}

func TestStreamFaults(t *testing.T) {
	checkGoroutines(t)
	tests := []struct {
		name    string
		fixture string
		typ     store.ProviderType
		mutate  func(*llmtest.Response)
		// wantErr: the client's read fails, never a clean end, even when
		// the provider closed cleanly before its final event.
		wantErr   bool
		wantEvent int // events the client gets in full
		record    string
	}{
		{"reset openai chat", "openai-chat/stream-tool", store.ProviderOpenAI,
			func(r *llmtest.Response) { r.ResetAfterEvents = 2 }, true, 2, "provider stream broke"},
		{"reset anthropic", "anthropic-messages/stream-thinking", store.ProviderAnthropic,
			func(r *llmtest.Response) { r.ResetAfterEvents = 3 }, true, 3, "provider stream broke"},
		{"truncated responses", "openai-responses/stream-tool", store.ProviderOpenAI,
			func(r *llmtest.Response) { r.TruncateAfterEvents = 4 }, true, 4, "ended before its final event"},
		{"truncated anthropic", "anthropic-messages/stream-plain", store.ProviderAnthropic,
			func(r *llmtest.Response) { r.TruncateAfterEvents = 2 }, true, 2, "ended before its final event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := llmtest.Load(t, tt.fixture)
			r := f.Response()
			tt.mutate(&r)
			up := llmtest.NewServer(t, r)
			e := newEnv(t, envOptions{})
			e.addProvider("p", tt.typ, up.URL)
			resp := startStream(t, e, t.Context(), f)
			got, err := io.ReadAll(resp.Body)
			if tt.wantErr != (err != nil) {
				t.Fatalf("read error = %v, want error %v", err, tt.wantErr)
			}
			want := bytes.Join(llmtest.SplitEvents(f.Body)[:tt.wantEvent], nil)
			if !bytes.Equal(got, want) {
				t.Fatalf("client got %q, want %q", got, want)
			}
			in := e.oneRecord()
			if !strings.Contains(in.Error, tt.record) {
				t.Fatalf("record error = %q, want it to contain %q", in.Error, tt.record)
			}
		})
	}
}

// TestClientDisconnectCancelsUpstream: a client that goes away mid-stream
// ends the provider call.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	checkGoroutines(t)
	f := llmtest.Load(t, "openai-chat/stream-plain")
	gate := make(chan struct{}, 1)
	r := f.Response()
	r.Gate = gate
	up := llmtest.NewServer(t, r)
	e := newEnv(t, envOptions{})
	e.addProvider("p", store.ProviderOpenAI, up.URL)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resp := startStream(t, e, ctx, f)
	gate <- struct{}{}
	first := llmtest.SplitEvents(f.Body)[0]
	if _, err := io.ReadFull(resp.Body, make([]byte, len(first))); err != nil {
		t.Fatalf("first event: %v", err)
	}
	cancel()
	<-up.Canceled()
	in := e.oneRecord()
	if !strings.Contains(in.Error, "client went away") {
		t.Fatalf("record error = %q", in.Error)
	}
}

// TestSlowClient: a client that reads nothing until the provider is done
// and then one byte at a time still gets every byte in order.
func TestSlowClient(t *testing.T) {
	checkGoroutines(t)
	f := llmtest.Load(t, "openai-responses/stream-tool")
	r := f.Response()
	// Make the stream larger than the socket buffers between the hops.
	var big bytes.Buffer
	for range 200 {
		big.WriteString("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"" + strings.Repeat("x", 1000) + "\"}\n\n")
	}
	big.Write(f.Body)
	r.Body = big.Bytes()
	up := llmtest.NewServer(t, r)
	e := newEnv(t, envOptions{})
	e.addProvider("p", store.ProviderOpenAI, up.URL)
	resp := startStream(t, e, t.Context(), f)
	br := bufio.NewReaderSize(resp.Body, 16)
	var got bytes.Buffer
	for {
		b, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		got.WriteByte(b)
	}
	if !bytes.Equal(got.Bytes(), r.Body) {
		t.Fatalf("client got %d bytes, want %d identical", got.Len(), len(r.Body))
	}
	in := e.oneRecord()
	if in.Error != "" || len(in.ToolCalls) != 1 {
		t.Fatalf("record = %+v", in)
	}
}
