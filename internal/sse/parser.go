// Package sse reads and writes server-sent event streams as the WHATWG HTML
// standard defines them, for relaying and inspecting LLM provider streams.
package sse

import (
	"bytes"
	"errors"
)

// DefaultMaxEventSize bounds the bytes buffered for one event (its data plus
// the line being read) when no other limit is set. Provider events are small
// (a delta, a usage block) but some carry base64 images, hence the headroom.
const DefaultMaxEventSize = 16 << 20

// ErrEventTooLarge reports an event bigger than the configured maximum.
var ErrEventTooLarge = errors.New("sse: event exceeds maximum size")

// ErrTruncated reports a stream that ended in the middle of an event, before
// the blank line that would have dispatched it.
var ErrTruncated = errors.New("sse: stream ended mid-event")

// Event is one dispatched server-sent event.
type Event struct {
	// ID is the last event ID: as the standard says, it carries over from
	// earlier events until an "id" field changes it.
	ID string
	// Event is the event type ("event:" field); empty means "message".
	Event string
	// Data is the data fields joined with "\n".
	Data []byte
	// Retry is the reconnection time in milliseconds from a "retry" field in
	// this event, or zero if it had none.
	Retry int
}

// Parser is a push-style SSE parser for taps on relayed bytes: feed it
// whatever chunks arrive, in order, and it calls emit for each complete
// event. It copies only the bytes of a line split across chunks and the data
// of the current event, never per byte.
//
// The zero Parser is ready to use. A Parser is not safe for concurrent use.
type Parser struct {
	// MaxEventSize bounds one event's buffered bytes. If zero,
	// DefaultMaxEventSize is used. A larger event is dropped and Err
	// reports ErrEventTooLarge.
	MaxEventSize int

	line    []byte // partial line carried over from the previous chunk
	data    []byte // data buffer; every data line appends value + '\n'
	event   string
	types   map[string]string // event types seen, to share their strings
	id      string
	retry   int
	pending bool // a field has been seen since the last dispatch
	skipLF  bool // the previous chunk ended in '\r'; drop a leading '\n'
	started bool // past the optional leading byte order mark
	discard bool // the current event grew too large; skip to its end
	err     error
}

// Feed parses b and calls emit for every event it completes. emit must not
// retain e.Data after it returns (it aliases the parser's buffer); copy it
// with bytes.Clone to keep it.
func (p *Parser) Feed(b []byte, emit func(Event)) {
	if !p.started {
		// The standard strips one leading U+FEFF; it may itself be split.
		bom := []byte("\xEF\xBB\xBF")
		n := len(p.line) + len(b)
		if n < len(bom) && bytes.HasPrefix(bom, append(p.line, b...)) {
			p.line = append(p.line, b...)
			return
		}
		p.started = true
		if len(p.line) > 0 {
			// Bytes held back while checking for a BOM.
			held := p.line
			p.line = nil
			if bytes.HasPrefix(append(held, b...), bom) {
				b = b[len(bom)-len(held):]
			} else {
				p.feed(held, emit)
			}
		} else if bytes.HasPrefix(b, bom) {
			b = b[len(bom):]
		}
	}
	p.feed(b, emit)
}

func (p *Parser) feed(b []byte, emit func(Event)) {
	if p.skipLF && len(b) > 0 {
		p.skipLF = false
		if b[0] == '\n' {
			b = b[1:]
		}
	}
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			p.appendLine(b)
			return
		}
		seg := b[:i]
		if b[i] == '\r' {
			if i+1 < len(b) {
				if b[i+1] == '\n' {
					i++
				}
			} else {
				p.skipLF = true
			}
		}
		b = b[i+1:]
		if len(p.line) > 0 {
			p.appendLine(seg)
			line := p.line
			p.line = p.line[:0]
			p.processLine(line, emit)
		} else {
			p.processLine(seg, emit)
		}
	}
}

func (p *Parser) max() int {
	if p.MaxEventSize > 0 {
		return p.MaxEventSize
	}
	return DefaultMaxEventSize
}

func (p *Parser) appendLine(b []byte) {
	if p.discard {
		return
	}
	if len(p.line)+len(b)+len(p.data) > p.max() {
		p.tooLarge()
		return
	}
	p.line = append(p.line, b...)
}

func (p *Parser) tooLarge() {
	p.discard = true
	p.err = ErrEventTooLarge
	p.line = p.line[:0]
	p.data = p.data[:0]
}

func (p *Parser) processLine(line []byte, emit func(Event)) {
	if len(line) == 0 {
		p.dispatch(emit)
		return
	}
	if p.discard || line[0] == ':' {
		return
	}
	p.pending = true
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		if len(p.data)+len(value)+1 > p.max() {
			p.tooLarge()
			return
		}
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
	case "event":
		// Streams repeat a few event types; share their strings rather
		// than allocate one per event.
		if name, ok := p.types[string(value)]; ok {
			p.event = name
			break
		}
		p.event = string(value)
		if p.types == nil {
			p.types = make(map[string]string)
		}
		if len(p.types) < 64 {
			p.types[p.event] = p.event
		}
	case "id":
		if bytes.IndexByte(value, 0) < 0 && string(value) != p.id {
			p.id = string(value)
		}
	case "retry":
		if n, ok := digits(value); ok {
			p.retry = n
		}
	}
}

func digits(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func (p *Parser) dispatch(emit func(Event)) {
	discarded := p.discard
	p.discard = false
	p.pending = false
	if discarded || len(p.data) == 0 {
		// No data field: the standard resets the buffers without dispatching.
		p.data = p.data[:0]
		p.event = ""
		p.retry = 0
		return
	}
	e := Event{ID: p.id, Event: p.event, Data: p.data[:len(p.data)-1], Retry: p.retry}
	p.data = p.data[:0]
	p.event = ""
	p.retry = 0
	emit(e)
}

// Flush ends the stream. As the standard says, an incomplete event is
// discarded, not dispatched; Flush reports whether there was one, which for
// a provider stream means it was cut short. The parser is then ready for a
// new stream (the last event ID is kept).
func (p *Parser) Flush() (partial bool) {
	partial = p.pending || len(p.line) > 0 || p.discard
	if !p.started && len(p.line) > 0 {
		// Only a prefix of a byte order mark arrived.
		partial = true
	}
	p.line = p.line[:0]
	p.data = p.data[:0]
	p.event = ""
	p.retry = 0
	p.pending = false
	p.skipLF = false
	p.started = false
	p.discard = false
	return partial
}

// Err returns ErrEventTooLarge if an event was dropped for its size, else
// nil.
func (p *Parser) Err() error { return p.err }
