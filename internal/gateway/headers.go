package gateway

import (
	"net/http"
	"strings"
)

// hopHeaders are the hop-by-hop headers of RFC 9110 section 7.6.1 plus
// the legacy ones proxies still see. They describe one connection and
// never go further.
var hopHeaders = map[string]bool{
	"Connection":          true,
	"Proxy-Connection":    true,
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
}

// dropRequestHeader reports whether a client header must not reach the
// provider: connection headers, the caller's cookies, what a proxy in
// front added about the caller, and chatd's own headers (its credentials
// and metadata).
func dropRequestHeader(k string) bool {
	switch {
	case hopHeaders[k], k == "Cookie", k == "Forwarded", k == "X-Real-Ip":
		return true
	case strings.HasPrefix(k, "X-Forwarded-"), strings.HasPrefix(k, "X-Chatd-"):
		return true
	}
	return false
}

// dropResponseHeader reports whether a provider header must not reach the
// client. Provider cookies (load balancer affinity) belong to the
// gateway's connection, not to every caller.
func dropResponseHeader(k string) bool {
	return hopHeaders[k] || k == "Set-Cookie"
}

// copyHeader copies src into dst minus what drop refuses and minus the
// headers src's Connection header names.
func copyHeader(dst, src http.Header, drop func(string) bool) {
	var named map[string]bool
	for _, v := range src["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				if named == nil {
					named = map[string]bool{}
				}
				named[http.CanonicalHeaderKey(f)] = true
			}
		}
	}
	for k, vv := range src {
		ck := http.CanonicalHeaderKey(k)
		if drop(ck) || named[ck] {
			continue
		}
		dst[ck] = append(dst[ck], vv...)
	}
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(h http.Header) string {
	v := h.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}
