package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/chatd/chatd/internal/store"
)

// ErrNoDelegatedKey is returned by the in-process transport for a request
// whose context has no delegated API key id (see WithDelegatedKeyID).
var ErrNoDelegatedKey = errors.New("gateway transport: no delegated API key id in the request context")

// errAborted is what a reader of an in-process response sees when the
// provider's stream broke mid-way.
var errAborted = fmt.Errorf("gateway: response aborted: %w", io.ErrUnexpectedEOF)

// TransportFor returns a RoundTripper that serves requests for provider
// providerName by running the gateway handler in this process, with no
// socket. source is recorded on each interception (store.SourceAgents for
// the chat daemon); if empty, SourceAgents.
//
// The request URL's host is ignored. Its path is the endpoint path
// ("/v1/chat/completions"), after an optional "/gateway/NAME" prefix
// naming this transport's provider, so that SDK base URLs such as
// "http://gateway/v1" and "http://gateway/gateway/NAME/v1" both work.
// Every request must carry a delegated key id in its context. The
// response body streams through a pipe as the handler writes it; closing
// it early cancels the upstream call. The transport is safe for
// concurrent use.
func (g *Gateway) TransportFor(providerName, source string) http.RoundTripper {
	return &transport{g: g, provider: providerName, prefix: "/gateway/" + providerName, source: cmp.Or(source, store.SourceAgents)}
}

type transport struct {
	g        *Gateway
	provider string
	prefix   string // "/gateway/" + provider
	source   string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	keyID := delegatedKeyID(req.Context())
	if keyID == "" {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, ErrNoDelegatedKey
	}
	// Strip the prefix rather than search for "/v1/": a provider may be
	// called "v1".
	path := req.URL.Path
	if rest, ok := strings.CutPrefix(path, t.prefix); ok && strings.HasPrefix(rest, "/") {
		path = rest
	}

	ctx, cancel := context.WithCancel(req.Context())
	sreq := req.Clone(ctx)
	// Handlers expect canonical header keys, as a server would give them.
	sreq.Header = make(http.Header, len(req.Header))
	for k, vv := range req.Header {
		ck := http.CanonicalHeaderKey(k)
		sreq.Header[ck] = append(sreq.Header[ck], vv...)
	}
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	sreq.RemoteAddr = "in-process"
	sreq.RequestURI = req.URL.RequestURI()

	pr, pw := io.Pipe()
	rw := &pipeWriter{header: http.Header{}, pw: pw, req: req, ready: make(chan struct{})}

	t.g.inproc.add()
	go func() {
		defer t.g.inproc.done()
		defer cancel()
		defer func() {
			if sreq.Body != nil {
				_ = sreq.Body.Close()
			}
		}()
		defer func() {
			v := recover()
			switch {
			case v == nil:
				rw.WriteHeader(http.StatusOK) // no-op if written
				// A canceled caller must not mistake a cut-off body for a
				// whole one.
				_ = pw.CloseWithError(ctx.Err())
			case rw.wrote:
				if v != http.ErrAbortHandler {
					t.g.log.ErrorContext(ctx, "gateway handler panic", "provider", t.provider, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				}
				_ = pw.CloseWithError(errAborted)
			default:
				t.g.log.ErrorContext(ctx, "gateway handler panic", "provider", t.provider, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				rw.header = http.Header{}
				writeError(rw, guessFlavor(path, sreq.Header), errorf(http.StatusBadGateway, kindInternal, "the chatd gateway failed while handling this request"))
				_ = pw.Close()
			}
		}()
		t.g.serve(rw, sreq, t.provider, path, t.source, keyID)
	}()

	select {
	case <-rw.ready:
		resp := rw.resp
		resp.Body = &pipeBody{pr: pr, cancel: cancel}
		return resp, nil
	case <-req.Context().Done():
		// The handler sees the same cancellation and ends; closing the
		// reader makes any write it still tries fail instead of block.
		_ = pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
}

// pipeWriter is the handler's ResponseWriter on the in-process transport.
// It is used by the handler goroutine only; ready publishes resp.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	req    *http.Request
	wrote  bool
	resp   *http.Response
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	if w.wrote || code < 200 {
		return // informational answers are not relayed
	}
	w.wrote = true
	h := w.header.Clone()
	resp := &http.Response{
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Request:       w.req,
		ContentLength: -1,
	}
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		resp.ContentLength = n
	}
	w.resp = resp
	close(w.ready)
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(p)
}

// FlushError implements the interface http.ResponseController looks for.
// Writes reach the reader directly, so only the headers need sending.
func (w *pipeWriter) FlushError() error {
	w.WriteHeader(http.StatusOK)
	return nil
}

// pipeBody is the response body of the in-process transport.
type pipeBody struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
	once   sync.Once
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

// Close before the end cancels the handler and its upstream call.
func (b *pipeBody) Close() error {
	b.once.Do(func() {
		b.cancel()
		_ = b.pr.CloseWithError(errBodyClosed)
	})
	return nil
}

var errBodyClosed = errors.New("gateway: response body closed")
