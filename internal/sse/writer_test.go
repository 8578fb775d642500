package sse

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestWriteEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    Event
		want string
	}{
		{name: "data only", e: Event{Data: []byte("[DONE]")}, want: "data: [DONE]\n\n"},
		{name: "all fields", e: Event{ID: "9", Event: "message_stop", Retry: 1500, Data: []byte(`{"type":"message_stop"}`)},
			want: "id: 9\nevent: message_stop\nretry: 1500\ndata: {\"type\":\"message_stop\"}\n\n"},
		{name: "multi-line", e: Event{Data: []byte("a\nb\r\nc\rd")}, want: "data: a\ndata: b\ndata: c\ndata: d\n\n"},
		{name: "empty data", e: Event{Event: "ping"}, want: "event: ping\ndata: \n\n"},
		{name: "trailing newline", e: Event{Data: []byte("a\n")}, want: "data: a\ndata: \n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := WriteEvent(&b, tt.e); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Fatalf("wrote %q, want %q", b.String(), tt.want)
			}
		})
	}
	if err := WriteEvent(io.Discard, Event{Event: "a\nb"}); !errors.Is(err, ErrInvalidField) {
		t.Fatalf("event with newline: %v, want ErrInvalidField", err)
	}
}

func TestWriteEventRoundTrip(t *testing.T) {
	t.Parallel()
	events := []Event{
		{Event: "message_start", Data: []byte(`{"type":"message_start"}`)},
		{ID: "2", Data: []byte("line one\nline two\n\nline four")},
		{ID: "2", Event: "ping", Data: []byte{}},
	}
	var b bytes.Buffer
	for _, e := range events {
		if err := WriteEvent(&b, e); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&b)
	for i, want := range events {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if show(got) != show(want) {
			t.Fatalf("event %d: %s, want %s", i, show(got), show(want))
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}
