package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chat"
	"github.com/chatd/chatd/internal/sse"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// slowMarker in a user message makes the fake upstream hold that turn's
// streamed answer until the test releases it.
const slowMarker = "PLEASE-WAIT"

// gatedUpstream is the dev fake provider, except that streamed requests
// mentioning slowMarker announce themselves on started and wait for
// release (or for the caller to give up).
type gatedUpstream struct {
	dev     http.Handler
	started chan struct{}
	release chan struct{}
	done    chan struct{} // closed at cleanup: nothing waits any more
}

func (g *gatedUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	if bytes.Contains(b, []byte(slowMarker)) && bytes.Contains(b, []byte(`"stream":true`)) && lastUserHasMarker(b) {
		select {
		case g.started <- struct{}{}:
		case <-r.Context().Done():
			return
		case <-g.done:
			return
		}
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		case <-g.done:
			return
		}
	}
	g.dev.ServeHTTP(w, r)
}

// lastUserHasMarker reports whether the last user message of an OpenAI
// chat request holds slowMarker, so later turns of the same chat are not
// held.
func lastUserHasMarker(body []byte) bool {
	var req struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil {
		return false
	}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		switch req.Messages[i].Role {
		case "user":
			return bytes.Contains(req.Messages[i].Content, []byte(slowMarker))
		case "assistant", "tool":
			return false
		}
	}
	return false
}

type chatEnv struct {
	*env
	up      *gatedUpstream
	ownerID string
	owner   string // owner's API key
	ownerKe string // owner's API key id
	bob     string // another member's API key
	modelID string
	// streamsEnded receives the chat id of each stream handler that has
	// returned with its subscription closed.
	streamsEnded chan string
}

func newChatEnv(t *testing.T) *chatEnv {
	t.Helper()
	// The debug env with recording left off (the default) is exactly it.
	return newDebugEnv(t, debugOptions{}).chatEnv
}

func (e *chatEnv) createChat(body map[string]any) wire.Chat {
	e.t.Helper()
	var out wire.ChatWithQueue
	e.call("POST", "/api/v1/chats", e.owner, body, http.StatusCreated, &out)
	return out.Chat
}

func (e *chatEnv) messages(id string) []wire.Message {
	e.t.Helper()
	var out wire.MessagePage
	e.call("GET", "/api/v1/chats/"+id+"/messages", e.owner, nil, http.StatusOK, &out)
	return out.Messages
}

// stream is one open SSE connection to a chat.
type stream struct {
	t      *testing.T
	resp   *http.Response
	r      *sse.Reader
	cancel context.CancelFunc
}

// openStream connects to a chat's stream, resuming after last: in the
// Last-Event-ID header, or in the query when inQuery is set.
func (e *chatEnv) openStream(id, last string, inQuery bool) *stream {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	u := e.srv.URL + "/api/v1/chats/" + id + "/stream"
	if last != "" && inQuery {
		u += "?last_event_id=" + url.QueryEscape(last)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.owner)
	if last != "" && !inQuery {
		req.Header.Set("Last-Event-ID", last)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		cancel()
		e.t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		e.t.Fatalf("open stream: status %d: %s", resp.StatusCode, b)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != want {
			e.t.Fatalf("stream header %s = %q, want %q", k, got, want)
		}
	}
	s := &stream{t: e.t, resp: resp, r: sse.NewReader(resp.Body), cancel: cancel}
	e.t.Cleanup(s.close)
	return s
}

func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next returns the next event that is not a heartbeat.
func (s *stream) next() wire.Event {
	s.t.Helper()
	for {
		raw, err := s.r.Next()
		if err != nil {
			s.t.Fatalf("read stream: %v", err)
		}
		var ev wire.Event
		if err := json.Unmarshal(raw.Data, &ev); err != nil {
			s.t.Fatalf("decode event %q: %v", raw.Data, err)
		}
		if ev.Type == wire.EventHeartbeat {
			continue
		}
		if raw.ID != ev.ID || raw.Event != string(ev.Type) {
			s.t.Fatalf("SSE id/event %q/%q differ from the payload's %q/%q", raw.ID, raw.Event, ev.ID, ev.Type)
		}
		return ev
	}
}

// untilIdle reads events until a chat snapshot newer than version shows
// the chat not running, and returns them all.
func (s *stream) untilIdle(version int64) []wire.Event {
	s.t.Helper()
	var evs []wire.Event
	for {
		ev := s.next()
		evs = append(evs, ev)
		if ev.Type == wire.EventChat && ev.Chat.SnapshotVersion > version && !ev.Chat.Busy() {
			return evs
		}
	}
}

// waitIdle follows a chat until it is idle after version.
func (e *chatEnv) waitIdle(id string, version int64) wire.Chat {
	e.t.Helper()
	s := e.openStream(id, "", false)
	defer s.close()
	evs := s.untilIdle(version)
	return *evs[len(evs)-1].Chat
}

func textOf(parts []wire.Part) string {
	var b strings.Builder
	for _, p := range parts {
		if p.Type == wire.PartText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func TestChatCreateAndStream(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	c := e.createChat(map[string]any{"message": "hello there", "title": "greeting"})
	if c.OwnerID != e.ownerID || c.APIKeyID != e.ownerKe || c.ModelConfigID != e.modelID || c.Title != "greeting" {
		t.Fatalf("created %+v", c)
	}

	s := e.openStream(c.ID, "", false)
	evs := s.untilIdle(c.SnapshotVersion)
	var live strings.Builder
	for _, ev := range evs {
		if ev.Type == wire.EventPart && ev.Part.Kind == wire.PartTextDelta {
			live.WriteString(ev.Part.Delta)
		}
	}
	last := evs[len(evs)-1].Chat
	if last.Status != wire.ChatWaiting {
		t.Fatalf("status = %s (%s), want waiting", last.Status, last.LastError)
	}

	ms := e.messages(c.ID)
	if len(ms) != 2 || ms[0].Role != wire.RoleUser || ms[1].Role != wire.RoleAssistant {
		t.Fatalf("messages = %+v", ms)
	}
	if ms[0].APIKeyID != e.ownerKe || textOf(ms[0].Parts) != "hello there" {
		t.Fatalf("user message = %+v", ms[0])
	}
	answer := textOf(ms[1].Parts)
	if !strings.Contains(answer, "hello there") {
		t.Fatalf("answer = %q, want the fake's echo", answer)
	}
	if live.Len() > 0 && live.String() != answer {
		t.Fatalf("streamed %q, committed %q", live.String(), answer)
	}

	// Lists, get, pagination, patch, delete.
	var list struct {
		Chats []wire.Chat `json:"chats"`
	}
	e.call("GET", "/api/v1/chats", e.owner, nil, http.StatusOK, &list)
	if len(list.Chats) != 1 || list.Chats[0].ID != c.ID {
		t.Fatalf("list = %+v", list)
	}
	e.call("GET", "/api/v1/chats", e.bob, nil, http.StatusOK, &list)
	if len(list.Chats) != 0 {
		t.Fatalf("bob sees %+v", list)
	}
	var page wire.MessagePage
	e.call("GET", "/api/v1/chats/"+c.ID+"/messages?limit=1", e.owner, nil, http.StatusOK, &page)
	if len(page.Messages) != 1 || page.NextAfter == nil || *page.NextAfter != ms[0].Seq {
		t.Fatalf("page 1 = %+v", page)
	}
	e.call("GET", "/api/v1/chats/"+c.ID+"/messages?limit=1&after="+jsonInt(*page.NextAfter), e.owner, nil, http.StatusOK, &page)
	if len(page.Messages) != 1 || page.Messages[0].ID != ms[1].ID || page.NextAfter != nil {
		t.Fatalf("page 2 = %+v", page)
	}
	var got wire.ChatWithQueue
	e.call("PATCH", "/api/v1/chats/"+c.ID, e.owner, map[string]any{"title": "renamed", "archived": true}, http.StatusOK, &got)
	if got.Chat.Title != "renamed" || !got.Chat.Archived {
		t.Fatalf("patched %+v", got.Chat)
	}
	e.call("GET", "/api/v1/chats?archived=true", e.owner, nil, http.StatusOK, &list)
	if len(list.Chats) != 1 {
		t.Fatalf("archived list = %+v", list)
	}
	e.call("GET", "/api/v1/chats", e.owner, nil, http.StatusOK, &list)
	if len(list.Chats) != 0 {
		t.Fatalf("live list = %+v", list)
	}
	eb := e.fail("POST", "/api/v1/chats/"+c.ID+"/messages", e.owner, map[string]any{"message": "x"}, http.StatusConflict)
	if !strings.Contains(eb.Error.Message, "archived") {
		t.Fatalf("send to archived: %q", eb.Error.Message)
	}
	e.call("GET", "/api/v1/chats/"+c.ID+"/children", e.owner, nil, http.StatusOK, &list)
	if len(list.Chats) != 0 {
		t.Fatalf("children = %+v", list)
	}
	e.call("DELETE", "/api/v1/chats/"+c.ID, e.owner, nil, http.StatusNoContent, nil)
	e.fail("GET", "/api/v1/chats/"+c.ID, e.owner, nil, http.StatusNotFound)
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestChatQueueInterruptEdit(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	c := e.createChat(map[string]any{"message": "first " + slowMarker, "title": "t"})
	<-e.up.started // the turn reached the model

	// Busy: the next message is queued.
	var q wire.SendResult
	e.call("POST", "/api/v1/chats/"+c.ID+"/messages", e.owner, map[string]any{"message": "second"}, http.StatusAccepted, &q)
	if q.Queued == nil || q.Message != nil || q.Queued.APIKeyID != e.ownerKe {
		t.Fatalf("queued answer = %+v", q)
	}
	var got wire.ChatWithQueue
	e.call("GET", "/api/v1/chats/"+c.ID, e.owner, nil, http.StatusOK, &got)
	if len(got.Queue) != 1 || got.Queue[0].ID != q.Queued.ID || !got.Chat.Busy() {
		t.Fatalf("chat = %+v", got)
	}
	// Editing while the turn runs is refused, saying why.
	ms := e.messages(c.ID)
	eb := e.fail("PUT", "/api/v1/chats/"+c.ID+"/messages/"+ms[0].ID, e.owner, map[string]any{"message": "edited"}, http.StatusConflict)
	if !strings.Contains(eb.Error.Message, "running") {
		t.Fatalf("edit while running: %q", eb.Error.Message)
	}

	// Interrupt: the held turn stops and the queued message runs next.
	e.call("POST", "/api/v1/chats/"+c.ID+"/interrupt", e.owner, nil, http.StatusOK, &got)
	idle := e.waitIdleWith(c.ID, got.Chat.SnapshotVersion, func(ms []wire.Message) bool {
		return len(ms) > 0 && ms[len(ms)-1].Role == wire.RoleAssistant && strings.Contains(textOf(ms[len(ms)-1].Parts), "second")
	})
	if idle.Status != wire.ChatWaiting {
		t.Fatalf("after interrupt: %+v", idle)
	}
	e.call("GET", "/api/v1/chats/"+c.ID, e.owner, nil, http.StatusOK, &got)
	if len(got.Queue) != 0 {
		t.Fatalf("queue after the turn = %+v", got.Queue)
	}

	// Edit the first message: what followed is dropped and the chat reruns.
	ms = e.messages(c.ID)
	var ed wire.SendResult
	e.call("PUT", "/api/v1/chats/"+c.ID+"/messages/"+ms[0].ID, e.owner, map[string]any{"parts": []map[string]any{{"type": "text", "text": "edited"}}}, http.StatusOK, &ed)
	if ed.Message == nil || textOf(ed.Message.Parts) != "edited" {
		t.Fatalf("edit answer = %+v", ed)
	}
	e.waitIdleWith(c.ID, ed.Chat.SnapshotVersion, func(ms []wire.Message) bool {
		return len(ms) == 2 && strings.Contains(textOf(ms[1].Parts), "edited")
	})
	ms = e.messages(c.ID)
	if len(ms) != 2 || textOf(ms[0].Parts) != "edited" || ms[1].Role != wire.RoleAssistant {
		t.Fatalf("messages after edit = %+v", ms)
	}

	// Interrupting an idle chat is a 409 that says why.
	eb = e.fail("POST", "/api/v1/chats/"+c.ID+"/interrupt", e.owner, nil, http.StatusConflict)
	if !strings.Contains(eb.Error.Message, "no turn is running") {
		t.Fatalf("interrupt idle: %q", eb.Error.Message)
	}
}

// waitIdleWith waits until the chat is idle after version and done holds
// for its messages.
func (e *chatEnv) waitIdleWith(id string, version int64, done func([]wire.Message) bool) wire.Chat {
	e.t.Helper()
	s := e.openStream(id, "", false)
	defer s.close()
	for {
		ev := s.next()
		if ev.Type == wire.EventChat && ev.Chat.SnapshotVersion > version && !ev.Chat.Busy() {
			if ms := e.messages(id); done(ms) {
				return *ev.Chat
			}
		}
	}
}

// TestChatStreamResume cuts a watcher mid-turn and resumes it with
// Last-Event-ID (header or query): it sees exactly what an uninterrupted
// watcher sees.
func TestChatStreamResume(t *testing.T) {
	t.Parallel()
	for _, inQuery := range []bool{false, true} {
		name := "header"
		if inQuery {
			name = "query"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newChatEnv(t)
			c := e.createChat(map[string]any{"message": "resume " + slowMarker, "title": "t"})
			<-e.up.started

			ref := e.openStream(c.ID, "", false)
			cut := e.openStream(c.ID, "", false)
			first := cut.next()
			lastID := first.ID
			if lastID == "" {
				t.Fatalf("first event has no id: %+v", first)
			}
			cut.close()

			e.up.release <- struct{}{}
			want := ref.untilIdle(c.SnapshotVersion)
			resumed := e.openStream(c.ID, lastID, inQuery)

			// The resumed watcher gets every message the reference saw
			// after the cut, once each, and reaches the same final state.
			// (Events after a gap come per kind: the newest chat snapshot,
			// then missing messages, so the order may differ.)
			if want[0].ID != lastID {
				t.Fatalf("reference starts at %q, cut watcher at %q", want[0].ID, lastID)
			}
			wantMsgs := map[string]bool{}
			for _, ev := range want[1:] {
				if ev.Type == wire.EventMessage {
					wantMsgs[ev.Message.ID] = true
				}
			}
			final := want[len(want)-1].Chat
			seen := map[string]bool{}
			gotFinal := false
			for len(seen) < len(wantMsgs) || !gotFinal {
				ev := resumed.next()
				switch ev.Type {
				case wire.EventMessage:
					if seen[ev.Message.ID] {
						t.Fatalf("message %s delivered twice", ev.Message.ID)
					}
					if !wantMsgs[ev.Message.ID] {
						t.Fatalf("message %s (seq %d) was delivered before the cut", ev.Message.ID, ev.Message.Seq)
					}
					seen[ev.Message.ID] = true
				case wire.EventChat:
					if ev.Chat.SnapshotVersion == final.SnapshotVersion && ev.Chat.Status == final.Status {
						gotFinal = true
					}
				}
			}
		})
	}
}

func evIDs(evs []wire.Event) string {
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.ID+":"+string(ev.Type))
	}
	return strings.Join(ids, " ")
}

// TestChatStreamClientGone checks that a watcher going away ends the
// handler and its subscription within a bounded time.
func TestChatStreamClientGone(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	c := e.createChat(map[string]any{"message": "bye", "title": "t"})
	e.waitIdle(c.ID, c.SnapshotVersion)
	s := e.openStream(c.ID, "", false)
	s.next()
	s.close()
	// The heartbeat is an hour away and the chat is idle: only noticing
	// the client left can end the handler in time.
	select {
	case id := <-e.streamsEnded:
		if id != c.ID {
			t.Fatalf("stream of chat %s ended, want %s", id, c.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream handler still running 10s after the client went away")
	}
	select {
	case id := <-e.streamsEnded:
		t.Fatalf("a second stream (chat %s) ended; only one was opened", id)
	default:
	}
}

// chatRoutes lists every chat endpoint for the table tests.
func chatRouteTable(id, msgID, qid string) []struct {
	name, method, path string
	body               any
} {
	p := "/api/v1/chats/" + id
	return []struct {
		name, method, path string
		body               any
	}{
		{"get", "GET", p, nil},
		{"children", "GET", p + "/children", nil},
		{"patch", "PATCH", p, map[string]any{"title": "mine now"}},
		{"messages", "GET", p + "/messages", nil},
		{"send", "POST", p + "/messages", map[string]any{"message": "hi"}},
		{"edit", "PUT", p + "/messages/" + msgID, map[string]any{"message": "hi"}},
		{"interrupt", "POST", p + "/interrupt", nil},
		{"delete queued", "DELETE", p + "/queue/" + qid, nil},
		{"promote queued", "POST", p + "/queue/" + qid + "/promote", nil},
		{"tool results", "POST", p + "/tool-results", map[string]any{"results": []map[string]any{{"tool_call_id": "x", "output": "y"}}}},
		{"stream", "GET", p + "/stream", nil},
		{"delete", "DELETE", p, nil},
	}
}

func TestChatOtherUserGets404(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	c := e.createChat(map[string]any{"message": "secret " + slowMarker, "title": "private"})
	<-e.up.started
	var q wire.SendResult
	e.call("POST", "/api/v1/chats/"+c.ID+"/messages", e.owner, map[string]any{"message": "queued"}, http.StatusAccepted, &q)
	ms := e.messages(c.ID)

	for _, who := range []struct{ name, key string }{{"admin", e.admin}, {"member", e.bob}} {
		for _, tt := range chatRouteTable(c.ID, ms[0].ID, q.Queued.ID) {
			t.Run(who.name+"/"+tt.name, func(t *testing.T) {
				eb := e.fail(tt.method, tt.path, who.key, tt.body, http.StatusNotFound)
				if eb.Error.Message != "chat not found" {
					t.Fatalf("message = %q", eb.Error.Message)
				}
			})
		}
	}
	// Nothing changed: still running, queue intact, title kept.
	var got wire.ChatWithQueue
	e.call("GET", "/api/v1/chats/"+c.ID, e.owner, nil, http.StatusOK, &got)
	if got.Chat.Title != "private" || len(got.Queue) != 1 || !got.Chat.Busy() {
		t.Fatalf("chat changed by others: %+v", got)
	}
	e.up.release <- struct{}{}
}

func TestChatBadInput(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	c := e.createChat(map[string]any{"message": "hi", "title": "t"})
	e.waitIdle(c.ID, c.SnapshotVersion)
	ms := e.messages(c.ID)
	p := "/api/v1/chats/" + c.ID
	long := strings.Repeat("x", maxMessageText+1)
	huge := `{"message":"` + strings.Repeat("x", maxBody) + `"}`

	tests := []struct {
		name, method, path string
		body               any
		want               int
		msg                string // part of the error message, if set
	}{
		{"create empty body", "POST", "/api/v1/chats", "", 400, "empty"},
		{"create bad JSON", "POST", "/api/v1/chats", "{", 400, ""},
		{"create unknown field", "POST", "/api/v1/chats", map[string]any{"message": "x", "temperature": 1}, 400, "unknown field"},
		{"create no message", "POST", "/api/v1/chats", map[string]any{}, 400, "message"},
		{"create blank message", "POST", "/api/v1/chats", map[string]any{"message": "  "}, 400, "empty"},
		{"create both", "POST", "/api/v1/chats", map[string]any{"message": "x", "parts": []map[string]any{{"type": "text", "text": "y"}}}, 400, "not both"},
		{"create too long", "POST", "/api/v1/chats", map[string]any{"message": long}, 400, "at most"},
		{"create tool result part", "POST", "/api/v1/chats", map[string]any{"parts": []map[string]any{{"type": "tool_result", "text": "y"}}}, 400, "must be text"},
		{"create part extra field", "POST", "/api/v1/chats", map[string]any{"parts": []map[string]any{{"type": "text", "text": "y", "output": "z"}}}, 400, "unknown field"},
		{"create empty parts", "POST", "/api/v1/chats", map[string]any{"parts": []any{}}, 400, "empty"},
		{"create unknown model", "POST", "/api/v1/chats", map[string]any{"message": "x", "model": "nope"}, 400, "model"},
		{"create bad tool name", "POST", "/api/v1/chats", map[string]any{"message": "x", "client_tools": []map[string]any{{"name": "bad name"}}}, 400, "client_tools[0].name"},
		{"create duplicate tool", "POST", "/api/v1/chats", map[string]any{"message": "x", "client_tools": []map[string]any{{"name": "a"}, {"name": "a"}}}, 400, "twice"},
		{"create bad schema", "POST", "/api/v1/chats", map[string]any{"message": "x", "client_tools": []map[string]any{{"name": "a", "input_schema": "str"}}}, 400, "input_schema"},
		{"create NUL in message", "POST", "/api/v1/chats", map[string]any{"message": "x\x00y"}, 400, "control character U+0000"},
		{"create escape in message", "POST", "/api/v1/chats", map[string]any{"message": "hi \x1b]0;pwned\x07"}, 400, "control character U+001B"},
		{"create escape in title", "POST", "/api/v1/chats", map[string]any{"message": "x", "title": "t\x1b[31m"}, 400, "title"},
		{"create long title", "POST", "/api/v1/chats", map[string]any{"message": "x", "title": strings.Repeat("t", maxTitle+1)}, 400, "title"},
		{"create too large", "POST", "/api/v1/chats", huge, 413, ""},
		{"list bad archived", "GET", "/api/v1/chats?archived=maybe", nil, 400, "archived"},
		{"list bad limit", "GET", "/api/v1/chats?limit=0", nil, 400, "limit"},
		{"messages bad after", "GET", p + "/messages?after=x", nil, 400, "after"},
		{"messages bad limit", "GET", p + "/messages?limit=100000", nil, 400, "limit"},
		{"patch nothing", "PATCH", p, map[string]any{}, 400, "title or archived"},
		{"patch blank title", "PATCH", p, map[string]any{"title": " "}, 400, "title"},
		{"patch wrong type", "PATCH", p, map[string]any{"archived": "yes"}, 400, "archived"},
		{"send bad mode", "POST", p + "/messages", map[string]any{"message": "x", "mode": "now"}, 400, "mode"},
		{"send no message", "POST", p + "/messages", map[string]any{"mode": "queue"}, 400, "message"},
		{"send too large", "POST", p + "/messages", huge, 413, ""},
		{"edit unknown message", "PUT", p + "/messages/nope", map[string]any{"message": "x"}, 404, "message not found"},
		{"edit assistant message", "PUT", p + "/messages/" + ms[1].ID, map[string]any{"message": "x"}, 400, ""},
		{"edit empty", "PUT", p + "/messages/" + ms[0].ID, map[string]any{"message": ""}, 400, "empty"},
		{"interrupt idle", "POST", p + "/interrupt", nil, 409, "no turn is running"},
		{"delete unknown queued", "DELETE", p + "/queue/nope", nil, 404, "queued message not found"},
		{"promote unknown queued", "POST", p + "/queue/nope/promote", nil, 404, "queued message not found"},
		{"tool results none", "POST", p + "/tool-results", map[string]any{"results": []any{}}, 400, "results"},
		{"tool results no id", "POST", p + "/tool-results", map[string]any{"results": []map[string]any{{"output": "x"}}}, 400, "tool_call_id"},
		{"tool results not waiting", "POST", p + "/tool-results", map[string]any{"results": []map[string]any{{"tool_call_id": "t", "output": "x"}}}, 409, "not waiting"},
		{"unarchive live chat", "PATCH", p, map[string]any{"archived": false, "title": "ok"}, 200, ""},
		{"unknown chat", "GET", "/api/v1/chats/nope", nil, 404, "chat not found"},
		{"unknown chat stream", "GET", "/api/v1/chats/nope/stream", nil, 404, "chat not found"},
		{"wrong method", "PUT", p, map[string]any{}, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == 200 {
				e.call(tt.method, tt.path, e.owner, tt.body, tt.want, nil)
				return
			}
			eb := e.fail(tt.method, tt.path, e.owner, tt.body, tt.want)
			if !strings.Contains(eb.Error.Message, tt.msg) {
				t.Fatalf("message = %q, want it to mention %q", eb.Error.Message, tt.msg)
			}
		})
	}
}

func TestChatsDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	eb := e.fail("GET", "/api/v1/chats", e.member, nil, http.StatusServiceUnavailable)
	if eb.Error.Code != "unavailable" {
		t.Fatalf("code = %q", eb.Error.Code)
	}
	e.fail("GET", "/api/v1/chats", "", nil, http.StatusUnauthorized)
}

func TestChatErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"transition", &store.TransitionError{Op: store.OpInterrupt, Status: store.ChatWaiting, Reason: "no turn is running"}, 409},
		{"invalid", errors.Join(chat.ErrInvalid), 400},
		{"not found", store.ErrNotFound, 404},
		{"conflict", store.ErrConflict, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := toError(chatError("chat", tt.err))
			if e.Status != tt.want {
				t.Fatalf("status = %d, want %d", e.Status, tt.want)
			}
		})
	}
	if e, _ := toError(chatError("chat", &store.TransitionError{Op: store.OpInterrupt, Reason: "no turn is running"})); e.Message != "cannot interrupt: no turn is running" {
		t.Fatalf("message = %q", e.Message)
	}
}

// TestChatStreamAheadResyncs: a Last-Event-ID ahead of the chat (another
// chat's, or from before a database reset) gets the chat's full state,
// not a stream that stays silent; queue events always carry the queue.
func TestChatStreamAheadResyncs(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	c := e.createChat(map[string]any{"message": "hello", "title": "t"})
	e.waitIdle(c.ID, c.SnapshotVersion)

	s := e.openStream(c.ID, "999.999.999.999", false)
	var got []string
	for {
		raw, err := s.r.Next()
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		if raw.Event == string(wire.EventHeartbeat) {
			continue
		}
		got = append(got, raw.Event)
		if raw.Event == string(wire.EventQueue) {
			if !strings.Contains(string(raw.Data), `"queue":[]`) {
				t.Fatalf("queue event = %s, want an empty queue", raw.Data)
			}
			break
		}
	}
	if got, want := strings.Join(got, ","), "chat,message,message,queue"; got != want {
		t.Fatalf("events = %s, want %s", got, want)
	}
}
