package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/sse"
	"github.com/chatd/chatd/internal/wire"
)

// fakeStream serves a chat stream of n numbered events, dropping the
// connection after every two events, and resumes after Last-Event-ID.
func fakeStream(t *testing.T, n int) (*httptest.Server, *[]string) {
	t.Helper()
	var (
		mu       sync.Mutex
		resumeAt []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/chats/c1/stream" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"code":"not_found","message":"chat not found"}}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer k" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		last := r.Header.Get("Last-Event-ID")
		mu.Lock()
		resumeAt = append(resumeAt, last)
		mu.Unlock()
		start := 1
		if last != "" {
			i, err := strconv.Atoi(last)
			if err != nil {
				t.Errorf("Last-Event-ID %q", last)
				return
			}
			start = i + 1
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for i := start; i <= n && i < start+2; i++ {
			data, _ := json.Marshal(wire.Event{Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartTextDelta, Delta: fmt.Sprint(i, " ")}})
			if err := sse.WriteEvent(w, sse.Event{ID: strconv.Itoa(i), Event: string(wire.EventPart), Data: data}); err != nil {
				return
			}
			// A comment between events, as heartbeats are sent.
			io.WriteString(w, ": heartbeat\n\n")
			fl.Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &resumeAt
}

func TestWatchChatResumes(t *testing.T) {
	t.Parallel()
	srv, resumes := fakeStream(t, 5)
	c := New(srv.URL, secret.New("k"), srv.Client())
	var got []string
	err := c.WatchChat(t.Context(), "c1", "", func(ev wire.Event) error {
		got = append(got, ev.ID+":"+ev.Part.Delta)
		if ev.ID == "5" {
			return ErrStopWatching
		}
		return nil
	})
	if err != nil {
		t.Fatalf("WatchChat: %v", err)
	}
	if want := "1:1 ,2:2 ,3:3 ,4:4 ,5:5 "; strings.Join(got, ",") != want {
		t.Fatalf("events = %q, want %q", strings.Join(got, ","), want)
	}
	if want := ",2,4"; strings.Join(*resumes, ",") != want {
		t.Fatalf("resumed at %q, want %q", strings.Join(*resumes, ","), want)
	}
}

func TestWatchChatCallbackError(t *testing.T) {
	t.Parallel()
	srv, _ := fakeStream(t, 5)
	c := New(srv.URL, secret.New("k"), srv.Client())
	boom := errors.New("boom")
	err := c.WatchChat(t.Context(), "c1", "", func(wire.Event) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

func TestStreamChatNotFound(t *testing.T) {
	t.Parallel()
	srv, _ := fakeStream(t, 1)
	c := New(srv.URL, secret.New("k"), srv.Client())
	err := c.WatchChat(t.Context(), "nope", "", func(wire.Event) error { return nil })
	ae, ok := errors.AsType[*APIError](err)
	if !ok || ae.Status != http.StatusNotFound || ae.Code != "not_found" {
		t.Fatalf("err = %v, want a 404 APIError", err)
	}
}

func TestChatRequests(t *testing.T) {
	t.Parallel()
	type seen struct{ method, path, query, body string }
	var (
		mu  sync.Mutex
		got []seen
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, strings.TrimSpace(string(b))})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodDelete && r.URL.Path == "/api/v1/chats/c 1":
			w.WriteHeader(http.StatusNoContent)
		case strings.HasSuffix(r.URL.Path, "/messages") && r.Method == http.MethodGet:
			io.WriteString(w, `{"messages":[{"id":"m1","seq":3,"role":"user","parts":[{"type":"text","text":"hi"}]}],"next_after":3}`)
		case strings.HasSuffix(r.URL.Path, "/messages"):
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"chat":{"id":"c 1","status":"running"},"queued":{"id":"q1","position":1,"parts":[]}}`)
		case r.URL.Path == "/api/v1/chats" && r.Method == http.MethodGet:
			io.WriteString(w, `{"chats":[{"id":"c 1","status":"waiting"}]}`)
		default:
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"chat":{"id":"c 1","status":"running","snapshot_version":2},"queue":[]}`)
		}
	}))
	t.Cleanup(srv.Close)
	c := New(srv.URL, secret.New("k"), srv.Client())
	ctx := t.Context()

	ch, err := c.CreateChat(ctx, CreateChatRequest{Message: "hello", Model: "m1"})
	if err != nil || ch.Chat.ID != "c 1" || ch.Chat.SnapshotVersion != 2 || !ch.Chat.Busy() {
		t.Fatalf("CreateChat = %+v, %v", ch, err)
	}
	chats, err := c.Chats(ctx, ChatsOptions{Archived: true, Limit: 5})
	if err != nil || len(chats) != 1 || chats[0].Busy() {
		t.Fatalf("Chats = %+v, %v", chats, err)
	}
	msgs, next, err := c.ChatMessages(ctx, "c 1", 2, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text() != "hi" || next == nil || *next != 3 {
		t.Fatalf("ChatMessages = %+v, %v, %v", msgs, next, err)
	}
	res, err := c.SendMessage(ctx, "c 1", SendMessageRequest{Message: "more", Mode: SendInterrupt})
	if err != nil || res.Queued == nil || res.Queued.ID != "q1" {
		t.Fatalf("SendMessage = %+v, %v", res, err)
	}
	archived := true
	if _, err := c.UpdateChat(ctx, "c 1", UpdateChatRequest{Archived: &archived}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitToolResults(ctx, "c 1", []wire.ToolResult{{ToolCallID: "t1", Output: "42"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PromoteQueued(ctx, "c 1", "q/1"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteChat(ctx, "c 1"); err != nil {
		t.Fatal(err)
	}

	want := []seen{
		{"POST", "/api/v1/chats", "", `{"message":"hello","model":"m1"}`},
		{"GET", "/api/v1/chats", "archived=true&limit=5", ""},
		{"GET", "/api/v1/chats/c%201/messages", "after=2&limit=10", ""},
		{"POST", "/api/v1/chats/c%201/messages", "", `{"message":"more","mode":"interrupt"}`},
		{"PATCH", "/api/v1/chats/c%201", "", `{"archived":true}`},
		{"POST", "/api/v1/chats/c%201/tool-results", "", `{"results":[{"tool_call_id":"t1","output":"42"}]}`},
		{"POST", "/api/v1/chats/c%201/queue/q%2F1/promote", "", ""},
		{"DELETE", "/api/v1/chats/c%201", "", ""},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("requests = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
