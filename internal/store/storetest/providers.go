package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/chatd/chatd/internal/store"
)

func testProviders(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("CreateAndGet", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		want := store.Provider{
			Name: "anthropic", Type: store.ProviderAnthropic, BaseURL: "https://api.anthropic.com",
			Enabled: true, APIKeyCipher: []byte{0, 0xff, 0x10, 0, 'k', 0x80}, APIKeyHint: "sk-a…wxyz",
			CreatedAt: base, UpdatedAt: base,
		}
		p, err := s.CreateProvider(ctx, want)
		noErr(t, "create", err)
		if p.ID == "" {
			t.Fatal("create: ID not set")
		}
		want.ID = p.ID
		sameRecord(t, "create", p, want)
		got, err := s.GetProvider(ctx, p.ID)
		noErr(t, "get", err)
		sameRecord(t, "get", got, want)
		got, err = s.GetProviderByName(ctx, "anthropic")
		noErr(t, "get by name", err)
		sameRecord(t, "get by name", got, want)
	})
	t.Run("NoCentralKeyIsNil", func(t *testing.T) {
		s := fresh(t)
		p := mustProvider(t, s, "openai")
		got, err := s.GetProvider(t.Context(), p.ID)
		noErr(t, "get", err)
		if got.APIKeyCipher != nil {
			t.Fatalf("cipher = %v, want nil", got.APIKeyCipher)
		}
		if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
			t.Fatalf("times not set: %v %v", got.CreatedAt, got.UpdatedAt)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		mustProvider(t, s, "openai")
		other := mustProvider(t, s, "other")
		_, err := s.CreateProvider(ctx, store.Provider{Name: "openai", Type: store.ProviderOpenAI})
		wantErr(t, "create taken name", err, store.ErrConflict)
		_, err = s.UpdateProvider(ctx, other.ID, store.ProviderPatch{Name: ptr("openai")})
		wantErr(t, "rename to taken name", err, store.ErrConflict)
		_, err = s.GetProvider(ctx, "missing")
		wantErr(t, "get", err, store.ErrNotFound)
		_, err = s.GetProviderByName(ctx, "missing")
		wantErr(t, "get by name", err, store.ErrNotFound)
		_, err = s.UpdateProvider(ctx, "missing", store.ProviderPatch{Enabled: ptr(false)})
		wantErr(t, "update", err, store.ErrNotFound)
		wantErr(t, "delete", s.DeleteProvider(ctx, "missing"), store.ErrNotFound)
	})
	t.Run("ListByName", func(t *testing.T) {
		s := fresh(t)
		for _, name := range []string{"zeta", "alpha", "mid"} {
			mustProvider(t, s, name)
		}
		list, err := s.ListProviders(t.Context())
		noErr(t, "list", err)
		var names []string
		for _, p := range list {
			names = append(names, p.Name)
		}
		if got, want := fmt.Sprint(names), "[alpha mid zeta]"; got != want {
			t.Fatalf("list = %s, want %s", got, want)
		}
	})
	t.Run("Patch", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		p, err := s.CreateProvider(ctx, store.Provider{
			Name: "openai", Type: store.ProviderOpenAI, BaseURL: "https://a.example", Enabled: true, CreatedAt: base,
		})
		noErr(t, "create", err)
		cipher := []byte{9, 0, 8, 0xff}
		got, err := s.UpdateProvider(ctx, p.ID, store.ProviderPatch{
			Name: ptr("openai2"), BaseURL: ptr("https://b.example"), Enabled: ptr(false),
			APIKeyCipher: cipher, APIKeyHint: ptr("sk-…1234"),
		})
		noErr(t, "patch", err)
		want := p
		want.Name, want.BaseURL, want.Enabled = "openai2", "https://b.example", false
		want.APIKeyCipher, want.APIKeyHint = cipher, "sk-…1234"
		want.UpdatedAt = got.UpdatedAt
		sameRecord(t, "patch", got, want)
		if got.UpdatedAt.Before(p.UpdatedAt) {
			t.Fatalf("updated at moved back: %v < %v", got.UpdatedAt, p.UpdatedAt)
		}
		read, err := s.GetProviderByName(ctx, "openai2")
		noErr(t, "get", err)
		sameRecord(t, "get after patch", read, got)
		if !bytes.Equal(read.APIKeyCipher, cipher) {
			t.Fatalf("cipher = %v, want %v", read.APIKeyCipher, cipher)
		}

		got, err = s.UpdateProvider(ctx, p.ID, store.ProviderPatch{ClearAPIKey: true})
		noErr(t, "clear key", err)
		if got.APIKeyCipher != nil || got.APIKeyHint != "" {
			t.Fatalf("after clear: cipher %v hint %q, want nil and empty", got.APIKeyCipher, got.APIKeyHint)
		}
		read, err = s.GetProvider(ctx, p.ID)
		noErr(t, "get after clear", err)
		if read.APIKeyCipher != nil || read.APIKeyHint != "" {
			t.Fatalf("read after clear: cipher %v hint %q, want nil and empty", read.APIKeyCipher, read.APIKeyHint)
		}
		if read.Name != "openai2" || read.Enabled {
			t.Fatalf("clear changed other fields: %+v", read)
		}
	})
	t.Run("DeleteCascades", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		u := mustUser(t, s, "alice")
		gone := mustProvider(t, s, "gone")
		kept := mustProvider(t, s, "kept")
		goneModel := mustModel(t, s, gone.ID, "m1", true)
		keptModel := mustModel(t, s, kept.ID, "m1", false)
		for _, p := range []store.Provider{gone, kept} {
			_, err := s.PutProviderKey(ctx, store.UserProviderKey{UserID: u.ID, ProviderID: p.ID, KeyCipher: []byte("c"), KeyHint: "h"})
			noErr(t, "put key", err)
		}
		noErr(t, "delete", s.DeleteProvider(ctx, gone.ID))
		_, err := s.GetProvider(ctx, gone.ID)
		wantErr(t, "get deleted", err, store.ErrNotFound)
		_, err = s.GetModel(ctx, goneModel.ID)
		wantErr(t, "get model of deleted provider", err, store.ErrNotFound)
		_, err = s.GetProviderKey(ctx, u.ID, gone.ID)
		wantErr(t, "get key of deleted provider", err, store.ErrNotFound)
		_, err = s.GetModel(ctx, keptModel.ID)
		noErr(t, "get kept model", err)
		_, err = s.GetProviderKey(ctx, u.ID, kept.ID)
		noErr(t, "get kept key", err)
		wantErr(t, "delete again", s.DeleteProvider(ctx, gone.ID), store.ErrNotFound)
		// A new default may be set once the old one went with its provider.
		m, err := s.UpdateModel(ctx, keptModel.ID, store.ModelPatch{IsDefault: ptr(true)})
		noErr(t, "set default", err)
		if !m.IsDefault {
			t.Fatal("model not default")
		}
	})
}
