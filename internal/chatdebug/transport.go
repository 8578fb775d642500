package chatdebug

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// Capture bounds of an HTTP attempt. Bytes past them are counted, not kept.
const (
	maxRequestCapture  = 1 << 20
	maxResponseCapture = 256 << 10
)

// Transport returns base recording every HTTP attempt made for a step of
// a wrapped model (found in the request context) into that step. Requests
// without a step pass through unrecorded. A nil Run returns base; a nil
// base means http.DefaultTransport.
func (r *Run) Transport(base http.RoundTripper) http.RoundTripper {
	if r == nil {
		return base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base}
}

// transport is safe for concurrent use when its base is.
type transport struct {
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stepFrom(req.Context())
	if st == nil {
		return t.base.RoundTrip(req)
	}
	a := &attempt{
		step:    st,
		number:  int(st.attempts.Add(1)),
		method:  req.Method,
		url:     req.URL,
		reqHead: req.Header.Clone(),
		reqType: req.Header.Get("Content-Type"),
		started: time.Now(),
	}
	req = a.captureRequest(req)
	resp, err := t.base.RoundTrip(req)
	a.ttfb = time.Since(a.started)
	if err != nil {
		a.err = err
		a.finish()
		return resp, err
	}
	a.status = resp.StatusCode
	a.respHead = resp.Header.Clone()
	a.respType = resp.Header.Get("Content-Type")
	if resp.Body == nil || resp.Body == http.NoBody || resp.StatusCode == http.StatusSwitchingProtocols {
		// A 101's body is the upgraded connection: leave it alone.
		a.finish()
		return resp, nil
	}
	resp.Body = &teeBody{rc: resp.Body, a: a}
	return resp, nil
}

// captureRequest keeps the first maxRequestCapture bytes of the body and
// returns a request whose body replays them, unchanged for the upstream.
func (a *attempt) captureRequest(req *http.Request) *http.Request {
	if req.Body == nil || req.Body == http.NoBody {
		return req
	}
	if req.GetBody != nil {
		// A separate copy: the original body is left untouched.
		if b, err := req.GetBody(); err == nil {
			a.reqBody, a.reqExtra = readBounded(b, maxRequestCapture)
			_ = b.Close()
			return req
		}
	}
	head, err := io.ReadAll(io.LimitReader(req.Body, maxRequestCapture+1))
	if err != nil {
		// Replay what was read and the error after it.
		head = append([]byte(nil), head...)
	}
	out := req.Clone(req.Context())
	keep := head
	if len(keep) > maxRequestCapture {
		keep = keep[:maxRequestCapture]
		a.reqExtra = -1 // unknown: counted as more
	}
	a.reqBody = keep
	var rest io.Reader = req.Body
	if err != nil {
		rest = errReader{err}
	}
	out.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(head), rest), c: req.Body}
	return out
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type replayBody struct {
	io.Reader
	c io.Closer
}

func (b *replayBody) Close() error { return b.c.Close() }

// readBounded reads r to its end, keeping at most n bytes and counting the
// rest.
func readBounded(r io.Reader, n int) ([]byte, int64) {
	b, _ := io.ReadAll(io.LimitReader(r, int64(n)))
	extra, _ := io.Copy(io.Discard, r)
	return b, extra
}

// attempt is one HTTP exchange being recorded.
type attempt struct {
	step    *step
	number  int
	method  string
	url     *url.URL
	reqHead http.Header
	reqType string
	reqBody []byte
	// reqExtra counts request bytes past the capture; -1 when unknown.
	reqExtra int64
	started  time.Time
	ttfb     time.Duration

	status   int
	respHead http.Header
	respType string
	err      error

	mu       sync.Mutex   // guards the fields below, written by the body reader
	respBody bytes.Buffer // the captured response
	respN    int64        // response bytes seen
	done     bool
}

// teeBody captures a response body as the caller reads it, without
// slowing it: a bounded copy, and one write to the store at the end.
type teeBody struct {
	rc io.ReadCloser
	a  *attempt
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	a := b.a
	if n > 0 {
		a.mu.Lock()
		a.respN += int64(n)
		if room := maxResponseCapture - a.respBody.Len(); room > 0 {
			a.respBody.Write(p[:min(n, room)])
		}
		a.mu.Unlock()
	}
	if err != nil {
		if err != io.EOF {
			a.mu.Lock()
			if a.err == nil {
				a.err = err
			}
			a.mu.Unlock()
		}
		a.finish()
	}
	return n, err
}

func (b *teeBody) Close() error {
	err := b.rc.Close()
	b.a.finish()
	return err
}

// finish writes the attempt once, in the run's write queue, where the
// redaction is done too.
func (a *attempt) finish() {
	a.mu.Lock()
	if a.done {
		a.mu.Unlock()
		return
	}
	a.done = true
	dur := time.Since(a.started)
	body := bytes.Clone(a.respBody.Bytes())
	extra := a.respN - int64(len(body))
	var errText string
	if a.err != nil {
		errText = a.err.Error()
	}
	a.mu.Unlock()

	st := a.step
	r := st.run
	// The request context may be gone by now; the write needs none of it.
	r.enqueue(context.Background(), func(ctx context.Context) {
		rd := r.redactor()
		reqExtra := a.reqExtra
		if reqExtra < 0 {
			reqExtra = 1
		}
		rec := store.DebugAttempt{
			ID:              newID(),
			StepID:          st.id,
			Number:          a.number,
			Method:          a.method,
			URL:             rd.url(a.url),
			Status:          a.status,
			RequestHeader:   rd.headers(a.reqHead),
			RequestBody:     rd.body(a.reqType, a.reqBody, reqExtra),
			ResponseHeader:  rd.headers(a.respHead),
			ResponseBody:    rd.body(a.respType, body, extra),
			Error:           rd.text(errText),
			StartedAt:       a.started,
			Duration:        dur,
			TimeToFirstByte: a.ttfb,
		}
		if _, err := r.s.c.Runs.AddDebugAttempt(ctx, rec); err != nil {
			r.s.log.WarnContext(ctx, "record debug attempt", "run_id", r.id, "step", st.number, "attempt", a.number, "error", err)
		}
	})
}
