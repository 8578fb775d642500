package chat

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/route"
)

// errIncompleteStream is a stream that ended without its finish event.
var errIncompleteStream = errors.New("the model stream ended before the answer was complete")

// errStreamIdle cancels a model call that sent nothing for
// Config.StreamIdleTimeout.
var errStreamIdle = errors.New("the model stream was idle too long")

// modelError is a failed model call, classified: Message is what a person
// reads (on the chat and in its retry state).
type modelError struct {
	Message   string
	Retryable bool
	Cause     error
}

func (e *modelError) Error() string { return e.Message }
func (e *modelError) Unwrap() error { return e.Cause }

// classify decides whether a failed model call is worth retrying and says
// what went wrong in words a person can act on.
func classify(err error) *modelError {
	var me *modelError
	if errors.As(err, &me) {
		return me
	}
	if errors.Is(err, route.ErrUnroutable) {
		return &modelError{Message: "the chat's model cannot be used: " + err.Error(), Cause: err}
	}
	var pe *fantasy.ProviderError
	if errors.As(err, &pe) {
		msg := providerMessage(pe)
		switch code := pe.StatusCode; {
		case code == http.StatusTooManyRequests:
			return &modelError{Message: fmt.Sprintf("the model provider is rate limiting requests (429): %s", msg), Retryable: true, Cause: err}
		case code >= 500:
			return &modelError{Message: fmt.Sprintf("the model provider failed (%d): %s", code, msg), Retryable: true, Cause: err}
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			return &modelError{Message: fmt.Sprintf("the model provider refused the credentials (%d): %s; check the provider key or your API key", code, msg), Cause: err}
		case code == http.StatusRequestTimeout || code == http.StatusConflict:
			return &modelError{Message: fmt.Sprintf("the model provider could not answer in time (%d): %s", code, msg), Retryable: true, Cause: err}
		case code >= 400:
			return &modelError{Message: fmt.Sprintf("the model provider refused the request (%d): %s", code, msg), Cause: err}
		case pe.IsRetryable():
			return &modelError{Message: "the model stream broke: " + msg, Retryable: true, Cause: err}
		}
		return &modelError{Message: "the model provider reported an error: " + msg, Cause: err}
	}
	if errors.Is(err, errIncompleteStream) {
		return &modelError{Message: errIncompleteStream.Error(), Retryable: true, Cause: err}
	}
	var ne net.Error
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &ne) || fantasy.IsTransportError(err) {
		return &modelError{Message: "the model provider could not be reached: " + err.Error(), Retryable: true, Cause: err}
	}
	return &modelError{Message: "the model call failed: " + err.Error(), Cause: err}
}

// errRouteFailed is what a person reads when routing the chat's model
// failed for a passing reason; the cause, which may hold driver text, is
// logged only.
const errRouteFailed = "the chat's model could not be prepared because of a temporary server problem"

// classifyRoute classifies a route.Router.Model error: ErrUnroutable is
// final and says why; anything else (a database hiccup) is retryable and
// shown in generic words.
func classifyRoute(err error) *modelError {
	var me *modelError
	if errors.As(err, &me) {
		return me
	}
	if errors.Is(err, route.ErrUnroutable) {
		return classify(err)
	}
	return &modelError{Message: errRouteFailed, Retryable: true, Cause: err}
}

// providerMessage is the provider's own message, trimmed.
func providerMessage(pe *fantasy.ProviderError) string {
	msg := strings.TrimSpace(pe.Message)
	if msg == "" {
		msg = strings.TrimSpace(pe.Title)
	}
	if msg == "" {
		msg = "no details given"
	}
	const maxLen = 500
	if len(msg) > maxLen {
		msg = msg[:maxLen] + "…"
	}
	return msg
}

// backoff is the wait before retry attempt n (1-based): base doubling,
// capped at limit.
func backoff(n int, base, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
