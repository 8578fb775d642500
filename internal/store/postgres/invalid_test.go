package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// TestBadTextIsInvalid checks that text PostgreSQL refuses (NUL, invalid
// UTF-8) in a lookup or a write is store.ErrInvalid, which the API answers
// with 400, never an internal error.
func TestBadTextIsInvalid(t *testing.T) {
	t.Parallel()
	db := open(t)
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"get user invalid UTF-8", func(ctx context.Context) error { _, err := db.GetUser(ctx, "\xff\xfe"); return err }},
		{"get user NUL", func(ctx context.Context) error { _, err := db.GetUser(ctx, "a\x00b"); return err }},
		{"get user by username", func(ctx context.Context) error { _, err := db.GetUserByUsername(ctx, "a\x00b"); return err }},
		{"create user", func(ctx context.Context) error {
			_, err := db.CreateUser(ctx, store.User{Username: "a\x00b", Role: store.RoleMember})
			return err
		}},
		{"update user", func(ctx context.Context) error { _, err := db.UpdateUser(ctx, "\xff", store.UserPatch{}); return err }},
		{"get API key", func(ctx context.Context) error { _, err := db.GetAPIKey(ctx, "\xff"); return err }},
		{"revoke API key", func(ctx context.Context) error { return db.RevokeAPIKey(ctx, "a\x00b", time.Now()) }},
		{"get provider by name", func(ctx context.Context) error { _, err := db.GetProviderByName(ctx, "\xff"); return err }},
		{"get model", func(ctx context.Context) error { _, err := db.GetModel(ctx, "\xff"); return err }},
		{"get interception", func(ctx context.Context) error { _, err := db.GetInterception(ctx, "\xff"); return err }},
		{"list interceptions", func(ctx context.Context) error {
			_, err := db.ListInterceptions(ctx, store.InterceptionFilter{UserID: "\xff"})
			return err
		}},
		{"get setting", func(ctx context.Context) error { _, err := db.GetSetting(ctx, "a\x00b"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(t.Context()); !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("got error %v, want store.ErrInvalid", err)
			}
		})
	}
}
