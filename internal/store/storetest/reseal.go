package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/chatd/chatd/internal/store"
)

// RunReseal runs the conformance tests of store.Resealer. open must return
// a fresh, empty store implementing it; RunReseal closes it.
//
// The store only moves ciphertexts: these tests "seal" by prefixing
// "old:" or "new:" to opaque bytes (NUL and 0xff included, which a blob
// comparison must get right), so no key or plaintext is involved.
func RunReseal(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("ProvidersAndUserKeys", func(t *testing.T) { testResealAll(t, open) })
	t.Run("ChangedMeanwhileIsSkipped", func(t *testing.T) { testResealCASMiss(t, open) })
	t.Run("FailureLeavesSecret", func(t *testing.T) { testResealFailure(t, open) })
	t.Run("ManyPages", func(t *testing.T) { testResealMany(t, open) })
	t.Run("Empty", func(t *testing.T) {
		_, r := openAs[store.Resealer](t, open)
		res, err := r.ResealSecrets(t.Context(), func(s store.SealedSecret) ([]byte, error) {
			t.Errorf("reseal called on an empty store: %+v", s)
			return nil, nil
		})
		noErr(t, "reseal", err)
		sameResult(t, res, store.ResealResult{})
	})
	t.Run("Canceled", func(t *testing.T) {
		s, r := openAs[store.Resealer](t, open)
		mustSealedProvider(t, s, "openai", oldCipher("p"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := r.ResealSecrets(ctx, fakeReseal)
		wantErr(t, "reseal with canceled context", err, context.Canceled)
	})
}

var errUnreadable = errors.New("sealed with an unknown key")

func oldCipher(id string) []byte { return append([]byte("old:\x00\xff"), id...) }
func newCipher(id string) []byte { return append([]byte("new:\x00\xff"), id...) }

// fakeReseal turns "old:" ciphers into "new:" ones, reports "new:" ones
// current, and fails on anything else.
func fakeReseal(s store.SealedSecret) ([]byte, error) {
	if bytes.HasPrefix(s.Cipher, []byte("new:")) {
		return nil, nil
	}
	rest, ok := bytes.CutPrefix(s.Cipher, []byte("old:"))
	if !ok {
		return nil, errUnreadable
	}
	return append([]byte("new:"), rest...), nil
}

// secretName names a secret in the maps these tests keep.
func secretName(userID, providerID string) string { return userID + "/" + providerID }

// recording wraps reseal and records every secret it is called with,
// failing on a second call for the same one.
func recording(t *testing.T, reseal store.ResealFunc) (store.ResealFunc, map[string]store.SealedSecret) {
	seen := map[string]store.SealedSecret{}
	return func(s store.SealedSecret) ([]byte, error) {
		name := secretName(s.UserID, s.ProviderID)
		if _, dup := seen[name]; dup {
			t.Errorf("reseal called twice for %s", name)
		}
		seen[name] = store.SealedSecret{UserID: s.UserID, ProviderID: s.ProviderID, ProviderName: s.ProviderName, Cipher: bytes.Clone(s.Cipher)}
		return reseal(s)
	}, seen
}

func sameResult(t *testing.T, got, want store.ResealResult) {
	t.Helper()
	if got != want {
		t.Fatalf("reseal result = %+v, want %+v", got, want)
	}
}

func mustSealedProvider(t *testing.T, s store.Store, name string, cipher []byte) store.Provider {
	t.Helper()
	p, err := s.CreateProvider(t.Context(), store.Provider{
		Name: name, Type: store.ProviderOpenAI, BaseURL: "https://" + name + ".example", Enabled: true,
		APIKeyCipher: cipher, APIKeyHint: "sk-…" + name, CreatedAt: base, UpdatedAt: base,
	})
	noErr(t, "create provider "+name, err)
	return p
}

func mustUserKey(t *testing.T, s store.Store, userID, providerID string, cipher []byte) store.UserProviderKey {
	t.Helper()
	k, err := s.PutProviderKey(t.Context(), store.UserProviderKey{UserID: userID, ProviderID: providerID, KeyCipher: cipher, KeyHint: "hint"})
	noErr(t, "put provider key", err)
	return k
}

func getProvider(t *testing.T, s store.Store, id string) store.Provider {
	t.Helper()
	p, err := s.GetProvider(t.Context(), id)
	noErr(t, "get provider", err)
	return p
}

func getUserKey(t *testing.T, s store.Store, userID, providerID string) store.UserProviderKey {
	t.Helper()
	k, err := s.GetProviderKey(t.Context(), userID, providerID)
	noErr(t, "get provider key", err)
	return k
}

func testResealAll(t *testing.T, open func(t *testing.T) store.Store) {
	s, r := openAs[store.Resealer](t, open)
	ctx := t.Context()
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	p1 := mustSealedProvider(t, s, "one", oldCipher("p1"))
	p2 := mustSealedProvider(t, s, "two", newCipher("p2"))
	p3 := mustSealedProvider(t, s, "three", nil)
	a1 := mustUserKey(t, s, alice.ID, p1.ID, oldCipher("a1"))
	a2 := mustUserKey(t, s, alice.ID, p2.ID, newCipher("a2"))
	b1 := mustUserKey(t, s, bob.ID, p1.ID, oldCipher("b1"))
	// An empty cipher holds no secret: nothing to reseal.
	b3 := mustUserKey(t, s, bob.ID, p3.ID, nil)

	reseal, seen := recording(t, fakeReseal)
	res, err := r.ResealSecrets(ctx, reseal)
	noErr(t, "reseal", err)
	sameResult(t, res, store.ResealResult{Resealed: 3, Current: 2})

	want := map[string]store.SealedSecret{
		secretName("", p1.ID):       {ProviderID: p1.ID, ProviderName: "one", Cipher: oldCipher("p1")},
		secretName("", p2.ID):       {ProviderID: p2.ID, ProviderName: "two", Cipher: newCipher("p2")},
		secretName(alice.ID, p1.ID): {UserID: alice.ID, ProviderID: p1.ID, ProviderName: "one", Cipher: oldCipher("a1")},
		secretName(alice.ID, p2.ID): {UserID: alice.ID, ProviderID: p2.ID, ProviderName: "two", Cipher: newCipher("a2")},
		secretName(bob.ID, p1.ID):   {UserID: bob.ID, ProviderID: p1.ID, ProviderName: "one", Cipher: oldCipher("b1")},
	}
	if len(seen) != len(want) {
		t.Fatalf("reseal saw %d secrets, want %d: %v", len(seen), len(want), seen)
	}
	for name, w := range want {
		if got, ok := seen[name]; !ok {
			t.Fatalf("reseal never saw %s", name)
		} else {
			sameRecord(t, "secret "+name, got, w)
		}
	}

	// Only the ciphers changed: hints, times and the rest are as they were.
	wantP1 := p1
	wantP1.APIKeyCipher = newCipher("p1")
	sameRecord(t, "provider one", getProvider(t, s, p1.ID), wantP1)
	sameRecord(t, "provider two", getProvider(t, s, p2.ID), p2)
	sameRecord(t, "provider three", getProvider(t, s, p3.ID), p3)
	wantA1 := a1
	wantA1.KeyCipher = newCipher("a1")
	sameRecord(t, "alice's key one", getUserKey(t, s, alice.ID, p1.ID), wantA1)
	sameRecord(t, "alice's key two", getUserKey(t, s, alice.ID, p2.ID), a2)
	wantB1 := b1
	wantB1.KeyCipher = newCipher("b1")
	sameRecord(t, "bob's key one", getUserKey(t, s, bob.ID, p1.ID), wantB1)
	sameRecord(t, "bob's key three", getUserKey(t, s, bob.ID, p3.ID), b3)

	// A second pass finds everything current.
	res, err = r.ResealSecrets(ctx, fakeReseal)
	noErr(t, "reseal again", err)
	sameResult(t, res, store.ResealResult{Current: 5})
}

// testResealCASMiss changes secrets between the pass reading them and
// writing them back, as an admin or a user (or another replica) may: the
// pass must leave what they wrote.
func testResealCASMiss(t *testing.T, open func(t *testing.T) store.Store) {
	s, r := openAs[store.Resealer](t, open)
	ctx := t.Context()
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	p1 := mustSealedProvider(t, s, "one", oldCipher("p1"))
	p2 := mustSealedProvider(t, s, "two", oldCipher("p2"))
	mustUserKey(t, s, alice.ID, p1.ID, oldCipher("a1"))
	mustUserKey(t, s, bob.ID, p1.ID, oldCipher("b1"))

	// Replaced with another old-key cipher, so only the compare-and-swap,
	// not the cipher's look, can tell the pass to keep it.
	adminKey := oldCipher("set by admin")
	aliceKey := newCipher("set by alice")
	res, err := r.ResealSecrets(ctx, func(sec store.SealedSecret) ([]byte, error) {
		switch secretName(sec.UserID, sec.ProviderID) {
		case secretName("", p1.ID):
			_, err := s.UpdateProvider(ctx, p1.ID, store.ProviderPatch{APIKeyCipher: adminKey, APIKeyHint: ptr("sk-…admn")})
			noErr(t, "replace central key", err)
		case secretName(alice.ID, p1.ID):
			mustUserKey(t, s, alice.ID, p1.ID, aliceKey)
		case secretName(bob.ID, p1.ID):
			noErr(t, "delete bob's key", s.DeleteProviderKey(ctx, bob.ID, p1.ID))
		}
		return fakeReseal(sec)
	})
	noErr(t, "reseal", err)
	sameResult(t, res, store.ResealResult{Resealed: 1, Skipped: 3})

	if got := getProvider(t, s, p1.ID); !bytes.Equal(got.APIKeyCipher, adminKey) || got.APIKeyHint != "sk-…admn" {
		t.Fatalf("provider one = %q %q, want the admin's key kept", got.APIKeyCipher, got.APIKeyHint)
	}
	if got := getProvider(t, s, p2.ID); !bytes.Equal(got.APIKeyCipher, newCipher("p2")) {
		t.Fatalf("provider two = %q, want it resealed", got.APIKeyCipher)
	}
	if got := getUserKey(t, s, alice.ID, p1.ID); !bytes.Equal(got.KeyCipher, aliceKey) {
		t.Fatalf("alice's key = %q, want the one she set", got.KeyCipher)
	}
	_, err = s.GetProviderKey(ctx, bob.ID, p1.ID)
	wantErr(t, "bob's deleted key", err, store.ErrNotFound)
}

func testResealFailure(t *testing.T, open func(t *testing.T) store.Store) {
	s, r := openAs[store.Resealer](t, open)
	alice := mustUser(t, s, "alice")
	bad := []byte("lost:\x00key")
	p1 := mustSealedProvider(t, s, "one", bad)
	p2 := mustSealedProvider(t, s, "two", oldCipher("p2"))
	mustUserKey(t, s, alice.ID, p2.ID, bad)

	reseal, seen := recording(t, fakeReseal)
	res, err := r.ResealSecrets(t.Context(), reseal)
	noErr(t, "reseal", err)
	sameResult(t, res, store.ResealResult{Resealed: 1, Failed: 2})
	if len(seen) != 3 {
		t.Fatalf("reseal saw %d secrets, want all 3 despite failures", len(seen))
	}
	sameRecord(t, "unreadable provider", getProvider(t, s, p1.ID), p1)
	if got := getUserKey(t, s, alice.ID, p2.ID); !bytes.Equal(got.KeyCipher, bad) {
		t.Fatalf("unreadable user key = %q, want it unchanged", got.KeyCipher)
	}
	if got := getProvider(t, s, p2.ID); !bytes.Equal(got.APIKeyCipher, newCipher("p2")) {
		t.Fatalf("provider two = %q, want it resealed", got.APIKeyCipher)
	}
}

// testResealMany has more secrets than small batches hold, several keys
// of one user on either side of a page boundary among them.
func testResealMany(t *testing.T, open func(t *testing.T) store.Store) {
	s, r := openAs[store.Resealer](t, open)
	var users []store.User
	for i := range 3 {
		users = append(users, mustUser(t, s, fmt.Sprintf("user%d", i)))
	}
	var providers []store.Provider
	for i := range 5 {
		p := mustSealedProvider(t, s, fmt.Sprintf("p%d", i), oldCipher(fmt.Sprint("p", i)))
		providers = append(providers, p)
		for _, u := range users {
			mustUserKey(t, s, u.ID, p.ID, oldCipher(u.Username+p.Name))
		}
	}
	reseal, seen := recording(t, fakeReseal)
	res, err := r.ResealSecrets(t.Context(), reseal)
	noErr(t, "reseal", err)
	sameResult(t, res, store.ResealResult{Resealed: 20})
	if len(seen) != 20 {
		t.Fatalf("reseal saw %d secrets, want 20", len(seen))
	}
	for _, p := range providers {
		if got := getProvider(t, s, p.ID); !bytes.Equal(got.APIKeyCipher, newCipher(p.Name)) {
			t.Fatalf("provider %s = %q", p.Name, got.APIKeyCipher)
		}
		for _, u := range users {
			if got := getUserKey(t, s, u.ID, p.ID); !bytes.Equal(got.KeyCipher, newCipher(u.Username+p.Name)) {
				t.Fatalf("key of %s for %s = %q", u.Username, p.Name, got.KeyCipher)
			}
		}
	}
	res, err = r.ResealSecrets(t.Context(), fakeReseal)
	noErr(t, "reseal again", err)
	sameResult(t, res, store.ResealResult{Current: 20})
}
