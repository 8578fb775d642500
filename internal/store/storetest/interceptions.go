package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// fullInterception sets every field to a non-zero value.
func fullInterception() store.Interception {
	return store.Interception{
		ID:             "int-1",
		UserID:         "user-1",
		APIKeyID:       "key-1",
		ProviderName:   "anthropic",
		ProviderType:   store.ProviderAnthropic,
		Endpoint:       "/v1/messages",
		Model:          "claude-sonnet-4-5",
		Streaming:      true,
		Client:         "claude-code",
		UserAgent:      "claude-cli/2.0 (external, cli)",
		ChatID:         "chat-1",
		SubchatID:      "chat-2",
		Source:         store.SourceAgents,
		CredentialKind: store.CredentialBYOK,
		CredentialHint: "sk-ant-…wxyz",
		Status:         200,
		Error:          "stream ended early",
		StartedAt:      base,
		EndedAt:        base.Add(3*time.Second + 250*time.Millisecond),
		TTFB:           1_234_567 * time.Microsecond,
		Usage:          store.Usage{Input: 1200, Output: 340, CacheRead: 1000, CacheWrite: 200, Reasoning: 40},
		Prompt:         "what is 2+2? \u00e9\u4e2d\U0001F600",
		ToolCalls: []store.ToolCall{
			{ID: "call_1", Name: "bash", Arguments: `{"cmd":"ls -la"}`},
			{Name: "read", Arguments: `{}`},
		},
		Reasoning:  "thinking…",
		CostMicros: ptr(int64(12_345)),
	}
}

func ids(list []store.Interception) string {
	var out []string
	for _, in := range list {
		out = append(out, in.ID)
	}
	return fmt.Sprint(out)
}

func testInterceptions(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		want := fullInterception()
		in, err := s.CreateInterception(ctx, want)
		noErr(t, "create", err)
		sameRecord(t, "create", in, want)
		got, err := s.GetInterception(ctx, want.ID)
		noErr(t, "get", err)
		sameRecord(t, "get", got, want)
		list, err := s.ListInterceptions(ctx, store.InterceptionFilter{})
		noErr(t, "list", err)
		if len(list) != 1 {
			t.Fatalf("list = %d records, want 1", len(list))
		}
		sameRecord(t, "list", list[0], want)
	})
	t.Run("MinimalAndNilCost", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		for _, tc := range []struct {
			name string
			cost *int64
		}{
			{"unpriced", nil},
			{"free", ptr(int64(0))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				want := store.Interception{
					UserID: "u", Model: "m", StartedAt: base, EndedAt: base.Add(time.Second), CostMicros: tc.cost,
				}
				in, err := s.CreateInterception(ctx, want)
				noErr(t, "create", err)
				if in.ID == "" {
					t.Fatal("create: ID not set")
				}
				want.ID = in.ID
				got, err := s.GetInterception(ctx, in.ID)
				noErr(t, "get", err)
				sameRecord(t, "get", got, want)
			})
		}
	})
	t.Run("GetUnknown", func(t *testing.T) {
		s := fresh(t)
		_, err := s.GetInterception(t.Context(), "missing")
		wantErr(t, "get", err, store.ErrNotFound)
	})
	t.Run("DuplicateID", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		_, err := s.CreateInterception(ctx, fullInterception())
		noErr(t, "create", err)
		_, err = s.CreateInterception(ctx, fullInterception())
		wantErr(t, "create duplicate", err, store.ErrConflict)
	})
	t.Run("Batch", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		noErr(t, "create empty batch", s.CreateInterceptions(ctx, nil))
		full := fullInterception()
		minimal := store.Interception{UserID: "u", Model: "m", StartedAt: base.Add(time.Minute)}
		noErr(t, "create batch", s.CreateInterceptions(ctx, []store.Interception{full, minimal}))
		got, err := s.GetInterception(ctx, full.ID)
		noErr(t, "get", err)
		sameRecord(t, "get", got, full)
		list, err := s.ListInterceptions(ctx, store.InterceptionFilter{})
		noErr(t, "list", err)
		if len(list) != 2 || list[0].ID == "" || list[0].Model != "m" {
			t.Fatalf("list = %v, want the minimal record (with an ID) then %q", ids(list), full.ID)
		}

		// All or none: a duplicate ID fails the batch and writes nothing.
		novel := store.Interception{ID: "int-new", UserID: "u", StartedAt: base}
		err = s.CreateInterceptions(ctx, []store.Interception{novel, full})
		wantErr(t, "create batch with a duplicate", err, store.ErrConflict)
		_, err = s.GetInterception(ctx, novel.ID)
		wantErr(t, "get from a failed batch", err, store.ErrNotFound)
	})
	t.Run("Filters", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		seed := []store.Interception{
			{ID: "a", UserID: "u1", ProviderName: "openai", Model: "gpt", ChatID: "c1", StartedAt: base},
			{ID: "b", UserID: "u2", ProviderName: "openai", Model: "gpt", StartedAt: base.Add(1 * time.Minute)},
			{ID: "c", UserID: "u1", ProviderName: "anthropic", Model: "claude", ChatID: "c1", StartedAt: base.Add(2 * time.Minute)},
			{ID: "d", UserID: "u1", ProviderName: "openai", Model: "o3", ChatID: "c2", StartedAt: base.Add(3 * time.Minute)},
			{ID: "e", UserID: "u2", ProviderName: "anthropic", Model: "claude", StartedAt: base.Add(4 * time.Minute)},
		}
		for _, in := range seed {
			_, err := s.CreateInterception(ctx, in)
			noErr(t, "create "+in.ID, err)
		}
		at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
		tests := []struct {
			name string
			f    store.InterceptionFilter
			want string
		}{
			{"all newest first", store.InterceptionFilter{}, "[e d c b a]"},
			{"user", store.InterceptionFilter{UserID: "u1"}, "[d c a]"},
			{"provider", store.InterceptionFilter{ProviderName: "anthropic"}, "[e c]"},
			{"model", store.InterceptionFilter{Model: "gpt"}, "[b a]"},
			{"chat", store.InterceptionFilter{ChatID: "c1"}, "[c a]"},
			{"since inclusive", store.InterceptionFilter{Since: at(3)}, "[e d]"},
			{"until exclusive", store.InterceptionFilter{Until: at(1)}, "[a]"},
			{"since and until", store.InterceptionFilter{Since: at(1), Until: at(3)}, "[c b]"},
			{"before exclusive", store.InterceptionFilter{Before: at(2)}, "[b a]"},
			{"limit", store.InterceptionFilter{Limit: 2}, "[e d]"},
			{"page", store.InterceptionFilter{Limit: 2, Before: at(3)}, "[c b]"},
			{"combined", store.InterceptionFilter{UserID: "u1", ProviderName: "openai", Since: at(0)}, "[d a]"},
			{"no match", store.InterceptionFilter{UserID: "nobody"}, "[]"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				list, err := s.ListInterceptions(ctx, tc.f)
				noErr(t, "list", err)
				if got := ids(list); got != tc.want {
					t.Fatalf("list = %s, want %s", got, tc.want)
				}
			})
		}
	})
	t.Run("DefaultLimit", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		for i := range 101 {
			_, err := s.CreateInterception(ctx, store.Interception{
				ID: fmt.Sprintf("i%03d", i), StartedAt: base.Add(time.Duration(i) * time.Second),
			})
			noErr(t, "create", err)
		}
		list, err := s.ListInterceptions(ctx, store.InterceptionFilter{})
		noErr(t, "list", err)
		if len(list) != 100 {
			t.Fatalf("list = %d records, want 100", len(list))
		}
		if list[0].ID != "i100" || list[99].ID != "i001" {
			t.Fatalf("list runs %s..%s, want i100..i001", list[0].ID, list[99].ID)
		}
	})
	t.Run("UsageByDay", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		day1 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		day2 := day1.AddDate(0, 0, 1)
		use := func(in, out, cr, cw, r int64) store.Usage {
			return store.Usage{Input: in, Output: out, CacheRead: cr, CacheWrite: cw, Reasoning: r}
		}
		seed := []store.Interception{
			{UserID: "u1", Model: "gpt", StartedAt: day1.Add(time.Hour), Usage: use(10, 20, 1, 2, 3), CostMicros: ptr(int64(100))},
			{UserID: "u1", Model: "gpt", StartedAt: day1.Add(5 * time.Hour), Usage: use(1, 2, 3, 4, 5)}, // unpriced
			{UserID: "u1", Model: "gpt", StartedAt: day2.Add(-time.Microsecond), Usage: use(100, 0, 0, 0, 0), CostMicros: ptr(int64(7))},
			{UserID: "u1", Model: "claude", StartedAt: day1.Add(2 * time.Hour), Usage: use(5, 5, 5, 5, 5), CostMicros: ptr(int64(50))},
			{UserID: "u2", Model: "gpt", StartedAt: day1.Add(3 * time.Hour), Usage: use(1, 1, 1, 1, 1), CostMicros: ptr(int64(1))},
			{UserID: "u1", Model: "gpt", StartedAt: day2, Usage: use(2, 2, 2, 2, 2), CostMicros: ptr(int64(2))},
		}
		for _, in := range seed {
			_, err := s.CreateInterception(ctx, in)
			noErr(t, "create", err)
		}
		all := []store.UsageRow{
			{Day: "2025-06-01", UserID: "u1", Model: "claude", Calls: 1, Usage: use(5, 5, 5, 5, 5), CostMicros: 50},
			{Day: "2025-06-01", UserID: "u1", Model: "gpt", Calls: 3, Usage: use(111, 22, 4, 6, 8), CostMicros: 107},
			{Day: "2025-06-01", UserID: "u2", Model: "gpt", Calls: 1, Usage: use(1, 1, 1, 1, 1), CostMicros: 1},
			{Day: "2025-06-02", UserID: "u1", Model: "gpt", Calls: 1, Usage: use(2, 2, 2, 2, 2), CostMicros: 2},
		}
		tests := []struct {
			name string
			f    store.InterceptionFilter
			want []store.UsageRow
		}{
			{"all", store.InterceptionFilter{}, all},
			{"user", store.InterceptionFilter{UserID: "u2"}, all[2:3]},
			{"model", store.InterceptionFilter{Model: "claude"}, all[:1]},
			{"since", store.InterceptionFilter{Since: day2}, all[3:]},
			{"until", store.InterceptionFilter{Until: day1.Add(2 * time.Hour)}, []store.UsageRow{
				{Day: "2025-06-01", UserID: "u1", Model: "gpt", Calls: 1, Usage: use(10, 20, 1, 2, 3), CostMicros: 100},
			}},
			{"limit ignored", store.InterceptionFilter{Limit: 1}, all},
			{"none", store.InterceptionFilter{UserID: "nobody"}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.UsageByDay(ctx, tc.f)
				noErr(t, "usage", err)
				slices.SortFunc(got, func(a, b store.UsageRow) int {
					return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Model, b.Model))
				})
				if len(got) != len(tc.want) {
					t.Fatalf("usage = %+v, want %+v", got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Fatalf("usage[%d] = %+v, want %+v", i, got[i], tc.want[i])
					}
				}
			})
		}
	})
	t.Run("Purge", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		for i := range 5 {
			_, err := s.CreateInterception(ctx, store.Interception{
				ID: fmt.Sprintf("p%d", i), StartedAt: base.Add(time.Duration(i) * time.Hour),
			})
			noErr(t, "create", err)
		}
		n, err := s.PurgeInterceptions(ctx, base.Add(2*time.Hour))
		noErr(t, "purge", err)
		if n != 2 {
			t.Fatalf("purged %d, want 2", n)
		}
		list, err := s.ListInterceptions(ctx, store.InterceptionFilter{})
		noErr(t, "list", err)
		if got, want := ids(list), "[p4 p3 p2]"; got != want {
			t.Fatalf("after purge = %s, want %s", got, want)
		}
		n, err = s.PurgeInterceptions(ctx, base.Add(2*time.Hour))
		noErr(t, "purge again", err)
		if n != 0 {
			t.Fatalf("purged again %d, want 0", n)
		}
	})
}
