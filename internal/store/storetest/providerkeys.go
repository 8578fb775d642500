package storetest

import (
	"testing"

	"github.com/chatd/chatd/internal/store"
)

func testProviderKeys(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("PutGetReplace", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		u := mustUser(t, s, "alice")
		p := mustProvider(t, s, "openai")
		first, err := s.PutProviderKey(ctx, store.UserProviderKey{
			UserID: u.ID, ProviderID: p.ID, KeyCipher: []byte{1, 0, 0xff}, KeyHint: "sk-…1111",
		})
		noErr(t, "put", err)
		if first.CreatedAt.IsZero() || first.UpdatedAt.IsZero() {
			t.Fatalf("times not set: %v %v", first.CreatedAt, first.UpdatedAt)
		}
		want := store.UserProviderKey{
			UserID: u.ID, ProviderID: p.ID, KeyCipher: []byte{1, 0, 0xff}, KeyHint: "sk-…1111",
			CreatedAt: first.CreatedAt, UpdatedAt: first.UpdatedAt,
		}
		sameRecord(t, "put", first, want)
		got, err := s.GetProviderKey(ctx, u.ID, p.ID)
		noErr(t, "get", err)
		sameRecord(t, "get", got, want)

		second, err := s.PutProviderKey(ctx, store.UserProviderKey{
			UserID: u.ID, ProviderID: p.ID, KeyCipher: []byte{2, 2}, KeyHint: "sk-…2222",
		})
		noErr(t, "replace", err)
		want.KeyCipher, want.KeyHint, want.UpdatedAt = []byte{2, 2}, "sk-…2222", second.UpdatedAt
		sameRecord(t, "replace", second, want)
		if second.UpdatedAt.Before(first.UpdatedAt) {
			t.Fatalf("updated at moved back: %v < %v", second.UpdatedAt, first.UpdatedAt)
		}
		got, err = s.GetProviderKey(ctx, u.ID, p.ID)
		noErr(t, "get after replace", err)
		sameRecord(t, "get after replace", got, want)
		list, err := s.ListProviderKeys(ctx, u.ID)
		noErr(t, "list", err)
		if len(list) != 1 {
			t.Fatalf("list = %d keys, want 1 (one per user and provider)", len(list))
		}
	})
	t.Run("List", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		alice := mustUser(t, s, "alice")
		bob := mustUser(t, s, "bob")
		p := mustProvider(t, s, "openai")
		q := mustProvider(t, s, "anthropic")
		for _, k := range []store.UserProviderKey{
			{UserID: alice.ID, ProviderID: p.ID, KeyCipher: []byte("a1")},
			{UserID: alice.ID, ProviderID: q.ID, KeyCipher: []byte("a2")},
			{UserID: bob.ID, ProviderID: p.ID, KeyCipher: []byte("b1")},
		} {
			_, err := s.PutProviderKey(ctx, k)
			noErr(t, "put", err)
		}
		list, err := s.ListProviderKeys(ctx, alice.ID)
		noErr(t, "list", err)
		got := map[string]string{}
		for _, k := range list {
			if k.UserID != alice.ID {
				t.Fatalf("listed key of user %q", k.UserID)
			}
			got[k.ProviderID] = string(k.KeyCipher)
		}
		if len(got) != 2 || got[p.ID] != "a1" || got[q.ID] != "a2" {
			t.Fatalf("list = %v, want a1 and a2", got)
		}
		list, err = s.ListProviderKeys(ctx, "nobody")
		noErr(t, "list unknown user", err)
		if len(list) != 0 {
			t.Fatalf("list unknown user = %d keys, want 0", len(list))
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		u := mustUser(t, s, "alice")
		p := mustProvider(t, s, "openai")
		_, err := s.PutProviderKey(ctx, store.UserProviderKey{UserID: u.ID, ProviderID: p.ID, KeyCipher: []byte("c")})
		noErr(t, "put", err)
		noErr(t, "delete", s.DeleteProviderKey(ctx, u.ID, p.ID))
		_, err = s.GetProviderKey(ctx, u.ID, p.ID)
		wantErr(t, "get deleted", err, store.ErrNotFound)
		wantErr(t, "delete again", s.DeleteProviderKey(ctx, u.ID, p.ID), store.ErrNotFound)
	})
	t.Run("UnknownUserOrProvider", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		u := mustUser(t, s, "alice")
		p := mustProvider(t, s, "openai")
		_, err := s.PutProviderKey(ctx, store.UserProviderKey{UserID: "missing", ProviderID: p.ID, KeyCipher: []byte("c")})
		wantErr(t, "put for unknown user", err, store.ErrNotFound)
		_, err = s.PutProviderKey(ctx, store.UserProviderKey{UserID: u.ID, ProviderID: "missing", KeyCipher: []byte("c")})
		wantErr(t, "put for unknown provider", err, store.ErrNotFound)
		_, err = s.GetProviderKey(ctx, u.ID, p.ID)
		wantErr(t, "get never put", err, store.ErrNotFound)
	})
}
