package chat

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEventJSONQueue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ev      Event
		has     string
		hasNot  string
		wantLen int
	}{
		{name: "nil queue", ev: Event{ID: "1.1.0.0", Type: EventQueue}, has: `"queue":[]`, wantLen: 0},
		{name: "empty queue", ev: Event{ID: "1.1.0.0", Type: EventQueue, Queue: []QueuedView{}}, has: `"queue":[]`, wantLen: 0},
		{name: "one queued", ev: Event{ID: "1.1.0.0", Type: EventQueue, Queue: []QueuedView{{ID: "q1"}}}, has: `"queue":[{"id":"q1"`, wantLen: 1},
		{name: "chat event", ev: Event{ID: "1.0.0.0", Type: EventChat, Chat: &ChatView{ID: "c"}}, hasNot: `"queue"`},
		{name: "heartbeat", ev: Event{Type: EventHeartbeat}, hasNot: `"queue"`},
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
			var back Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			if back.Type != tt.ev.Type || back.ID != tt.ev.ID || len(back.Queue) != tt.wantLen {
				t.Fatalf("round trip of %s = %+v", b, back)
			}
		})
	}
}
