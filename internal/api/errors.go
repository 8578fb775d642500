package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"syscall"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/store"
)

// Error is an answer a client may read: a status, a stable code and a
// message that never carries an internal cause or a secret.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// invalid is a 400 naming the field at fault.
func invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: field + ": " + fmt.Sprintf(format, args...)}
}

func errForbidden(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: msg}
}

func errConflict(msg string) *Error {
	return &Error{Status: http.StatusConflict, Code: "conflict", Message: msg}
}

func errNotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: what + " not found"}
}

var errTooLarge = &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("request body is larger than %d bytes", maxBody)}

var errBodyTimeout = &Error{Status: http.StatusRequestTimeout, Code: "request_timeout", Message: "request body took too long to arrive"}

// toError maps any error to what the client is told. The second result is
// false for failures the client cannot act on (internal errors).
func toError(err error) (*Error, bool) {
	var e *Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		return e, true
	case errors.As(err, &mbe):
		return errTooLarge, true
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}, true
	case errors.Is(err, store.ErrConflict):
		return errConflict("conflicts with an existing row"), true
	case errors.Is(err, store.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "invalid input"}, true
	case errors.Is(err, auth.ErrInvalidKey):
		return &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "invalid, revoked or expired API key"}, true
	case errors.Is(err, auth.ErrSuspended):
		return errForbidden("user is suspended"), true
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}, false
}

// writeError answers with err as JSON, logging internal causes.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if gone(r, err) {
		a.log.Debug("api client went away", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	e, known := toError(err)
	if !known {
		// err comes from the store or the keyring; neither puts secrets
		// into errors.
		a.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chatd"`)
	}
	writeJSON(w, e.Status, map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message}})
}

// gone reports whether the client disconnected, which is not an error.
func gone(r *http.Request, err error) bool {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return true
	}
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own view types are encoded here; they always marshal.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
