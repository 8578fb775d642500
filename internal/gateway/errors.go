package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// flavor is the error dialect a client expects: the shape its SDK parses
// into its usual exception.
type flavor int

const (
	flavorOpenAI flavor = iota
	flavorAnthropic
)

// gatewayError is an error the gateway itself answers with. Message is
// what the caller reads; it never carries a secret or an internal cause.
type gatewayError struct {
	Status  int
	Kind    errKind
	Message string
	// Allow lists the methods of the route, for 405 answers.
	Allow string
}

func (e *gatewayError) Error() string { return strconv.Itoa(e.Status) + " " + e.Message }

// errKind names a class of error; each flavor spells it its own way.
type errKind int

const (
	kindInvalidRequest errKind = iota
	kindAuthentication
	kindPermission
	kindNotFound
	kindTooLarge
	kindMethod
	kindUpstream
	kindInternal
)

func errorf(status int, kind errKind, msg string) *gatewayError {
	return &gatewayError{Status: status, Kind: kind, Message: msg}
}

// openAIType and code follow the error objects OpenAI documents.
func (k errKind) openAI() (typ, code string) {
	switch k {
	case kindInvalidRequest:
		return "invalid_request_error", "invalid_request"
	case kindAuthentication:
		return "authentication_error", "invalid_api_key"
	case kindPermission:
		return "permission_error", "forbidden"
	case kindNotFound:
		return "invalid_request_error", "not_found"
	case kindTooLarge:
		return "invalid_request_error", "request_too_large"
	case kindMethod:
		return "invalid_request_error", "method_not_allowed"
	case kindUpstream:
		return "api_error", "bad_gateway"
	default:
		return "server_error", "internal_error"
	}
}

// anthropicType follows the error types Anthropic documents.
func (k errKind) anthropic() string {
	switch k {
	case kindInvalidRequest, kindMethod:
		return "invalid_request_error"
	case kindAuthentication:
		return "authentication_error"
	case kindPermission:
		return "permission_error"
	case kindNotFound:
		return "not_found_error"
	case kindTooLarge:
		return "request_too_large"
	default:
		return "api_error"
	}
}

type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

type anthropicError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers with e shaped for f. It is the one place the gateway
// turns its own errors into HTTP responses.
func writeError(w http.ResponseWriter, f flavor, e *gatewayError) {
	var body []byte
	switch f {
	case flavorAnthropic:
		var a anthropicError
		a.Type = "error"
		a.Error.Type = e.Kind.anthropic()
		a.Error.Message = e.Message
		body, _ = json.Marshal(a)
	default:
		var o openAIError
		o.Error.Type, o.Error.Code = e.Kind.openAI()
		o.Error.Message = e.Message
		body, _ = json.Marshal(o)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	if e.Allow != "" {
		h.Set("Allow", e.Allow)
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
