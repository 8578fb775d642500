package gateway

import (
	"bytes"
	"encoding/json"
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
