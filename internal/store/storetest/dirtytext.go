package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// dirty is text a client can send that PostgreSQL's text type refuses: a
// NUL byte and invalid UTF-8, around storable text.
const dirty = "a\x00b\xff\xfec\u00e9"

// normText is what a backend may turn dirty text into: each invalid byte
// as U+FFFD (as encoding/json writes it), NULs dropped. Text a backend
// keeps byte for byte normalises to the same value.
func normText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 0 {
			return -1
		}
		return r
	}, s)
}

// dirtyInterception sets every string field to dirty text tagged with the
// field's name.
func dirtyInterception(tag string) store.Interception {
	d := func(field string) string { return tag + field + dirty }
	return store.Interception{
		ID:             d("id"),
		UserID:         d("user"),
		APIKeyID:       d("key"),
		ProviderName:   d("provider"),
		ProviderType:   store.ProviderType(d("type")),
		Endpoint:       d("endpoint"),
		Model:          d("model"),
		Client:         d("client"),
		UserAgent:      d("ua"),
		ChatID:         d("chat"),
		SubchatID:      d("subchat"),
		Source:         d("source"),
		CredentialKind: d("kind"),
		CredentialHint: d("hint"),
		Status:         200,
		Error:          d("error"),
		StartedAt:      base,
		EndedAt:        base.Add(time.Second),
		Prompt:         d("prompt"),
		ToolCalls:      []store.ToolCall{{ID: d("call"), Name: d("name"), Arguments: d("args")}},
		Reasoning:      d("reasoning"),
	}
}

// sameDirty fails unless got holds want's text once both are normalised.
func sameDirty(t *testing.T, op string, got, want store.Interception) {
	t.Helper()
	fields := []struct {
		name      string
		got, want string
	}{
		{"ID", got.ID, want.ID},
		{"UserID", got.UserID, want.UserID},
		{"APIKeyID", got.APIKeyID, want.APIKeyID},
		{"ProviderName", got.ProviderName, want.ProviderName},
		{"ProviderType", string(got.ProviderType), string(want.ProviderType)},
		{"Endpoint", got.Endpoint, want.Endpoint},
		{"Model", got.Model, want.Model},
		{"Client", got.Client, want.Client},
		{"UserAgent", got.UserAgent, want.UserAgent},
		{"ChatID", got.ChatID, want.ChatID},
		{"SubchatID", got.SubchatID, want.SubchatID},
		{"Source", got.Source, want.Source},
		{"CredentialKind", got.CredentialKind, want.CredentialKind},
		{"CredentialHint", got.CredentialHint, want.CredentialHint},
		{"Error", got.Error, want.Error},
		{"Prompt", got.Prompt, want.Prompt},
		{"Reasoning", got.Reasoning, want.Reasoning},
	}
	if len(got.ToolCalls) != 1 {
		t.Fatalf("%s: %d tool calls, want 1", op, len(got.ToolCalls))
	}
	gc, wc := got.ToolCalls[0], want.ToolCalls[0]
	fields = append(fields,
		struct{ name, got, want string }{"ToolCalls[0].ID", gc.ID, wc.ID},
		struct{ name, got, want string }{"ToolCalls[0].Name", gc.Name, wc.Name},
		struct{ name, got, want string }{"ToolCalls[0].Arguments", gc.Arguments, wc.Arguments},
	)
	for _, f := range fields {
		if g, w := normText(f.got), normText(f.want); g != w {
			t.Errorf("%s: %s = %q, want %q", op, f.name, g, w)
		}
	}
}

// testDirtyInterceptions checks that records with NUL and invalid UTF-8
// in every string field are kept, never refused: the gateway has already
// answered the client when it writes one.
func testDirtyInterceptions(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("One", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		want := dirtyInterception("one-")
		in, err := s.CreateInterception(ctx, want)
		noErr(t, "create", err)
		sameDirty(t, "create", in, want)
		got, err := s.GetInterception(ctx, in.ID)
		noErr(t, "get", err)
		sameDirty(t, "get", got, want)
		list, err := s.ListInterceptions(ctx, store.InterceptionFilter{})
		noErr(t, "list", err)
		if len(list) != 1 {
			t.Fatalf("list = %d records, want 1", len(list))
		}
		sameDirty(t, "list", list[0], want)
	})
	t.Run("Batch", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		want := []store.Interception{dirtyInterception("b1-"), dirtyInterception("b2-")}
		want[1].StartedAt = base.Add(time.Minute)
		noErr(t, "create batch", s.CreateInterceptions(ctx, want))
		list, err := s.ListInterceptions(ctx, store.InterceptionFilter{})
		noErr(t, "list", err)
		if len(list) != 2 {
			t.Fatalf("list = %d records, want 2", len(list))
		}
		// Newest first.
		sameDirty(t, "list[0]", list[0], want[1])
		sameDirty(t, "list[1]", list[1], want[0])
	})
}
