package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// fakeStore serves the few calls the authenticator makes.
type fakeStore struct {
	store.Store // nil: any other call panics, which a test would notice

	mu      sync.Mutex
	keys    map[string]store.APIKey
	users   map[string]store.User
	touched map[string]time.Time
}

func (f *fakeStore) GetAPIKey(_ context.Context, id string) (store.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok {
		return store.APIKey{}, store.ErrNotFound
	}
	return k, nil
}

func (f *fakeStore) GetUser(_ context.Context, id string) (store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

func (f *fakeStore) TouchAPIKeys(_ context.Context, m map[string]time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range m {
		f.touched[k] = v
	}
	return nil
}

func TestKeyFormat(t *testing.T) {
	t.Parallel()
	id, key, hash := NewKey()
	if !strings.HasPrefix(key.Reveal(), id+"-") {
		t.Fatalf("key %q does not start with its id %q", key.Reveal(), id)
	}
	gotID, sec, err := SplitKey(key.Reveal())
	if err != nil || gotID != id {
		t.Fatalf("SplitKey = %q, %v", gotID, err)
	}
	if !secretMatches(sec, hash) {
		t.Fatal("secret does not match its hash")
	}
	id2, _, _ := NewKey()
	if id == id2 {
		t.Fatal("two keys share an id")
	}
	for _, bad := range []string{"", "nodash", "-secret", "ck123-", "xx123-secret", strings.Repeat("c", 70) + "-s"} {
		if _, _, err := SplitKey(bad); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("SplitKey(%q) err = %v, want ErrMalformedKey", bad, err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	fs := &fakeStore{keys: map[string]store.APIKey{}, users: map[string]store.User{}, touched: map[string]time.Time{}}
	fs.users["u1"] = store.User{ID: "u1", Role: store.RoleMember}
	fs.users["u2"] = store.User{ID: "u2", Role: store.RoleMember, Suspended: true}

	mk := func(userID string, mod func(*store.APIKey)) string {
		id, key, hash := NewKey()
		k := store.APIKey{ID: id, UserID: userID, SecretHash: hash}
		if mod != nil {
			mod(&k)
		}
		fs.keys[id] = k
		return key.Reveal()
	}
	good := mk("u1", nil)
	notExpired := mk("u1", func(k *store.APIKey) { k.ExpiresAt = &future })
	expired := mk("u1", func(k *store.APIKey) { k.ExpiresAt = &past })
	revoked := mk("u1", func(k *store.APIKey) { k.RevokedAt = &past })
	suspended := mk("u2", nil)
	orphan := mk("gone", nil)
	goodID, _, _ := SplitKey(good)

	a := New(Config{Store: fs, Now: func() time.Time { return now }})
	tests := []struct {
		name    string
		key     string
		wantErr error
	}{
		{"good", good, nil},
		{"not yet expired", notExpired, nil},
		{"expired", expired, ErrInvalidKey},
		{"revoked", revoked, ErrInvalidKey},
		{"suspended user", suspended, ErrSuspended},
		{"user gone", orphan, ErrInvalidKey},
		{"wrong secret", goodID + "-wrongsecret", ErrInvalidKey},
		{"unknown id", "ckunknown-secret", ErrInvalidKey},
		{"malformed", "garbage", ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), tt.key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && p.User.ID != "u1" {
				t.Fatalf("principal user = %q", p.User.ID)
			}
		})
	}

	if _, err := a.AuthenticateKeyID(context.Background(), goodID); err != nil {
		t.Fatalf("AuthenticateKeyID: %v", err)
	}
	a.Flush(context.Background())
	if got := fs.touched[goodID]; !got.Equal(now) {
		t.Fatalf("last used = %v, want %v", got, now)
	}
}

func TestPassword(t *testing.T) {
	t.Parallel()
	if _, err := HashPassword("short"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("short password: %v", err)
	}
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, "correct horse") {
		t.Fatal("right password refused")
	}
	if CheckPassword(h, "wrong horse") {
		t.Fatal("wrong password accepted")
	}
	if CheckPassword("", "anything") {
		t.Fatal("user without password accepted")
	}
}

func TestCacheAndForget(t *testing.T) {
	t.Parallel()
	fs := &fakeStore{keys: map[string]store.APIKey{}, users: map[string]store.User{}, touched: map[string]time.Time{}}
	fs.users["u1"] = store.User{ID: "u1", Role: store.RoleMember}
	id, key, hash := NewKey()
	fs.keys[id] = store.APIKey{ID: id, UserID: "u1", SecretHash: hash}
	a := New(Config{Store: fs, CacheTTL: time.Hour})
	ctx := context.Background()

	if _, err := a.Authenticate(ctx, key.Reveal()); err != nil {
		t.Fatal(err)
	}
	// The cache still checks the secret.
	if _, err := a.Authenticate(ctx, id+"-wrong"); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("wrong secret with a cached key: %v", err)
	}

	now := time.Now()
	fs.mu.Lock()
	k := fs.keys[id]
	k.RevokedAt = &now
	fs.keys[id] = k
	fs.mu.Unlock()
	if _, err := a.Authenticate(ctx, key.Reveal()); err != nil {
		t.Fatalf("within the cache lifetime the cached row is used: %v", err)
	}
	a.Forget(id)
	if _, err := a.Authenticate(ctx, key.Reveal()); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("after Forget a revoked key: %v, want ErrInvalidKey", err)
	}

	id2, key2, hash2 := NewKey()
	fs.mu.Lock()
	fs.keys[id2] = store.APIKey{ID: id2, UserID: "u1", SecretHash: hash2}
	fs.mu.Unlock()
	if _, err := a.Authenticate(ctx, key2.Reveal()); err != nil {
		t.Fatal(err)
	}
	fs.mu.Lock()
	fs.users["u1"] = store.User{ID: "u1", Suspended: true}
	fs.mu.Unlock()
	a.ForgetUser("u1")
	if _, err := a.Authenticate(ctx, key2.Reveal()); !errors.Is(err, ErrSuspended) {
		t.Fatalf("after ForgetUser a suspended user: %v, want ErrSuspended", err)
	}
}
