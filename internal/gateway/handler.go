package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// InterceptionHeader names the record of a call in the response, so a
// caller can find it later.
const InterceptionHeader = "X-Chatd-Interception-Id"

// Metadata headers a caller may set; read, recorded, then stripped.
const (
	chatIDHeader    = "X-Chatd-Chat-Id"
	subchatIDHeader = "X-Chatd-Subchat-Id"
)

// ServeHTTP serves every path under /gateway/.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, path, ok := splitGatewayPath(r.URL.Path)
	if !ok {
		writeError(w, guessFlavor(r.URL.Path, r.Header), errorf(http.StatusNotFound, kindNotFound,
			"unknown gateway route; use /gateway/PROVIDER/v1/..."))
		return
	}
	g.serve(w, r, name, path, store.SourceExternal, "")
}

// exchange is the state of one call, from request to record.
type exchange struct {
	in       store.Interception
	start    time.Time // monotonic, for durations
	ep       endpoint
	prov     *providerEntry
	caller   caller
	recorded bool // the endpoint is a model call that gets a record
	// stripUsage: the gateway asked for the usage chunk of a Chat
	// Completions stream the client did not ask for, and keeps it from
	// the client.
	stripUsage bool
	// usageUnknown: the provider may have billed the call but the gateway
	// read no usage, so the record has no cost rather than a cost of 0.
	usageUnknown bool
}

// serve handles one gateway call for provider name and endpoint path.
// keyID is set on the in-process transport, which authorises by key id.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, name, path, source, keyID string) {
	ctx := r.Context()
	// The caller comes first, the provider after: answering an anonymous
	// caller in a provider's error shape, or with "no such provider",
	// would tell it which providers exist, and looking names up for it
	// would let it fill caches. Until the provider is known, the error
	// shape is guessed from the path.
	fl := guessFlavor(path, r.Header)
	c, gerr := g.authenticate(ctx, r, keyID)
	if gerr != nil {
		writeError(w, fl, gerr)
		return
	}
	pe, gerr := g.provider(ctx, name)
	if gerr != nil {
		writeError(w, fl, gerr)
		return
	}
	fl = flavorOf(pe.p.Type)
	ep, ok := findEndpoint(path)
	if !ok {
		writeError(w, fl, errorf(http.StatusNotFound, kindNotFound, fmt.Sprintf("unknown gateway route %q", path)))
		return
	}
	if r.Method != ep.method {
		msg := fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, path, ep.method)
		if ep.api == apiOpenAIResponses && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			// Codex can be set to try this; its default, HTTP streaming,
			// works (see README.md).
			msg = "the chatd gateway does not serve the Responses API over WebSocket; use HTTP streaming instead " +
				`(POST /v1/responses with "stream": true, the Codex default): turn off the WebSocket transport in your client's configuration`
		}
		writeError(w, fl, &gatewayError{Status: http.StatusMethodNotAllowed, Kind: kindMethod, Message: msg, Allow: ep.method})
		return
	}
	if !ep.serves(pe.p.Type) {
		writeError(w, fl, errorf(http.StatusNotFound, kindNotFound,
			fmt.Sprintf("provider %q (type %s) does not serve %s", name, pe.p.Type, path)))
		return
	}
	if gerr := g.checkBYOK(r.Header, c); gerr != nil {
		writeError(w, fl, gerr)
		return
	}

	x := &exchange{ep: ep, prov: pe, caller: c, start: time.Now(), recorded: ep.api != apiPassthrough}
	x.in = store.Interception{
		ID:           uuid.Must(uuid.NewV7()).String(),
		UserID:       c.principal.User.ID,
		APIKeyID:     c.principal.Key.ID,
		ProviderName: pe.p.Name,
		ProviderType: pe.p.Type,
		Endpoint:     ep.path,
		Client:       guessClient(r.UserAgent()),
		UserAgent:    r.UserAgent(),
		ChatID:       r.Header.Get(chatIDHeader),
		SubchatID:    r.Header.Get(subchatIDHeader),
		Source:       source,
		StartedAt:    g.now(),
	}
	if source == store.SourceAgents && x.in.Client == ClientUnknown {
		x.in.Client = ClientChatd
	}
	if c.byok {
		x.in.CredentialKind = store.CredentialBYOK
		x.in.CredentialHint = secret.Hint(c.byokKey.Reveal())
	} else {
		x.in.CredentialKind = store.CredentialCentral
		x.in.CredentialHint = pe.p.APIKeyHint
	}

	body, gerr := readBody(w, r, g.bodyTimeout)
	if gerr != nil {
		writeError(w, fl, gerr)
		return
	}
	var ri requestInfo
	if x.recorded {
		if ri, gerr = parseRequest(ep.api, body); gerr != nil {
			writeError(w, fl, gerr)
			return
		}
		x.in.Model = ri.model
		x.in.Streaming = ri.stream
		if g.recordContent {
			x.in.Prompt = clip(ri.prompt)
		}
		// Only OpenAI itself is sure to accept stream_options; some
		// OpenAI-compatible servers refuse a parameter they do not know,
		// which would fail a call the client made correctly.
		if ri.usageBody != nil && x.prov.p.Type == store.ProviderOpenAI {
			body = ri.usageBody
			x.stripUsage = true
		}
	}

	out, gerr := g.outbound(ctx, r, x, path, body)
	if gerr != nil {
		writeError(w, fl, gerr)
		return
	}

	g.metrics.begin()
	broke := g.relay(w, out, x, fl)
	g.metrics.end()
	if x.recorded {
		g.finish(ctx, x)
	}
	if broke {
		// The upstream stream broke: break the client's too, rather than
		// letting it see a clean end of a partial answer.
		panic(http.ErrAbortHandler)
	}
}

// readBody reads a bounded request body within timeout, so that a client
// trickling its body cannot hold a handler forever. The deadline is
// cleared after a whole body: the connection may carry a long answer and
// more requests.
func readBody(w http.ResponseWriter, r *http.Request, timeout time.Duration) ([]byte, *gatewayError) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	rc := http.NewResponseController(w)
	// Unsupported in process, where there is no connection to hold. The
	// deadline stays after a failed read: net/http then discards the rest
	// of the body before answering, which must not wait on the client.
	deadline := rc.SetReadDeadline(time.Now().Add(timeout)) == nil
	tooLarge := errorf(http.StatusRequestEntityTooLarge, kindTooLarge,
		fmt.Sprintf("request body is larger than %d MiB", maxRequestBody>>20))
	if r.ContentLength > maxRequestBody {
		return nil, tooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, errorf(http.StatusBadRequest, kindInvalidRequest, "could not read the request body")
	}
	if deadline {
		_ = rc.SetReadDeadline(time.Time{})
	}
	return b, nil
}

// outbound builds the request to the provider: same method, path, query
// and body; headers filtered by the policy in headers.go; credential set.
func (g *Gateway) outbound(ctx context.Context, r *http.Request, x *exchange, path string, body []byte) (*http.Request, *gatewayError) {
	u := upstreamURL(x.prov.p.Type, x.prov.p.BaseURL, path, r.URL.RawQuery)
	var rb io.Reader = http.NoBody
	if body != nil {
		rb = bytes.NewReader(body)
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, u, rb)
	if err != nil {
		g.log.ErrorContext(ctx, "build upstream request", "provider", x.prov.p.Name, "err", err)
		return nil, errorf(http.StatusBadGateway, kindUpstream, fmt.Sprintf("provider %q has an invalid base URL", x.prov.p.Name))
	}
	copyHeader(out.Header, r.Header, dropRequestHeader)
	if x.recorded {
		// The gateway reads usage from model answers, and relayError
		// scrubs keys from error bodies: both need them uncompressed.
		out.Header.Set("Accept-Encoding", "identity")
	}
	if _, ok := r.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = nil // do not let net/http add its own
	}
	if !x.caller.byok {
		key, gerr := x.prov.centralKey()
		if gerr != nil {
			return nil, gerr
		}
		setCentralKey(out.Header, x.prov.p.Type, key)
	}
	return out, nil
}

// upstreamErrorLimit bounds the part of an upstream error body kept in
// the record.
const upstreamErrorLimit = 1024

// relay sends out upstream and copies the answer to w as it arrives. It
// reports whether the upstream stream broke after the response started,
// in which case the caller must abort the client's response.
func (g *Gateway) relay(w http.ResponseWriter, out *http.Request, x *exchange, fl flavor) (broke bool) {
	ctx := out.Context()
	rc := http.NewResponseController(w)
	// Let the response start while the request body is still being read
	// (see DESIGN.md); unsupported on HTTP/2 and in-process, where it is
	// not needed.
	_ = rc.EnableFullDuplex()

	resp, err := g.upstreamFor(ctx).RoundTrip(out)
	if err != nil {
		x.in.EndedAt = g.now()
		if ctx.Err() != nil {
			x.in.Error = "client went away before the provider answered"
			x.usageUnknown = true // the provider may have started on it
			g.log.DebugContext(ctx, "client went away", "interception_id", x.in.ID)
			return false
		}
		x.in.Status = http.StatusBadGateway
		x.in.Error = "provider unreachable"
		g.log.WarnContext(ctx, "reach provider", "provider", x.prov.p.Name, "interception_id", x.in.ID, "err", x.scrub(err.Error()))
		writeError(w, fl, errorf(http.StatusBadGateway, kindUpstream, fmt.Sprintf("could not reach provider %q", x.prov.p.Name)))
		return false
	}
	defer resp.Body.Close()

	h := w.Header()
	copyHeader(h, resp.Header, dropResponseHeader)
	h.Set(InterceptionHeader, x.in.ID)
	x.in.Status = resp.StatusCode
	if resp.StatusCode >= 400 {
		return g.relayError(w, resp, x)
	}
	if x.stripUsage {
		// The usage filter may drop bytes: the upstream's length would
		// promise more than the client gets.
		h.Del("Content-Length")
	}
	w.WriteHeader(resp.StatusCode)

	var t *tap
	if x.recorded {
		t = newTap(newExtractor(x.ep.api), resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"))
	}
	flush := resp.ContentLength == -1 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	if flush {
		// Send headers now: a model may think a while before its first event.
		_ = rc.Flush()
	}
	var uf *usageFilter
	if x.stripUsage && t != nil && t.parsedStream() {
		uf = &usageFilter{}
	}

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	first := true
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if first {
				first = false
				x.in.TTFB = time.Since(x.start)
			}
			if t != nil {
				t.write(buf[:n])
			}
			p := buf[:n]
			if uf != nil {
				p = uf.feed(p)
			}
			if !g.relayWrite(ctx, w, rc, p, flush, x) {
				break
			}
		}
		if rerr == io.EOF {
			if uf != nil {
				g.relayWrite(ctx, w, rc, uf.flush(), flush, x)
			}
			break
		}
		if rerr != nil {
			if ctx.Err() != nil {
				x.in.Error = "client went away during the response"
				break
			}
			x.in.Error = "provider stream broke: " + x.scrub(rerr.Error())
			broke = true
			break
		}
	}
	x.in.EndedAt = g.now()
	if t != nil {
		t.finish()
		t.x.fill(&x.in)
		x.usageUnknown = !t.x.usageKnown()
		if n := t.x.skippedDeep(); n > 0 {
			g.log.WarnContext(ctx, "provider response nests JSON too deeply to read; relayed unchanged, not recorded",
				"provider", x.prov.p.Name, "interception_id", x.in.ID, "skipped", n, "max_depth", maxJSONDepth)
		}
		if msg := t.x.streamError(); msg != "" && x.in.Error == "" {
			// The provider ended its stream with an error event: the
			// client got it as sent, the record keeps its message.
			x.in.Error = "provider stream error: " + x.scrub(strings.ToValidUTF8(msg[:min(len(msg), upstreamErrorLimit)], ""))
		}
		if x.in.Error == "" && t.parsedStream() && !t.x.complete() {
			// A stream cut short at a clean TCP end would otherwise look
			// finished to clients that do not check for the final event
			// (fantasy does not, for Chat Completions tool calls).
			x.in.Error = "provider stream ended before its final event"
			broke = true
		}
	}
	return broke
}

// relayWrite writes p to the client, flushing if flush, and reports
// whether the client is still there.
func (g *Gateway) relayWrite(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, p []byte, flush bool, x *exchange) bool {
	if len(p) == 0 {
		return true
	}
	if _, werr := w.Write(p); werr != nil {
		x.in.Error = "client went away during the response"
		g.log.DebugContext(ctx, "client went away", "interception_id", x.in.ID, "err", werr)
		return false
	}
	if flush {
		if ferr := rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
			x.in.Error = "client went away during the response"
			return false
		}
	}
	return true
}

// maxErrorBody bounds an upstream error body that the gateway reads whole
// to scrub; larger ones are cut.
const maxErrorBody = 1 << 20

// relayError relays an upstream error answer after removing the request's
// credentials from it: some providers quote the key they refused. The
// central key must never reach a user, and a BYOK key is scrubbed too so
// that no response body carries a provider key at all.
func (g *Gateway) relayError(w http.ResponseWriter, resp *http.Response, x *exchange) bool {
	ctx := resp.Request.Context()
	b, note, err := ScrubErrorBody(resp.Body, resp.Header.Get("Content-Encoding"), x.prov.key.Reveal(), x.caller.byokKey.Reveal())
	x.in.TTFB = time.Since(x.start)
	x.in.EndedAt = g.now()
	w.Header().Del("Content-Encoding")
	if note {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(resp.StatusCode)
	if _, werr := w.Write(b); werr != nil {
		g.log.DebugContext(ctx, "client went away", "interception_id", x.in.ID, "err", werr)
	}
	x.in.Error = "provider answered " + strconv.Itoa(resp.StatusCode) + ": " + x.scrub(strings.ToValidUTF8(string(b[:min(len(b), upstreamErrorLimit)]), ""))
	if err != nil && ctx.Err() == nil {
		x.in.Error = "provider error body broke: " + x.scrub(err.Error())
	}
	return false
}

// ScrubErrorBody reads a provider's error answer (at most 1 MiB) and
// returns it with each key of 8 bytes or more replaced by [REDACTED]:
// some providers quote the key they refused. A key in a compressed body
// is invisible to the replacement, so a gzip body is decoded first and a
// body in another encoding is replaced by a note; the result is never
// encoded, and note reports a plain-text note in place of the body. err
// is the error reading body, if any, with what was read before it.
func ScrubErrorBody(body io.Reader, contentEncoding string, keys ...string) (b []byte, note bool, err error) {
	b, err = io.ReadAll(io.LimitReader(body, maxErrorBody))
	switch enc := strings.ToLower(strings.TrimSpace(contentEncoding)); enc {
	case "", "identity":
	case "gzip":
		zb, zerr := gunzip(b)
		if zerr != nil {
			return []byte("upstream error body could not be decoded"), true, err
		}
		b = zb
	default:
		return []byte("upstream error body withheld: encoded as " + enc), true, err
	}
	for _, k := range keys {
		if len(k) >= 8 && bytes.Contains(b, []byte(k)) {
			b = bytes.ReplaceAll(b, []byte(k), []byte("[REDACTED]"))
		}
	}
	return b, false, err
}

// gunzip decompresses a gzip body, bounded by maxErrorBody.
func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(io.LimitReader(zr, maxErrorBody))
}

// scrub removes the request's credentials from text that is logged or
// recorded, in case a provider echoes them.
func (x *exchange) scrub(s string) string {
	if k := x.caller.byokKey.Reveal(); len(k) >= 8 {
		s = strings.ReplaceAll(s, k, "[REDACTED]")
	}
	if k := x.prov.key.Reveal(); len(k) >= 8 {
		s = strings.ReplaceAll(s, k, "[REDACTED]")
	}
	return s
}

// finish completes a record and queues it. It outlives the client: a
// caller that went away still gets a priced record.
func (g *Gateway) finish(ctx context.Context, x *exchange) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.recordTimeout)
	defer cancel()
	if x.in.EndedAt.IsZero() {
		x.in.EndedAt = g.now()
	}
	mc := g.modelConfig(ctx, x.prov.p.ID, x.in.Model)
	if !x.usageUnknown {
		// Unknown usage keeps a nil cost: 0 would claim a free call. The
		// token counts cannot say "unknown" (they are NOT NULL columns)
		// and stay 0.
		x.in.CostMicros = costMicros(mc.prices, x.in.Usage, x.prov.p.Type)
	}
	if !g.recordContent {
		x.in.Prompt = ""
		x.in.Reasoning = ""
		for i := range x.in.ToolCalls {
			x.in.ToolCalls[i].Arguments = ""
		}
	}
	// The model label is a configured model or "other": a caller's model
	// string would make a series per string it invents.
	label := modelOther
	if mc.configured {
		label = mc.name
	}
	g.metrics.observe(&x.in, label, time.Since(x.start))
	g.rec.enqueue(ctx, x.in)
}
