// Package client is a typed Go client for the chatd HTTP API (docs/api.md),
// reading and writing the JSON shapes of package wire.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatd/chatd/internal/secret"
)

// apiPrefix is where every endpoint of the API lives.
const apiPrefix = "/api/v1"

// Limits on what is read from a response, so a misbehaving server cannot
// make the client buffer without bound.
const (
	maxErrorBody    = 64 << 10
	maxResponseBody = 64 << 20
)

// Client calls one chatd server with one API key.
//
// A Client is immutable and safe for concurrent use.
type Client struct {
	base *url.URL
	key  secret.Value
	hc   *http.Client
}

// New returns a client for the server at baseURL (for example
// "http://127.0.0.1:7080"; a trailing slash or a path prefix is kept). key
// is sent as a bearer token; if it is empty, no Authorization header is
// sent, which is enough for Login. If hc is nil, http.DefaultClient is used.
//
// A baseURL that does not parse makes every call fail with that error.
func New(baseURL string, key secret.Value, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{key: key, hc: hc}
	if u, err := url.Parse(strings.TrimRight(baseURL, "/")); err == nil && u.Scheme != "" && u.Host != "" {
		u.RawQuery, u.Fragment = "", ""
		c.base = u
	}
	return c
}

// APIError is a non-2xx answer from the server. Message is safe to show to
// a user; Code is the machine-readable code from docs/api.md (empty when
// the server did not answer with a chatd error body, for example a proxy's
// 502 page).
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// ErrorCode returns the API error code of err ("not_found",
// "unauthenticated", ...), or "" if err is not an *APIError.
func ErrorCode(err error) string {
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.Code
	}
	return ""
}

// errorBody is the JSON shape of every API error.
type errorBody struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// do sends one request. in, if not nil, is encoded as the JSON body; out,
// if not nil, receives the decoded JSON answer.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	op := method + " " + path
	if c.base == nil {
		return fmt.Errorf("%s: invalid server URL", op)
	}
	// path holds url.PathEscape'd segments; parsing the joined string keeps
	// them escaped on the wire.
	u, err := url.Parse(c.base.String() + apiPrefix + path)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}

	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s: encode request: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !c.key.IsZero() {
		req.Header.Set("Authorization", "Bearer "+c.key.Reveal())
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error names the URL, which never holds the key.
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: %w", op, readError(resp))
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBody)).Decode(out); err != nil {
		return fmt.Errorf("%s: decode response: %w", op, err)
	}
	return nil
}

// readError turns a non-2xx response into an *APIError. Bodies that are
// not chatd errors are not echoed: they may be a proxy's HTML page.
func readError(resp *http.Response) *APIError {
	ae := &APIError{
		Status:  resp.StatusCode,
		Message: "server returned " + statusText(resp),
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" && !json.Valid(b) {
		return ae
	}
	var eb errorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error == nil || eb.Error.Message == "" {
		return ae
	}
	ae.Code = eb.Error.Code
	ae.Message = eb.Error.Message
	return ae
}

// statusText renders "502 Bad Gateway" even when the server sent a status
// line with no reason.
func statusText(resp *http.Response) string {
	if t := http.StatusText(resp.StatusCode); t != "" {
		return fmt.Sprintf("%d %s", resp.StatusCode, t)
	}
	return fmt.Sprint(resp.StatusCode)
}
