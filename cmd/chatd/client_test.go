package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/api"
	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
)

// execCLI runs one client command line as main would, with env as the
// whole environment and stdin as standard input.
func execCLI(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	c := &cli{getenv: func(k string) string { return env[k] }, now: time.Now}
	root := &cobra.Command{Use: "chatd", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(c.commands()...)
	var out, errb bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

// mustCLI is execCLI for command lines that must succeed.
func mustCLI(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := execCLI(t, env, stdin, args...)
	if err != nil {
		t.Fatalf("chatd %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// decodeJSON fails the test unless out is one JSON value.
func decodeJSON[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output is not the expected JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("output holds more than one JSON value:\n%s", out)
	}
	return v
}

// realServer is the real HTTP API over a SQLite store, with one admin
// whose password is adminPassword.
type realServer struct {
	url   string
	db    *sqlite.DB
	admin store.User
}

const adminPassword = "admin-password-1"

func newRealServer(t *testing.T) *realServer {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "chatd.db"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	hash, err := auth.HashPassword(adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := db.CreateUser(ctx, store.User{Username: "admin", Role: store.RoleAdmin, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := secret.NewKeyring(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Config{
		Store:     db,
		Auth:      auth.New(auth.Config{Store: db, Logger: log}),
		Keyring:   kr,
		Logger:    log,
		AllowBYOK: true,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &realServer{url: srv.URL, db: db, admin: admin}
}

// TestEndToEnd drives the CLI against the real API: log in, manage keys,
// providers, models and provider keys, read usage, log out.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	s := newRealServer(t)
	cfgDir := filepath.Join(t.TempDir(), "cfg")
	env := map[string]string{"CHATD_URL": s.url, "CHATD_CONFIG_DIR": cfgDir}

	// Log in.
	out := mustCLI(t, env, adminPassword+"\n", "login", "--username", "admin", "--password-stdin")
	if !strings.Contains(out, "Logged in to "+s.url+" as admin (admin)") {
		t.Fatalf("login said %q", out)
	}
	credPath := filepath.Join(cfgDir, "credentials.json")
	fi, err := os.Stat(credPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("credentials mode = %v, want 0600", got)
	}
	di, err := os.Stat(cfgDir)
	if err != nil {
		t.Fatal(err)
	}
	if got := di.Mode().Perm(); got != 0o700 {
		t.Fatalf("config dir mode = %v, want 0700", got)
	}
	b, err := os.ReadFile(credPath)
	if err != nil {
		t.Fatal(err)
	}
	cr := decodeJSON[credentials](t, string(b))
	if cr.URL != s.url || !strings.HasPrefix(cr.APIKey, "ck") {
		t.Fatalf("credentials = {url: %q, api_key: %d chars}", cr.URL, len(cr.APIKey))
	}
	// The saved login is enough from now on, even without CHATD_URL.
	env = map[string]string{"CHATD_CONFIG_DIR": cfgDir}

	// Keys.
	keyOut, keyErr, err := execCLI(t, env, "", "keys", "create", "ci", "--expires", "720h")
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	ciKey := strings.TrimSpace(keyOut)
	if !strings.HasPrefix(ciKey, "ck") || strings.Contains(ciKey, "\n") {
		t.Fatalf("keys create printed %q, want the key alone", keyOut)
	}
	if !strings.Contains(keyErr, "shown only once") {
		t.Fatalf("keys create note = %q", keyErr)
	}
	ciID, _, err := auth.SplitKey(ciKey)
	if err != nil {
		t.Fatal(err)
	}
	keys := decodeJSON[struct {
		APIKeys []struct {
			ID        string     `json:"id"`
			Name      string     `json:"name"`
			Kind      string     `json:"kind"`
			CreatedAt time.Time  `json:"created_at"`
			ExpiresAt *time.Time `json:"expires_at"`
			LastUsed  *time.Time `json:"last_used_at"`
			RevokedAt *time.Time `json:"revoked_at"`
		} `json:"api_keys"`
	}](t, mustCLI(t, env, "", "keys", "ls", "--json"))
	var kinds []string
	for _, k := range keys.APIKeys {
		kinds = append(kinds, k.Kind+":"+k.Name)
		if k.ID == ciID && (k.ExpiresAt == nil || k.ExpiresAt.Before(time.Now().Add(719*time.Hour))) {
			t.Fatalf("ci key expires %v, want in 720h", k.ExpiresAt)
		}
	}
	slices.Sort(kinds)
	if len(kinds) != 2 || kinds[0] != "api:ci" || !strings.HasPrefix(kinds[1], "session:") {
		t.Fatalf("keys = %v, want the ci key and the session", kinds)
	}
	if out := mustCLI(t, env, "", "keys", "ls"); !strings.Contains(out, "NAME") || !strings.Contains(out, ciID) {
		t.Fatalf("keys ls table:\n%s", out)
	}
	// The new key works on its own.
	if out := mustCLI(t, map[string]string{"CHATD_URL": s.url, "CHATD_API_KEY": ciKey}, "", "keys", "ls"); !strings.Contains(out, ciID) {
		t.Fatalf("keys ls with the ci key:\n%s", out)
	}

	// Providers.
	out = mustCLI(t, env, "sk-central-0123456789\n", "providers", "create", "openai",
		"--type", "openai", "--base-url", "https://api.openai.com/v1", "--api-key-stdin")
	if !strings.Contains(out, "Central key:") || !strings.Contains(out, "6789") || strings.Contains(out, "sk-central-0123456789") {
		t.Fatalf("providers create:\n%s", out)
	}
	provs := decodeJSON[map[string][]map[string]any](t, mustCLI(t, env, "", "providers", "ls", "--json"))
	if len(provs["providers"]) != 1 || provs["providers"][0]["name"] != "openai" || provs["providers"][0]["has_api_key"] != true {
		t.Fatalf("providers = %v", provs)
	}
	out = mustCLI(t, env, "", "providers", "update", "openai", "--disable", "--clear-api-key")
	if !strings.Contains(out, "Enabled:") || !strings.Contains(out, "Central key: none") {
		t.Fatalf("providers update:\n%s", out)
	}
	mustCLI(t, env, "", "providers", "update", "openai", "--enable")
	if out := mustCLI(t, env, "", "providers", "show", "openai"); !strings.Contains(out, "https://api.openai.com/v1") {
		t.Fatalf("providers show:\n%s", out)
	}

	// Models.
	m := decodeJSON[struct {
		ID     string `json:"id"`
		Prices struct {
			Input  *float64 `json:"input"`
			Output *float64 `json:"output"`
		} `json:"prices"`
		Default bool `json:"default"`
	}](t, mustCLI(t, env, "", "models", "create", "--provider", "openai", "--model", "gpt-4o",
		"--input-price", "2.5", "--output-price", "10", "--default", "--json"))
	if m.ID == "" || m.Prices.Input == nil || *m.Prices.Input != 2.5 || !m.Default {
		t.Fatalf("model = %+v", m)
	}
	out = mustCLI(t, env, "", "models", "update", m.ID, "--output-price", "12", "--display-name", "GPT 4o")
	if !strings.Contains(out, "GPT 4o") || !strings.Contains(out, "2.5") || !strings.Contains(out, "12") {
		t.Fatalf("models update kept the input price? \n%s", out)
	}
	if out := mustCLI(t, env, "", "models", "ls"); !strings.Contains(out, "gpt-4o") || !strings.Contains(out, "CONTEXT") {
		t.Fatalf("models ls:\n%s", out)
	}
	models := decodeJSON[map[string][]map[string]any](t, mustCLI(t, env, "", "models", "ls", "--all", "--json"))
	if len(models["models"]) != 1 {
		t.Fatalf("models = %v", models)
	}

	// Provider keys (BYOK).
	out = mustCLI(t, env, "sk-user-abcdef987654\n", "provider-keys", "set", "openai", "--key-stdin")
	if !strings.Contains(out, "openai") || strings.Contains(out, "sk-user-abcdef987654") {
		t.Fatalf("provider-keys set:\n%s", out)
	}
	pks := decodeJSON[map[string][]map[string]any](t, mustCLI(t, env, "", "provider-keys", "ls", "--json"))
	if len(pks["provider_keys"]) != 1 || pks["provider_keys"][0]["provider"] != "openai" {
		t.Fatalf("provider keys = %v", pks)
	}
	mustCLI(t, env, "", "provider-keys", "rm", "openai")
	if out := mustCLI(t, env, "", "provider-keys", "ls", "--json"); strings.TrimSpace(out) != `{
  "provider_keys": []
}` {
		t.Fatalf("provider keys after rm = %s", out)
	}

	// Usage.
	day := time.Now().UTC().Add(-time.Hour)
	cost := int64(1_250_000) // $1.25
	for range 2 {
		_, err := s.db.CreateInterception(t.Context(), store.Interception{
			UserID: s.admin.ID, APIKeyID: ciID, ProviderName: "openai", ProviderType: store.ProviderOpenAI,
			Endpoint: "/v1/chat/completions", Model: "gpt-4o", Source: store.SourceExternal,
			CredentialKind: store.CredentialCentral, Status: 200, StartedAt: day, EndedAt: day.Add(time.Second),
			Usage: store.Usage{Input: 1000, Output: 200}, CostMicros: &cost,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	out = mustCLI(t, env, "", "usage", "--since", "2d")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "admin") || !strings.Contains(lines[1], "gpt-4o") {
		t.Fatalf("usage:\n%s", out)
	}
	total := strings.Fields(lines[2])
	if want := []string{"TOTAL", "2", "2,000", "400", "0", "0", "0", "$2.5000"}; !slices.Equal(total, want) {
		t.Fatalf("total line = %q, want %q", total, want)
	}
	usage := decodeJSON[map[string][]map[string]any](t, mustCLI(t, env, "", "usage", "--json", "--user", "admin", "--model", "gpt-4o"))
	if len(usage["usage"]) != 1 || usage["usage"][0]["calls"] != 2.0 {
		t.Fatalf("usage = %v", usage)
	}

	// Users.
	u := decodeJSON[map[string]any](t, mustCLI(t, env, "bob-password-1\n", "users", "create", "bob", "--password-stdin", "--json"))
	bobID, _ := u["id"].(string)
	if bobID == "" || u["role"] != "member" || u["has_password"] != true {
		t.Fatalf("user = %v", u)
	}
	if out := mustCLI(t, env, "", "users", "set-role", "bob", "admin"); !strings.Contains(out, bobID) || !strings.Contains(out, "admin") {
		t.Fatalf("set-role by username:\n%s", out)
	}
	mustCLI(t, env, "", "users", "suspend", bobID)
	out = mustCLI(t, env, "", "users", "ls")
	if !strings.Contains(out, "bob") || !strings.Contains(out, "SUSPENDED") {
		t.Fatalf("users ls:\n%s", out)
	}
	mustCLI(t, env, "", "users", "unsuspend", bobID)
	if _, _, err := execCLI(t, env, "", "users", "suspend", "nobody"); err == nil || !strings.HasSuffix(err.Error(), "(not_found)") {
		t.Fatalf("suspend nobody: err = %v", err)
	}
	mustCLI(t, env, "bob-password-2\n", "users", "reset-password", bobID, "--password-stdin")
	bobEnv := map[string]string{"CHATD_URL": s.url, "CHATD_CONFIG_DIR": t.TempDir()}
	mustCLI(t, bobEnv, "bob-password-2\n", "login", "--username", "bob", "--password-stdin")

	// A revoked key gives a readable error that does not show the key.
	mustCLI(t, env, "", "keys", "revoke", ciID)
	_, _, err = execCLI(t, map[string]string{"CHATD_URL": s.url, "CHATD_API_KEY": ciKey}, "", "keys", "ls")
	if err == nil || !strings.Contains(err.Error(), "(unauthenticated)") || !strings.Contains(err.Error(), "chatd login") {
		t.Fatalf("revoked key: err = %v", err)
	}
	if strings.Contains(err.Error(), ciKey) {
		t.Fatalf("error shows the key: %v", err)
	}

	// Log out: the session key dies and the file goes.
	mustCLI(t, env, "", "logout")
	if _, err := os.Stat(credPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("credentials file after logout: %v", err)
	}
	_, _, err = execCLI(t, env, "", "keys", "ls")
	if !errors.Is(err, errNotLoggedIn) {
		t.Fatalf("after logout: err = %v, want errNotLoggedIn", err)
	}
	_, _, err = execCLI(t, map[string]string{"CHATD_URL": s.url, "CHATD_API_KEY": cr.APIKey}, "", "keys", "ls")
	if err == nil || !strings.Contains(err.Error(), "unauthenticated") {
		t.Fatalf("session key after logout: err = %v, want unauthenticated", err)
	}
}

func TestLoginWrongPassword(t *testing.T) {
	t.Parallel()
	s := newRealServer(t)
	cfgDir := t.TempDir()
	env := map[string]string{"CHATD_URL": s.url, "CHATD_CONFIG_DIR": cfgDir}
	_, _, err := execCLI(t, env, "not-the-password\n", "login", "--username", "admin", "--password-stdin")
	if err == nil || !strings.HasPrefix(err.Error(), "log in: ") || !strings.Contains(err.Error(), "(unauthenticated)") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "not-the-password") {
		t.Fatalf("error shows the password: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfgDir, "credentials.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("credentials written after a failed login: %v", err)
	}
}

func TestMemberForbidden(t *testing.T) {
	t.Parallel()
	s := newRealServer(t)
	adminEnv := map[string]string{"CHATD_URL": s.url, "CHATD_CONFIG_DIR": t.TempDir()}
	mustCLI(t, adminEnv, adminPassword, "login", "--username", "admin", "--password-stdin")
	mustCLI(t, adminEnv, "member-password-1", "users", "create", "eve", "--password-stdin")
	eveEnv := map[string]string{"CHATD_URL": s.url, "CHATD_CONFIG_DIR": t.TempDir()}
	mustCLI(t, eveEnv, "member-password-1", "login", "--username", "eve", "--password-stdin")
	_, _, err := execCLI(t, eveEnv, "", "providers", "ls")
	if err == nil || !strings.HasPrefix(err.Error(), "list providers: ") || !strings.HasSuffix(err.Error(), "(forbidden)") {
		t.Fatalf("err = %v, want a forbidden error", err)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	withFile := t.TempDir()
	if err := os.WriteFile(filepath.Join(withFile, "credentials.json"),
		[]byte(`{"url":"https://saved.example/","api_key":"ck1-saved"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "credentials.json"), []byte(`{`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		flagURL  string
		flagKey  string
		env      map[string]string
		wantURL  string
		wantKey  string
		wantErr  string
		wantSame error
	}{
		{
			name: "saved login", env: map[string]string{"CHATD_CONFIG_DIR": withFile},
			wantURL: "https://saved.example", wantKey: "ck1-saved",
		},
		{
			name:    "environment beats the file",
			env:     map[string]string{"CHATD_CONFIG_DIR": withFile, "CHATD_URL": "http://env:1", "CHATD_API_KEY": "ck1-env"},
			wantURL: "http://env:1", wantKey: "ck1-env",
		},
		{
			name: "flags beat the environment", flagURL: "http://flag:2/", flagKey: "ck1-flag",
			env:     map[string]string{"CHATD_URL": "http://env:1", "CHATD_API_KEY": "ck1-env"},
			wantURL: "http://flag:2", wantKey: "ck1-flag",
		},
		{
			name:    "key from env, URL from the file",
			env:     map[string]string{"CHATD_CONFIG_DIR": withFile, "CHATD_API_KEY": "ck1-env"},
			wantURL: "https://saved.example", wantKey: "ck1-env",
		},
		{
			name: "saved key is not sent to another server", flagURL: "http://other:3",
			env:     map[string]string{"CHATD_CONFIG_DIR": withFile},
			wantErr: "not logged in to http://other:3: run `chatd login --url http://other:3` or set CHATD_API_KEY",
		},
		{
			name: "same server with a trailing slash", flagURL: "https://saved.example/",
			env:     map[string]string{"CHATD_CONFIG_DIR": withFile},
			wantURL: "https://saved.example", wantKey: "ck1-saved",
		},
		{
			name: "default URL with a key", env: map[string]string{"CHATD_CONFIG_DIR": t.TempDir(), "CHATD_API_KEY": "ck1-env"},
			wantURL: defaultURL, wantKey: "ck1-env",
		},
		{
			name: "nothing at all", env: map[string]string{"CHATD_CONFIG_DIR": t.TempDir()},
			wantSame: errNotLoggedIn,
		},
		{
			name: "broken file", env: map[string]string{"CHATD_CONFIG_DIR": broken},
			wantErr: "read credentials " + filepath.Join(broken, "credentials.json"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &cli{url: tt.flagURL, apiKey: tt.flagKey, getenv: func(k string) string { return tt.env[k] }}
			u, key, err := c.resolve()
			switch {
			case tt.wantSame != nil:
				if !errors.Is(err, tt.wantSame) {
					t.Fatalf("err = %v, want %v", err, tt.wantSame)
				}
			case tt.wantErr != "":
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if u != tt.wantURL || key.Reveal() != tt.wantKey {
					t.Fatalf("resolve = %q, %q; want %q, %q", u, key.Reveal(), tt.wantURL, tt.wantKey)
				}
			}
		})
	}
}

// fakeAPI answers every request with status, contentType and body.
func fakeAPI(t *testing.T, status int, contentType, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name    string
		url     string
		args    []string
		stdin   string
		want    string
		wantSub string
	}{
		{
			name: "proxy page",
			url:  fakeAPI(t, 502, "text/html", "<html>bad gateway</html>"),
			args: []string{"keys", "ls"},
			want: "list keys: server returned 502 Bad Gateway",
		},
		{
			name: "api error",
			url:  fakeAPI(t, 409, "application/json", `{"error":{"code":"conflict","message":"provider name taken"}}`),
			args: []string{"providers", "create", "x", "--type", "openai", "--base-url", "http://u"},
			want: "create provider: provider name taken (conflict)",
		},
		{
			name:    "nobody listening",
			url:     closedURL,
			args:    []string{"models", "ls"},
			wantSub: "list models: cannot reach chatd at " + closedURL + ": ",
		},
		{
			name: "secret needs a terminal or stdin",
			url:  fakeAPI(t, 500, "application/json", `{}`),
			args: []string{"provider-keys", "set", "openai"},
			want: "stdin is not a terminal: use --key-stdin",
		},
		{
			name:  "empty secret on stdin",
			url:   fakeAPI(t, 500, "application/json", `{}`),
			args:  []string{"provider-keys", "set", "openai", "--key-stdin"},
			stdin: "\n",
			want:  "read stdin: empty",
		},
		{
			name: "nothing to update",
			url:  fakeAPI(t, 500, "application/json", `{}`),
			args: []string{"providers", "update", "openai"},
			want: "nothing to update: give at least one flag",
		},
		{
			name: "bad price",
			url:  fakeAPI(t, 500, "application/json", `{}`),
			args: []string{"models", "create", "--provider", "p", "--model", "m", "--input-price", "cheap"},
			want: `--input-price: "cheap" is not a price: want a number of dollars per million tokens, or unknown`,
		},
		{
			name: "bad expiry",
			url:  fakeAPI(t, 500, "application/json", `{}`),
			args: []string{"keys", "create", "k", "--expires", "soon"},
			want: `--expires "soon": want RFC 3339 (2025-01-02T15:04:05Z), a date (2025-01-02) or a duration (720h, 30d)`,
		},
		{
			name: "bad role",
			url:  fakeAPI(t, 500, "application/json", `{}`),
			args: []string{"users", "set-role", "u1", "owner"},
			want: `role "owner": want admin or member`,
		},
		{
			name: "bad URL",
			url:  "ftp://x",
			args: []string{"keys", "ls"},
			want: `server URL "ftp://x": want http://host:port or https://host`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CHATD_URL": tt.url, "CHATD_API_KEY": "ck1-topsecret", "CHATD_CONFIG_DIR": t.TempDir()}
			_, _, err := execCLI(t, env, tt.stdin, tt.args...)
			if err == nil {
				t.Fatal("want an error")
			}
			if tt.want != "" && err.Error() != tt.want {
				t.Fatalf("err = %q, want %q", err, tt.want)
			}
			if tt.wantSub != "" && !strings.HasPrefix(err.Error(), tt.wantSub) {
				t.Fatalf("err = %q, want prefix %q", err, tt.wantSub)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Fatalf("error shows the key: %v", err)
			}
		})
	}
}

// TestKeyOnlyToItsServer checks that the Authorization header carries the
// saved key only to the saved server.
func TestKeyOnlyToItsServer(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"api_keys":[]}`)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	b, _ := json.Marshal(credentials{URL: srv.URL, APIKey: "ck1-saved"})
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, map[string]string{"CHATD_CONFIG_DIR": dir}, "", "keys", "ls", "--json")
	if got := <-seen; got != "Bearer ck1-saved" {
		t.Fatalf("Authorization = %q", got)
	}
	if strings.TrimSpace(out) != "{\n  \"api_keys\": []\n}" {
		t.Fatalf("out = %q", out)
	}
}

func TestLogoutWhenKeyAlreadyDead(t *testing.T) {
	t.Parallel()
	url := fakeAPI(t, 401, "application/json", `{"error":{"code":"unauthenticated","message":"invalid API key"}}`)
	dir := t.TempDir()
	b, _ := json.Marshal(credentials{URL: url, APIKey: "ckabc-dead"})
	p := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, map[string]string{"CHATD_CONFIG_DIR": dir}, "", "logout")
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("credentials file after logout: %v", err)
	}
	_, _, err := execCLI(t, map[string]string{"CHATD_CONFIG_DIR": dir}, "", "logout")
	if err == nil || err.Error() != "not logged in" {
		t.Fatalf("second logout: err = %v", err)
	}
}

func TestLogoutServerDown(t *testing.T) {
	t.Parallel()
	url := fakeAPI(t, 503, "text/plain", "down")
	dir := t.TempDir()
	b, _ := json.Marshal(credentials{URL: url, APIKey: "ckabc-live"})
	p := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := execCLI(t, map[string]string{"CHATD_CONFIG_DIR": dir}, "", "logout")
	if err == nil || !strings.Contains(err.Error(), "logged out locally, but the session key may still be valid") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("credentials file after logout: %v", err)
	}
}

func TestLoginNeedsUsernameWithStdin(t *testing.T) {
	t.Parallel()
	_, _, err := execCLI(t, map[string]string{"CHATD_CONFIG_DIR": t.TempDir()}, "pw\n", "login", "--password-stdin")
	if err == nil || err.Error() != "--username is required with --password-stdin" {
		t.Fatalf("err = %v", err)
	}
	_, _, err = execCLI(t, map[string]string{"CHATD_CONFIG_DIR": t.TempDir()}, "", "login")
	if err == nil || err.Error() != "stdin is not a terminal: use --username" {
		t.Fatalf("err = %v", err)
	}
}

func TestClientCommands(t *testing.T) {
	t.Parallel()
	var names []string
	for _, c := range clientCommands() {
		names = append(names, c.Name())
		for _, f := range []string{"url", "api-key", "json"} {
			if c.PersistentFlags().Lookup(f) == nil {
				t.Errorf("%s has no --%s", c.Name(), f)
			}
		}
	}
	want := []string{"login", "logout", "users", "keys", "providers", "models", "provider-keys", "usage", "chat", "debug", "settings"}
	if !slices.Equal(names, want) {
		t.Fatalf("commands = %v, want %v", names, want)
	}
}

// TestSaveCredentialsReplacesLooseFile checks that a credentials file left
// with loose permissions is replaced by a private one.
func TestSaveCredentialsReplacesLooseFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(p, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cli{getenv: func(k string) string { return map[string]string{"CHATD_CONFIG_DIR": dir}[k] }}
	if _, err := c.saveCredentials(credentials{URL: "http://x", APIKey: "ck1-y"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("leftover files: %v", entries)
	}
	cr, ok, err := c.loadCredentials()
	if err != nil || !ok || cr.APIKey != "ck1-y" {
		t.Fatalf("load = %+v, %v, %v", cr, ok, err)
	}
}

func TestInterrupted(t *testing.T) {
	t.Parallel()
	url := fakeAPI(t, 200, "application/json", `{"api_keys":[]}`)
	c := &cli{getenv: fakeEnv{"CHATD_URL": url, "CHATD_API_KEY": "ck1-k", "CHATD_CONFIG_DIR": t.TempDir()}.get, now: time.Now}
	root := &cobra.Command{Use: "chatd", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(c.commands()...)
	root.SetOut(io.Discard)
	root.SetArgs([]string{"keys", "ls"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := root.ExecuteContext(ctx); err == nil || err.Error() != "list keys: interrupted" {
		t.Fatalf("err = %v, want list keys: interrupted", err)
	}
}

// env is a fixed environment for cli.getenv.
type fakeEnv map[string]string

func (e fakeEnv) get(k string) string { return e[k] }

func TestUnknownSubcommandFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"keys typo", []string{"keys", "rm", "x"}, `unknown command "rm" for "chatd keys"`},
		{"providers typo", []string{"providers", "add", "x"}, `unknown command "add" for "chatd providers"`},
		{"nested typo", []string{"settings", "deployment", "bogus"}, `unknown command "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := execCLI(t, nil, "", tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, _, err := execCLI(t, nil, "", "keys"); err != nil {
		t.Fatalf("a group without arguments prints its help: %v", err)
	}
}
