package gateway

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// TestValidProviderName checks the gateway's copy of the provider name
// rule against the regexp internal/api enforces.
func TestValidProviderName(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(store.ProviderNamePattern)
	rule := func(s string) bool { return s != "" && len(s) <= 63 && re.MatchString(s) }
	cases := []string{"", "a", "dev-openai", "v1", "-a", "a-", "a--b", "A", "a_b", "a.b", "a/b", "é", strings.Repeat("a", 63), strings.Repeat("a", 64), "0-0-0"}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab09-_A/."
	for range 20000 {
		b := make([]byte, r.IntN(8))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := store.ValidProviderName(s), rule(s); got != want {
			t.Fatalf("ValidProviderName(%q) = %t, want %t", s, got, want)
		}
	}
}

// countingStore counts provider lookups.
type countingStore struct {
	store.Store
	lookups atomic.Int64
}

func (s *countingStore) GetProviderByName(ctx context.Context, name string) (store.Provider, error) {
	s.lookups.Add(1)
	return s.Store.GetProviderByName(ctx, name)
}

// TestProviderLookupAfterAuth: the gateway looked providers up, and cached
// every name it was given, hits and misses alike, forever, before it
// authenticated the caller. Anonymous callers now cause no lookup and
// learn nothing of which providers exist; authenticated ones cause no
// lookup for a name that breaks the naming rule, and misses are not
// cached.
func TestProviderLookupAfterAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	cs := &countingStore{Store: e.store}
	gw, err := New(Config{Store: cs, Auth: auth.New(auth.Config{Store: e.store}), Keyring: e.keyring, Logger: e.gw.log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close(context.Background()) })
	up := llmtest.NewServer(t) // any call fails the test
	e.addProvider("oa", store.ProviderOpenAI, up.URL)
	off := e.addProvider("off", store.ProviderOpenAI, up.URL)
	no := false
	if _, err := e.store.UpdateProvider(t.Context(), off.ID, store.ProviderPatch{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	call := func(name string, hdr http.Header) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/gateway/"+name+"/v1/chat/completions", strings.NewReader(`{"model":"m"}`))
		req.Header = hdr
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}

	anon := http.Header{"Authorization": {"Bearer sk-not-a-chatd-key"}}
	_, wantBody := call("oa", anon)
	for i := range 50 {
		for _, name := range []string{"oa", "off", "nope", fmt.Sprintf("p%d", i), "Bad_Name", strings.Repeat("x", 300)} {
			code, body := call(name, anon)
			if code != http.StatusUnauthorized || body != wantBody {
				t.Fatalf("anonymous call to %q: %d %s; want the same 401 as for an existing provider: %s", name, code, body, wantBody)
			}
		}
	}
	if n := cs.lookups.Load(); n != 0 {
		t.Fatalf("%d provider lookups for anonymous callers", n)
	}

	authed := http.Header{"Authorization": {"Bearer " + e.key}}
	for _, name := range []string{"Bad_Name", "a--b", strings.Repeat("x", 64), "-x"} {
		if code, body := call(name, authed); code != http.StatusNotFound {
			t.Fatalf("invalid name %q: %d %s", name, code, body)
		}
	}
	if n := cs.lookups.Load(); n != 0 {
		t.Fatalf("%d provider lookups for invalid names", n)
	}
	for i := range 3 {
		if code, _ := call("nope", authed); code != http.StatusNotFound {
			t.Fatalf("missing provider: %d", code)
		}
		if n := cs.lookups.Load(); n != int64(i+1) {
			t.Fatalf("after %d calls for a missing provider, %d lookups: a miss was cached", i+1, n)
		}
	}
	if n := gw.providers.size(); n != 0 {
		t.Fatalf("provider cache holds %d entries after misses only", n)
	}
}

// TestChatdKeyShape: every key auth makes has the shape the gateway
// refuses as a provider credential, and provider keys do not.
func TestChatdKeyShape(t *testing.T) {
	t.Parallel()
	for range 100 {
		_, k, _ := auth.NewKey()
		if !auth.LooksLikeKey(k.Reveal()) {
			t.Fatalf("a chatd key does not have the chatd key shape")
		}
	}
	for _, s := range []string{"", "sk-proj-abc", byokKey, centralKey, "ck-x", "ckaaaaaaaaaaaaaaaa-short",
		"sk-ant-api03-" + strings.Repeat("a", 80), "ckAAAAAAAAAAAAAAAA-" + strings.Repeat("a", 43)} {
		if auth.LooksLikeKey(s) {
			t.Errorf("%q taken for a chatd key", s)
		}
	}
}

// TestBYOKRefusesChatdKey: a BYOK request whose provider credential is the
// governance token, or any chatd API key, was forwarded to the provider
// with it. It is refused with a 401 in the provider's shape.
func TestBYOKRefusesChatdKey(t *testing.T) {
	t.Parallel()
	chatBody := []byte(`{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}`)
	msgBody := []byte(`{"model":"claude-sonnet-4-20250514","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
	_, other, _ := auth.NewKey()
	tests := []struct {
		name      string
		path      string
		body      []byte
		headers   func(e *env) map[string]string
		anthropic bool
	}{
		{"bearer is the governance token", "/gateway/oa/v1/chat/completions", chatBody, func(e *env) map[string]string {
			return map[string]string{GovernanceHeader: e.key, "Authorization": "Bearer " + e.key}
		}, false},
		{"x-api-key is the governance token", "/gateway/an/v1/messages", msgBody, func(e *env) map[string]string {
			return map[string]string{GovernanceHeader: e.key, "X-Api-Key": e.key}
		}, true},
		{"bearer is another chatd key", "/gateway/oa/v1/chat/completions", chatBody, func(e *env) map[string]string {
			return map[string]string{GovernanceHeader: e.key, "Authorization": "bearer " + other.Reveal()}
		}, false},
		{"provider key in x-api-key, chatd key in bearer", "/gateway/an/v1/messages", msgBody, func(e *env) map[string]string {
			return map[string]string{GovernanceHeader: e.key, "X-Api-Key": byokKey, "Authorization": "Bearer " + e.key}
		}, true},
		{"governance token in another forwarded header", "/gateway/oa/v1/chat/completions", chatBody, func(e *env) map[string]string {
			return map[string]string{GovernanceHeader: e.key, "Authorization": "Bearer " + byokKey, "Api-Key": e.key}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := llmtest.NewServer(t) // any call fails the test
			e := newEnv(t, envOptions{})
			e.addProvider("oa", store.ProviderOpenAI, up.URL)
			e.addProvider("an", store.ProviderAnthropic, up.URL)
			resp, b := e.do(http.MethodPost, tt.path, tt.body, tt.headers(e))
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401; body %s", resp.StatusCode, b)
			}
			checkErrorShape(t, b, tt.anthropic)
			if strings.Contains(string(b), e.key) {
				t.Fatalf("error echoes the key: %s", b)
			}
			if n := len(e.records()); n != 0 {
				t.Fatalf("%d records for a refused request", n)
			}
		})
	}

	t.Run("in process", func(t *testing.T) {
		t.Parallel()
		up := llmtest.NewServer(t) // any call fails the test
		e := newEnv(t, envOptions{})
		e.addProvider("p", store.ProviderAnthropic, up.URL)
		f := llmtest.Load(t, "anthropic-messages/blocking-plain")
		req := inProcRequest(t, WithDelegatedKeyID(t.Context(), e.keyID), f)
		req.Header.Del("Authorization")
		req.Header.Set("X-Api-Key", e.key)
		req.Header.Set(GovernanceHeader, DelegatedMarker)
		resp, err := e.gw.TransportFor("p", "").RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401", resp.StatusCode)
		}
	})
}
