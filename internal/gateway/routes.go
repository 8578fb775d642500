package gateway

import (
	"net/http"
	"strings"

	"github.com/chatd/chatd/internal/store"
)

// api is the wire protocol of an endpoint, which decides how its requests
// and responses are read for the record.
type api int

const (
	apiPassthrough api = iota // relayed and authorised, not recorded
	apiOpenAIChat
	apiOpenAIResponses
	apiAnthropicMessages
)

// endpoint is one route under /gateway/NAME.
type endpoint struct {
	path      string // "/v1/chat/completions"
	prefix    bool   // path is a prefix ("/v1/models/" for one model)
	method    string
	api       api
	openai    bool // served for openai and openai-compatible providers
	anthropic bool // served for anthropic providers
}

var endpoints = []endpoint{
	{path: "/v1/chat/completions", method: http.MethodPost, api: apiOpenAIChat, openai: true},
	{path: "/v1/responses", method: http.MethodPost, api: apiOpenAIResponses, openai: true},
	{path: "/v1/messages", method: http.MethodPost, api: apiAnthropicMessages, anthropic: true},
	{path: "/v1/messages/count_tokens", method: http.MethodPost, api: apiPassthrough, anthropic: true},
	{path: "/v1/models", method: http.MethodGet, api: apiPassthrough, openai: true, anthropic: true},
	{path: "/v1/models/", prefix: true, method: http.MethodGet, api: apiPassthrough, openai: true, anthropic: true},
}

// findEndpoint returns the endpoint serving path.
func findEndpoint(path string) (endpoint, bool) {
	for _, e := range endpoints {
		if path == e.path || (e.prefix && strings.HasPrefix(path, e.path) && len(path) > len(e.path) && !strings.Contains(path[len(e.path):], "/")) {
			return e, true
		}
	}
	return endpoint{}, false
}

func (e endpoint) serves(t store.ProviderType) bool {
	if t == store.ProviderAnthropic {
		return e.anthropic
	}
	return e.openai
}

// splitGatewayPath splits "/gateway/NAME/v1/..." into NAME and "/v1/...".
func splitGatewayPath(p string) (name, rest string, ok bool) {
	p, ok = strings.CutPrefix(p, "/gateway/")
	if !ok {
		return "", "", false
	}
	name, rest, ok = strings.Cut(p, "/")
	if !ok || name == "" {
		return "", "", false
	}
	return name, "/" + rest, true
}

// flavorOf is the error dialect of a provider type.
func flavorOf(t store.ProviderType) flavor {
	if t == store.ProviderAnthropic {
		return flavorAnthropic
	}
	return flavorOpenAI
}

// guessFlavor picks an error dialect before the provider is known, from
// the shape of the path and headers a client sent.
func guessFlavor(path string, h http.Header) flavor {
	if strings.Contains(path, "/messages") || h.Get("Anthropic-Version") != "" || h.Get("X-Api-Key") != "" {
		return flavorAnthropic
	}
	return flavorOpenAI
}

// upstreamURL joins a provider base URL and an endpoint path. Base URLs
// are accepted with or without a trailing "/v1".
func upstreamURL(base, path, rawQuery string) string {
	base = strings.TrimRight(base, "/")
	if strings.HasSuffix(base, "/v1") {
		path = strings.TrimPrefix(path, "/v1")
	}
	u := base + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	return u
}
