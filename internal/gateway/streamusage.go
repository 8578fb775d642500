package gateway

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// Chat Completions streams carry token usage only when the request sets
// stream_options.include_usage; SDKs and curl outside chatd often do not,
// and their calls were recorded with no tokens and a cost of 0. The
// gateway asks for usage on their behalf and keeps the extra chunk
// (choices [] with usage) from the client that did not ask for it.
// Every other chunk then carries "usage":null, which the API documents.

var includeUsageTrue = []byte(`"include_usage":true`)

// withIncludeUsage returns body with stream_options.include_usage set to
// true, by the smallest edit of the bytes, or nil when the client asked
// for usage itself or its stream_options has a shape that is the
// provider's to judge. root is body parsed; opts is the last
// stream_options member of root (the one providers read), if have.
func withIncludeUsage(body []byte, root, opts gjson.Result, have bool) []byte {
	switch {
	case !have:
		if root.Index >= len(body) || body[root.Index] != '{' {
			return nil
		}
		// Right after the opening brace: the object has members (a
		// model at least), so a comma follows.
		return splice(body, root.Index+1, root.Index+1, `"stream_options":{`+string(includeUsageTrue)+`},`)
	case opts.Type == gjson.Null:
		return replaceResult(body, opts, `{`+string(includeUsageTrue)+`}`)
	case !opts.IsObject():
		return nil
	}
	var (
		iu     gjson.Result
		haveIU bool
	)
	opts.ForEach(func(k, v gjson.Result) bool {
		if k.Str == "include_usage" {
			iu, haveIU = v, true
		}
		return true
	})
	switch {
	case !haveIU:
		if !spanOK(body, opts) {
			return nil
		}
		inner := bytes.TrimSpace(body[opts.Index+1 : opts.Index+len(opts.Raw)-1])
		ins := string(includeUsageTrue)
		if len(inner) > 0 {
			ins += ","
		}
		return splice(body, opts.Index+1, opts.Index+1, ins)
	case iu.Type == gjson.True:
		return nil
	case iu.Type == gjson.False || iu.Type == gjson.Null:
		// The client gets the same chunks as with false: the usage chunk
		// is kept from it.
		return replaceResult(body, iu, "true")
	}
	return nil
}

// spanOK reports whether r's raw text sits at r.Index in body, as it does
// for members of a document parsed from body. An edit relies on it.
func spanOK(body []byte, r gjson.Result) bool {
	return r.Index > 0 && r.Index+len(r.Raw) <= len(body) && string(body[r.Index:r.Index+len(r.Raw)]) == r.Raw
}

func replaceResult(body []byte, r gjson.Result, with string) []byte {
	if !spanOK(body, r) {
		return nil
	}
	return splice(body, r.Index, r.Index+len(r.Raw), with)
}

// splice returns a new body with body[from:to] replaced by s.
func splice(body []byte, from, to int, s string) []byte {
	out := make([]byte, 0, len(body)-(to-from)+len(s))
	out = append(out, body[:from]...)
	out = append(out, s...)
	return append(out, body[to:]...)
}

// maxUsageFilterEvent bounds the bytes the usage filter holds back for
// one event; a larger event makes it stop filtering and relay the rest
// as it comes.
const maxUsageFilterEvent = 1 << 20

// usageFilter passes a Chat Completions SSE stream through event by event
// and drops its usage-only chunks. It holds back at most one partial
// event. It is used by one goroutine.
type usageFilter struct {
	pending   []byte // bytes of events not yet passed
	evStart   int    // start of the current event in pending
	lineStart int    // start of the first line of pending not yet scanned
	out       []byte
	giveUp    bool
}

// feed takes the next bytes of the stream and returns those to relay now.
// The result is valid until the next call.
func (f *usageFilter) feed(p []byte) []byte {
	if f.giveUp {
		return p
	}
	f.pending = append(f.pending, p...)
	f.out = f.out[:0]
	pos := f.lineStart
	for {
		i := bytes.IndexAny(f.pending[pos:], "\r\n")
		if i < 0 {
			break
		}
		end := pos + i
		next := end + 1
		if f.pending[end] == '\r' {
			if next == len(f.pending) {
				break // a CRLF may be split across reads: wait for the next byte
			}
			if f.pending[next] == '\n' {
				next++
			}
		}
		if end == pos { // a blank line ends the event
			if ev := f.pending[f.evStart:next]; !usageOnlyChunk(ev) {
				f.out = append(f.out, ev...)
			}
			f.evStart = next
		}
		pos = next
	}
	// Keep only the event in progress.
	n := copy(f.pending, f.pending[f.evStart:])
	f.pending = f.pending[:n]
	f.lineStart = pos - f.evStart
	f.evStart = 0
	if len(f.pending) > maxUsageFilterEvent {
		f.giveUp = true
		f.out = append(f.out, f.pending...)
		f.pending = nil
	}
	return f.out
}

// flush returns what is held back at the end of the stream: an event
// without its closing blank line, relayed as it came.
func (f *usageFilter) flush() []byte {
	p := f.pending
	f.pending = nil
	return p
}

var (
	emptyChoices      = []byte(`"choices":[]`)
	emptyChoicesSpace = []byte(`"choices": []`)
	dataField         = []byte("data:")
)

// usageOnlyChunk reports whether ev, one SSE event, is a chunk with no
// choices and a usage object: the one include_usage adds.
func usageOnlyChunk(ev []byte) bool {
	if !bytes.Contains(ev, emptyChoices) && !bytes.Contains(ev, emptyChoicesSpace) {
		return false
	}
	var data []byte
	for len(ev) > 0 {
		line := ev
		if i := bytes.IndexAny(ev, "\r\n"); i >= 0 {
			line, ev = ev[:i], ev[i+1:]
		} else {
			ev = nil
		}
		if v, ok := bytes.CutPrefix(line, dataField); ok {
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(v, []byte(" "))...)
		}
	}
	if jsonTooDeep(data) || !gjson.ValidBytes(data) {
		return false
	}
	c := gjson.ParseBytes(data)
	ch := c.Get("choices")
	if !ch.IsArray() || len(ch.Array()) != 0 {
		return false
	}
	return c.Get("usage").IsObject() && !c.Get("error").Exists()
}
