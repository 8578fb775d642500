package storetest

import (
	"testing"

	"github.com/chatd/chatd/internal/store"
)

// RunUserSettings runs the conformance tests of store.UserSettings. open
// must return a fresh, empty store implementing it; RunUserSettings closes
// it.
func RunUserSettings(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("MissingIsNotFound", func(t *testing.T) {
		s, us := openAs[store.UserSettings](t, open)
		u := mustUser(t, s, "alice")
		_, err := us.GetUserSetting(t.Context(), u.ID, "debug")
		wantErr(t, "get missing", err, store.ErrNotFound)
		_, err = us.GetUserSetting(t.Context(), "missing-user", "debug")
		wantErr(t, "get for missing user", err, store.ErrNotFound)
	})
	t.Run("PutOverwritesPerUser", func(t *testing.T) {
		s, us := openAs[store.UserSettings](t, open)
		ctx := t.Context()
		alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
		noErr(t, "put alice", us.PutUserSetting(ctx, alice.ID, "debug", "on"))
		noErr(t, "put alice other", us.PutUserSetting(ctx, alice.ID, "model", "m1"))
		noErr(t, "put bob", us.PutUserSetting(ctx, bob.ID, "debug", "off"))
		noErr(t, "overwrite alice", us.PutUserSetting(ctx, alice.ID, "debug", ""))
		tests := []struct {
			user, key, want string
		}{
			{alice.ID, "debug", ""},
			{alice.ID, "model", "m1"},
			{bob.ID, "debug", "off"},
		}
		for _, tt := range tests {
			got, err := us.GetUserSetting(ctx, tt.user, tt.key)
			noErr(t, "get", err)
			if got != tt.want {
				t.Fatalf("%s/%s = %q, want %q", tt.user, tt.key, got, tt.want)
			}
		}
		_, err := us.GetUserSetting(ctx, bob.ID, "model")
		wantErr(t, "get bob's unset key", err, store.ErrNotFound)
	})
	t.Run("Delete", func(t *testing.T) {
		s, us := openAs[store.UserSettings](t, open)
		ctx := t.Context()
		u := mustUser(t, s, "alice")
		noErr(t, "put", us.PutUserSetting(ctx, u.ID, "debug", "on"))
		noErr(t, "delete", us.DeleteUserSetting(ctx, u.ID, "debug"))
		_, err := us.GetUserSetting(ctx, u.ID, "debug")
		wantErr(t, "get deleted", err, store.ErrNotFound)
		noErr(t, "delete missing", us.DeleteUserSetting(ctx, u.ID, "debug"))
		noErr(t, "delete for missing user", us.DeleteUserSetting(ctx, "missing-user", "debug"))
	})
	t.Run("MissingUserIsNotFound", func(t *testing.T) {
		_, us := openAs[store.UserSettings](t, open)
		err := us.PutUserSetting(t.Context(), "missing-user", "debug", "on")
		wantErr(t, "put for missing user", err, store.ErrNotFound)
	})
}
