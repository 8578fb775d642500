package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/wire"
)

const testKey = "ckabcdefghijklmnop-s3cr3tS3cr3tS3cr3t"

// recorded is what the fake server saw of one request.
type recorded struct {
	method, path, rawPath, query, auth, contentType string
	body                                            map[string]any
}

// fakeServer answers every request with status and body, and hands what it
// saw to the test.
func fakeServer(t *testing.T, status int, body string) (*Client, <-chan recorded) {
	t.Helper()
	seen := make(chan recorded, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorded{
			method:      r.Method,
			path:        r.URL.Path,
			rawPath:     r.URL.EscapedPath(),
			query:       r.URL.RawQuery,
			auth:        r.Header.Get("Authorization"),
			contentType: r.Header.Get("Content-Type"),
		}
		b, _ := io.ReadAll(r.Body)
		if len(b) > 0 {
			if err := json.Unmarshal(b, &rec.body); err != nil {
				t.Errorf("request body is not JSON: %q", b)
			}
		}
		select {
		case seen <- rec:
		default:
			t.Errorf("unexpected second request %s %s", r.Method, r.URL)
		}
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL, secret.New(testKey), srv.Client()), seen
}

func ptr[T any](v T) *T { return &v }

func TestEndpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	since := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	userJSON := `{"id":"u1","username":"ada","role":"admin","suspended":false,"has_password":true,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}`
	keyJSON := `{"id":"ck1","name":"ci","kind":"api","created_at":"2025-01-01T00:00:00Z","expires_at":null,"last_used_at":null,"revoked_at":null}`
	provJSON := `{"id":"p1","name":"openai","type":"openai","base_url":"https://api.openai.com/v1","enabled":true,"has_api_key":true,"api_key_hint":"sk-a…wxyz","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}`
	modelJSON := `{"id":"m1","provider":"openai","provider_type":"openai","model":"gpt-4o","display_name":"GPT-4o","context_limit":128000,"prices":{"input":2.5,"output":10,"cache_read":null,"cache_write":null},"enabled":true,"default":false,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}`
	pkJSON := `{"provider":"openai","key_hint":"sk-u…1234","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}`

	tests := []struct {
		name       string
		status     int
		answer     string
		call       func(c *Client) (any, error)
		wantMethod string
		wantPath   string
		wantQuery  string
		wantBody   string // JSON, compared after decoding; "" means no body
		wantAuth   bool
		check      func(t *testing.T, got any)
	}{
		{
			name:   "login",
			status: 201,
			answer: `{"key":"ckx-sec","api_key":` + keyJSON + `,"user":` + userJSON + `}`,
			call: func(c *Client) (any, error) {
				return c.Login(ctx, LoginRequest{Username: "ada", Password: secret.New("hunter22"), KeyName: "cli"})
			},
			wantMethod: "POST", wantPath: "/api/v1/auth/login",
			wantBody: `{"username":"ada","password":"hunter22","key_name":"cli"}`,
			wantAuth: true,
			check: func(t *testing.T, got any) {
				s := got.(wire.Session)
				if s.Key.Reveal() != "ckx-sec" || s.User.Username != "ada" || s.APIKey.ID != "ck1" {
					t.Fatalf("session = %+v", s)
				}
			},
		},
		{
			name: "me", status: 200, answer: userJSON,
			call:       func(c *Client) (any, error) { return c.Me(ctx) },
			wantMethod: "GET", wantPath: "/api/v1/me", wantAuth: true,
			check: func(t *testing.T, got any) {
				u := got.(wire.User)
				want := wire.User{ID: "u1", Username: "ada", Role: "admin", HasPassword: true,
					CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
				if u != want {
					t.Fatalf("user = %+v, want %+v", u, want)
				}
			},
		},
		{
			name: "users", status: 200, answer: `{"users":[` + userJSON + `]}`,
			call:       func(c *Client) (any, error) { return c.Users(ctx) },
			wantMethod: "GET", wantPath: "/api/v1/users", wantAuth: true,
			check: func(t *testing.T, got any) {
				if us := got.([]wire.User); len(us) != 1 || us[0].ID != "u1" {
					t.Fatalf("users = %+v", us)
				}
			},
		},
		{
			name: "create user", status: 201, answer: userJSON,
			call: func(c *Client) (any, error) {
				return c.CreateUser(ctx, CreateUserRequest{Username: "bob", Role: "member", Password: secret.New("pw-123456")})
			},
			wantMethod: "POST", wantPath: "/api/v1/users", wantAuth: true,
			wantBody: `{"username":"bob","role":"member","password":"pw-123456"}`,
		},
		{
			name: "create user without password", status: 201, answer: userJSON,
			call: func(c *Client) (any, error) {
				return c.CreateUser(ctx, CreateUserRequest{Username: "bob"})
			},
			wantMethod: "POST", wantPath: "/api/v1/users", wantAuth: true,
			wantBody: `{"username":"bob"}`,
		},
		{
			name: "get user", status: 200, answer: userJSON,
			call:       func(c *Client) (any, error) { return c.GetUser(ctx, "u1") },
			wantMethod: "GET", wantPath: "/api/v1/users/u1", wantAuth: true,
		},
		{
			name: "update user", status: 200, answer: userJSON,
			call: func(c *Client) (any, error) {
				return c.UpdateUser(ctx, "u1", UpdateUserRequest{Suspended: ptr(false), Password: ptr(secret.New("newpass1"))})
			},
			wantMethod: "PATCH", wantPath: "/api/v1/users/u1", wantAuth: true,
			wantBody: `{"suspended":false,"password":"newpass1"}`,
		},
		{
			name: "keys", status: 200, answer: `{"api_keys":[` + keyJSON + `]}`,
			call:       func(c *Client) (any, error) { return c.Keys(ctx) },
			wantMethod: "GET", wantPath: "/api/v1/keys", wantAuth: true,
			check: func(t *testing.T, got any) {
				if ks := got.([]wire.APIKey); len(ks) != 1 || ks[0].ExpiresAt != nil || ks[0].Kind != "api" {
					t.Fatalf("keys = %+v", ks)
				}
			},
		},
		{
			name: "create key", status: 201, answer: `{"key":"ck1-abc","api_key":` + keyJSON + `}`,
			call: func(c *Client) (any, error) {
				return c.CreateKey(ctx, CreateKeyRequest{Name: "ci", ExpiresAt: &since})
			},
			wantMethod: "POST", wantPath: "/api/v1/keys", wantAuth: true,
			wantBody: `{"name":"ci","expires_at":"2025-01-02T03:04:05Z"}`,
			check: func(t *testing.T, got any) {
				k := got.(wire.NewKey)
				if k.Key.Reveal() != "ck1-abc" {
					t.Fatalf("key = %q", k.Key.Reveal())
				}
				if s := fmt.Sprintf("%v %+v", k, k); strings.Contains(s, "ck1-abc") {
					t.Fatalf("printing a NewKey leaks the key: %s", s)
				}
			},
		},
		{
			name: "revoke key", status: 204,
			call:       func(c *Client) (any, error) { return nil, c.RevokeKey(ctx, "ck1") },
			wantMethod: "DELETE", wantPath: "/api/v1/keys/ck1", wantAuth: true,
		},
		{
			name: "providers", status: 200, answer: `{"providers":[` + provJSON + `]}`,
			call:       func(c *Client) (any, error) { return c.Providers(ctx) },
			wantMethod: "GET", wantPath: "/api/v1/providers", wantAuth: true,
			check: func(t *testing.T, got any) {
				if ps := got.([]wire.Provider); len(ps) != 1 || ps[0].APIKeyHint != "sk-a…wxyz" || !ps[0].HasAPIKey {
					t.Fatalf("providers = %+v", ps)
				}
			},
		},
		{
			name: "create provider", status: 201, answer: provJSON,
			call: func(c *Client) (any, error) {
				return c.CreateProvider(ctx, CreateProviderRequest{Name: "openai", Type: "openai", BaseURL: "https://x", Enabled: ptr(false), APIKey: secret.New("sk-central")})
			},
			wantMethod: "POST", wantPath: "/api/v1/providers", wantAuth: true,
			wantBody: `{"name":"openai","type":"openai","base_url":"https://x","enabled":false,"api_key":"sk-central"}`,
		},
		{
			name: "get provider escapes the name", status: 200, answer: provJSON,
			call:       func(c *Client) (any, error) { return c.GetProvider(ctx, "a/b c") },
			wantMethod: "GET", wantPath: "/api/v1/providers/a/b c", wantAuth: true,
		},
		{
			name: "update provider clears the key", status: 200, answer: provJSON,
			call: func(c *Client) (any, error) {
				return c.UpdateProvider(ctx, "openai", UpdateProviderRequest{BaseURL: ptr("https://y"), APIKey: &secret.Value{}})
			},
			wantMethod: "PATCH", wantPath: "/api/v1/providers/openai", wantAuth: true,
			wantBody: `{"base_url":"https://y","api_key":""}`,
		},
		{
			name: "delete provider", status: 204,
			call:       func(c *Client) (any, error) { return nil, c.DeleteProvider(ctx, "openai") },
			wantMethod: "DELETE", wantPath: "/api/v1/providers/openai", wantAuth: true,
		},
		{
			name: "models all", status: 200, answer: `{"models":[` + modelJSON + `]}`,
			call:       func(c *Client) (any, error) { return c.Models(ctx, ModelsOptions{All: true}) },
			wantMethod: "GET", wantPath: "/api/v1/models", wantQuery: "all=true", wantAuth: true,
			check: func(t *testing.T, got any) {
				ms := got.([]wire.Model)
				if len(ms) != 1 || *ms[0].Prices.Input != 2.5 || ms[0].Prices.CacheRead != nil || ms[0].ContextLimit != 128000 {
					t.Fatalf("models = %+v", ms)
				}
			},
		},
		{
			name: "get model", status: 200, answer: modelJSON,
			call:       func(c *Client) (any, error) { return c.GetModel(ctx, "m1") },
			wantMethod: "GET", wantPath: "/api/v1/models/m1", wantAuth: true,
		},
		{
			name: "create model", status: 201, answer: modelJSON,
			call: func(c *Client) (any, error) {
				return c.CreateModel(ctx, CreateModelRequest{Provider: "openai", Model: "gpt-4o", Prices: &wire.Prices{Input: ptr(2.5)}, Default: true})
			},
			wantMethod: "POST", wantPath: "/api/v1/models", wantAuth: true,
			wantBody: `{"provider":"openai","model":"gpt-4o","prices":{"input":2.5,"output":null,"cache_read":null,"cache_write":null},"default":true}`,
		},
		{
			name: "update model", status: 200, answer: modelJSON,
			call: func(c *Client) (any, error) {
				return c.UpdateModel(ctx, "m1", UpdateModelRequest{Enabled: ptr(false), ContextLimit: ptr(int64(1000))})
			},
			wantMethod: "PATCH", wantPath: "/api/v1/models/m1", wantAuth: true,
			wantBody: `{"context_limit":1000,"enabled":false}`,
		},
		{
			name: "delete model", status: 204,
			call:       func(c *Client) (any, error) { return nil, c.DeleteModel(ctx, "m1") },
			wantMethod: "DELETE", wantPath: "/api/v1/models/m1", wantAuth: true,
		},
		{
			name: "provider keys", status: 200, answer: `{"provider_keys":[` + pkJSON + `]}`,
			call:       func(c *Client) (any, error) { return c.ProviderKeys(ctx) },
			wantMethod: "GET", wantPath: "/api/v1/provider-keys", wantAuth: true,
		},
		{
			name: "put provider key", status: 200, answer: pkJSON,
			call: func(c *Client) (any, error) {
				return c.PutProviderKey(ctx, "openai", secret.New("sk-user-1234"))
			},
			wantMethod: "PUT", wantPath: "/api/v1/provider-keys/openai", wantAuth: true,
			wantBody: `{"api_key":"sk-user-1234"}`,
			check: func(t *testing.T, got any) {
				if pk := got.(wire.ProviderKey); pk.KeyHint != "sk-u…1234" {
					t.Fatalf("provider key = %+v", pk)
				}
			},
		},
		{
			name: "delete provider key", status: 204,
			call:       func(c *Client) (any, error) { return nil, c.DeleteProviderKey(ctx, "openai") },
			wantMethod: "DELETE", wantPath: "/api/v1/provider-keys/openai", wantAuth: true,
		},
		{
			name: "interceptions", status: 200,
			answer: `{"interceptions":[{"id":"i1","usage":{"input_tokens":3},"tool_calls":[{"id":"t","name":"f","arguments":"{}"}],"ttfb_ms":12.5,"cost_usd":null}]}`,
			call: func(c *Client) (any, error) {
				return c.Interceptions(ctx, InterceptionFilter{User: "u1", Chat: "c1", Since: since, Limit: 5})
			},
			wantMethod: "GET", wantPath: "/api/v1/gateway/interceptions",
			wantQuery: "chat=c1&limit=5&since=2025-01-02T03%3A04%3A05Z&user=u1", wantAuth: true,
			check: func(t *testing.T, got any) {
				is := got.([]wire.Interception)
				if len(is) != 1 || is[0].Usage.InputTokens != 3 || is[0].CostUSD != nil || is[0].TTFBMillis != 12.5 || is[0].ToolCalls[0].Name != "f" {
					t.Fatalf("interceptions = %+v", is)
				}
			},
		},
		{
			name: "interception", status: 200, answer: `{"id":"i1","cost_usd":0.25}`,
			call:       func(c *Client) (any, error) { return c.Interception(ctx, "i1") },
			wantMethod: "GET", wantPath: "/api/v1/gateway/interceptions/i1", wantAuth: true,
			check: func(t *testing.T, got any) {
				if i := got.(wire.Interception); *i.CostUSD != 0.25 {
					t.Fatalf("interception = %+v", i)
				}
			},
		},
		{
			name: "usage", status: 200,
			answer: `{"usage":[{"day":"2025-01-02","user_id":"u1","username":"ada","model":"gpt-4o","calls":2,"input_tokens":10,"output_tokens":20,"cache_read_tokens":1,"cache_write_tokens":2,"reasoning_tokens":3,"cost_usd":0.5}]}`,
			call: func(c *Client) (any, error) {
				return c.Usage(ctx, UsageFilter{Model: "gpt-4o", Provider: "openai", Until: since})
			},
			wantMethod: "GET", wantPath: "/api/v1/gateway/usage",
			wantQuery: "model=gpt-4o&provider=openai&until=2025-01-02T03%3A04%3A05Z", wantAuth: true,
			check: func(t *testing.T, got any) {
				want := wire.UsageRow{Day: "2025-01-02", UserID: "u1", Username: "ada", Model: "gpt-4o", Calls: 2,
					InputTokens: 10, OutputTokens: 20, CacheReadTokens: 1, CacheWriteTokens: 2, ReasoningTokens: 3, CostUSD: 0.5}
				if rows := got.([]wire.UsageRow); len(rows) != 1 || rows[0] != want {
					t.Fatalf("usage = %+v, want %+v", rows, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, seen := fakeServer(t, tt.status, tt.answer)
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			rec := <-seen
			if rec.method != tt.wantMethod || rec.path != tt.wantPath || rec.query != tt.wantQuery {
				t.Fatalf("request = %s %s ?%s, want %s %s ?%s", rec.method, rec.path, rec.query, tt.wantMethod, tt.wantPath, tt.wantQuery)
			}
			if tt.wantAuth && rec.auth != "Bearer "+testKey {
				t.Fatalf("Authorization = %q", rec.auth)
			}
			if tt.wantBody == "" {
				if rec.body != nil {
					t.Fatalf("unexpected body %v", rec.body)
				}
			} else {
				var want map[string]any
				if err := json.Unmarshal([]byte(tt.wantBody), &want); err != nil {
					t.Fatal(err)
				}
				gotB, _ := json.Marshal(rec.body)
				wantB, _ := json.Marshal(want)
				if string(gotB) != string(wantB) {
					t.Fatalf("body = %s, want %s", gotB, wantB)
				}
				if rec.contentType != "application/json" {
					t.Fatalf("Content-Type = %q", rec.contentType)
				}
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestPathEscaping(t *testing.T) {
	t.Parallel()
	c, seen := fakeServer(t, 204, "")
	if err := c.DeleteProvider(context.Background(), "a/b?c"); err != nil {
		t.Fatal(err)
	}
	if rec := <-seen; rec.rawPath != "/api/v1/providers/a%2Fb%3Fc" || rec.query != "" {
		t.Fatalf("path = %q query = %q", rec.rawPath, rec.query)
	}
}

func TestBaseURLWithPrefix(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.URL.Path
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	c := New(srv.URL+"/chatd/", secret.New(testKey), srv.Client())
	if err := c.RevokeKey(context.Background(), "ck1"); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != "/chatd/api/v1/keys/ck1" {
		t.Fatalf("path = %q", got)
	}
}

func TestNoKeyNoAuthorization(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("Authorization")
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	if err := New(srv.URL, secret.Value{}, srv.Client()).RevokeKey(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != "" {
		t.Fatalf("Authorization = %q, want none", got)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        APIError
	}{
		{
			name: "api error", status: 401, contentType: "application/json",
			body: `{"error":{"code":"unauthenticated","message":"invalid API key"}}`,
			want: APIError{Status: 401, Code: "unauthenticated", Message: "invalid API key"},
		},
		{
			name: "json error without content type", status: 409, contentType: "text/plain",
			body: `{"error":{"code":"conflict","message":"name taken"}}`,
			want: APIError{Status: 409, Code: "conflict", Message: "name taken"},
		},
		{
			name: "html from a proxy", status: 502, contentType: "text/html",
			body: `<html><body>Bad gateway</body></html>`,
			want: APIError{Status: 502, Message: "server returned 502 Bad Gateway"},
		},
		{
			name: "json that is not a chatd error", status: 500, contentType: "application/json",
			body: `{"detail":"boom"}`,
			want: APIError{Status: 500, Message: "server returned 500 Internal Server Error"},
		},
		{
			name: "empty body", status: 404,
			want: APIError{Status: 404, Message: "server returned 404 Not Found"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			_, err := New(srv.URL, secret.New(testKey), srv.Client()).Me(context.Background())
			ae, ok := errors.AsType[*APIError](err)
			if !ok {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if *ae != tt.want {
				t.Fatalf("err = %+v, want %+v", *ae, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want.Message) {
				t.Fatalf("message %q lacks %q", err, tt.want.Message)
			}
			if tt.want.Code != "" && !strings.Contains(err.Error(), tt.want.Code) {
				t.Fatalf("message %q lacks code %q", err, tt.want.Code)
			}
			if ErrorCode(err) != tt.want.Code {
				t.Fatalf("ErrorCode = %q", ErrorCode(err))
			}
			if strings.Contains(err.Error(), testKey) {
				t.Fatalf("error leaks the key: %v", err)
			}
		})
	}
}

func TestTransportErrorHidesKey(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens any more
	_, err := New(addr, secret.New(testKey), ownClient()).Me(context.Background())
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error leaks the key: %v", err)
	}
}

func TestInvalidBaseURL(t *testing.T) {
	t.Parallel()
	_, err := New("not a url", secret.New(testKey), ownClient()).Me(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid server URL") {
		t.Fatalf("err = %v", err)
	}
}

// ownClient returns a client with a transport of its own. Tests never use
// http.DefaultTransport: httptest.Server.Close closes its idle connections,
// which breaks a request another parallel test has in flight on it.
func ownClient() *http.Client {
	return &http.Client{Transport: &http.Transport{}}
}
