package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

func mustAPIKey(t *testing.T, s store.Store, id, userID string, created time.Time) store.APIKey {
	t.Helper()
	k, err := s.CreateAPIKey(t.Context(), store.APIKey{
		ID: id, UserID: userID, Name: "key " + id, Kind: store.APIKeyKindAPI,
		SecretHash: []byte("hash-" + id), CreatedAt: created,
	})
	noErr(t, "create api key "+id, err)
	return k
}

func testAPIKeys(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("CreateAndGet", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		u := mustUser(t, s, "alice")
		want := store.APIKey{
			ID: "k1", UserID: u.ID, Name: "laptop", Kind: store.APIKeyKindSession,
			SecretHash: []byte{0, 1, 2, 0xfe, 0xff, 0},
			CreatedAt:  base,
			ExpiresAt:  ptr(base.Add(30 * 24 * time.Hour)),
		}
		k, err := s.CreateAPIKey(ctx, want)
		noErr(t, "create", err)
		sameRecord(t, "create", k, want)
		got, err := s.GetAPIKey(ctx, "k1")
		noErr(t, "get", err)
		sameRecord(t, "get", got, want)
	})
	t.Run("CreatedAtSetWhenZero", func(t *testing.T) {
		s := fresh(t)
		u := mustUser(t, s, "alice")
		k := mustAPIKey(t, s, "k1", u.ID, time.Time{})
		if k.CreatedAt.IsZero() {
			t.Fatal("created at not set")
		}
		got, err := s.GetAPIKey(t.Context(), "k1")
		noErr(t, "get", err)
		sameTime(t, "created at", got.CreatedAt, k.CreatedAt)
		if got.ExpiresAt != nil || got.LastUsedAt != nil || got.RevokedAt != nil {
			t.Fatalf("optional times = %v %v %v, want nil", fmtPtr(got.ExpiresAt), fmtPtr(got.LastUsedAt), fmtPtr(got.RevokedAt))
		}
	})
	t.Run("Errors", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		u := mustUser(t, s, "alice")
		mustAPIKey(t, s, "k1", u.ID, base)
		_, err := s.CreateAPIKey(ctx, store.APIKey{ID: "k1", UserID: u.ID, Kind: store.APIKeyKindAPI, SecretHash: []byte("x")})
		wantErr(t, "create taken id", err, store.ErrConflict)
		_, err = s.CreateAPIKey(ctx, store.APIKey{ID: "k2", UserID: "missing", Kind: store.APIKeyKindAPI, SecretHash: []byte("x")})
		wantErr(t, "create for unknown user", err, store.ErrNotFound)
		_, err = s.GetAPIKey(ctx, "missing")
		wantErr(t, "get", err, store.ErrNotFound)
		wantErr(t, "revoke", s.RevokeAPIKey(ctx, "missing", base), store.ErrNotFound)
	})
	t.Run("ListNewestFirst", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		alice := mustUser(t, s, "alice")
		bob := mustUser(t, s, "bob")
		mustAPIKey(t, s, "old", alice.ID, base)
		mustAPIKey(t, s, "new", alice.ID, base.Add(2*time.Second))
		mustAPIKey(t, s, "mid", alice.ID, base.Add(time.Second))
		mustAPIKey(t, s, "bobs", bob.ID, base.Add(time.Hour))
		noErr(t, "revoke", s.RevokeAPIKey(ctx, "mid", base.Add(time.Minute)))
		list, err := s.ListAPIKeys(ctx, alice.ID)
		noErr(t, "list", err)
		var ids []string
		for _, k := range list {
			ids = append(ids, k.ID)
		}
		if got, want := fmt.Sprint(ids), "[new mid old]"; got != want {
			t.Fatalf("list = %s, want %s", got, want)
		}
		if list[1].RevokedAt == nil {
			t.Fatal("revoked key listed without RevokedAt")
		}
		list, err = s.ListAPIKeys(ctx, "nobody")
		noErr(t, "list unknown user", err)
		if len(list) != 0 {
			t.Fatalf("list unknown user = %d keys, want 0", len(list))
		}
	})
	t.Run("RevokeKeepsFirstTime", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		u := mustUser(t, s, "alice")
		mustAPIKey(t, s, "k1", u.ID, base)
		first := base.Add(time.Minute)
		noErr(t, "revoke", s.RevokeAPIKey(ctx, "k1", first))
		noErr(t, "revoke again", s.RevokeAPIKey(ctx, "k1", base.Add(time.Hour)))
		got, err := s.GetAPIKey(ctx, "k1")
		noErr(t, "get", err)
		sameTimePtr(t, "revoked at", got.RevokedAt, &first)
	})
	t.Run("Touch", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		u := mustUser(t, s, "alice")
		mustAPIKey(t, s, "k1", u.ID, base)
		mustAPIKey(t, s, "k2", u.ID, base)
		mustAPIKey(t, s, "k3", u.ID, base)
		t1 := base.Add(time.Minute)
		t2 := base.Add(2 * time.Minute)
		noErr(t, "touch empty", s.TouchAPIKeys(ctx, nil))
		noErr(t, "touch", s.TouchAPIKeys(ctx, map[string]time.Time{"k1": t2, "k2": t1, "unknown": t2}))
		noErr(t, "touch older", s.TouchAPIKeys(ctx, map[string]time.Time{"k1": t1, "k2": t2}))
		for _, tc := range []struct {
			id   string
			want *time.Time
		}{
			{"k1", &t2}, // an older time does not move it back
			{"k2", &t2},
			{"k3", nil},
		} {
			got, err := s.GetAPIKey(ctx, tc.id)
			noErr(t, "get "+tc.id, err)
			sameTimePtr(t, tc.id+" last used", got.LastUsedAt, tc.want)
		}
		_, err := s.GetAPIKey(ctx, "unknown")
		wantErr(t, "touch created a key", err, store.ErrNotFound)
	})
}
