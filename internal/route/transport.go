package route

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatd/chatd/internal/gateway"
)

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

// scrubKey replaces key in an error response's headers and body with
// [REDACTED], the body read and decoded as the gateway does for its own
// error answers (gateway.ScrubErrorBody).
func scrubKey(resp *http.Response, key string) *http.Response {
	if len(key) < 8 {
		return resp
	}
	b, note, err := gateway.ScrubErrorBody(resp.Body, resp.Header.Get("Content-Encoding"), key)
	_ = resp.Body.Close()
	if err != nil {
		b, note = []byte("provider error body could not be read"), true
	}
	resp.Header.Del("Content-Encoding")
	if note {
		resp.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}
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
