package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestMemberCannotAdminister(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createProvider("openai", "openai")
	var m modelJSON
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "openai", "model": "gpt-4o"}, http.StatusCreated, &m)

	tests := []struct {
		name   string
		method string
		path   string
		body   any
	}{
		{"list users", "GET", "/api/v1/users", nil},
		{"create user", "POST", "/api/v1/users", map[string]any{"username": "mallory"}},
		{"get user", "GET", "/api/v1/users/" + e.adminID, nil},
		{"promote self", "PATCH", "/api/v1/users/" + e.memberID, map[string]any{"role": "admin"}},
		{"suspend admin", "PATCH", "/api/v1/users/" + e.adminID, map[string]any{"suspended": true}},
		{"list providers", "GET", "/api/v1/providers", nil},
		{"create provider", "POST", "/api/v1/providers", map[string]any{"name": "evil", "type": "openai", "base_url": "https://evil.example"}},
		{"get provider", "GET", "/api/v1/providers/openai", nil},
		{"patch provider", "PATCH", "/api/v1/providers/openai", map[string]any{"base_url": "https://evil.example"}},
		{"delete provider", "DELETE", "/api/v1/providers/openai", nil},
		{"create model", "POST", "/api/v1/models", map[string]any{"provider": "openai", "model": "gpt-4.1"}},
		{"patch model", "PATCH", "/api/v1/models/" + m.ID, map[string]any{"enabled": false}},
		{"delete model", "DELETE", "/api/v1/models/" + m.ID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eb := e.fail(tt.method, tt.path, e.member, tt.body, http.StatusForbidden)
			if eb.Error.Code != "forbidden" {
				t.Fatalf("code = %q, want forbidden", eb.Error.Code)
			}
		})
	}
	// Nothing changed.
	var p providerJSON
	e.call("GET", "/api/v1/providers/openai", e.admin, nil, http.StatusOK, &p)
	if p.BaseURL != "https://api.example.com/v1" {
		t.Fatalf("provider changed by a member: %+v", p)
	}
	e.call("GET", "/api/v1/models/"+m.ID, e.member, nil, http.StatusOK, nil)
}

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name   string
		header string
	}{
		{"no header", ""},
		{"not bearer", "Basic cm9vdDpwdw=="},
		{"empty bearer", "Bearer "},
		{"malformed key", "Bearer nonsense"},
		{"unknown key", "Bearer ckaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
		{"wrong secret", "Bearer " + e.admin[:len(e.admin)-4] + "AAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/api/v1/me", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
		})
	}
	// The bearer scheme is case-insensitive.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "bearer "+e.admin)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("lowercase bearer: status %d, want 200", resp.StatusCode)
	}
}

func TestOwnKeysOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createProvider("openai", "openai")
	var adminKey newKeyJSON
	e.call("POST", "/api/v1/keys", e.admin, map[string]any{"name": "admin-extra"}, http.StatusCreated, &adminKey)
	e.call("PUT", "/api/v1/provider-keys/openai", e.admin, map[string]any{"api_key": "sk-admin-own-key-123"}, http.StatusOK, nil)

	// The member cannot see, revoke or delete the admin's keys.
	var keys struct {
		APIKeys []apiKeyJSON `json:"api_keys"`
	}
	e.call("GET", "/api/v1/keys", e.member, nil, http.StatusOK, &keys)
	for _, k := range keys.APIKeys {
		if k.ID == adminKey.APIKey.ID {
			t.Fatal("member lists the admin's key")
		}
	}
	e.fail("DELETE", "/api/v1/keys/"+adminKey.APIKey.ID, e.member, nil, http.StatusNotFound)
	e.call("GET", "/api/v1/me", adminKey.Key, nil, http.StatusOK, nil)

	var pks struct {
		ProviderKeys []providerKeyJSON `json:"provider_keys"`
	}
	e.call("GET", "/api/v1/provider-keys", e.member, nil, http.StatusOK, &pks)
	if len(pks.ProviderKeys) != 0 {
		t.Fatalf("member sees %d provider keys, want 0", len(pks.ProviderKeys))
	}
	e.fail("DELETE", "/api/v1/provider-keys/openai", e.member, nil, http.StatusNotFound)
	e.call("GET", "/api/v1/provider-keys", e.admin, nil, http.StatusOK, &pks)
	if len(pks.ProviderKeys) != 1 {
		t.Fatalf("admin's provider key gone after member's delete: %+v", pks.ProviderKeys)
	}

	// Admins are no exception: keys are always the caller's own.
	var memberKey newKeyJSON
	e.call("POST", "/api/v1/keys", e.member, map[string]any{"name": "member-extra"}, http.StatusCreated, &memberKey)
	e.fail("DELETE", "/api/v1/keys/"+memberKey.APIKey.ID, e.admin, nil, http.StatusNotFound)
	e.call("GET", "/api/v1/me", memberKey.Key, nil, http.StatusOK, nil)
}

func TestRefusedAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("revoked", func(t *testing.T) {
		var k newKeyJSON
		e.call("POST", "/api/v1/keys", e.member, map[string]any{"name": "r"}, http.StatusCreated, &k)
		e.call("GET", "/api/v1/me", k.Key, nil, http.StatusOK, nil)
		e.call("DELETE", "/api/v1/keys/"+k.APIKey.ID, e.member, nil, http.StatusNoContent, nil)
		e.fail("GET", "/api/v1/me", k.Key, nil, http.StatusUnauthorized)
	})
	t.Run("expired", func(t *testing.T) {
		var k newKeyJSON
		e.call("POST", "/api/v1/keys", e.member, map[string]any{"name": "x", "expires_at": e.clock.Now().Add(time.Minute).Format(time.RFC3339)}, http.StatusCreated, &k)
		e.call("GET", "/api/v1/me", k.Key, nil, http.StatusOK, nil)
		e.clock.Advance(time.Minute)
		e.fail("GET", "/api/v1/me", k.Key, nil, http.StatusUnauthorized)
	})
	t.Run("suspended", func(t *testing.T) {
		_, key := e.seedUser("bob", "member", "bob-password")
		var bob userJSON
		e.call("GET", "/api/v1/me", key, nil, http.StatusOK, &bob)
		e.call("PATCH", "/api/v1/users/"+bob.ID, e.admin, map[string]any{"suspended": true}, http.StatusOK, nil)
		eb := e.fail("GET", "/api/v1/me", key, nil, http.StatusForbidden)
		if eb.Error.Code != "forbidden" {
			t.Fatalf("code = %q, want forbidden", eb.Error.Code)
		}
		e.fail("GET", "/api/v1/keys", key, nil, http.StatusForbidden)
		e.call("PATCH", "/api/v1/users/"+bob.ID, e.admin, map[string]any{"suspended": false}, http.StatusOK, nil)
		e.call("GET", "/api/v1/me", key, nil, http.StatusOK, nil)
	})
	t.Run("deleted provider's keys go", func(t *testing.T) {
		e.createProvider("gone", "openai")
		e.call("PUT", "/api/v1/provider-keys/gone", e.member, map[string]any{"api_key": "sk-gone-123456789"}, http.StatusOK, nil)
		e.call("DELETE", "/api/v1/providers/gone", e.admin, nil, http.StatusNoContent, nil)
		ks, err := e.db.ListProviderKeys(context.Background(), e.memberID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) != 0 {
			t.Fatalf("%d provider keys left after the provider was deleted", len(ks))
		}
	})
}

func TestAuthenticatedMiddleware(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	au := e.authenticator()
	a := New(Config{Auth: au, Logger: slog.New(slog.DiscardHandler)})
	h := a.authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFrom(r.Context())
		if !ok {
			t.Error("no principal in context")
		}
		_, _ = w.Write([]byte(p.User.Username))
	}))
	tests := []struct {
		name   string
		key    string
		want   int
		wantBy string
	}{
		{"live key", e.member, http.StatusOK, "alice"},
		{"no key", "", http.StatusUnauthorized, ""},
		{"bad key", "ckx-y", http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(t.Context(), "GET", "/anything", nil)
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.wantBy != "" && rec.Body.String() != tt.wantBy {
				t.Fatalf("body %q, want %q", rec.Body.String(), tt.wantBy)
			}
		})
	}
	if _, ok := PrincipalFrom(context.Background()); ok {
		t.Fatal("principal found in a bare context")
	}
}
