package catalog

import (
	"testing"

	"github.com/chatd/chatd/internal/store"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		typ         store.ProviderType
		model       string
		wantOK      bool
		wantContext int64
		wantIn      float64
		wantOut     float64
		wantRead    float64
		wantWrite   float64
	}{
		{name: "claude", typ: store.ProviderAnthropic, model: "claude-sonnet-4-5-20250929", wantOK: true, wantContext: 200000, wantIn: 3, wantOut: 15, wantRead: 0.3, wantWrite: 3.75},
		{name: "gpt", typ: store.ProviderOpenAI, model: "gpt-4o", wantOK: true, wantContext: 128000, wantIn: 2.5, wantOut: 10, wantRead: 1.25, wantWrite: 0},
		{name: "gpt read price in the write field", typ: store.ProviderOpenAI, model: "gpt-5.4", wantOK: true, wantContext: 1050000, wantIn: 2.5, wantOut: 15, wantRead: 0.25, wantWrite: 0},
		{name: "compatible type uses openai family", typ: store.ProviderOpenAICompatible, model: "gpt-4o-mini", wantOK: true, wantContext: 128000, wantIn: 0.15, wantOut: 0.6, wantRead: 0.075, wantWrite: 0},
		{name: "claude through an openai-type provider falls back to any", typ: store.ProviderOpenAI, model: "claude-haiku-4-5-20251001", wantOK: true, wantContext: 200000, wantIn: 1, wantOut: 5, wantRead: 0.1, wantWrite: 1.25},
		{name: "unknown", typ: store.ProviderOpenAI, model: "no-such-model-xyz", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, ok := Lookup(tt.typ, tt.model)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q, %q) ok = %v, want %v", tt.typ, tt.model, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if e.ContextLimit != tt.wantContext {
				t.Fatalf("context limit = %d, want %d", e.ContextLimit, tt.wantContext)
			}
			for _, p := range []struct {
				name string
				got  *float64
				want float64
			}{
				{"input", e.Prices.Input, tt.wantIn},
				{"output", e.Prices.Output, tt.wantOut},
				{"cache read", e.Prices.CacheRead, tt.wantRead},
				{"cache write", e.Prices.CacheWrite, tt.wantWrite},
			} {
				if p.got == nil {
					t.Fatalf("%s price is nil", p.name)
				}
				if *p.got != p.want {
					t.Fatalf("%s price = %v, want %v", p.name, *p.got, p.want)
				}
			}
		})
	}
}

func TestLookupReturnsCopies(t *testing.T) {
	t.Parallel()
	e, ok := Lookup(store.ProviderAnthropic, "claude-sonnet-4-5-20250929")
	if !ok {
		t.Fatal("model not found")
	}
	*e.Prices.Input = 999
	e2, _ := Lookup(store.ProviderAnthropic, "claude-sonnet-4-5-20250929")
	if *e2.Prices.Input != 3 {
		t.Fatalf("input price = %v after caller changed a copy, want 3", *e2.Prices.Input)
	}
}
