package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// echoModel makes keyUpstream answer 401 quoting the key it was sent, as a
// careless provider does.
const echoModel = "echo-key"

// keyUpstream is the dev fake provider, counting the credentials it is
// sent.
type keyUpstream struct {
	dev  http.Handler
	mu   sync.Mutex
	keys map[string]int // guarded by mu; by Authorization bearer or x-api-key
}

func (u *keyUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := cmp.Or(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), r.Header.Get("X-Api-Key"))
	u.mu.Lock()
	u.keys[key]++
	u.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	var req struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(b, &req) == nil && req.Model == echoModel {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s","type":"invalid_request_error","code":"invalid_api_key"}}`, key)
		return
	}
	u.dev.ServeHTTP(w, r)
}

func (u *keyUpstream) count(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.keys[key]
}

// TestCanary plants distinctive provider keys through the API, uses them
// in gateway calls and debug-recorded chat turns, and checks that they,
// and the users' chatd API keys, appear nowhere but in sealed form: not in
// logs, not in any answer, not in the SQLite files nor in any PostgreSQL
// row.
func TestCanary(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		for _, direct := range []bool{false, true} {
			t.Run(string(b)+"/"+map[bool]string{false: "gateway", true: "direct"}[direct], func(t *testing.T) {
				t.Parallel()
				testCanary(t, b, direct)
			})
		}
	}
}

// testCanary is TestCanary on one backend, with chat turns through the
// gateway or, if direct, straight to the provider.
func testCanary(t *testing.T, b backend, direct bool) {
	up := &keyUpstream{dev: llmtest.NewDev(llmtest.DevConfig{}), keys: map[string]int{}}
	e := newEnv(t, envOptions{backend: b, upstream: up, direct: direct})
	bobID, bob := e.seedUser("bob", store.RoleMember, "bob-password")
	tag := make([]byte, 12)
	_, _ = rand.Read(tag)
	central := "sk-CENTRALCANARY" + hex.EncodeToString(tag) + "-tail"
	byok := "sk-BYOKCANARY" + hex.EncodeToString(tag) + "-tail"
	rotated := "sk-ROTATEDCANARY" + hex.EncodeToString(tag) + "-tail"
	// The hints show the ends of a key, so look for the middles. Of a
	// chatd key, the id is stored and the secret after it must not be.
	middle := func(k string) string { return strings.TrimSuffix(strings.TrimPrefix(k, "sk-"), "-tail") }
	canaries := map[string]string{"the central key": middle(central), "the BYOK key": middle(byok), "the rotated key": middle(rotated)}
	for user, k := range map[string]string{"root": e.admin, "alice": e.member, "bob": bob} {
		_, sec, _ := strings.Cut(k, "-")
		canaries[user+"'s chatd API key"] = sec
	}

	var p providerJSON
	e.call("POST", "/api/v1/providers", e.admin, map[string]any{"name": "openai", "type": "openai", "base_url": e.upstreamURL + "/v1", "api_key": central}, http.StatusCreated, &p)
	if !p.HasAPIKey || p.APIKeyHint != secret.Hint(central) {
		t.Fatalf("provider %+v", p)
	}
	e.call("PUT", "/api/v1/provider-keys/openai", e.member, map[string]any{"api_key": byok}, http.StatusOK, nil)
	e.call("PUT", "/api/v1/provider-keys/openai", e.admin, map[string]any{"api_key": byok}, http.StatusOK, nil)
	e.createProvider("second", "anthropic")
	e.call("PATCH", "/api/v1/providers/second", e.admin, map[string]any{"api_key": rotated}, http.StatusOK, nil)

	// Requests that fail while carrying the secrets.
	e.fail("POST", "/api/v1/providers", e.admin, map[string]any{"name": "openai", "type": "openai", "base_url": "https://x.example", "api_key": central}, http.StatusConflict)
	e.fail("POST", "/api/v1/providers", e.admin, map[string]any{"name": "Bad", "type": "openai", "base_url": "https://x.example", "api_key": central}, http.StatusBadRequest)
	e.fail("POST", "/api/v1/providers", e.member, map[string]any{"name": "evil", "type": "openai", "base_url": "https://x.example", "api_key": central}, http.StatusForbidden)
	e.fail("PUT", "/api/v1/provider-keys/openai", e.member, `{"api_key":"`+byok+`","extra":1}`, http.StatusBadRequest)
	e.fail("PUT", "/api/v1/provider-keys/openai", e.member, `{"api_key":"`+byok+`"} trailing`, http.StatusBadRequest)
	e.fail("PUT", "/api/v1/provider-keys/openai", e.member, `{"api_key":"`+byok, http.StatusBadRequest)
	e.fail("PUT", "/api/v1/provider-keys/nope", e.member, map[string]any{"api_key": byok}, http.StatusNotFound)
	e.fail("GET", "/api/v1/me", central, nil, http.StatusUnauthorized)
	e.fail("GET", "/api/v1/me", "ck"+byok, nil, http.StatusUnauthorized)

	// Every read endpoint that touches them.
	for _, key := range []string{e.admin, e.member} {
		e.do("GET", "/api/v1/providers", key, nil)
		e.do("GET", "/api/v1/providers/openai", key, nil)
		e.do("GET", "/api/v1/provider-keys", key, nil)
		e.do("GET", "/api/v1/models?all=true", key, nil)
		e.do("GET", "/api/v1/me", key, nil)
	}

	// Gateway calls with the central key and with a BYOK key, answered
	// and refused by an upstream quoting the key.
	for _, model := range []string{llmtest.DevModelID, echoModel} {
		for _, stream := range []bool{false, true} {
			body := fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"canary call"}]}`, model, stream)
			e.gatewayCall("/gateway/openai/v1/chat/completions", map[string]string{"Authorization": "Bearer " + e.member}, body)
			e.gatewayCall("/gateway/openai/v1/chat/completions", map[string]string{gateway.GovernanceHeader: e.member, "Authorization": "Bearer " + byok}, body)
		}
	}
	if c, o := up.count(central), up.count(byok); c != 4 || o != 4 {
		t.Fatalf("upstream got the central key %d times and the BYOK key %d times, want 4 and 4", c, o)
	}

	// Debug-recorded chat turns, alice's with her own key and bob's with
	// the central one: answered, and refused by the upstream quoting the
	// key (which the chat keeps as its error).
	var good, echo modelJSON
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "openai", "model": llmtest.DevModelID, "default": true}, http.StatusCreated, &good)
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "openai", "model": echoModel}, http.StatusCreated, &echo)
	e.call("PATCH", "/api/v1/settings/deployment", e.admin, map[string]any{"debug_recording": true}, http.StatusOK, nil)
	for _, key := range []string{e.member, bob} {
		for _, m := range []modelJSON{good, echo} {
			as := &chatEnv{env: e, owner: key}
			c := as.createChat(map[string]any{"message": "canary turn", "title": "t", "model": m.ID})
			c = as.waitIdle(c.ID, c.SnapshotVersion)
			ms := as.messages(c.ID)
			wantRun := store.DebugCompleted
			if m.ID == echo.ID {
				wantRun = store.DebugError
				if c.Status != wire.ChatError || c.LastError == "" || len(ms) != 1 {
					t.Fatalf("chat %s on the refusing model: status %q, error %q, %d messages", c.ID, c.Status, c.LastError, len(ms))
				}
			} else if len(ms) != 2 || ms[1].Role != wire.RoleAssistant {
				t.Fatalf("chat %s: messages %+v, want a question and an answer", c.ID, ms)
			}
			var runs debugRunsAnswer
			e.call("GET", "/api/v1/chats/"+c.ID+"/debug/runs", e.admin, nil, http.StatusOK, &runs)
			if len(runs.Runs) != 1 || runs.Runs[0].Status != string(wantRun) {
				t.Fatalf("chat %s: runs %+v, want one %s", c.ID, runs.Runs, wantRun)
			}
			var run debugRunAnswer
			e.call("GET", "/api/v1/chats/"+c.ID+"/debug/runs/"+runs.Runs[0].ID, e.admin, nil, http.StatusOK, &run)
			if len(run.Steps) == 0 || len(run.Steps[0].Attempts) == 0 {
				t.Fatalf("chat %s: run without a recorded attempt: %+v", c.ID, run)
			}
			e.do("GET", "/api/v1/chats/"+c.ID, key, nil)
		}
	}
	if c, o := up.count(central), up.count(byok); c != 6 || o != 6 {
		t.Fatalf("upstream got the central key %d times and the BYOK key %d times, want 6 and 6", c, o)
	}
	e.shutdown()

	// The sealed forms are in the store and open to the keys, and the
	// calls were recorded under both credentials.
	kr, err := secret.NewKeyring(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stored, err := e.db.GetProviderByName(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := kr.Open(stored.APIKeyCipher); err != nil || v.Reveal() != central {
		t.Fatalf("central key does not open to what was planted (err %v)", err)
	}
	pk, err := e.db.GetProviderKey(ctx, e.memberID, stored.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := kr.Open(pk.KeyCipher); err != nil || v.Reveal() != byok {
		t.Fatalf("BYOK key does not open to what was planted (err %v)", err)
	}
	ins, err := e.db.ListInterceptions(ctx, store.InterceptionFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, in := range ins {
		got[in.UserID+" "+in.CredentialKind]++
	}
	// The gateway calls, and the chat turns when they go through it.
	turns := 2
	if direct {
		turns = 0
	}
	want := map[string]int{
		e.memberID + " " + store.CredentialCentral: 4,
		e.memberID + " " + store.CredentialBYOK:    4 + turns,
		bobID + " " + store.CredentialCentral:      turns,
	}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("interceptions by user and credential: %v, want %v", got, want)
		}
	}

	forms := canaryForms(canaries)
	check := func(where string, data []byte) {
		t.Helper()
		for _, f := range forms {
			if bytes.Contains(data, []byte(f.text)) {
				t.Errorf("%s found in %s", f.what, where)
			}
		}
	}
	e.mu.Lock()
	bodies := e.bodies
	e.mu.Unlock()
	if len(bodies) < 30 {
		t.Fatalf("only %d response bodies captured", len(bodies))
	}
	for i, body := range bodies {
		check(fmt.Sprintf("response body %d", i), []byte(body))
	}
	switch b {
	case sqliteBackend:
		readFiles := func() {
			for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
				data, err := os.ReadFile(e.dbPath + suffix)
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				check("database file chatd.db"+suffix, data)
			}
		}
		readFiles()
		// Closing checkpoints the WAL into the main file; look again.
		if err := e.db.Close(); err != nil {
			t.Fatal(err)
		}
		readFiles()
	case postgresBackend:
		rows := pgRows(t, e.pgURL)
		for _, table := range []string{"users", "api_keys", "providers", "user_provider_keys", "models", "settings",
			"interceptions", "chats", "messages", "debug_runs", "debug_steps", "debug_attempts"} {
			if len(rows[table]) == 0 {
				t.Errorf("table %s has no rows to look into", table)
			}
		}
		for table, rs := range rows {
			for i, r := range rs {
				check(fmt.Sprintf("table %s row %d", table, i), []byte(r))
			}
		}
	default:
		t.Fatalf("no raw scan for backend %q", b)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "provider created") {
		t.Fatalf("logs were not captured:\n%s", logs)
	}
	check("logs", []byte(logs))
}

// gatewayCall posts body to the gateway as an SDK would and keeps the
// answer with the API's.
func (e *env) gatewayCall(path string, hdr map[string]string, body string) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), "POST", e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	want := http.StatusOK
	if strings.Contains(body, echoModel) {
		want = http.StatusUnauthorized
	}
	if resp.StatusCode != want {
		e.t.Fatalf("POST %s: status %d, want %d; body %s", path, resp.StatusCode, want, out)
	}
	e.mu.Lock()
	e.bodies = append(e.bodies, fmt.Sprintf("%v\n%s", resp.Header, out))
	e.mu.Unlock()
}

// canaryForm is one way a canary could show in stored or sent data.
type canaryForm struct {
	what string // names the canary and the encoding, never the value
	text string
}

// canaryForms returns every form in which a stored copy of a canary would
// show: as is, in hex of either case (SQLite's hex() is upper case), and
// in standard and URL base64 at each of the three offsets the canary may
// have in the encoded data (the parts of the encoding that depend on the
// canary alone).
func canaryForms(canaries map[string]string) []canaryForm {
	var forms []canaryForm
	for name, c := range canaries {
		h := hex.EncodeToString([]byte(c))
		forms = append(forms, canaryForm{name, c}, canaryForm{name + " in hex", h}, canaryForm{name + " in hex", strings.ToUpper(h)})
		for enc, encName := range map[*base64.Encoding]string{base64.StdEncoding: "base64", base64.URLEncoding: "URL base64"} {
			for off := range 3 {
				b := enc.EncodeToString(append(make([]byte, off), c...))
				start := 0
				if off > 0 {
					start = 4 // the first quantum mixes in the bytes before
				}
				forms = append(forms, canaryForm{name + " in " + encName, b[start : (off+len(c))/3*4]})
			}
		}
	}
	return forms
}

// pgRows returns every row of every table in the public schema of the
// database at url, as JSON text by table. Tables are listed from the
// catalog, so tables added later are scanned too.
func pgRows(t *testing.T, url string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	out := make(map[string][]string, len(tables))
	for _, table := range tables {
		rows, err := conn.Query(ctx, `SELECT row_to_json(t)::text FROM `+pgx.Identifier{"public", table}.Sanitize()+` t`)
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		out[table], err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
	}
	return out
}
