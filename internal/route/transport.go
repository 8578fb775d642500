package route

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatd/chatd/internal/gateway"
)

// maxErrorBody bounds the error body read to scrub it in direct mode.
const maxErrorBody = 1 << 20

// Headers the gateway reads to link a record to its chat.
const (
	chatIDHeader    = "X-Chatd-Chat-Id"
	subchatIDHeader = "X-Chatd-Subchat-Id"
)

// transport sets a model's credential and, in gateway mode, the delegated
// key id and chatd headers on every request, then hands it to base.
type transport struct {
	base http.RoundTripper
	auth ProviderAuth
	// keyID, when set, is the active chatd API key id put on the context
	// for the gateway's in-process transport (gateway mode).
	keyID     string
	delegated bool // the credential is the user's own key (BYOK)
	chatID    string
	subchatID string
	// upstream, when set, wraps the gateway's own upstream transport for
	// these requests (debug recording of the real provider exchange).
	upstream func(http.RoundTripper) http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if t.keyID != "" {
		ctx = gateway.WithDelegatedKeyID(ctx, t.keyID)
	}
	if t.upstream != nil {
		ctx = gateway.WithUpstreamTransport(ctx, t.upstream)
	}
	// A RoundTripper must not change the caller's request.
	r := req.Clone(ctx)
	for k := range r.Header {
		// Organisation headers and chatd headers can only come from the
		// environment (OPENAI_ORG_ID, *_CUSTOM_HEADERS); never send them.
		ck := http.CanonicalHeaderKey(k)
		if strings.HasPrefix(ck, "X-Chatd-") || ck == "Openai-Organization" || ck == "Openai-Project" {
			delete(r.Header, k)
		}
	}
	t.auth.apply(r.Header)
	if t.keyID != "" {
		if t.delegated {
			r.Header.Set(gateway.GovernanceHeader, gateway.DelegatedMarker)
		}
		if t.chatID != "" {
			r.Header.Set(chatIDHeader, t.chatID)
		}
		if t.subchatID != "" {
			r.Header.Set(subchatIDHeader, t.subchatID)
		}
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil || t.keyID != "" || resp.StatusCode < 400 {
		return resp, err
	}
	// Direct mode: no gateway scrubs the provider's answer, and a provider
	// refusing a key may quote it back ("Incorrect API key provided:
	// sk-..."), which would reach the chat's last error and the logs.
	return scrubKey(resp, t.auth.Key.Reveal()), nil
}

// scrubKey replaces key in an error response's body with [REDACTED]. The
// body is read whole (bounded); a gzip body is decompressed first, since
// a key inside it is invisible to the replacement.
func scrubKey(resp *http.Response, key string) *http.Response {
	if len(key) < 8 {
		return resp
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	if err != nil {
		b = []byte("provider error body could not be read")
	}
	if strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip") {
		resp.Header.Del("Content-Encoding")
		if zr, zerr := gzip.NewReader(bytes.NewReader(b)); zerr == nil {
			b, err = io.ReadAll(io.LimitReader(zr, maxErrorBody))
			if err != nil {
				b = []byte("provider error body could not be decoded")
			}
		} else {
			b = []byte("provider error body could not be decoded")
		}
	}
	b = bytes.ReplaceAll(b, []byte(key), []byte("[REDACTED]"))
	for k, vs := range resp.Header {
		for i, v := range vs {
			vs[i] = strings.ReplaceAll(v, key, "[REDACTED]")
		}
		resp.Header[k] = vs
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	resp.Uncompressed = true
	return resp
}
