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

// guessFlavor picks an error dialect before the provider is known. The
// path decides where one API alone serves it (Claude Code posts to
// /v1/messages, whatever key header it sends); for the routes both
// serve (models) and unknown ones, the headers an Anthropic client sends
// do. It never depends on which providers exist.
func guessFlavor(path string, h http.Header) flavor {
	if ep, ok := findEndpoint(path); ok && ep.openai != ep.anthropic {
		if ep.anthropic {
			return flavorAnthropic
		}
		return flavorOpenAI
	}
	if strings.Contains(path, "/messages") || h.Get("Anthropic-Version") != "" || h.Get("X-Api-Key") != "" {
		return flavorAnthropic
	}
	return flavorOpenAI
}

// SDKBaseURL returns the base URL that the SDK of provider type t takes,
// from a provider row's base_url. base_url is defined as exactly that:
// "https://api.openai.com/v1" or "http://host/v1beta/openai" for the
// OpenAI types, to which the SDK appends "/chat/completions";
// "https://api.anthropic.com" for Anthropic, to which the SDK appends
// "/v1/messages". Two older spellings map to it: an OpenAI-style base
// that is a bare host gets "/v1", and an Anthropic base ending in "/v1"
// loses it. The gateway and direct mode (internal/route) both call it, so
// they send a call to the same URL.
func SDKBaseURL(t store.ProviderType, base string) string {
	b, v1 := sdkBase(t, base)
	if v1 {
		return b + "/v1"
	}
	return b
}

// sdkBase is SDKBaseURL in two parts, so that upstreamURL builds a URL
// with one allocation: the SDK base is b, plus "/v1" if v1.
func sdkBase(t store.ProviderType, base string) (b string, v1 bool) {
	base = strings.TrimRight(base, "/")
	if t == store.ProviderAnthropic {
		return strings.TrimSuffix(base, "/v1"), false
	}
	_, rest, ok := strings.Cut(base, "://")
	return base, ok && !strings.Contains(rest, "/")
}

// upstreamURL is where the provider of type t with base URL base serves
// the endpoint path ("/v1/..."): what its SDK would call.
func upstreamURL(t store.ProviderType, base, path, rawQuery string) string {
	b, v1 := sdkBase(t, base)
	if t != store.ProviderAnthropic && !v1 {
		// OpenAI SDKs append the endpoint path without its "/v1"; a bare
		// host keeps it.
		path = strings.TrimPrefix(path, "/v1")
	}
	if rawQuery == "" {
		return b + path
	}
	return b + path + "?" + rawQuery
}
