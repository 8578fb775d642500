package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/store"
)

// badTextRequests carry invalid UTF-8 or NUL in the path, the query or a
// JSON string. Each must be a 4xx on every backend.
var badTextRequests = []struct {
	name, method, path string
	admin              bool
	body               any
}{
	{"user id", "GET", "/api/v1/users/%ff%fe", true, nil},
	{"user id NUL", "GET", "/api/v1/users/a%00b", true, nil},
	{"model id", "GET", "/api/v1/models/%ff", false, nil},
	{"interception id", "GET", "/api/v1/gateway/interceptions/%ff", false, nil},
	{"interception filter", "GET", "/api/v1/gateway/interceptions?user=%ff", true, nil},
	{"interception filter NUL", "GET", "/api/v1/gateway/interceptions?model=a%00b", true, nil},
	{"revoke key", "DELETE", "/api/v1/keys/%ff", false, nil},
	{"patch user", "PATCH", "/api/v1/users/%ff", true, map[string]any{"suspended": true}},
	{"key name NUL", "POST", "/api/v1/keys", false, `{"name":"a\u0000b"}`},
	{"login username NUL", "POST", "/api/v1/auth/login", false, `{"username":"a\u0000b","password":"x"}`},
	{"user username NUL", "POST", "/api/v1/users", true, `{"username":"a\u0000b","role":"member","password":"long-enough-password"}`},
}

// TestBadTextRefused checks the API's own refusal of NUL and invalid
// UTF-8 (on SQLite, which would store them).
func TestBadTextRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range badTextRequests {
		t.Run(tc.name, func(t *testing.T) {
			key := e.member
			if tc.admin {
				key = e.admin
			}
			eb := e.fail(tc.method, tc.path, key, tc.body, http.StatusBadRequest)
			if eb.Error.Code != "invalid_request" {
				t.Fatalf("code %q, want invalid_request", eb.Error.Code)
			}
			if tc.body == nil && eb.Error.Message != "path/query must be valid UTF-8 without NUL" {
				t.Fatalf("message %q", eb.Error.Message)
			}
			if tc.body != nil && tc.method != "PATCH" && !strings.Contains(eb.Error.Message, "NUL") {
				t.Fatalf("message %q does not name NUL", eb.Error.Message)
			}
		})
	}
}

func TestDecodeNULPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	eb := e.fail("POST", "/api/v1/keys", e.member, `{"name":"ok\u0000"}`, http.StatusBadRequest)
	if want := "field name: string contains NUL (\\u0000)"; eb.Error.Message != want {
		t.Fatalf("message %q, want %q", eb.Error.Message, want)
	}
	// An escaped backslash followed by u0000 is ordinary text.
	e.call("POST", "/api/v1/keys", e.member, `{"name":"ok\\u0000"}`, http.StatusCreated, nil)
}

func TestStoreInvalidIs400(t *testing.T) {
	t.Parallel()
	got, _ := toError(store.ErrInvalid)
	if got.Status != http.StatusBadRequest || got.Code != "invalid_request" {
		t.Fatalf("toError(ErrInvalid) = %+v, want 400 invalid_request", got)
	}
}

func TestDefaultModelMustBeEnabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createProvider("openai", "openai")
	var on, off modelJSON
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "openai", "model": "gpt-on", "default": true}, http.StatusCreated, &on)
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "openai", "model": "gpt-off", "enabled": false}, http.StatusCreated, &off)

	tests := []struct {
		name string
		id   string
		body map[string]any
		want int
	}{
		{"make a disabled model the default", off.ID, map[string]any{"default": true}, http.StatusConflict},
		{"disable the default", on.ID, map[string]any{"enabled": false}, http.StatusConflict},
		{"disable and undefault together", on.ID, map[string]any{"enabled": false, "default": false}, http.StatusOK},
		{"enable and make default together", off.ID, map[string]any{"enabled": true, "default": true}, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, b := e.do("PATCH", "/api/v1/models/"+tc.id, e.admin, tc.body)
			if got != tc.want {
				t.Fatalf("status %d, want %d; body %s", got, tc.want, b)
			}
		})
	}
	e.fail("POST", "/api/v1/models", e.admin, map[string]any{"provider": "openai", "model": "gpt-x", "enabled": false, "default": true}, http.StatusConflict)
}

// TestBadTextPostgres sends the bad-text requests, and the same values
// past the API's own checks, to a PostgreSQL-backed API: none may be a 500.
func TestBadTextPostgres(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{backend: postgresBackend})
	for _, tc := range badTextRequests {
		t.Run(tc.name, func(t *testing.T) {
			key := e.member
			if tc.admin {
				key = e.admin
			}
			if got, b := e.do(tc.method, tc.path, key, tc.body); got >= 500 || got < 400 {
				t.Fatalf("status %d, want 4xx; body %s", got, b)
			}
		})
	}
}
