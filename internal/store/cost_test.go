package store

import "testing"

func TestCostMicros(t *testing.T) {
	t.Parallel()
	in, out, cached := 1.1, 4.4, 0.275
	priced := Prices{Input: &in, Output: &out, CacheRead: &cached}
	tests := []struct {
		name string
		p    Prices
		u    Usage
		t    ProviderType
		want *int64
	}{
		// (1843-1664)*1.1 + 214*4.4 + 1664*0.275 = 196.9 + 941.6 + 457.6
		{"openai counts cached inside input", priced, Usage{Input: 1843, Output: 214, CacheRead: 1664}, ProviderOpenAI, ptr(int64(1596))},
		// 179*1.1 + 214*4.4 + 1664*0.275
		{"anthropic counts cached apart", priced, Usage{Input: 179, Output: 214, CacheRead: 1664}, ProviderAnthropic, ptr(int64(1596))},
		// unknown cache write price: the input price
		{"cache write at input price", Prices{Input: &in, Output: &out}, Usage{Input: 10, CacheWrite: 10}, ProviderAnthropic, ptr(int64(22))},
		{"no output price", Prices{Input: &in}, Usage{Input: 10, Output: 10}, ProviderOpenAI, nil},
		{"no prices", Prices{}, Usage{Input: 10}, ProviderOpenAI, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.CostMicros(tt.u, tt.t)
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("CostMicros = %v, want %v", deref(got), deref(tt.want))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
