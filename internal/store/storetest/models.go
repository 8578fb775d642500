package storetest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// defaults returns the IDs of the models marked default.
func defaults(t *testing.T, s store.Store) []string {
	t.Helper()
	list, err := s.ListModels(t.Context())
	noErr(t, "list models", err)
	var ids []string
	for _, m := range list {
		if m.IsDefault {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

func testModels(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("CreateAndGet", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		p := mustProvider(t, s, "openai")
		want := store.ModelConfig{
			ProviderID: p.ID, Model: "gpt-5", DisplayName: "GPT-5", ContextLimit: 400_000,
			Prices:  store.Prices{Input: ptr(0.0), Output: nil, CacheRead: ptr(1.25), CacheWrite: nil},
			Enabled: true, IsDefault: true, UseResponsesAPI: true, CompactionThresholdPercent: ptr(70),
			CreatedAt: base, UpdatedAt: base.Add(time.Second),
		}
		m, err := s.CreateModel(ctx, want)
		noErr(t, "create", err)
		if m.ID == "" {
			t.Fatal("create: ID not set")
		}
		want.ID = m.ID
		sameRecord(t, "create", m, want)
		got, err := s.GetModel(ctx, m.ID)
		noErr(t, "get", err)
		sameRecord(t, "get", got, want)
		got, err = s.GetModelByName(ctx, p.ID, "gpt-5")
		noErr(t, "get by name", err)
		sameRecord(t, "get by name", got, want)
		list, err := s.ListModels(ctx)
		noErr(t, "list", err)
		if len(list) != 1 {
			t.Fatalf("list = %d models, want 1", len(list))
		}
		sameRecord(t, "list", list[0], want)
	})
	t.Run("Errors", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		p := mustProvider(t, s, "openai")
		q := mustProvider(t, s, "other")
		mustModel(t, s, p.ID, "gpt-5", false)
		_, err := s.CreateModel(ctx, store.ModelConfig{ProviderID: p.ID, Model: "gpt-5"})
		wantErr(t, "create same provider and model", err, store.ErrConflict)
		mustModel(t, s, q.ID, "gpt-5", false) // same model on another provider is fine
		_, err = s.CreateModel(ctx, store.ModelConfig{ProviderID: "missing", Model: "gpt-5"})
		wantErr(t, "create on unknown provider", err, store.ErrNotFound)
		_, err = s.GetModel(ctx, "missing")
		wantErr(t, "get", err, store.ErrNotFound)
		_, err = s.GetModelByName(ctx, p.ID, "missing")
		wantErr(t, "get by name", err, store.ErrNotFound)
		_, err = s.GetModelByName(ctx, "missing", "gpt-5")
		wantErr(t, "get by name on unknown provider", err, store.ErrNotFound)
		_, err = s.UpdateModel(ctx, "missing", store.ModelPatch{Enabled: ptr(false)})
		wantErr(t, "update", err, store.ErrNotFound)
		for _, pct := range []int{0, -1, 101} {
			_, err = s.CreateModel(ctx, store.ModelConfig{ProviderID: q.ID, Model: "bad-threshold", CompactionThresholdPercent: ptr(pct)})
			wantErr(t, "create with threshold out of range", err, store.ErrInvalid)
		}
		wantErr(t, "delete", s.DeleteModel(ctx, "missing"), store.ErrNotFound)
	})
	t.Run("OneDefault", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		p := mustProvider(t, s, "openai")
		a := mustModel(t, s, p.ID, "a", true)
		b := mustModel(t, s, p.ID, "b", true)
		if got := defaults(t, s); len(got) != 1 || got[0] != b.ID {
			t.Fatalf("defaults after create = %v, want [%s]", got, b.ID)
		}
		c := mustModel(t, s, p.ID, "c", false)
		if got := defaults(t, s); len(got) != 1 || got[0] != b.ID {
			t.Fatalf("defaults after non-default create = %v, want [%s]", got, b.ID)
		}
		got, err := s.UpdateModel(ctx, a.ID, store.ModelPatch{IsDefault: ptr(true)})
		noErr(t, "patch default", err)
		if !got.IsDefault {
			t.Fatal("patched model not default")
		}
		if got := defaults(t, s); len(got) != 1 || got[0] != a.ID {
			t.Fatalf("defaults after patch = %v, want [%s]", got, a.ID)
		}
		// Setting it again is harmless.
		_, err = s.UpdateModel(ctx, a.ID, store.ModelPatch{IsDefault: ptr(true)})
		noErr(t, "patch default again", err)
		if got := defaults(t, s); len(got) != 1 || got[0] != a.ID {
			t.Fatalf("defaults after repeat = %v, want [%s]", got, a.ID)
		}
		// Clearing a non-default leaves the default alone.
		_, err = s.UpdateModel(ctx, c.ID, store.ModelPatch{IsDefault: ptr(false)})
		noErr(t, "clear non-default", err)
		if got := defaults(t, s); len(got) != 1 || got[0] != a.ID {
			t.Fatalf("defaults after clearing other = %v, want [%s]", got, a.ID)
		}
		_, err = s.UpdateModel(ctx, a.ID, store.ModelPatch{IsDefault: ptr(false)})
		noErr(t, "clear default", err)
		if got := defaults(t, s); len(got) != 0 {
			t.Fatalf("defaults after clear = %v, want none", got)
		}
	})
	t.Run("Patch", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		p := mustProvider(t, s, "openai")
		m, err := s.CreateModel(ctx, store.ModelConfig{
			ProviderID: p.ID, Model: "gpt-5", DisplayName: "GPT-5", ContextLimit: 1000,
			Prices: store.Prices{Input: ptr(1.0), Output: ptr(2.0)}, Enabled: true, CreatedAt: base,
		})
		noErr(t, "create", err)
		got, err := s.UpdateModel(ctx, m.ID, store.ModelPatch{
			DisplayName: ptr("Five"), ContextLimit: ptr(int64(0)), Enabled: ptr(false),
			Prices: &store.Prices{CacheRead: ptr(0.5), CacheWrite: ptr(0.0)}, UseResponsesAPI: ptr(true),
		})
		noErr(t, "patch", err)
		want := m
		want.DisplayName, want.ContextLimit, want.Enabled, want.UseResponsesAPI = "Five", 0, false, true
		want.Prices = store.Prices{CacheRead: ptr(0.5), CacheWrite: ptr(0.0)}
		want.UpdatedAt = got.UpdatedAt
		sameRecord(t, "patch", got, want)
		if got.UpdatedAt.Before(m.UpdatedAt) {
			t.Fatalf("updated at moved back: %v < %v", got.UpdatedAt, m.UpdatedAt)
		}
		read, err := s.GetModel(ctx, m.ID)
		noErr(t, "get", err)
		sameRecord(t, "get after patch", read, want)

		// A patch without prices keeps them.
		got, err = s.UpdateModel(ctx, m.ID, store.ModelPatch{DisplayName: ptr("5")})
		noErr(t, "patch name", err)
		if got.Prices.Input != nil || *got.Prices.CacheRead != 0.5 || *got.Prices.CacheWrite != 0 {
			t.Fatalf("prices after name patch = %+v", got.Prices)
		}
		if !got.UseResponsesAPI {
			t.Fatal("use responses API lost by a patch without it")
		}
		got, err = s.UpdateModel(ctx, m.ID, store.ModelPatch{UseResponsesAPI: ptr(false)})
		noErr(t, "patch responses API", err)
		if got.UseResponsesAPI {
			t.Fatal("use responses API still set after clearing it")
		}
	})
	t.Run("CompactionThreshold", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		p := mustProvider(t, s, "openai")
		m := mustModel(t, s, p.ID, "gpt-5", false)
		if m.CompactionThresholdPercent != nil {
			t.Fatalf("new model threshold = %d, want nil (inherit)", *m.CompactionThresholdPercent)
		}
		threshold := func(what string, m store.ModelConfig, want *int) {
			t.Helper()
			if (m.CompactionThresholdPercent == nil) != (want == nil) || (want != nil && *m.CompactionThresholdPercent != *want) {
				t.Fatalf("%s: threshold = %v, want %v", what, m.CompactionThresholdPercent, want)
			}
			read, err := s.GetModel(ctx, m.ID)
			noErr(t, what+": get", err)
			sameRecord(t, what+": get", read, m)
		}
		got, err := s.UpdateModel(ctx, m.ID, store.ModelPatch{CompactionThresholdPercent: ptr(55)})
		noErr(t, "set", err)
		threshold("set", got, ptr(55))
		got, err = s.UpdateModel(ctx, m.ID, store.ModelPatch{DisplayName: ptr("Five")})
		noErr(t, "patch without it", err)
		threshold("patch without it", got, ptr(55))
		for _, tt := range []struct {
			name  string
			patch store.ModelPatch
		}{
			{"zero", store.ModelPatch{CompactionThresholdPercent: ptr(0)}},
			{"over 100", store.ModelPatch{CompactionThresholdPercent: ptr(101)}},
			{"set and clear", store.ModelPatch{CompactionThresholdPercent: ptr(50), ClearCompactionThreshold: true}},
		} {
			_, err = s.UpdateModel(ctx, m.ID, tt.patch)
			wantErr(t, tt.name, err, store.ErrInvalid)
		}
		got, err = s.UpdateModel(ctx, m.ID, store.ModelPatch{CompactionThresholdPercent: ptr(100)})
		noErr(t, "set 100", err)
		threshold("set 100", got, ptr(100))
		got, err = s.UpdateModel(ctx, m.ID, store.ModelPatch{ClearCompactionThreshold: true})
		noErr(t, "clear", err)
		threshold("clear", got, nil)
	})
	t.Run("Delete", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		p := mustProvider(t, s, "openai")
		m := mustModel(t, s, p.ID, "gpt-5", true)
		noErr(t, "delete", s.DeleteModel(ctx, m.ID))
		_, err := s.GetModel(ctx, m.ID)
		wantErr(t, "get deleted", err, store.ErrNotFound)
		wantErr(t, "delete again", s.DeleteModel(ctx, m.ID), store.ErrNotFound)
		// The name is free again.
		mustModel(t, s, p.ID, "gpt-5", true)
	})
}
