package wire

import (
	"encoding/json"
	"testing"
)

func TestEventJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ev      Event
		want    string
		wantLen int
	}{
		{name: "nil queue", ev: Event{ID: "1.1.0.0", Type: EventQueue}, want: `{"id":"1.1.0.0","type":"queue","queue":[]}`},
		{name: "empty queue", ev: Event{ID: "1.1.0.0", Type: EventQueue, Queue: []QueuedMessage{}}, want: `{"id":"1.1.0.0","type":"queue","queue":[]}`},
		{
			name:    "one queued",
			ev:      Event{ID: "1.1.0.0", Type: EventQueue, Queue: []QueuedMessage{{ID: "q1", Parts: []Part{}}}},
			want:    `{"id":"1.1.0.0","type":"queue","queue":[{"id":"q1","position":0,"parts":[],"created_at":"0001-01-01T00:00:00Z"}]}`,
			wantLen: 1,
		},
		// Only queue events carry a queue.
		{name: "chat event", ev: Event{ID: "1.0.0.0", Type: EventChat, Queue: []QueuedMessage{{ID: "q1"}}}, want: `{"id":"1.0.0.0","type":"chat"}`},
		{name: "heartbeat", ev: Event{Type: EventHeartbeat}, want: `{"type":"heartbeat"}`},
		{name: "truncate", ev: Event{Type: EventTruncate, Truncate: &Truncation{FromSeq: 3}}, want: `{"type":"truncate","truncate":{"from_seq":3}}`},
		{name: "part", ev: Event{ID: "1.0.0.1", Type: EventPart, Part: &PartDelta{Kind: PartRestart, Attempt: 2}}, want: `{"id":"1.0.0.1","type":"part","part":{"kind":"restart","attempt":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if string(b) != tt.want {
				t.Fatalf("JSON:\n got %s\nwant %s", b, tt.want)
			}
			var back Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if back.Type != tt.ev.Type || len(back.Queue) != tt.wantLen {
				t.Fatalf("round trip = %+v", back)
			}
		})
	}
}
