package gateway

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"sync"

	"github.com/chatd/chatd/internal/sse"
	"github.com/chatd/chatd/internal/store"
)

// Limits on recorded text, so one huge prompt or tool argument cannot
// bloat the interceptions table.
const (
	maxRecordedText = 64 << 10
	maxToolCalls    = 128
)

// extractor reads the figures of a record out of one API's responses.
type extractor interface {
	// event handles one SSE event of a streamed response; data is only
	// valid during the call.
	event(name string, data []byte)
	// body handles a whole blocking JSON response.
	body(data []byte)
	// complete reports whether a stream reached its terminal event (an
	// error event is one).
	complete() bool
	// usageKnown reports whether a usage object was read.
	usageKnown() bool
	// streamError is the message of an error event that ended a stream,
	// or "". It is the provider's text, not yet scrubbed of keys.
	streamError() string
	// skippedDeep counts the JSON documents not read for nesting deeper
	// than maxJSONDepth (see deepGuard).
	skippedDeep() int
	// fill writes what was read into in.
	fill(in *store.Interception)
}

// tap watches the bytes relayed to the client and feeds an extractor,
// without ever changing or delaying them.
type tap struct {
	x         extractor
	streaming bool
	parser    sse.Parser
	emit      func(sse.Event)
	buf       bytes.Buffer // blocking body, up to maxTapBody
	overflow  bool
	encoding  string
}

func newTap(x extractor, contentType, contentEncoding string) *tap {
	t := &tap{x: x, encoding: strings.ToLower(strings.TrimSpace(contentEncoding))}
	t.streaming = strings.HasPrefix(strings.ToLower(contentType), "text/event-stream")
	t.emit = func(e sse.Event) { t.x.event(e.Event, e.Data) }
	return t
}

// parsedStream reports whether the tap parsed the events of a stream, so
// that the extractor knows whether it reached its terminal event. A
// compressed stream is relayed but not read.
func (t *tap) parsedStream() bool {
	return t.streaming && (t.encoding == "" || t.encoding == "identity")
}

// write takes the next relayed bytes.
func (t *tap) write(p []byte) {
	if t.parsedStream() {
		t.parser.Feed(p, t.emit)
		return
	}
	if t.overflow {
		return
	}
	if t.buf.Len()+len(p) > maxTapBody {
		t.overflow = true
		t.buf = bytes.Buffer{}
		return
	}
	t.buf.Write(p)
}

// finish hands a blocking body to the extractor once it is complete.
func (t *tap) finish() {
	if t.streaming || t.overflow || t.buf.Len() == 0 {
		return
	}
	b := t.buf.Bytes()
	switch t.encoding {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		b, err = io.ReadAll(io.LimitReader(zr, maxTapBody))
		if err != nil {
			return
		}
	default:
		return // brotli, zstd: relayed, not read
	}
	t.x.body(b)
}

func newExtractor(a api) extractor {
	switch a {
	case apiOpenAIChat:
		return &chatExtractor{}
	case apiOpenAIResponses:
		return &responsesExtractor{}
	case apiAnthropicMessages:
		return &anthropicExtractor{}
	}
	return nil
}

// clip bounds recorded text.
func clip(s string) string {
	if len(s) <= maxRecordedText {
		return s
	}
	cut := maxRecordedText
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…[truncated]"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// toolAcc accumulates one streamed tool call.
type toolAcc struct {
	id   string
	name string
	args strings.Builder
}

func (a *toolAcc) appendArgs(s string) {
	if a.args.Len() < maxRecordedText {
		a.args.WriteString(s)
	}
}

func (a *toolAcc) toolCall() store.ToolCall {
	return store.ToolCall{ID: a.id, Name: a.name, Arguments: clip(a.args.String())}
}

// textAcc accumulates bounded text (reasoning).
type textAcc struct{ b strings.Builder }

func (t *textAcc) add(s string) {
	if t.b.Len() < maxRecordedText {
		t.b.WriteString(s)
	}
}

func (t *textAcc) String() string { return clip(t.b.String()) }

// bufPool holds relay buffers. 32 KiB matches io.Copy and is larger than
// any single SSE event a provider sends in practice.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
