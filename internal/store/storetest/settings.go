package storetest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

func testSettings(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("MissingIsNotFound", func(t *testing.T) {
		s := fresh(t)
		_, err := s.GetSetting(t.Context(), "nope")
		wantErr(t, "get missing setting", err, store.ErrNotFound)
	})
	t.Run("PutOverwrites", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		noErr(t, "put", s.PutSetting(ctx, "debug", "on"))
		noErr(t, "put other", s.PutSetting(ctx, "other", "x"))
		got, err := s.GetSetting(ctx, "debug")
		noErr(t, "get", err)
		if got != "on" {
			t.Fatalf("debug = %q, want %q", got, "on")
		}
		noErr(t, "overwrite", s.PutSetting(ctx, "debug", ""))
		got, err = s.GetSetting(ctx, "debug")
		noErr(t, "get after overwrite", err)
		if got != "" {
			t.Fatalf("debug = %q, want empty", got)
		}
		got, err = s.GetSetting(ctx, "other")
		noErr(t, "get other", err)
		if got != "x" {
			t.Fatalf("other = %q, want %q", got, "x")
		}
	})
}

func testDatabase(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("Ping", func(t *testing.T) {
		s := fresh(t)
		noErr(t, "ping", s.Ping(t.Context()))
	})
	t.Run("SchemaVersion", func(t *testing.T) {
		s := fresh(t)
		v, err := s.SchemaVersion(t.Context())
		noErr(t, "schema version", err)
		if v <= 0 {
			t.Fatalf("schema version = %d, want > 0", v)
		}
	})
	t.Run("Now", func(t *testing.T) {
		s := fresh(t)
		before := time.Now()
		got, err := s.Now(t.Context())
		noErr(t, "now", err)
		after := time.Now()
		// Generous slack: the database clock may be another host's.
		const slack = 10 * time.Second
		if got.Before(before.Add(-slack)) || got.After(after.Add(slack)) {
			t.Fatalf("now = %v, want within %v of [%v, %v]", got, slack, before, after)
		}
		if got.Location() != time.UTC {
			t.Fatalf("now location = %v, want UTC", got.Location())
		}
	})
}
