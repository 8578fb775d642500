package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Reader reads events one at a time from a stream.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	// MaxEventSize bounds one event's size. If zero, DefaultMaxEventSize is
	// used. Set it before the first call to Next.
	MaxEventSize int

	r     io.Reader
	p     Parser
	buf   []byte
	queue []Event
	err   error
}

// NewReader returns a Reader that parses r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r}
}

// Next returns the next event. At a clean end of stream (the last event
// complete) it returns io.EOF; if the stream ends mid-event it returns an
// error wrapping ErrTruncated and io.ErrUnexpectedEOF. An event larger than
// MaxEventSize yields an error wrapping ErrEventTooLarge. Errors are sticky.
func (r *Reader) Next() (Event, error) {
	for {
		if len(r.queue) > 0 {
			e := r.queue[0]
			r.queue[0] = Event{}
			r.queue = r.queue[1:]
			return e, nil
		}
		if r.err != nil {
			return Event{}, r.err
		}
		if r.buf == nil {
			r.buf = make([]byte, 32<<10)
		}
		r.p.MaxEventSize = r.MaxEventSize
		n, err := r.r.Read(r.buf)
		if n > 0 {
			r.p.Feed(r.buf[:n], r.push)
			if perr := r.p.Err(); perr != nil {
				r.err = fmt.Errorf("read sse: %w (limit %d bytes)", perr, r.p.max())
				// Events completed before the oversized one are still returned.
				continue
			}
		}
		switch {
		case err == io.EOF:
			if r.p.Flush() {
				r.err = fmt.Errorf("read sse: %w: %w", ErrTruncated, io.ErrUnexpectedEOF)
			} else {
				r.err = io.EOF
			}
		case err != nil:
			if errors.Is(err, io.ErrUnexpectedEOF) {
				r.err = fmt.Errorf("read sse: %w: %w", ErrTruncated, err)
			} else {
				r.err = fmt.Errorf("read sse: %w", err)
			}
		}
	}
}

func (r *Reader) push(e Event) {
	e.Data = bytes.Clone(e.Data)
	if e.Data == nil {
		e.Data = []byte{}
	}
	r.queue = append(r.queue, e)
}
