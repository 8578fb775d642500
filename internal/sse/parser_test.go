package sse

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// collect feeds chunks to a fresh Parser and returns its events (as
// comparable strings) and whether Flush found a partial event.
func collect(p *Parser, chunks ...[]byte) ([]string, bool) {
	var got []string
	for _, c := range chunks {
		p.Feed(c, func(e Event) { got = append(got, show(e)) })
	}
	return got, p.Flush()
}

func show(e Event) string {
	return fmt.Sprintf("id=%q event=%q retry=%d data=%q", e.ID, e.Event, e.Retry, e.Data)
}

var parserTests = []struct {
	name        string
	in          string
	want        []Event
	wantPartial bool
}{
	{name: "empty", in: ""},
	{name: "one", in: "data: hello\n\n", want: []Event{{Data: []byte("hello")}}},
	{name: "event type", in: "event: message_start\ndata: {}\n\n", want: []Event{{Event: "message_start", Data: []byte("{}")}}},
	{name: "type resets between events", in: "event: a\ndata: 1\n\ndata: 2\n\n", want: []Event{{Event: "a", Data: []byte("1")}, {Data: []byte("2")}}},
	{name: "multi-line data", in: "data: a\ndata: b\ndata:\n\n", want: []Event{{Data: []byte("a\nb\n")}}},
	{name: "crlf", in: "event: x\r\ndata: a\r\n\r\n", want: []Event{{Event: "x", Data: []byte("a")}}},
	{name: "cr", in: "event: x\rdata: a\r\r", want: []Event{{Event: "x", Data: []byte("a")}}},
	{name: "mixed endings", in: "data: a\r\ndata: b\rdata: c\n\r\n", want: []Event{{Data: []byte("a\nb\nc")}}},
	{name: "comment", in: ": ping\n\n: keep-alive\ndata: x\n\n", want: []Event{{Data: []byte("x")}}},
	{name: "no space after colon", in: "data:x\n\n", want: []Event{{Data: []byte("x")}}},
	{name: "only one space stripped", in: "data:  x \n\n", want: []Event{{Data: []byte(" x ")}}},
	{name: "field without colon", in: "data\n\n", want: []Event{{Data: []byte("")}}},
	{name: "colon in value", in: "data: a: b\n\n", want: []Event{{Data: []byte("a: b")}}},
	{name: "no data no dispatch", in: "event: ping\n\ndata: x\n\n", want: []Event{{Data: []byte("x")}}},
	{name: "unknown field ignored", in: "foo: bar\ndata: x\n\n", want: []Event{{Data: []byte("x")}}},
	{name: "id persists", in: "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", want: []Event{
		{ID: "7", Data: []byte("a")}, {ID: "7", Data: []byte("b")}, {Data: []byte("c")}}},
	{name: "id with nul ignored", in: "id: 1\ndata: a\n\nid: x\x00y\ndata: b\n\n", want: []Event{
		{ID: "1", Data: []byte("a")}, {ID: "1", Data: []byte("b")}}},
	{name: "retry", in: "retry: 3000\ndata: a\n\nretry: 5s\ndata: b\n\n", want: []Event{
		{Retry: 3000, Data: []byte("a")}, {Data: []byte("b")}}},
	{name: "bom stripped", in: "\xEF\xBB\xBFdata: a\n\n", want: []Event{{Data: []byte("a")}}},
	{name: "done sentinel", in: "data: {\"x\":1}\n\ndata: [DONE]\n\n", want: []Event{{Data: []byte(`{"x":1}`)}, {Data: []byte("[DONE]")}}},
	{name: "partial data line", in: "data: a\n\ndata: b", want: []Event{{Data: []byte("a")}}, wantPartial: true},
	{name: "partial event", in: "data: a\n\nevent: x\ndata: b\n", want: []Event{{Data: []byte("a")}}, wantPartial: true},
	{name: "trailing comment is not partial", in: "data: a\n\n: bye\n", want: []Event{{Data: []byte("a")}}},
}

func TestParser(t *testing.T) {
	t.Parallel()
	for _, tt := range parserTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var want []string
			for _, e := range tt.want {
				want = append(want, show(e))
			}
			got, partial := collect(&Parser{}, []byte(tt.in))
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if partial != tt.wantPartial {
				t.Fatalf("partial %v, want %v", partial, tt.wantPartial)
			}
		})
	}
}

// TestParserEverySplit feeds each stream in every two- and three-way split
// and checks the events are those of the unsplit stream.
func TestParserEverySplit(t *testing.T) {
	t.Parallel()
	inputs := []string{
		"\xEF\xBB\xBFevent: message_start\r\ndata: {\"a\":1}\r\n\r\n: c\r\ndata: x\rdata: y\r\rid: 4\ndata\n\n",
		"event: content_block_delta\ndata: {\"delta\":\"héllo\"}\n\ndata: [DONE]\n\ndata: tail",
	}
	for i := range parserTests {
		inputs = append(inputs, parserTests[i].in)
	}
	for _, in := range inputs {
		b := []byte(in)
		want, wantPartial := collect(&Parser{}, b)
		for i := 0; i <= len(b); i++ {
			for j := i; j <= len(b); j++ {
				got, partial := collect(&Parser{}, b[:i], b[i:j], b[j:])
				if strings.Join(got, "\n") != strings.Join(want, "\n") || partial != wantPartial {
					t.Fatalf("split %q|%q|%q: got %q (partial %v), want %q (partial %v)",
						b[:i], b[i:j], b[j:], got, partial, want, wantPartial)
				}
			}
		}
		// One byte at a time.
		var chunks [][]byte
		for i := range b {
			chunks = append(chunks, b[i:i+1])
		}
		if got, _ := collect(&Parser{}, chunks...); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("bytewise %q: got %q, want %q", b, got, want)
		}
	}
}

func TestParserMaxEventSize(t *testing.T) {
	t.Parallel()
	p := &Parser{MaxEventSize: 16}
	in := "data: small\n\ndata: " + strings.Repeat("x", 40) + "\n\ndata: after\n\n"
	got, _ := collect(p, []byte(in))
	want := []string{show(Event{Data: []byte("small")}), show(Event{Data: []byte("after")})}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !errors.Is(p.Err(), ErrEventTooLarge) {
		t.Fatalf("Err() = %v, want ErrEventTooLarge", p.Err())
	}
}

// fixtureSeeds returns the response sections of the llmtest fixtures, real
// provider streams, to seed the fuzzer.
func fixtureSeeds(t testing.TB) [][]byte {
	paths, _ := filepath.Glob("../llmtest/testdata/*/*.txtar")
	var seeds [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, after, ok := bytes.Cut(b, []byte("-- response --\n")); ok {
			body, _, _ := bytes.Cut(after, []byte("\n-- "))
			seeds = append(seeds, body)
		}
	}
	return seeds
}

// FuzzParser checks that chunking never changes the parse and that the
// Reader agrees with the Parser.
func FuzzParser(f *testing.F) {
	for _, s := range fixtureSeeds(f) {
		f.Add(s, uint8(7))
	}
	for _, tt := range parserTests {
		f.Add([]byte(tt.in), uint8(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		want, wantPartial := collect(&Parser{}, in)
		n := int(chunk%64) + 1
		var chunks [][]byte
		for b := in; len(b) > 0; {
			k := min(n, len(b))
			chunks = append(chunks, b[:k])
			b = b[k:]
		}
		got, partial := collect(&Parser{}, chunks...)
		if strings.Join(got, "\n") != strings.Join(want, "\n") || partial != wantPartial {
			t.Fatalf("chunked by %d: %q (partial %v), whole: %q (partial %v)", n, got, partial, want, wantPartial)
		}
		r := NewReader(bytes.NewReader(in))
		var read []string
		var err error
		for {
			var e Event
			if e, err = r.Next(); err != nil {
				break
			}
			read = append(read, show(e))
		}
		if strings.Join(read, "\n") != strings.Join(want, "\n") {
			t.Fatalf("reader %q, parser %q", read, want)
		}
		if wantPartial != errors.Is(err, ErrTruncated) {
			t.Fatalf("reader error %v, parser partial %v", err, wantPartial)
		}
	})
}

func TestFixtureSeedsParse(t *testing.T) {
	t.Parallel()
	seeds := fixtureSeeds(t)
	if len(seeds) == 0 {
		t.Fatalf("no fixtures found")
	}
}

func BenchmarkParserFeed(b *testing.B) {
	var stream []byte
	for _, s := range fixtureSeeds(b) {
		if bytes.HasPrefix(s, []byte("event:")) || bytes.HasPrefix(s, []byte("data:")) {
			stream = append(stream, s...)
		}
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var p Parser
	events := 0
	emit := func(Event) { events++ }
	for b.Loop() {
		// Feed in 1 KiB chunks, as a proxy tap sees them.
		for s := stream; len(s) > 0; {
			k := min(1024, len(s))
			p.Feed(s[:k], emit)
			s = s[k:]
		}
		p.Flush()
	}
	if events == 0 {
		b.Fatal("no events")
	}
}
