package route

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// providerStore replaces what GetProvider returns, for provider rows the
// real store refuses to hold (no name) or has lost.
type providerStore struct {
	store.Store
	get func(id string) (store.Provider, error)
}

func (s providerStore) GetProvider(_ context.Context, id string) (store.Provider, error) {
	return s.get(id)
}

// nilTransports has no transport for any provider.
type nilTransports struct{}

func (nilTransports) TransportFor(string, string) http.RoundTripper { return nil }

// TestFailClosed checks every configuration that must refuse to build a
// model: an error wrapping ErrUnroutable that says why, and no upstream
// call (the fake upstream fails the test on any request).
func TestFailClosed(t *testing.T) {
	t.Parallel()
	type setup struct {
		e   *env
		p   store.Provider
		mc  store.ModelConfig
		cfg Config
		req Request
	}
	tests := []struct {
		name   string
		direct bool
		mutate func(t *testing.T, s *setup)
		want   string // in the error message
	}{
		{name: "model config missing", mutate: func(_ *testing.T, s *setup) { s.req.ModelConfigID = "no-such-model" }, want: "model config does not exist"},
		{name: "no model config id", mutate: func(_ *testing.T, s *setup) { s.req.ModelConfigID = "" }, want: "no model config given"},
		{name: "model disabled", mutate: func(t *testing.T, s *setup) {
			off := false
			if _, err := s.e.db.UpdateModel(t.Context(), s.mc.ID, store.ModelPatch{Enabled: &off}); err != nil {
				t.Fatal(err)
			}
		}, want: `model "m" is disabled`},
		{name: "provider missing", mutate: func(_ *testing.T, s *setup) {
			s.cfg.Store = providerStore{Store: s.e.db, get: func(id string) (store.Provider, error) {
				return store.Provider{}, fmt.Errorf("get provider %q: %w", id, store.ErrNotFound)
			}}
		}, want: "does not exist"},
		{name: "provider disabled", mutate: func(t *testing.T, s *setup) {
			off := false
			if _, err := s.e.db.UpdateProvider(t.Context(), s.p.ID, store.ProviderPatch{Enabled: &off}); err != nil {
				t.Fatal(err)
			}
		}, want: `provider "prov" is disabled`},
		{name: "provider unnamed", mutate: func(_ *testing.T, s *setup) {
			p := s.p
			p.Name = ""
			s.cfg.Store = providerStore{Store: s.e.db, get: func(string) (store.Provider, error) { return p, nil }}
		}, want: "has no name"},
		{name: "no active api key id", mutate: func(_ *testing.T, s *setup) { s.req.APIKeyID = "" }, want: "no active chatd API key id"},
		{name: "no gateway", mutate: func(_ *testing.T, s *setup) { s.cfg.Gateway = nil }, want: "no gateway transport"},
		{name: "nil gateway pointer", mutate: func(_ *testing.T, s *setup) { s.cfg.Gateway = (*gateway.Gateway)(nil) }, want: "no gateway transport"},
		{name: "no transport for provider", mutate: func(_ *testing.T, s *setup) { s.cfg.Gateway = nilTransports{} }, want: "no gateway transport"},
		{name: "byok key unreadable", mutate: func(t *testing.T, s *setup) {
			other, err := secret.NewKeyring(make([]byte, secret.KeySize))
			if err != nil {
				t.Fatal(err)
			}
			sealed, err := other.Seal(secret.New(userKey))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.e.db.PutProviderKey(t.Context(), store.UserProviderKey{UserID: s.e.user.ID, ProviderID: s.p.ID, KeyCipher: sealed}); err != nil {
				t.Fatal(err)
			}
		}, want: "could not be decrypted"},
		{name: "direct byok key unreadable", direct: true, mutate: func(t *testing.T, s *setup) {
			if _, err := s.e.db.PutProviderKey(t.Context(), store.UserProviderKey{UserID: s.e.user.ID, ProviderID: s.p.ID, KeyCipher: []byte("garbage-cipher-text")}); err != nil {
				t.Fatal(err)
			}
		}, want: "could not be decrypted"},
		{name: "direct central key unreadable", direct: true, mutate: func(_ *testing.T, s *setup) {
			p := s.p
			p.APIKeyCipher = []byte("garbage-cipher-text")
			s.cfg.Store = providerStore{Store: s.e.db, get: func(string) (store.Provider, error) { return p, nil }}
		}, want: "could not be decrypted; check the server's keyring"},
		{name: "direct no central key", direct: true, mutate: func(t *testing.T, s *setup) {
			if _, err := s.e.db.UpdateProvider(t.Context(), s.p.ID, store.ProviderPatch{ClearAPIKey: true}); err != nil {
				t.Fatal(err)
			}
		}, want: `provider "prov" has no central API key`},
		{name: "direct provider disabled", direct: true, mutate: func(t *testing.T, s *setup) {
			off := false
			if _, err := s.e.db.UpdateProvider(t.Context(), s.p.ID, store.ProviderPatch{Enabled: &off}); err != nil {
				t.Fatal(err)
			}
		}, want: `provider "prov" is disabled`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			up := llmtest.NewServer(t) // any request fails the test
			p := e.addProvider("prov", store.ProviderOpenAI, up.URL)
			s := &setup{e: e, p: p, mc: e.addModel(p, "m", nil)}
			s.cfg = Config{Store: e.db, Keyring: e.keyring, Gateway: e.gw, Direct: tt.direct, AllowBYOK: true, DirectClient: up.Client(), Logger: e.log}
			s.req = Request{UserID: e.user.ID, ModelConfigID: s.mc.ID, APIKeyID: e.keyID, ChatID: "chat-1", Purpose: PurposeChat}
			tt.mutate(t, s)

			res, err := New(s.cfg).Model(t.Context(), s.req, Options{})
			if !errors.Is(err, ErrUnroutable) {
				t.Fatalf("Model error = %v, want one wrapping ErrUnroutable", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
			if res.Model != nil {
				t.Fatal("a model was returned with the error")
			}
			checkNoLeak(t, "error", err.Error(), centralKey, userKey)
			// The keyring's own error text stays in the log, out of
			// messages users read.
			for _, internal := range []string{"open:", "ciphertext", "unknown key"} {
				if strings.Contains(err.Error(), internal) {
					t.Fatalf("error %q shows the keyring's error %q", err, internal)
				}
			}
			if n := len(up.Requests()); n != 0 {
				t.Fatalf("upstream got %d requests, want 0", n)
			}
			if ins := e.records(); len(ins) != 0 {
				t.Fatalf("gateway recorded %d interceptions, want 0", len(ins))
			}
		})
	}
}

// TestStoreErrorIsNotUnroutable checks that a failing database is reported
// as such (retryable), never as a configuration problem, and never falls
// back to another credential.
func TestStoreErrorIsNotUnroutable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	up := llmtest.NewServer(t)
	p := e.addProvider("prov", store.ProviderOpenAI, up.URL)
	mc := e.addModel(p, "m", nil)
	boom := errors.New("database is on fire")
	r := New(Config{
		Store:   providerStore{Store: e.db, get: func(string) (store.Provider, error) { return store.Provider{}, boom }},
		Keyring: e.keyring, Gateway: e.gw, AllowBYOK: true,
	})
	_, err := r.Model(t.Context(), Request{UserID: e.user.ID, ModelConfigID: mc.ID, APIKeyID: e.keyID}, Options{})
	if !errors.Is(err, boom) || errors.Is(err, ErrUnroutable) {
		t.Fatalf("Model error = %v, want the store error and not ErrUnroutable", err)
	}
}
