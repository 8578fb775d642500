package chat

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/wire"
)

func TestEventJSONQueue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ev      wire.Event
		has     string
		hasNot  string
		wantLen int
	}{
		{name: "nil queue", ev: wire.Event{ID: "1.1.0.0", Type: wire.EventQueue}, has: `"queue":[]`, wantLen: 0},
		{name: "empty queue", ev: wire.Event{ID: "1.1.0.0", Type: wire.EventQueue, Queue: []wire.QueuedMessage{}}, has: `"queue":[]`, wantLen: 0},
		{name: "one queued", ev: wire.Event{ID: "1.1.0.0", Type: wire.EventQueue, Queue: []wire.QueuedMessage{{ID: "q1"}}}, has: `"queue":[{"id":"q1"`, wantLen: 1},
		{name: "chat event", ev: wire.Event{ID: "1.0.0.0", Type: wire.EventChat, Chat: &wire.Chat{ID: "c"}}, hasNot: `"queue"`},
		{name: "heartbeat", ev: wire.Event{Type: wire.EventHeartbeat}, hasNot: `"queue"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if tt.has != "" && !strings.Contains(string(b), tt.has) {
				t.Fatalf("event = %s, want it to hold %s", b, tt.has)
			}
			if tt.hasNot != "" && strings.Contains(string(b), tt.hasNot) {
				t.Fatalf("event = %s, want no %s", b, tt.hasNot)
			}
			var back wire.Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			if back.Type != tt.ev.Type || back.ID != tt.ev.ID || len(back.Queue) != tt.wantLen {
				t.Fatalf("round trip of %s = %+v", b, back)
			}
		})
	}
}
