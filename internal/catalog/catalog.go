// Package catalog looks up default context limits and prices of models in
// the offline catalogue embedded in charm.land/catwalk.
package catalog

import (
	"sync"

	"charm.land/catwalk/pkg/catwalk"
	"charm.land/catwalk/pkg/embedded"

	"github.com/chatd/chatd/internal/store"
)

// Entry is what the catalogue knows about a model.
type Entry struct {
	// ContextLimit is the context window in tokens; zero if unknown.
	ContextLimit int64
	// Prices are US dollars per million tokens.
	Prices store.Prices
}

// family groups catwalk providers by the wire protocol they speak, so that
// an "openai" provider prefers OpenAI's own price for a model that resellers
// also list.
type family int

const (
	familyOther family = iota
	familyOpenAI
	familyAnthropic
)

type index struct {
	// byFamily maps a family, then a model id, to the first entry found.
	byFamily map[family]map[string]Entry
	// any maps a model id to the first entry found in any provider.
	any map[string]Entry
}

// load builds the index once; the embedded list never changes at run time.
var load = sync.OnceValue(func() *index {
	ix := &index{byFamily: map[family]map[string]Entry{}, any: map[string]Entry{}}
	// Providers are visited in catwalk's order; the first-party providers
	// (openai, anthropic) are looked at before resellers so their prices win.
	providers := embedded.GetAll()
	ordered := make([]catwalk.Provider, 0, len(providers))
	for _, p := range providers {
		if p.ID == catwalk.InferenceProviderOpenAI || p.ID == catwalk.InferenceProviderAnthropic {
			ordered = append(ordered, p)
		}
	}
	for _, p := range providers {
		if p.ID != catwalk.InferenceProviderOpenAI && p.ID != catwalk.InferenceProviderAnthropic {
			ordered = append(ordered, p)
		}
	}
	for _, p := range ordered {
		f := providerFamily(p.Type)
		if ix.byFamily[f] == nil {
			ix.byFamily[f] = map[string]Entry{}
		}
		for _, m := range p.Models {
			e := entryOf(m)
			if _, ok := ix.byFamily[f][m.ID]; !ok {
				ix.byFamily[f][m.ID] = e
			}
			if _, ok := ix.any[m.ID]; !ok {
				ix.any[m.ID] = e
			}
		}
	}
	return ix
})

func providerFamily(t catwalk.Type) family {
	switch t {
	case catwalk.TypeOpenAI, catwalk.TypeOpenAICompat:
		return familyOpenAI
	case catwalk.TypeAnthropic:
		return familyAnthropic
	}
	return familyOther
}

func familyOf(t store.ProviderType) family {
	switch t {
	case store.ProviderOpenAI, store.ProviderOpenAICompatible:
		return familyOpenAI
	case store.ProviderAnthropic:
		return familyAnthropic
	}
	return familyOther
}

// entryOf converts a catwalk model. catwalk's convention (as its consumer
// crush bills) is that "in cached" is the price of writing the cache and
// "out cached" the price of reading it. Some of its generated lists put a
// read price in "in cached" and leave "out cached" zero; a price below
// the input price with no read price is taken to be that read price, since
// cache writes never cost less than plain input.
func entryOf(m catwalk.Model) Entry {
	in, out := m.CostPer1MIn, m.CostPer1MOut
	write, read := m.CostPer1MInCached, m.CostPer1MOutCached
	if read == 0 && write > 0 && write < in {
		read, write = write, 0
	}
	return Entry{
		ContextLimit: m.ContextWindow,
		Prices: store.Prices{
			Input:      ptr(in),
			Output:     ptr(out),
			CacheRead:  ptr(read),
			CacheWrite: ptr(write),
		},
	}
}

func ptr(f float64) *float64 { return &f }

// Lookup finds model in the catalogue, preferring providers that speak the
// same protocol as providerType, then any provider. The Prices of the
// returned Entry are fresh copies the caller may keep.
func Lookup(providerType store.ProviderType, model string) (Entry, bool) {
	ix := load()
	e, ok := ix.byFamily[familyOf(providerType)][model]
	if !ok {
		e, ok = ix.any[model]
	}
	if !ok {
		return Entry{}, false
	}
	return copyEntry(e), true
}

// copyEntry keeps callers from changing the shared index through the
// price pointers.
func copyEntry(e Entry) Entry {
	c := func(p *float64) *float64 {
		if p == nil {
			return nil
		}
		return ptr(*p)
	}
	e.Prices = store.Prices{Input: c(e.Prices.Input), Output: c(e.Prices.Output), CacheRead: c(e.Prices.CacheRead), CacheWrite: c(e.Prices.CacheWrite)}
	return e
}
