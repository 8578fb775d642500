package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/wire"
)

func TestChatCompact(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	c := e.createChat(map[string]any{"message": "one", "title": "t"})
	idle := e.waitIdle(c.ID, c.SnapshotVersion)
	path := "/api/v1/chats/" + c.ID + "/compact"

	eb := e.fail("POST", path, e.owner, nil, http.StatusConflict)
	if eb.Error.Message != "nothing to compact" {
		t.Fatalf("short chat: %q", eb.Error.Message)
	}
	e.fail("POST", path, e.bob, nil, http.StatusNotFound)

	for _, msg := range []string{"two", "three " + slowMarker} {
		var sent wire.SendResult
		e.call("POST", "/api/v1/chats/"+c.ID+"/messages", e.owner, map[string]any{"message": msg}, http.StatusCreated, &sent)
		if strings.Contains(msg, slowMarker) {
			<-e.up.started
			eb := e.fail("POST", path, e.owner, nil, http.StatusConflict)
			if !strings.Contains(eb.Error.Message, "a turn is running") {
				t.Fatalf("busy chat: %q", eb.Error.Message)
			}
			e.up.release <- struct{}{}
		}
		idle = e.waitIdle(c.ID, sent.Chat.SnapshotVersion)
	}

	s := e.openStream(c.ID, "", false)
	defer s.close()
	var got wire.ChatWithQueue
	e.call("POST", path, e.owner, nil, http.StatusAccepted, &got)
	if got.Chat.ID != c.ID || got.Chat.Status != wire.ChatWaiting || got.Queue == nil {
		t.Fatalf("compact answer = %+v (idle was %+v)", got, idle)
	}
	for {
		ev := s.next()
		if ev.Type == wire.EventMessage && ev.Message.Role == wire.RoleSummary {
			if textOf(ev.Message.Parts) == "" {
				t.Fatalf("empty summary: %+v", ev.Message)
			}
			break
		}
	}
	ms := e.messages(c.ID)
	if last := ms[len(ms)-1]; last.Role != wire.RoleSummary || len(ms) != 7 {
		t.Fatalf("messages after compaction = %+v", ms)
	}
}
