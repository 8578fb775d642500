package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// TestRefusals covers every request the gateway answers itself: bad
// input, authentication and routing. None reaches the provider, and each
// error has the shape of the provider's own errors.
func TestRefusals(t *testing.T) {
	t.Parallel()
	chatBody := []byte(`{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}`)
	msgBody := []byte(`{"model":"claude-sonnet-4-20250514","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
	type setup struct {
		e       *env
		headers map[string]string
	}
	tests := []struct {
		name      string
		noBYOK    bool
		method    string
		path      string
		body      []byte
		prepare   func(s *setup)
		want      int
		anthropic bool // error shaped like Anthropic's
	}{
		{name: "invalid json", method: "POST", path: "/gateway/oa/v1/chat/completions", body: []byte(`{"model":`), want: 400},
		{name: "invalid json anthropic", method: "POST", path: "/gateway/an/v1/messages", body: []byte(`not json`), want: 400, anthropic: true},
		{name: "missing model", method: "POST", path: "/gateway/oa/v1/responses", body: []byte(`{"input":"hi"}`), want: 400},
		{name: "missing model anthropic", method: "POST", path: "/gateway/an/v1/messages", body: []byte(`{"messages":[]}`), want: 400, anthropic: true},
		{name: "body over limit", method: "POST", path: "/gateway/oa/v1/chat/completions", body: bytes.Repeat([]byte("a"), maxRequestBody+1), want: 413},
		{name: "body over limit anthropic", method: "POST", path: "/gateway/an/v1/messages", body: bytes.Repeat([]byte("a"), maxRequestBody+1), want: 413, anthropic: true},
		{name: "wrong method", method: "GET", path: "/gateway/oa/v1/chat/completions", want: 405},
		{name: "wrong method anthropic", method: "PUT", path: "/gateway/an/v1/messages", body: msgBody, want: 405, anthropic: true},
		{name: "websocket responses", method: "GET", path: "/gateway/oa/v1/responses", want: 405,
			prepare: func(s *setup) { s.headers["Upgrade"] = "websocket"; s.headers["Connection"] = "Upgrade" }},
		{name: "unknown route", method: "POST", path: "/gateway/oa/v1/embeddings", body: chatBody, want: 404},
		{name: "no provider in path", method: "POST", path: "/gateway/", want: 404},
		{name: "route of other type", method: "POST", path: "/gateway/an/v1/chat/completions", body: chatBody, want: 404, anthropic: true},
		{name: "missing key", method: "POST", path: "/gateway/oa/v1/chat/completions", body: chatBody, want: 401,
			prepare: func(s *setup) { delete(s.headers, "Authorization") }},
		{name: "missing key anthropic", method: "POST", path: "/gateway/an/v1/messages", body: msgBody, want: 401, anthropic: true,
			prepare: func(s *setup) { delete(s.headers, "Authorization") }},
		{name: "malformed key", method: "POST", path: "/gateway/oa/v1/chat/completions", body: chatBody, want: 401,
			prepare: func(s *setup) { s.headers["Authorization"] = "Bearer sk-not-a-chatd-key" }},
		{name: "wrong secret", method: "POST", path: "/gateway/oa/v1/chat/completions", body: chatBody, want: 401,
			prepare: func(s *setup) { s.headers["Authorization"] = "Bearer " + s.e.keyID + "-wrongsecret" }},
		{name: "revoked key", method: "POST", path: "/gateway/oa/v1/chat/completions", body: chatBody, want: 401,
			prepare: func(s *setup) {
				_, k := s.e.addKey(s.e.user.ID, func(k *store.APIKey) { at := time.Now().Add(-time.Minute); k.RevokedAt = &at })
				s.headers["Authorization"] = "Bearer " + k
			}},
		{name: "expired key", method: "POST", path: "/gateway/an/v1/messages", body: msgBody, want: 401, anthropic: true,
			prepare: func(s *setup) {
				_, k := s.e.addKey(s.e.user.ID, func(k *store.APIKey) { at := time.Now().Add(-time.Minute); k.ExpiresAt = &at })
				s.headers["Authorization"] = "Bearer " + k
			}},
		{name: "suspended user", method: "POST", path: "/gateway/oa/v1/chat/completions", body: chatBody, want: 403,
			prepare: func(s *setup) {
				u := s.e.addUser("bob")
				yes := true
				if _, err := s.e.store.UpdateUser(s.e.t.Context(), u.ID, store.UserPatch{Suspended: &yes}); err != nil {
					s.e.t.Fatal(err)
				}
				_, k := s.e.addKey(u.ID, nil)
				s.headers["Authorization"] = "Bearer " + k
			}},
		{name: "unknown provider", method: "POST", path: "/gateway/nope/v1/chat/completions", body: chatBody, want: 404},
		{name: "disabled provider", method: "POST", path: "/gateway/off/v1/chat/completions", body: chatBody, want: 404},
		{name: "byok disallowed", noBYOK: true, method: "POST", path: "/gateway/oa/v1/chat/completions", body: chatBody, want: 403,
			prepare: func(s *setup) {
				s.headers[GovernanceHeader] = s.e.key
				s.headers["Authorization"] = "Bearer " + byokKey
			}},
		{name: "byok without provider key", method: "POST", path: "/gateway/an/v1/messages", body: msgBody, want: 401, anthropic: true,
			prepare: func(s *setup) {
				s.headers[GovernanceHeader] = s.e.key
				delete(s.headers, "Authorization")
			}},
		{name: "no central key", method: "POST", path: "/gateway/nokey/v1/chat/completions", body: chatBody, want: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := llmtest.NewServer(t) // any call fails the test
			e := newEnv(t, envOptions{noBYOK: tt.noBYOK})
			e.addProvider("oa", store.ProviderOpenAI, up.URL)
			e.addProvider("an", store.ProviderAnthropic, up.URL)
			off := e.addProvider("off", store.ProviderOpenAI, up.URL)
			no := false
			if _, err := e.store.UpdateProvider(t.Context(), off.ID, store.ProviderPatch{Enabled: &no}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.CreateProvider(t.Context(), store.Provider{Name: "nokey", Type: store.ProviderOpenAI, BaseURL: up.URL, Enabled: true}); err != nil {
				t.Fatal(err)
			}
			s := &setup{e: e, headers: e.bearer()}
			if tt.prepare != nil {
				tt.prepare(s)
			}
			resp, body := e.do(tt.method, tt.path, tt.body, s.headers)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.want, body)
			}
			checkErrorShape(t, body, tt.anthropic)
			if strings.Contains(string(body), centralKey) || strings.Contains(string(body), byokKey) {
				t.Fatalf("error body leaks a key: %s", body)
			}
			if n := len(e.records()); n != 0 {
				t.Fatalf("%d records for a refused request", n)
			}
		})
	}
}

// checkErrorShape asserts body is an OpenAI or Anthropic error object
// with a message.
func checkErrorShape(t *testing.T, body []byte, anthropic bool) {
	t.Helper()
	if anthropic {
		var a struct {
			Type  string `json:"type"`
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &a); err != nil || a.Type != "error" || a.Error.Type == "" || a.Error.Message == "" {
			t.Fatalf("not an Anthropic error (%v): %s", err, body)
		}
		return
	}
	var o struct {
		Error *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &o); err != nil || o.Error == nil || o.Error.Message == "" || o.Error.Type == "" || o.Type != "" {
		t.Fatalf("not an OpenAI error (%v): %s", err, body)
	}
}

// errorBody is the message and the shape of a gateway error answer.
func errorBody(t *testing.T, body []byte) (msg string, anthropic bool) {
	t.Helper()
	var v struct {
		Type  string `json:"type"`
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("error body is not JSON (%v): %s", err, body)
	}
	return v.Error.Message, v.Type == "error"
}

// TestErrorShapeFollowsProvider checks that the gateway's own errors to
// an authenticated caller take the shape of the provider named in the
// path whatever headers the client sent, and that a refused caller gets
// a shape guessed from the path (then headers) that does not depend on
// which providers exist.
func TestErrorShapeFollowsProvider(t *testing.T) {
	t.Parallel()
	chatBody := []byte(`{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}`)
	const valid = "valid" // stands for the env's own key
	tests := []struct {
		name      string
		method    string
		path      string
		headers   map[string]string
		want      int
		anthropic bool
	}{
		{name: "refused, chat path, x-api-key", method: "POST", path: "/gateway/oa/v1/chat/completions",
			headers: map[string]string{"X-Api-Key": "sk-not-a-chatd-key"}, want: 401},
		{name: "refused, responses path, anthropic-version, no key", method: "POST", path: "/gateway/oa/v1/responses",
			headers: map[string]string{"Anthropic-Version": "2023-06-01"}, want: 401},
		{name: "refused, messages path on an openai provider", method: "POST", path: "/gateway/oa/v1/messages",
			headers: map[string]string{"Authorization": "Bearer sk-not-a-chatd-key"}, want: 401, anthropic: true},
		{name: "refused, models, bearer", method: "GET", path: "/gateway/an/v1/models",
			headers: map[string]string{"Authorization": "Bearer sk-not-a-chatd-key"}, want: 401},
		{name: "refused, models, anthropic-version", method: "GET", path: "/gateway/an/v1/models",
			headers: map[string]string{"Authorization": "Bearer sk-not-a-chatd-key", "Anthropic-Version": "2023-06-01"}, want: 401, anthropic: true},
		{name: "refused, disabled provider", method: "POST", path: "/gateway/off/v1/chat/completions",
			headers: map[string]string{"X-Api-Key": "sk-not-a-chatd-key"}, want: 401},
		{name: "refused, unknown provider", method: "POST", path: "/gateway/nope/v1/chat/completions",
			headers: map[string]string{"X-Api-Key": "sk-not-a-chatd-key"}, want: 401},
		{name: "openai provider, messages path, x-api-key", method: "POST", path: "/gateway/oa/v1/messages",
			headers: map[string]string{"X-Api-Key": valid}, want: 404},
		{name: "anthropic provider, wrong method, bearer", method: "GET", path: "/gateway/an/v1/chat/completions",
			headers: map[string]string{"Authorization": valid}, want: 405, anthropic: true},
		{name: "anthropic provider, unknown route", method: "POST", path: "/gateway/an/v1/embeddings",
			headers: map[string]string{"Authorization": valid}, want: 404, anthropic: true},
		{name: "unknown provider, messages path guessed", method: "POST", path: "/gateway/nope/v1/messages",
			headers: map[string]string{"Authorization": valid}, want: 404, anthropic: true},
		{name: "invalid provider name", method: "POST", path: "/gateway/No_Such/v1/chat/completions",
			headers: map[string]string{"X-Api-Key": valid}, want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := llmtest.NewServer(t) // any call fails the test
			e := newEnv(t, envOptions{})
			e.addProvider("oa", store.ProviderOpenAI, up.URL)
			e.addProvider("an", store.ProviderAnthropic, up.URL)
			off := e.addProvider("off", store.ProviderOpenAI, up.URL)
			no := false
			if _, err := e.store.UpdateProvider(t.Context(), off.ID, store.ProviderPatch{Enabled: &no}); err != nil {
				t.Fatal(err)
			}
			var body []byte
			if tt.method == "POST" {
				body = chatBody
			}
			hdr := map[string]string{}
			for k, v := range tt.headers {
				switch {
				case v == valid && k == "Authorization":
					v = "Bearer " + e.key
				case v == valid:
					v = e.key
				}
				hdr[k] = v
			}
			resp, b := e.do(tt.method, tt.path, body, hdr)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.want, b)
			}
			checkErrorShape(t, b, tt.anthropic)
		})
	}
}

// TestNonObjectBody checks that a body of valid JSON that is not an
// object is refused with a message saying so, for every API.
func TestNonObjectBody(t *testing.T) {
	t.Parallel()
	const want = "request body must be a JSON object"
	apis := []struct {
		name      string
		path      string
		typ       store.ProviderType
		anthropic bool
	}{
		{"chat completions", "/v1/chat/completions", store.ProviderOpenAI, false},
		{"responses", "/v1/responses", store.ProviderOpenAI, false},
		{"messages", "/v1/messages", store.ProviderAnthropic, true},
	}
	for _, a := range apis {
		for _, body := range []string{`[]`, `[{"model":"m"}]`, `null`, `5`, `"hi"`, `true`} {
			t.Run(a.name+" "+body, func(t *testing.T) {
				t.Parallel()
				up := llmtest.NewServer(t) // any call fails the test
				e := newEnv(t, envOptions{})
				e.addProvider("p", a.typ, up.URL)
				resp, b := e.do("POST", "/gateway/p"+a.path, []byte(body), e.bearer())
				if resp.StatusCode != 400 {
					t.Fatalf("status = %d, want 400; body %s", resp.StatusCode, b)
				}
				checkErrorShape(t, b, a.anthropic)
				if msg, _ := errorBody(t, b); msg != want {
					t.Fatalf("message = %q, want %q", msg, want)
				}
			})
		}
	}
}

// TestGatewayRoot checks that the gateway answers its root, with and
// without a trailing slash, with its own JSON 404 rather than a redirect.
func TestGatewayRoot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	client := e.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tc := range []struct{ method, path string }{
		{"GET", "/gateway"}, {"POST", "/gateway"}, {"GET", "/gateway/"}, {"GET", "/gateway?x=1"}, {"GET", "/gateway/oa"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, e.srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status = %d, want 404; body %s", resp.StatusCode, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type = %q, want application/json", ct)
			}
			checkErrorShape(t, b, false)
		})
	}
}

// TestResponsesWebSocket checks the answer to Codex's optional WebSocket
// transport: a 405 in the provider's error shape that says what to do.
func TestResponsesWebSocket(t *testing.T) {
	t.Parallel()
	up := llmtest.NewServer(t) // any call fails the test
	e := newEnv(t, envOptions{})
	e.addProvider("oa", store.ProviderOpenAI, up.URL)
	hdr := e.bearer()
	hdr["Upgrade"] = "websocket"
	hdr["Connection"] = "Upgrade"
	hdr["Sec-WebSocket-Version"] = "13"
	hdr["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
	resp, b := e.do("GET", "/gateway/oa/v1/responses", nil, hdr)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("status = %d, want 405; body %s", resp.StatusCode, b)
	}
	if got := resp.Header.Get("Allow"); got != "POST" {
		t.Fatalf("Allow = %q, want POST", got)
	}
	checkErrorShape(t, b, false)
	msg, _ := errorBody(t, b)
	for _, s := range []string{"WebSocket", "HTTP streaming", `"stream": true`} {
		if !strings.Contains(msg, s) {
			t.Fatalf("message %q does not mention %q", msg, s)
		}
	}
}
