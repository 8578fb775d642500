package gateway

import (
	"context"
	"net/http"
)

// upstreamWrapKey is the context key of an upstream transport wrapper.
type upstreamWrapKey struct{}

// WithUpstreamTransport returns a context that makes the gateway send the
// upstream call of a request on the in-process transport through
// wrap(upstream), for example to record the real provider exchange (debug
// recording). It is a context value, so a request from the network can
// never set it.
func WithUpstreamTransport(ctx context.Context, wrap func(http.RoundTripper) http.RoundTripper) context.Context {
	return context.WithValue(ctx, upstreamWrapKey{}, wrap)
}

// upstreamFor returns the transport for an upstream call made under ctx.
func (g *Gateway) upstreamFor(ctx context.Context) http.RoundTripper {
	wrap, _ := ctx.Value(upstreamWrapKey{}).(func(http.RoundTripper) http.RoundTripper)
	if wrap == nil {
		return g.upstream
	}
	if rt := wrap(g.upstream); rt != nil {
		return rt
	}
	return g.upstream
}
