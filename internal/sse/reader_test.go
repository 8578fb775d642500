package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		r       io.Reader
		want    []string
		wantErr error
	}{
		{name: "clean end", r: strings.NewReader("event: a\ndata: 1\n\ndata: 2\n\n"),
			want: []string{show(Event{Event: "a", Data: []byte("1")}), show(Event{Data: []byte("2")})}, wantErr: io.EOF},
		{name: "one byte reads", r: iotest.OneByteReader(strings.NewReader("data: 1\r\n\r\n")),
			want: []string{show(Event{Data: []byte("1")})}, wantErr: io.EOF},
		{name: "truncated", r: strings.NewReader("data: 1\n\ndata: 2\n"),
			want: []string{show(Event{Data: []byte("1")})}, wantErr: ErrTruncated},
		{name: "truncated is unexpected EOF", r: strings.NewReader("data: 1"), wantErr: io.ErrUnexpectedEOF},
		{name: "read error", r: io.MultiReader(strings.NewReader("data: 1\n\n"), iotest.ErrReader(io.ErrClosedPipe)),
			want: []string{show(Event{Data: []byte("1")})}, wantErr: io.ErrClosedPipe},
		{name: "reset mid-stream", r: io.MultiReader(strings.NewReader("data: 1\n\nda"), iotest.ErrReader(io.ErrUnexpectedEOF)),
			want: []string{show(Event{Data: []byte("1")})}, wantErr: ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(tt.r)
			var got []string
			var err error
			for {
				var e Event
				if e, err = r.Next(); err != nil {
					break
				}
				got = append(got, show(e))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("events %q, want %q", got, tt.want)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if _, again := r.Next(); again != err {
				t.Fatalf("error not sticky: %v then %v", err, again)
			}
		})
	}
}

func TestReaderMaxEventSize(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("data: ok\n\ndata: " + strings.Repeat("y", 100) + "\n\n"))
	r.MaxEventSize = 32
	e, err := r.Next()
	if err != nil || string(e.Data) != "ok" {
		t.Fatalf("first event %q, %v", e.Data, err)
	}
	if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("second event error %v, want ErrEventTooLarge", err)
	}
}

func TestReaderDataNotAliased(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("data: first\n\ndata: second\n\n"))
	a, _ := r.Next()
	b, _ := r.Next()
	if string(a.Data) != "first" || string(b.Data) != "second" {
		t.Fatalf("got %q and %q", a.Data, b.Data)
	}
}
