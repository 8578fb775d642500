package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

func TestLoginAndMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	var me userJSON
	e.call("GET", "/api/v1/me", e.admin, nil, http.StatusOK, &me)
	if me.Username != "root" || me.Role != "admin" || !me.HasPassword {
		t.Fatalf("me = %+v, want root admin with a password", me)
	}

	var got newKeyJSON
	e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": "alice-password", "key_name": "laptop"}, http.StatusCreated, &got)
	if got.Key == "" || !strings.HasPrefix(got.Key, got.APIKey.ID+"-") {
		t.Fatalf("key %q does not start with its id %q", got.Key, got.APIKey.ID)
	}
	if got.APIKey.Kind != "session" || got.APIKey.Name != "laptop" {
		t.Fatalf("api_key = %+v, want a session key named laptop", got.APIKey)
	}
	if want := e.clock.Now().Add(30 * 24 * time.Hour); got.APIKey.ExpiresAt == nil || !got.APIKey.ExpiresAt.Equal(want) {
		t.Fatalf("expires_at = %v, want %v", got.APIKey.ExpiresAt, want)
	}
	if got.User.Username != "alice" {
		t.Fatalf("user = %+v, want alice", got.User)
	}
	e.call("GET", "/api/v1/me", got.Key, nil, http.StatusOK, &me)
	if me.Username != "alice" || me.Role != "member" {
		t.Fatalf("me with session key = %+v, want alice", me)
	}

	// The session key lapses after 30 days.
	e.clock.Advance(30*24*time.Hour + time.Second)
	e.fail("GET", "/api/v1/me", got.Key, nil, http.StatusUnauthorized)
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wrongPw := e.fail("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": "not-her-password"}, http.StatusUnauthorized)
	noUser := e.fail("POST", "/api/v1/auth/login", "", map[string]any{"username": "nobody", "password": "alice-password"}, http.StatusUnauthorized)
	if wrongPw.Error.Message != noUser.Error.Message {
		t.Fatalf("wrong password says %q, unknown user says %q; want the same", wrongPw.Error.Message, noUser.Error.Message)
	}
	if wrongPw.Error.Code != "unauthenticated" {
		t.Fatalf("code = %q, want unauthenticated", wrongPw.Error.Code)
	}
	// A user without a password cannot log in at all.
	e.call("POST", "/api/v1/users", e.admin, map[string]any{"username": "bot"}, http.StatusCreated, nil)
	e.fail("POST", "/api/v1/auth/login", "", map[string]any{"username": "bot", "password": "anything-at-all"}, http.StatusUnauthorized)

	e.call("PATCH", "/api/v1/users/"+e.memberID, e.admin, map[string]any{"suspended": true}, http.StatusOK, nil)
	eb := e.fail("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": "alice-password"}, http.StatusForbidden)
	if eb.Error.Code != "forbidden" {
		t.Fatalf("code = %q, want forbidden", eb.Error.Code)
	}
	// A suspended user's wrong password still reads as a wrong password.
	e.fail("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": "not-her-password"}, http.StatusUnauthorized)
}

func TestUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	var bob userJSON
	e.call("POST", "/api/v1/users", e.admin, map[string]any{"username": "bob", "password": "bob-password"}, http.StatusCreated, &bob)
	if bob.Role != "member" || !bob.HasPassword || bob.Suspended || bob.ID == "" {
		t.Fatalf("created %+v, want an active member with a password", bob)
	}
	var carol userJSON
	e.call("POST", "/api/v1/users", e.admin, map[string]any{"username": "carol.x_1", "role": "admin"}, http.StatusCreated, &carol)
	if carol.Role != "admin" || carol.HasPassword {
		t.Fatalf("created %+v, want an admin without a password", carol)
	}
	e.fail("POST", "/api/v1/users", e.admin, map[string]any{"username": "bob"}, http.StatusConflict)

	var list struct{ Users []userJSON }
	e.call("GET", "/api/v1/users", e.admin, nil, http.StatusOK, &list)
	if len(list.Users) != 4 {
		t.Fatalf("%d users, want 4", len(list.Users))
	}

	var got userJSON
	e.call("GET", "/api/v1/users/"+bob.ID, e.admin, nil, http.StatusOK, &got)
	if got.Username != "bob" {
		t.Fatalf("got %+v, want bob", got)
	}
	e.fail("GET", "/api/v1/users/no-such-id", e.admin, nil, http.StatusNotFound)

	e.call("PATCH", "/api/v1/users/"+bob.ID, e.admin, map[string]any{"role": "admin", "password": "new-bob-password"}, http.StatusOK, &got)
	if got.Role != "admin" {
		t.Fatalf("role = %q after patch, want admin", got.Role)
	}
	e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "bob", "password": "new-bob-password"}, http.StatusCreated, nil)
	e.call("PATCH", "/api/v1/users/"+bob.ID, e.admin, map[string]any{"suspended": true}, http.StatusOK, &got)
	if !got.Suspended {
		t.Fatal("bob not suspended after patch")
	}
	e.fail("PATCH", "/api/v1/users/no-such-id", e.admin, map[string]any{"suspended": true}, http.StatusNotFound)
}

func TestLastActiveAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	eb := e.fail("PATCH", "/api/v1/users/"+e.adminID, e.admin, map[string]any{"suspended": true}, http.StatusConflict)
	if eb.Error.Code != "conflict" {
		t.Fatalf("code = %q, want conflict", eb.Error.Code)
	}
	e.fail("PATCH", "/api/v1/users/"+e.adminID, e.admin, map[string]any{"role": "member"}, http.StatusConflict)

	// With a second active admin, stepping down is fine.
	e.call("PATCH", "/api/v1/users/"+e.memberID, e.admin, map[string]any{"role": "admin"}, http.StatusOK, nil)
	var got userJSON
	e.call("PATCH", "/api/v1/users/"+e.adminID, e.admin, map[string]any{"role": "member"}, http.StatusOK, &got)
	if got.Role != "member" {
		t.Fatalf("role = %q, want member", got.Role)
	}
	// The demoted admin's own key now acts as a member.
	e.fail("GET", "/api/v1/users", e.admin, nil, http.StatusForbidden)
}

func TestKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	exp := e.clock.Now().Add(time.Hour)
	var k newKeyJSON
	e.call("POST", "/api/v1/keys", e.member, map[string]any{"name": "ci", "expires_at": exp.Format(time.RFC3339)}, http.StatusCreated, &k)
	if k.APIKey.Kind != "api" || k.APIKey.Name != "ci" || k.APIKey.ExpiresAt == nil || !k.APIKey.ExpiresAt.Equal(exp) {
		t.Fatalf("created %+v", k.APIKey)
	}
	var forever newKeyJSON
	e.call("POST", "/api/v1/keys", e.member, map[string]any{"name": "forever"}, http.StatusCreated, &forever)
	if forever.APIKey.ExpiresAt != nil {
		t.Fatalf("expires_at = %v, want null", forever.APIKey.ExpiresAt)
	}

	var list struct {
		APIKeys []apiKeyJSON `json:"api_keys"`
	}
	e.call("GET", "/api/v1/keys", e.member, nil, http.StatusOK, &list)
	if len(list.APIKeys) != 3 {
		t.Fatalf("%d keys, want 3 (seed, ci, forever)", len(list.APIKeys))
	}
	e.call("GET", "/api/v1/me", k.Key, nil, http.StatusOK, nil)

	// Revoking takes effect on the next request.
	e.call("DELETE", "/api/v1/keys/"+forever.APIKey.ID, e.member, nil, http.StatusNoContent, nil)
	e.fail("GET", "/api/v1/me", forever.Key, nil, http.StatusUnauthorized)
	e.call("GET", "/api/v1/keys", e.member, nil, http.StatusOK, &list)
	for _, kk := range list.APIKeys {
		if kk.ID == forever.APIKey.ID && kk.RevokedAt == nil {
			t.Fatal("revoked key listed without revoked_at")
		}
	}
	e.fail("DELETE", "/api/v1/keys/cknosuchkey", e.member, nil, http.StatusNotFound)

	// Expiry is checked on every request.
	e.clock.Advance(time.Hour)
	e.fail("GET", "/api/v1/me", k.Key, nil, http.StatusUnauthorized)
}

func TestProviders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var p providerJSON
	e.call("POST", "/api/v1/providers", e.admin, map[string]any{
		"name": "openai-main", "type": "openai", "base_url": "https://api.openai.com/v1", "api_key": "sk-abcdefghijklmnopqrstuvwxyz",
	}, http.StatusCreated, &p)
	if !p.Enabled || !p.HasAPIKey || p.APIKeyHint != "sk-a…wxyz" || p.Type != "openai" || p.BaseURL != "https://api.openai.com/v1" {
		t.Fatalf("created %+v", p)
	}
	var off providerJSON
	e.call("POST", "/api/v1/providers", e.admin, map[string]any{
		"name": "local", "type": "openai-compatible", "base_url": "http://127.0.0.1:8080", "enabled": false,
	}, http.StatusCreated, &off)
	if off.Enabled || off.HasAPIKey || off.APIKeyHint != "" {
		t.Fatalf("created %+v, want disabled without key", off)
	}
	e.fail("POST", "/api/v1/providers", e.admin, map[string]any{"name": "local", "type": "anthropic", "base_url": "https://x.example"}, http.StatusConflict)

	var list struct{ Providers []providerJSON }
	e.call("GET", "/api/v1/providers", e.admin, nil, http.StatusOK, &list)
	if len(list.Providers) != 2 {
		t.Fatalf("%d providers, want 2", len(list.Providers))
	}
	e.call("GET", "/api/v1/providers/openai-main", e.admin, nil, http.StatusOK, &p)
	if p.Name != "openai-main" {
		t.Fatalf("got %+v", p)
	}

	e.call("PATCH", "/api/v1/providers/openai-main", e.admin, map[string]any{"name": "openai", "base_url": "https://proxy.example.com/v1", "enabled": false, "api_key": ""}, http.StatusOK, &p)
	if p.Name != "openai" || p.BaseURL != "https://proxy.example.com/v1" || p.Enabled || p.HasAPIKey || p.APIKeyHint != "" {
		t.Fatalf("patched %+v", p)
	}
	e.call("PATCH", "/api/v1/providers/openai", e.admin, map[string]any{"api_key": "sk-ZYXWVUTSRQPONMLKJIHGFEDCBA"}, http.StatusOK, &p)
	if !p.HasAPIKey || p.APIKeyHint != "sk-Z…DCBA" {
		t.Fatalf("patched %+v, want the new key's hint", p)
	}
	e.fail("PATCH", "/api/v1/providers/openai", e.admin, map[string]any{"name": "local"}, http.StatusConflict)
	e.fail("GET", "/api/v1/providers/openai-main", e.admin, nil, http.StatusNotFound)

	e.call("DELETE", "/api/v1/providers/openai", e.admin, nil, http.StatusNoContent, nil)
	e.fail("GET", "/api/v1/providers/openai", e.admin, nil, http.StatusNotFound)
	e.fail("DELETE", "/api/v1/providers/openai", e.admin, nil, http.StatusNotFound)
}

func TestModels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createProvider("anthropic", "anthropic")
	off := e.createProvider("off", "openai")
	e.call("PATCH", "/api/v1/providers/off", e.admin, map[string]any{"enabled": false}, http.StatusOK, nil)
	_ = off

	// Context limit and prices come from the catalogue when not given.
	var sonnet modelJSON
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "anthropic", "model": "claude-sonnet-4-5-20250929", "default": true}, http.StatusCreated, &sonnet)
	if sonnet.ContextLimit != 200000 || sonnet.Prices.Input == nil || *sonnet.Prices.Input != 3 || *sonnet.Prices.Output != 15 {
		t.Fatalf("created %+v, want the catalogue's limit and prices", sonnet)
	}
	if sonnet.Provider != "anthropic" || sonnet.ProviderType != "anthropic" || !sonnet.Enabled || !sonnet.Default || sonnet.DisplayName != "claude-sonnet-4-5-20250929" {
		t.Fatalf("created %+v", sonnet)
	}

	// Given values win; a model the catalogue lacks has unknown prices.
	var custom modelJSON
	e.call("POST", "/api/v1/models", e.admin, map[string]any{
		"provider": "anthropic", "model": "in-house-1", "display_name": "In house", "context_limit": 1000,
		"prices": map[string]any{"input": 1.5, "output": 0}, "default": true,
	}, http.StatusCreated, &custom)
	if custom.ContextLimit != 1000 || *custom.Prices.Input != 1.5 || *custom.Prices.Output != 0 || custom.Prices.CacheRead != nil || custom.DisplayName != "In house" {
		t.Fatalf("created %+v", custom)
	}
	var bare modelJSON
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "anthropic", "model": "unknown-model-x", "enabled": false}, http.StatusCreated, &bare)
	if bare.ContextLimit != 0 || bare.Prices.Input != nil || bare.Enabled {
		t.Fatalf("created %+v, want no limit, unknown prices, disabled", bare)
	}
	var hidden modelJSON
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "off", "model": "gpt-4o"}, http.StatusCreated, &hidden)
	e.fail("POST", "/api/v1/models", e.admin, map[string]any{"provider": "anthropic", "model": "in-house-1"}, http.StatusConflict)

	// The last default set is the only one.
	e.call("GET", "/api/v1/models/"+sonnet.ID, e.admin, nil, http.StatusOK, &sonnet)
	if sonnet.Default {
		t.Fatal("old default still default after another model was made default")
	}
	e.call("PATCH", "/api/v1/models/"+sonnet.ID, e.admin, map[string]any{"default": true, "display_name": "Sonnet", "context_limit": 5, "prices": map[string]any{"input": 2}}, http.StatusOK, &sonnet)
	if !sonnet.Default || sonnet.DisplayName != "Sonnet" || sonnet.ContextLimit != 5 || *sonnet.Prices.Input != 2 || sonnet.Prices.Output != nil {
		t.Fatalf("patched %+v", sonnet)
	}
	var list struct{ Models []modelJSON }
	e.call("GET", "/api/v1/models?all=true", e.admin, nil, http.StatusOK, &list)
	if len(list.Models) != 4 {
		t.Fatalf("admin sees %d models with all=true, want 4", len(list.Models))
	}
	defaults := 0
	for _, m := range list.Models {
		if m.Default {
			defaults++
		}
	}
	if defaults != 1 {
		t.Fatalf("%d default models, want 1", defaults)
	}

	// Members see enabled models of enabled providers only, even with all=true.
	for _, q := range []string{"", "?all=true"} {
		e.call("GET", "/api/v1/models"+q, e.member, nil, http.StatusOK, &list)
		if len(list.Models) != 2 {
			t.Fatalf("member sees %d models (query %q), want 2", len(list.Models), q)
		}
		for _, m := range list.Models {
			if m.ID == bare.ID || m.ID == hidden.ID {
				t.Fatalf("member sees unusable model %s", m.Model)
			}
		}
	}
	e.call("GET", "/api/v1/models", e.admin, nil, http.StatusOK, &list)
	if len(list.Models) != 2 {
		t.Fatalf("admin sees %d models without all, want 2", len(list.Models))
	}
	e.call("GET", "/api/v1/models/"+custom.ID, e.member, nil, http.StatusOK, nil)
	e.fail("GET", "/api/v1/models/"+bare.ID, e.member, nil, http.StatusNotFound)
	e.fail("GET", "/api/v1/models/"+hidden.ID, e.member, nil, http.StatusNotFound)
	e.call("GET", "/api/v1/models/"+bare.ID, e.admin, nil, http.StatusOK, nil)

	e.call("DELETE", "/api/v1/models/"+bare.ID, e.admin, nil, http.StatusNoContent, nil)
	e.fail("GET", "/api/v1/models/"+bare.ID, e.admin, nil, http.StatusNotFound)
	e.fail("DELETE", "/api/v1/models/"+bare.ID, e.admin, nil, http.StatusNotFound)
}

func TestProviderKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createProvider("openai", "openai")
	e.createProvider("anthropic", "anthropic")

	var k providerKeyJSON
	e.call("PUT", "/api/v1/provider-keys/openai", e.member, map[string]any{"api_key": "sk-member-0123456789"}, http.StatusOK, &k)
	if k.Provider != "openai" || k.KeyHint != "sk-m…6789" {
		t.Fatalf("put %+v", k)
	}
	// Putting again replaces.
	e.call("PUT", "/api/v1/provider-keys/openai", e.member, map[string]any{"api_key": "sk-member-replaced-99"}, http.StatusOK, &k)
	if k.KeyHint != "sk-m…d-99" {
		t.Fatalf("replaced hint = %q", k.KeyHint)
	}
	e.call("PUT", "/api/v1/provider-keys/anthropic", e.member, map[string]any{"api_key": "sk-ant-member-abcdef"}, http.StatusOK, nil)
	e.fail("PUT", "/api/v1/provider-keys/nope", e.member, map[string]any{"api_key": "sk-x-123456789012"}, http.StatusNotFound)

	var list struct {
		ProviderKeys []providerKeyJSON `json:"provider_keys"`
	}
	e.call("GET", "/api/v1/provider-keys", e.member, nil, http.StatusOK, &list)
	if len(list.ProviderKeys) != 2 {
		t.Fatalf("%d provider keys, want 2", len(list.ProviderKeys))
	}
	e.call("DELETE", "/api/v1/provider-keys/openai", e.member, nil, http.StatusNoContent, nil)
	e.fail("DELETE", "/api/v1/provider-keys/openai", e.member, nil, http.StatusNotFound)
	e.call("GET", "/api/v1/provider-keys", e.member, nil, http.StatusOK, &list)
	if len(list.ProviderKeys) != 1 || list.ProviderKeys[0].Provider != "anthropic" {
		t.Fatalf("after delete: %+v", list.ProviderKeys)
	}

	// The stored key opens to what was put.
	p, err := e.db.GetProviderByName(context.Background(), "anthropic")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.GetProviderKey(context.Background(), e.memberID, p.ID); err != nil {
		t.Fatalf("stored key: %v", err)
	}
}

func TestBYOKDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noBYOK: true})
	e.createProvider("openai", "openai")
	eb := e.fail("PUT", "/api/v1/provider-keys/openai", e.member, map[string]any{"api_key": "sk-member-0123456789"}, http.StatusForbidden)
	if !strings.Contains(eb.Error.Message, "BYOK") {
		t.Fatalf("message %q does not say BYOK is disabled", eb.Error.Message)
	}
	e.call("GET", "/api/v1/provider-keys", e.member, nil, http.StatusOK, nil)
}

func TestGateway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	base := e.clock.Now().Add(-48 * time.Hour)
	cost := int64(1_500_000)
	mk := func(user, model, chat string, at time.Time) store.Interception {
		in, err := e.db.CreateInterception(ctx, store.Interception{
			UserID: user, APIKeyID: "ckseed", ProviderName: "openai", ProviderType: store.ProviderOpenAI,
			Endpoint: "/v1/chat/completions", Model: model, Streaming: true, ChatID: chat,
			Source: store.SourceExternal, CredentialKind: store.CredentialCentral, Status: 200,
			StartedAt: at, EndedAt: at.Add(1500 * time.Millisecond), TTFB: 250 * time.Millisecond,
			Usage:      store.Usage{Input: 100, Output: 20},
			ToolCalls:  []store.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Oslo"}`}},
			CostMicros: &cost,
		})
		if err != nil {
			t.Fatalf("create interception: %v", err)
		}
		return in
	}
	mine := mk(e.memberID, "gpt-4o", "chat-1", base)
	mk(e.memberID, "gpt-4o-mini", "", base.Add(time.Hour))
	theirs := mk(e.adminID, "gpt-4o", "", base.Add(2*time.Hour))

	type interception struct {
		ID         string   `json:"id"`
		UserID     string   `json:"user_id"`
		Model      string   `json:"model"`
		ChatID     string   `json:"chat_id"`
		TTFBMillis float64  `json:"ttfb_ms"`
		Duration   float64  `json:"duration_ms"`
		CostUSD    *float64 `json:"cost_usd"`
		Usage      struct {
			Input int64 `json:"input_tokens"`
		} `json:"usage"`
		ToolCalls []struct {
			Name string `json:"name"`
		} `json:"tool_calls"`
	}
	var list struct{ Interceptions []interception }
	e.call("GET", "/api/v1/gateway/interceptions", e.admin, nil, http.StatusOK, &list)
	if len(list.Interceptions) != 3 {
		t.Fatalf("admin sees %d interceptions, want 3", len(list.Interceptions))
	}
	if got := list.Interceptions[0]; got.ID != theirs.ID {
		t.Fatalf("first is %s, want the newest %s", got.ID, theirs.ID)
	}
	e.call("GET", "/api/v1/gateway/interceptions", e.member, nil, http.StatusOK, &list)
	if len(list.Interceptions) != 2 {
		t.Fatalf("member sees %d interceptions, want 2", len(list.Interceptions))
	}
	for _, in := range list.Interceptions {
		if in.UserID != e.memberID {
			t.Fatalf("member sees %s's interception", in.UserID)
		}
	}
	e.call("GET", "/api/v1/gateway/interceptions?user=root", e.member, nil, http.StatusOK, &list)
	if len(list.Interceptions) != 0 {
		t.Fatalf("member asking for root's records sees %d, want 0", len(list.Interceptions))
	}

	tests := []struct {
		name  string
		query string
		want  int
	}{
		{"by username", "?user=alice", 2},
		{"by user id", "?user=" + e.adminID, 1},
		{"by model", "?model=gpt-4o", 2},
		{"by provider", "?provider=openai", 3},
		{"by other provider", "?provider=anthropic", 0},
		{"by chat", "?chat=chat-1", 1},
		{"since", "?since=" + base.Add(30*time.Minute).Format(time.RFC3339), 2},
		{"until", "?until=" + base.Add(30*time.Minute).Format(time.RFC3339), 1},
		{"before", "?before=" + base.Add(2*time.Hour).Format(time.RFC3339), 2},
		{"limit", "?limit=1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l struct{ Interceptions []interception }
			e.call("GET", "/api/v1/gateway/interceptions"+tt.query, e.admin, nil, http.StatusOK, &l)
			if len(l.Interceptions) != tt.want {
				t.Fatalf("%d interceptions, want %d", len(l.Interceptions), tt.want)
			}
		})
	}

	var one interception
	e.call("GET", "/api/v1/gateway/interceptions/"+mine.ID, e.member, nil, http.StatusOK, &one)
	if one.ChatID != "chat-1" || one.TTFBMillis != 250 || one.Duration != 1500 || one.CostUSD == nil || *one.CostUSD != 1.5 ||
		one.Usage.Input != 100 || len(one.ToolCalls) != 1 || one.ToolCalls[0].Name != "get_weather" {
		t.Fatalf("got %+v", one)
	}
	e.fail("GET", "/api/v1/gateway/interceptions/"+theirs.ID, e.member, nil, http.StatusNotFound)
	e.call("GET", "/api/v1/gateway/interceptions/"+mine.ID, e.admin, nil, http.StatusOK, nil)
	e.fail("GET", "/api/v1/gateway/interceptions/no-such-id", e.admin, nil, http.StatusNotFound)

	type usageRow struct {
		Day      string  `json:"day"`
		UserID   string  `json:"user_id"`
		Username string  `json:"username"`
		Model    string  `json:"model"`
		Calls    int64   `json:"calls"`
		Input    int64   `json:"input_tokens"`
		CostUSD  float64 `json:"cost_usd"`
	}
	var usage struct{ Usage []usageRow }
	e.call("GET", "/api/v1/gateway/usage", e.admin, nil, http.StatusOK, &usage)
	if len(usage.Usage) != 3 {
		t.Fatalf("%d usage rows, want 3: %+v", len(usage.Usage), usage.Usage)
	}
	e.call("GET", "/api/v1/gateway/usage?model=gpt-4o&user=alice", e.admin, nil, http.StatusOK, &usage)
	if len(usage.Usage) != 1 {
		t.Fatalf("%d usage rows, want 1: %+v", len(usage.Usage), usage.Usage)
	}
	if u := usage.Usage[0]; u.Username != "alice" || u.Calls != 1 || u.Input != 100 || u.CostUSD != 1.5 || u.Day != base.Format("2006-01-02") {
		t.Fatalf("usage row %+v", u)
	}
	e.call("GET", "/api/v1/gateway/usage", e.member, nil, http.StatusOK, &usage)
	for _, u := range usage.Usage {
		if u.UserID != e.memberID {
			t.Fatalf("member sees usage of %s", u.Username)
		}
	}
	if len(usage.Usage) != 2 {
		t.Fatalf("member sees %d usage rows, want 2", len(usage.Usage))
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	eb := e.fail("GET", "/api/v1/nope", e.admin, nil, http.StatusNotFound)
	if eb.Error.Code != "not_found" {
		t.Fatalf("code = %q", eb.Error.Code)
	}
	eb = e.fail("PUT", "/api/v1/users", e.admin, "{}", http.StatusMethodNotAllowed)
	if eb.Error.Code != "method_not_allowed" {
		t.Fatalf("code = %q", eb.Error.Code)
	}
	e.fail("DELETE", "/api/v1/me", "", nil, http.StatusMethodNotAllowed)
}
