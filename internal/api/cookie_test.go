package api

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// cookieReq sends a request authenticated by the session cookie value
// (when not empty) with extra headers, and returns the response and body.
func (e *env) cookieReq(method, path, cookie string, hdr map[string]string, body string) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

func sessionCookieOf(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", SessionCookie, resp.Header.Values("Set-Cookie"))
	return nil
}

// signIn opens a cookie session for alice and returns the cookie value.
func (e *env) signIn() string {
	e.t.Helper()
	resp, b := e.cookieReq("POST", "/api/v1/auth/session", "", map[string]string{CSRFHeader: "1"}, `{"username":"alice","password":"alice-password"}`)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("sign in: status %d, body %s", resp.StatusCode, b)
	}
	return sessionCookieOf(e.t, resp).Value
}

func TestSessionCookieSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, b := e.cookieReq("POST", "/api/v1/auth/session", "", map[string]string{CSRFHeader: "1"}, `{"username":"alice","password":"alice-password"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d, want 201; body %s", resp.StatusCode, b)
	}
	c := sessionCookieOf(t, resp)
	if !c.HttpOnly {
		t.Fatalf("cookie not HttpOnly")
	}
	if c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("SameSite = %v, want Strict", c.SameSite)
	}
	if c.Path != "/" {
		t.Fatalf("Path = %q, want /", c.Path)
	}
	if c.Secure {
		t.Fatalf("cookie Secure over plain HTTP")
	}
	if got, want := c.MaxAge, 30*24*3600; got != want {
		t.Fatalf("MaxAge = %d, want %d", got, want)
	}
	if strings.Contains(string(b), c.Value) {
		t.Fatalf("body carries the session key: %s", b)
	}
	var out struct {
		User   userJSON   `json:"user"`
		APIKey apiKeyJSON `json:"api_key"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.User.Username != "alice" || out.APIKey.Kind != "session" {
		t.Fatalf("answer %s", b)
	}

	resp, b = e.cookieReq("GET", "/api/v1/me", c.Value, nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /me with cookie: %d %s", resp.StatusCode, b)
	}
	var me userJSON
	if err := json.Unmarshal(b, &me); err != nil {
		t.Fatal(err)
	}
	if me.ID != e.memberID {
		t.Fatalf("me = %s, want alice", b)
	}
}

func TestSessionCookieSignInRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name string
		hdr  map[string]string
		body string
		want int
	}{
		{"wrong password", map[string]string{CSRFHeader: "1"}, `{"username":"alice","password":"nope"}`, http.StatusUnauthorized},
		{"unknown user", map[string]string{CSRFHeader: "1"}, `{"username":"bob","password":"nope"}`, http.StatusUnauthorized},
		{"missing password", map[string]string{CSRFHeader: "1"}, `{"username":"alice"}`, http.StatusBadRequest},
		{"no CSRF header", nil, `{"username":"alice","password":"alice-password"}`, http.StatusForbidden},
		{"foreign origin", map[string]string{CSRFHeader: "1", "Origin": "https://evil.example"}, `{"username":"alice","password":"alice-password"}`, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.cookieReq("POST", "/api/v1/auth/session", "", tt.hdr, tt.body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.want, b)
			}
			if len(resp.Cookies()) != 0 {
				t.Fatalf("cookie set on a refused sign-in: %v", resp.Cookies())
			}
		})
	}
}

func TestSessionCookieCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cookie := e.signIn()
	host := strings.TrimPrefix(e.srv.URL, "http://")
	body := `{"name":"from-browser"}`
	tests := []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		body   string
		want   int
	}{
		{"GET needs no header", "GET", "/api/v1/keys", nil, "", http.StatusOK},
		{"HEAD-like safe read", "GET", "/api/v1/me", map[string]string{"Origin": "https://evil.example"}, "", http.StatusOK},
		{"POST without header", "POST", "/api/v1/keys", nil, body, http.StatusForbidden},
		{"POST with wrong header value", "POST", "/api/v1/keys", map[string]string{CSRFHeader: "yes"}, body, http.StatusForbidden},
		{"POST from another origin", "POST", "/api/v1/keys", map[string]string{CSRFHeader: "1", "Origin": "https://evil.example"}, body, http.StatusForbidden},
		{"POST from a null origin", "POST", "/api/v1/keys", map[string]string{CSRFHeader: "1", "Origin": "null"}, body, http.StatusForbidden},
		{"POST from another port", "POST", "/api/v1/keys", map[string]string{CSRFHeader: "1", "Origin": "http://127.0.0.1:1"}, body, http.StatusForbidden},
		{"POST with header", "POST", "/api/v1/keys", map[string]string{CSRFHeader: "1"}, body, http.StatusCreated},
		{"POST with header from own origin", "POST", "/api/v1/keys", map[string]string{CSRFHeader: "1", "Origin": "http://" + host}, body, http.StatusCreated},
		{"DELETE without header", "DELETE", "/api/v1/provider-keys/none", nil, "", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.cookieReq(tt.method, tt.path, cookie, tt.hdr, tt.body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.want, b)
			}
		})
	}
}

func TestSessionCookieBearerWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cookie := e.signIn()
	// A request with both is the bearer key's: an invalid one is refused
	// even though the cookie is good, and a valid one acts as its owner.
	resp, b := e.cookieReq("GET", "/api/v1/me", cookie, map[string]string{"Authorization": "Bearer nope-nope"}, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401; body %s", resp.StatusCode, b)
	}
	resp, b = e.cookieReq("GET", "/api/v1/me", cookie, map[string]string{"Authorization": "Bearer " + e.admin}, "")
	var me userJSON
	if err := json.Unmarshal(b, &me); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || me.ID != e.adminID {
		t.Fatalf("status %d body %s, want the admin", resp.StatusCode, b)
	}
	// Bearer requests need no CSRF header.
	resp, b = e.cookieReq("POST", "/api/v1/keys", cookie, map[string]string{"Authorization": "Bearer " + e.member}, `{"name":"cli"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("bearer POST: status %d; body %s", resp.StatusCode, b)
	}
}

func TestSessionCookieSignOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cookie := e.signIn()

	resp, b := e.cookieReq("DELETE", "/api/v1/auth/session", cookie, nil, "")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign out without CSRF header: %d, want 403; body %s", resp.StatusCode, b)
	}
	resp, b = e.cookieReq("DELETE", "/api/v1/auth/session", cookie, map[string]string{CSRFHeader: "1"}, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out: %d, want 204; body %s", resp.StatusCode, b)
	}
	if c := sessionCookieOf(t, resp); c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("cookie not cleared: %+v", c)
	}
	resp, b = e.cookieReq("GET", "/api/v1/me", cookie, nil, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked cookie: %d, want 401; body %s", resp.StatusCode, b)
	}
	// The session key is revoked in the store, not only forgotten.
	var keys struct {
		APIKeys []apiKeyJSON `json:"api_keys"`
	}
	e.call("GET", "/api/v1/keys", e.member, nil, http.StatusOK, &keys)
	for _, k := range keys.APIKeys {
		if k.Kind == "session" && k.RevokedAt == nil {
			t.Fatalf("session key %s still live", k.ID)
		}
	}
	// Signing out again, or without a cookie, just clears the cookie.
	for _, c := range []string{cookie, ""} {
		resp, b = e.cookieReq("DELETE", "/api/v1/auth/session", c, map[string]string{CSRFHeader: "1"}, "")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("repeat sign out: %d, want 204; body %s", resp.StatusCode, b)
		}
	}
}

func TestSessionCookieSignOutKeepsAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// An API key put into the cookie is accepted, but signing out does
	// not revoke it: only session keys belong to the browser.
	resp, b := e.cookieReq("DELETE", "/api/v1/auth/session", e.member, map[string]string{CSRFHeader: "1"}, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out: %d; body %s", resp.StatusCode, b)
	}
	e.call("GET", "/api/v1/me", e.member, nil, http.StatusOK, nil)
}

func TestSessionCookieSecureOverTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req := httptest.NewRequest("POST", "https://chatd.example/api/v1/auth/session", strings.NewReader(`{"username":"alice","password":"alice-password"}`))
	req.TLS = &tls.ConnectionState{}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(CSRFHeader, "1")
	req.Header.Set("Origin", "https://chatd.example")
	rec := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(rec, req)
	resp := rec.Result()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d; body %s", resp.StatusCode, rec.Body)
	}
	if c := sessionCookieOf(t, resp); !c.Secure {
		t.Fatalf("cookie not Secure over TLS")
	}
}
