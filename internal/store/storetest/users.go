package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

func testUsers(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("CreateAndGet", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		u, err := s.CreateUser(ctx, store.User{Username: "alice", Role: store.RoleAdmin, PasswordHash: "$2a$hash"})
		noErr(t, "create", err)
		if u.ID == "" {
			t.Fatal("create: ID not set")
		}
		if u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
			t.Fatalf("create: times not set: %v %v", u.CreatedAt, u.UpdatedAt)
		}
		got, err := s.GetUser(ctx, u.ID)
		noErr(t, "get", err)
		sameRecord(t, "get", got, u)
		got, err = s.GetUserByUsername(ctx, "alice")
		noErr(t, "get by username", err)
		sameRecord(t, "get by username", got, u)
	})
	t.Run("CallerIDAndTimesKept", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		want := store.User{
			ID: "user-1", Username: "bob", Role: store.RoleMember, Suspended: true,
			CreatedAt: base, UpdatedAt: base.Add(time.Hour),
		}
		u, err := s.CreateUser(ctx, want)
		noErr(t, "create", err)
		sameRecord(t, "create", u, want)
		got, err := s.GetUser(ctx, "user-1")
		noErr(t, "get", err)
		sameRecord(t, "get", got, want)
	})
	t.Run("TakenUsernameConflicts", func(t *testing.T) {
		s := fresh(t)
		mustUser(t, s, "alice")
		_, err := s.CreateUser(t.Context(), store.User{Username: "alice", Role: store.RoleMember})
		wantErr(t, "create taken username", err, store.ErrConflict)
	})
	t.Run("NotFound", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		mustUser(t, s, "alice")
		_, err := s.GetUser(ctx, "missing")
		wantErr(t, "get", err, store.ErrNotFound)
		_, err = s.GetUserByUsername(ctx, "missing")
		wantErr(t, "get by username", err, store.ErrNotFound)
		_, err = s.UpdateUser(ctx, "missing", store.UserPatch{Suspended: ptr(true)})
		wantErr(t, "update", err, store.ErrNotFound)
	})
	t.Run("ListAndCount", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		n, err := s.CountUsers(ctx)
		noErr(t, "count empty", err)
		if n != 0 {
			t.Fatalf("count empty = %d, want 0", n)
		}
		list, err := s.ListUsers(ctx)
		noErr(t, "list empty", err)
		if len(list) != 0 {
			t.Fatalf("list empty = %d users, want 0", len(list))
		}
		for _, name := range []string{"carol", "alice", "bob"} {
			mustUser(t, s, name)
		}
		n, err = s.CountUsers(ctx)
		noErr(t, "count", err)
		if n != 3 {
			t.Fatalf("count = %d, want 3", n)
		}
		list, err = s.ListUsers(ctx)
		noErr(t, "list", err)
		var names []string
		for _, u := range list {
			names = append(names, u.Username)
		}
		if got, want := fmt.Sprint(names), "[alice bob carol]"; got != want {
			t.Fatalf("list = %s, want %s", got, want)
		}
	})
	t.Run("Patch", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		u, err := s.CreateUser(ctx, store.User{Username: "alice", Role: store.RoleMember, PasswordHash: "old", CreatedAt: base})
		noErr(t, "create", err)

		got, err := s.UpdateUser(ctx, u.ID, store.UserPatch{Role: ptr(store.RoleAdmin)})
		noErr(t, "patch role", err)
		want := u
		want.Role = store.RoleAdmin
		want.UpdatedAt = got.UpdatedAt
		sameRecord(t, "patch role", got, want)
		if got.UpdatedAt.Before(u.UpdatedAt) {
			t.Fatalf("updated at moved back: %v < %v", got.UpdatedAt, u.UpdatedAt)
		}

		got, err = s.UpdateUser(ctx, u.ID, store.UserPatch{Suspended: ptr(true), PasswordHash: ptr("")})
		noErr(t, "patch suspended", err)
		want.Suspended = true
		want.PasswordHash = ""
		want.UpdatedAt = got.UpdatedAt
		sameRecord(t, "patch suspended", got, want)

		got, err = s.UpdateUser(ctx, u.ID, store.UserPatch{})
		noErr(t, "empty patch", err)
		want.UpdatedAt = got.UpdatedAt
		sameRecord(t, "empty patch", got, want)

		read, err := s.GetUser(ctx, u.ID)
		noErr(t, "get", err)
		sameRecord(t, "get after patch", read, got)
	})
}
