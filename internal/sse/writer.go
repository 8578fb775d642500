package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrInvalidField reports an ID or event type that contains a line break,
// which would corrupt the stream's framing.
var ErrInvalidField = errors.New("sse: field contains a line break")

// WriteEvent writes e to w in one Write call: "id", "event" and "retry"
// lines when set, then one "data" line per line of e.Data (split at LF, CRLF
// or CR, which a reader joins back with LF), then the blank line that
// dispatches it. An event always has at least one data line, so readers
// dispatch it even when Data is empty.
func WriteEvent(w io.Writer, e Event) error {
	if strings.ContainsAny(e.ID, "\r\n\x00") || strings.ContainsAny(e.Event, "\r\n") {
		return fmt.Errorf("write sse event: %w", ErrInvalidField)
	}
	var b bytes.Buffer
	b.Grow(len(e.Data) + len(e.Event) + len(e.ID) + 32)
	if e.ID != "" {
		b.WriteString("id: ")
		b.WriteString(e.ID)
		b.WriteByte('\n')
	}
	if e.Event != "" {
		b.WriteString("event: ")
		b.WriteString(e.Event)
		b.WriteByte('\n')
	}
	if e.Retry > 0 {
		b.WriteString("retry: ")
		b.WriteString(strconv.Itoa(e.Retry))
		b.WriteByte('\n')
	}
	data := e.Data
	for {
		i := bytes.IndexAny(data, "\r\n")
		line := data
		if i >= 0 {
			line = data[:i]
		}
		b.WriteString("data: ")
		b.Write(line)
		b.WriteByte('\n')
		if i < 0 {
			break
		}
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	b.WriteByte('\n')
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write sse event: %w", err)
	}
	return nil
}
