package server

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
)

// Plaintext keys that must never reach a log.
const (
	canaryCentral = "sk-canary-central-4b1d9e"
	canaryUser    = "sk-canary-user-77c0aa"
	canaryCurrent = "sk-canary-current-5e2f13"
	canaryLost    = "sk-canary-lost-a90b3c"
)

type rotationKeys struct {
	old, new, other *secret.Keyring
	oldB64, newB64  string
}

func newRotationKeys(t *testing.T) rotationKeys {
	t.Helper()
	raw := func(b byte) []byte { return bytes.Repeat([]byte{b}, secret.KeySize) }
	ring := func(b byte) *secret.Keyring {
		kr, err := secret.NewKeyring(raw(b))
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	return rotationKeys{
		old: ring(1), new: ring(2), other: ring(3),
		oldB64: base64.StdEncoding.EncodeToString(raw(1)),
		newB64: base64.StdEncoding.EncodeToString(raw(2)),
	}
}

func seal(t *testing.T, kr *secret.Keyring, v string) []byte {
	t.Helper()
	b, err := kr.Seal(secret.New(v))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openDB(t *testing.T, dataDir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(dataDir, "chatd.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// allSecrets returns every stored ciphertext by provider name, and users'
// keys by "provider/user ID".
func allSecrets(t *testing.T, db *sqlite.DB) map[string][]byte {
	t.Helper()
	ctx := t.Context()
	out := map[string][]byte{}
	ps, err := db.ListProviders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, p := range ps {
		names[p.ID] = p.Name
		if len(p.APIKeyCipher) > 0 {
			out[p.Name] = p.APIKeyCipher
		}
	}
	us, err := db.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		ks, err := db.ListProviderKeys(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			out[names[k.ProviderID]+"/"+u.ID] = k.KeyCipher
		}
	}
	return out
}

func noCanary(t *testing.T, what, text string) {
	t.Helper()
	for _, c := range []string{canaryCentral, canaryUser, canaryCurrent, canaryLost} {
		if strings.Contains(text, c) {
			t.Fatalf("a plaintext key reached the %s", what)
		}
	}
}

func wantLog(t *testing.T, logs string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(logs, p) {
			t.Fatalf("logs lack %q:\n%s", p, logs)
		}
	}
}

// TestRotationReseals: secrets sealed with an old key are re-sealed at a
// start with "new,old", after which the new key alone opens them all.
func TestRotationReseals(t *testing.T) {
	t.Parallel()
	keys := newRotationKeys(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	db := openDB(t, dataDir)
	ctx := t.Context()
	alice, err := db.CreateUser(ctx, store.User{Username: "alice", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	openai, err := db.CreateProvider(ctx, store.Provider{Name: "openai", Type: store.ProviderOpenAI, Enabled: true,
		APIKeyCipher: seal(t, keys.old, canaryCentral), APIKeyHint: secret.Hint(canaryCentral)})
	if err != nil {
		t.Fatal(err)
	}
	current := seal(t, keys.new, canaryCurrent)
	if _, err := db.CreateProvider(ctx, store.Provider{Name: "anthropic", Type: store.ProviderAnthropic, Enabled: true,
		APIKeyCipher: current, APIKeyHint: secret.Hint(canaryCurrent)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutProviderKey(ctx, store.UserProviderKey{UserID: alice.ID, ProviderID: openai.ID,
		KeyCipher: seal(t, keys.old, canaryUser), KeyHint: secret.Hint(canaryUser)}); err != nil {
		t.Fatal(err)
	}
	before, err := db.GetProvider(ctx, openai.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	c := Config{DataDir: dataDir, SecretKey: secret.New(keys.newB64 + "," + keys.oldB64)}
	s := start(t, c)
	if err := s.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	logs := s.logs.String()
	wantLog(t, logs, "key_id="+keys.new.PrimaryKeyID(), "resealed=2", "already_current=1", "skipped=0", "unreadable=0", "may be removed")
	noCanary(t, "logs", logs)
	noCanary(t, "banner", s.out.String())

	db = openDB(t, dataDir)
	defer db.Close()
	got := allSecrets(t, db)
	want := map[string]string{"openai": canaryCentral, "anthropic": canaryCurrent, "openai/" + alice.ID: canaryUser}
	if len(got) != len(want) {
		t.Fatalf("stored secrets = %d, want %d", len(got), len(want))
	}
	for name, plain := range want {
		v, err := keys.new.Open(got[name])
		if err != nil {
			t.Fatalf("new key alone cannot open %s: %v", name, err)
		}
		if v.Reveal() != plain {
			t.Fatalf("%s opens to another value", name)
		}
	}
	if !bytes.Equal(got["anthropic"], current) {
		t.Fatal("a secret already sealed with the new key was rewritten")
	}
	after, err := db.GetProvider(ctx, openai.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !after.UpdatedAt.Equal(before.UpdatedAt) || after.APIKeyHint != before.APIKeyHint {
		t.Fatalf("re-sealing changed the provider: updated %v → %v, hint %q → %q", before.UpdatedAt, after.UpdatedAt, before.APIKeyHint, after.APIKeyHint)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// With the old key dropped there is no rotation, hence no pass.
	s = start(t, Config{DataDir: dataDir, SecretKey: secret.New(keys.newB64)})
	if err := s.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if logs := s.logs.String(); strings.Contains(logs, "secret key rotation") {
		t.Fatalf("a one-key start ran a re-seal pass:\n%s", logs)
	}
}

// TestRotationLeavesUnreadable: a secret no key opens is named in the log
// by provider and user, never by value, and left as it is; the rest is
// re-sealed.
func TestRotationLeavesUnreadable(t *testing.T) {
	t.Parallel()
	keys := newRotationKeys(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	db := openDB(t, dataDir)
	ctx := t.Context()
	bob, err := db.CreateUser(ctx, store.User{Username: "bob", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	lost := seal(t, keys.other, canaryLost)
	p, err := db.CreateProvider(ctx, store.Provider{Name: "lostprov", Type: store.ProviderOpenAI, Enabled: true,
		APIKeyCipher: lost, APIKeyHint: secret.Hint(canaryLost)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutProviderKey(ctx, store.UserProviderKey{UserID: bob.ID, ProviderID: p.ID,
		KeyCipher: seal(t, keys.old, canaryUser), KeyHint: secret.Hint(canaryUser)}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := start(t, Config{DataDir: dataDir, SecretKey: secret.New(keys.newB64 + "," + keys.oldB64)})
	if err := s.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	logs := s.logs.String()
	wantLog(t, logs, "no key opens this secret", "provider=lostprov", "provider_id="+p.ID, `secret="provider central key"`,
		"resealed=1", "unreadable=1", "must be set again")
	noCanary(t, "logs", logs)
	if strings.Contains(logs, secret.Hint(canaryLost)) {
		t.Fatal("the log holds the unreadable key's hint")
	}

	db = openDB(t, dataDir)
	defer db.Close()
	got := allSecrets(t, db)
	if !bytes.Equal(got["lostprov"], lost) {
		t.Fatal("the unreadable secret was changed")
	}
	if v, err := keys.new.Open(got["lostprov/"+bob.ID]); err != nil || v.Reveal() != canaryUser {
		t.Fatalf("bob's key after the pass: %v", err)
	}
}
