package rowcodec

import (
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

func TestDebugRunLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in, want int
	}{
		{name: "zero", in: 0, want: 50},
		{name: "negative", in: -3, want: 50},
		{name: "within", in: 7, want: 7},
		{name: "above max", in: 501, want: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := DebugRunLimit(tt.in); got != tt.want {
				t.Fatalf("DebugRunLimit(%d) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestStatusArg(t *testing.T) {
	t.Parallel()
	empty, done := store.DebugStatus(""), store.DebugCompleted
	tests := []struct {
		name string
		in   *store.DebugStatus
		want string // "" is nil
	}{
		{name: "nil", in: nil},
		{name: "empty means no change", in: &empty},
		{name: "set", in: &done, want: "completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := StatusArg(tt.in)
			if (got == nil) != (tt.want == "") || got != nil && *got != tt.want {
				t.Fatalf("StatusArg = %v, want %q", got, tt.want)
			}
		})
	}
}

func TestDebugStepDefaults(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 1, 2, 3, 4, 5, 6789, time.FixedZone("x", 3600))
	in := store.DebugStep{StartedAt: start, Attempts: []store.DebugAttempt{{Number: 1, Duration: 1500 * time.Nanosecond}}}
	s := DebugStep(in)
	if s.ID == "" {
		t.Fatal("ID not generated")
	}
	if s.Status != store.DebugInProgress {
		t.Fatalf("Status = %q, want %q", s.Status, store.DebugInProgress)
	}
	want := start.UTC().Truncate(time.Microsecond)
	if !s.StartedAt.Equal(want) || s.StartedAt.Location() != time.UTC {
		t.Fatalf("StartedAt = %v, want %v", s.StartedAt, want)
	}
	if !s.UpdatedAt.Equal(want) {
		t.Fatalf("UpdatedAt = %v, want %v", s.UpdatedAt, want)
	}
	a := s.Attempts[0]
	if a.StepID != s.ID || a.ID == "" || a.Duration != time.Microsecond {
		t.Fatalf("attempt = %+v, want tied to %q with 1µs", a, s.ID)
	}
	if in.Attempts[0].StepID != "" {
		t.Fatal("DebugStep changed the caller's attempts")
	}
}

func TestHeadersRoundTrip(t *testing.T) {
	t.Parallel()
	a := store.DebugAttempt{ID: "a", RequestHeader: http.Header{"X-A": {"1"}}}
	req, resp, err := EncodeHeaders(a)
	if err != nil {
		t.Fatal(err)
	}
	var got store.DebugAttempt
	if err := DecodeHeaders(&got, req, resp); err != nil {
		t.Fatal(err)
	}
	if v := got.RequestHeader.Get("X-A"); v != "1" {
		t.Fatalf("request header X-A = %q, want %q", v, "1")
	}
	if got.ResponseHeader != nil {
		t.Fatalf("response header = %v, want nil", got.ResponseHeader)
	}
	if err := DecodeHeaders(&got, "{", "null"); err == nil {
		t.Fatal("DecodeHeaders accepted malformed JSON")
	}
}

func TestToolCalls(t *testing.T) {
	t.Parallel()
	if b, err := EncodeToolCalls(nil, nil); b != nil || err != nil {
		t.Fatalf("EncodeToolCalls(nil) = %q, %v, want nil, nil", b, err)
	}
	in := []store.ToolCall{{ID: "c1", Name: "a\x00b", Arguments: "{}"}}
	b, err := EncodeToolCalls(in, func(s string) string { return s + "!" })
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeToolCalls(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "a\x00b!" || got[0].ID != "c1!" {
		t.Fatalf("decoded %+v", got)
	}
	if in[0].Name != "a\x00b" {
		t.Fatal("EncodeToolCalls changed the caller's calls")
	}
}
