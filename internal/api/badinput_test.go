package api

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createProvider("openai", "openai")
	var m modelJSON
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "openai", "model": "gpt-4o"}, http.StatusCreated, &m)

	past := e.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	huge := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
	models := "/api/v1/models/" + m.ID

	type tc struct {
		name    string
		method  string
		path    string
		body    string
		want    int
		mention string // the message must contain this
	}
	families := map[string][]tc{
		"login": {
			{"bad JSON", "POST", "/api/v1/auth/login", `{"username":`, 400, "body"},
			{"not an object", "POST", "/api/v1/auth/login", `["alice"]`, 400, "body"},
			{"empty body", "POST", "/api/v1/auth/login", ``, 400, "body"},
			{"unknown field", "POST", "/api/v1/auth/login", `{"username":"alice","password":"alice-password","admin":true}`, 400, "admin"},
			{"wrong type", "POST", "/api/v1/auth/login", `{"username":1,"password":"x"}`, 400, "username"},
			{"missing password", "POST", "/api/v1/auth/login", `{"username":"alice"}`, 400, "password"},
			{"empty key name", "POST", "/api/v1/auth/login", `{"username":"alice","password":"alice-password","key_name":""}`, 400, "key_name"},
			{"trailing data", "POST", "/api/v1/auth/login", `{"username":"alice","password":"alice-password"} {}`, 400, "body"},
			{"too large", "POST", "/api/v1/auth/login", huge, 413, "larger"},
		},
		"users": {
			{"bad JSON", "POST", "/api/v1/users", `{`, 400, "body"},
			{"unknown field", "POST", "/api/v1/users", `{"username":"bob","email":"b@x"}`, 400, "email"},
			{"wrong type", "POST", "/api/v1/users", `{"username":"bob","role":7}`, 400, "role: expected string"},
			{"missing username", "POST", "/api/v1/users", `{}`, 400, "username"},
			{"bad username", "POST", "/api/v1/users", `{"username":"Bob Smith"}`, 400, "username"},
			{"username starting with dot", "POST", "/api/v1/users", `{"username":".bob"}`, 400, "username"},
			{"long username", "POST", "/api/v1/users", `{"username":"` + strings.Repeat("b", 64) + `"}`, 400, "username"},
			{"bad role", "POST", "/api/v1/users", `{"username":"bob","role":"root"}`, 400, "role"},
			{"short password", "POST", "/api/v1/users", `{"username":"bob","password":"short"}`, 400, "password"},
			{"long password", "POST", "/api/v1/users", `{"username":"bob","password":"` + strings.Repeat("p", 73) + `"}`, 400, "password"},
			{"patch wrong type", "PATCH", "/api/v1/users/" + e.memberID, `{"suspended":"yes"}`, 400, "suspended: expected boolean"},
			{"patch unknown field", "PATCH", "/api/v1/users/" + e.memberID, `{"username":"renamed"}`, 400, "username"},
			{"patch bad role", "PATCH", "/api/v1/users/" + e.memberID, `{"role":"owner"}`, 400, "role"},
			{"too large", "POST", "/api/v1/users", huge, 413, "larger"},
		},
		"keys": {
			{"bad JSON", "POST", "/api/v1/keys", `name`, 400, "body"},
			{"unknown field", "POST", "/api/v1/keys", `{"name":"k","kind":"session"}`, 400, "kind"},
			{"wrong type", "POST", "/api/v1/keys", `{"name":["k"]}`, 400, "name: expected string"},
			{"missing name", "POST", "/api/v1/keys", `{}`, 400, "name"},
			{"long name", "POST", "/api/v1/keys", `{"name":"` + strings.Repeat("n", 101) + `"}`, 400, "name"},
			{"bad expiry", "POST", "/api/v1/keys", `{"name":"k","expires_at":"tomorrow"}`, 400, "expires_at"},
			{"past expiry", "POST", "/api/v1/keys", `{"name":"k","expires_at":"` + past + `"}`, 400, "expires_at"},
			{"expiry wrong type", "POST", "/api/v1/keys", `{"name":"k","expires_at":12}`, 400, "expires_at"},
			{"too large", "POST", "/api/v1/keys", huge, 413, "larger"},
		},
		"providers": {
			{"bad JSON", "POST", "/api/v1/providers", `{"name":"x",}`, 400, "body"},
			{"unknown field", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"https://x.example","region":"eu"}`, 400, "region"},
			{"wrong type", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"https://x.example","enabled":"true"}`, 400, "enabled: expected boolean"},
			{"missing name", "POST", "/api/v1/providers", `{"type":"openai","base_url":"https://x.example"}`, 400, "name"},
			{"missing type", "POST", "/api/v1/providers", `{"name":"x","base_url":"https://x.example"}`, 400, "type"},
			{"missing base_url", "POST", "/api/v1/providers", `{"name":"x","type":"openai"}`, 400, "base_url"},
			{"bad slug", "POST", "/api/v1/providers", `{"name":"My_Provider","type":"openai","base_url":"https://x.example"}`, 400, "name: must match"},
			{"trailing dash", "POST", "/api/v1/providers", `{"name":"x-","type":"openai","base_url":"https://x.example"}`, 400, "name"},
			{"long name", "POST", "/api/v1/providers", `{"name":"` + strings.Repeat("x", 64) + `","type":"openai","base_url":"https://x.example"}`, 400, "name"},
			{"unknown type", "POST", "/api/v1/providers", `{"name":"x","type":"gemini","base_url":"https://x.example"}`, 400, "type"},
			{"relative URL", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"/v1"}`, 400, "base_url"},
			{"port out of range", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"http://x:99999"}`, 400, "base_url: port"},
			{"port zero", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"http://x:0/v1"}`, 400, "base_url: port"},
			{"space in URL", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"http://x/ path"}`, 400, "base_url: must not contain spaces"},
			{"tab in URL", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"http://x/\tv1"}`, 400, "base_url"},
			{"ftp URL", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"ftp://x.example"}`, 400, "base_url"},
			{"no host", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"https://"}`, 400, "base_url"},
			{"query", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"https://x.example/v1?a=b"}`, 400, "base_url"},
			{"fragment", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"https://x.example/v1#f"}`, 400, "base_url"},
			{"userinfo", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"https://u:p@x.example"}`, 400, "base_url"},
			{"not a URL", "POST", "/api/v1/providers", `{"name":"x","type":"openai","base_url":"http://[::1"}`, 400, "base_url"},
			{"patch bad slug", "PATCH", "/api/v1/providers/openai", `{"name":"UPPER"}`, 400, "name"},
			{"patch bad URL", "PATCH", "/api/v1/providers/openai", `{"base_url":"x.example"}`, 400, "base_url"},
			{"patch type", "PATCH", "/api/v1/providers/openai", `{"type":"anthropic"}`, 400, "type"},
			{"patch wrong type", "PATCH", "/api/v1/providers/openai", `{"api_key":123}`, 400, "api_key: expected string"},
			{"too large", "POST", "/api/v1/providers", huge, 413, "larger"},
		},
		"models": {
			{"bad JSON", "POST", "/api/v1/models", `{"provider":"openai","model":"m"`, 400, "body"},
			{"unknown field", "POST", "/api/v1/models", `{"provider":"openai","model":"m","temperature":1}`, 400, "temperature"},
			{"wrong type", "POST", "/api/v1/models", `{"provider":"openai","model":"m","context_limit":"big"}`, 400, "context_limit: expected"},
			{"fractional limit", "POST", "/api/v1/models", `{"provider":"openai","model":"m","context_limit":1.5}`, 400, "context_limit"},
			{"price wrong type", "POST", "/api/v1/models", `{"provider":"openai","model":"m","prices":{"input":"1"}}`, 400, "prices.input: expected number"},
			{"price unknown field", "POST", "/api/v1/models", `{"provider":"openai","model":"m","prices":{"reasoning":1}}`, 400, "reasoning"},
			{"missing provider", "POST", "/api/v1/models", `{"model":"m"}`, 400, "provider"},
			{"missing model", "POST", "/api/v1/models", `{"provider":"openai"}`, 400, "model"},
			{"unknown provider", "POST", "/api/v1/models", `{"provider":"nope","model":"m"}`, 400, "provider"},
			{"negative price", "POST", "/api/v1/models", `{"provider":"openai","model":"m","prices":{"output":-1}}`, 400, "prices.output"},
			{"huge price", "POST", "/api/v1/models", `{"provider":"openai","model":"m","prices":{"input":1e999}}`, 400, "prices.input"},
			{"negative limit", "POST", "/api/v1/models", `{"provider":"openai","model":"m","context_limit":-1}`, 400, "context_limit"},
			{"patch negative price", "PATCH", models, `{"prices":{"cache_read":-0.5}}`, 400, "prices.cache_read"},
			{"patch unknown field", "PATCH", models, `{"model":"other"}`, 400, "model"},
			{"patch wrong type", "PATCH", models, `{"default":1}`, 400, "default: expected boolean"},
			{"threshold zero", "POST", "/api/v1/models", `{"provider":"openai","model":"m","compaction_threshold_percent":0}`, 400, "compaction_threshold_percent"},
			{"threshold over 100", "PATCH", models, `{"compaction_threshold_percent":101}`, 400, "compaction_threshold_percent"},
			{"threshold fraction", "PATCH", models, `{"compaction_threshold_percent":50.5}`, 400, "compaction_threshold_percent"},
			{"threshold string", "PATCH", models, `{"compaction_threshold_percent":"80"}`, 400, "compaction_threshold_percent"},
			{"responses wrong type", "PATCH", models, `{"use_responses_api":"yes"}`, 400, "use_responses_api"},
			{"bad all", "GET", "/api/v1/models?all=maybe", ``, 400, "all"},
			{"too large", "POST", "/api/v1/models", huge, 413, "larger"},
		},
		"provider keys": {
			{"bad JSON", "PUT", "/api/v1/provider-keys/openai", `"sk"`, 400, "body"},
			{"unknown field", "PUT", "/api/v1/provider-keys/openai", `{"api_key":"sk-123456789012","user_id":"x"}`, 400, "user_id"},
			{"wrong type", "PUT", "/api/v1/provider-keys/openai", `{"api_key":true}`, 400, "api_key: expected string"},
			{"missing key", "PUT", "/api/v1/provider-keys/openai", `{}`, 400, "api_key"},
			{"too large", "PUT", "/api/v1/provider-keys/openai", `{"api_key":"` + strings.Repeat("k", 2<<20) + `"}`, 413, "larger"},
		},
		"gateway": {
			{"bad since", "GET", "/api/v1/gateway/interceptions?since=yesterday", ``, 400, "since"},
			{"bad until", "GET", "/api/v1/gateway/interceptions?until=2024-13-01T00:00:00Z", ``, 400, "until"},
			{"until before since", "GET", "/api/v1/gateway/interceptions?since=2024-02-01T00:00:00Z&until=2024-01-01T00:00:00Z", ``, 400, "until"},
			{"bad before", "GET", "/api/v1/gateway/interceptions?before=1700000000", ``, 400, "before"},
			{"zero limit", "GET", "/api/v1/gateway/interceptions?limit=0", ``, 400, "limit"},
			{"big limit", "GET", "/api/v1/gateway/interceptions?limit=501", ``, 400, "limit"},
			{"text limit", "GET", "/api/v1/gateway/interceptions?limit=ten", ``, 400, "limit"},
			{"usage bad since", "GET", "/api/v1/gateway/usage?since=2024-01-01", ``, 400, "since"},
			{"usage bad until", "GET", "/api/v1/gateway/usage?until=now", ``, 400, "until"},
		},
	}
	for family, tests := range families {
		t.Run(family, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var body any
					if tt.body != "" || tt.method != "GET" {
						body = tt.body
					}
					eb := e.fail(tt.method, tt.path, e.admin, body, tt.want)
					t.Logf("%d %s", tt.want, eb.Error.Message)
					if !strings.Contains(eb.Error.Message, tt.mention) {
						t.Fatalf("message %q does not mention %q", eb.Error.Message, tt.mention)
					}
					wantCode := map[int]string{400: "invalid_request", 413: "too_large"}[tt.want]
					if eb.Error.Code != wantCode {
						t.Fatalf("code = %q, want %q", eb.Error.Code, wantCode)
					}
				})
			}
		})
	}

	// None of it changed anything.
	var users struct{ Users []userJSON }
	e.call("GET", "/api/v1/users", e.admin, nil, http.StatusOK, &users)
	if len(users.Users) != 2 {
		t.Fatalf("%d users after bad requests, want 2", len(users.Users))
	}
	var provs struct{ Providers []providerJSON }
	e.call("GET", "/api/v1/providers", e.admin, nil, http.StatusOK, &provs)
	if len(provs.Providers) != 1 || provs.Providers[0].BaseURL != "https://api.example.com/v1" {
		t.Fatalf("providers after bad requests: %+v", provs.Providers)
	}
}
