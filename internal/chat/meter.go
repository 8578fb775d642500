package chat

import (
	"context"
	"sync"

	"github.com/chatd/chatd/internal/store"
)

// meter sums the model calls a step's tools make (the advisor's), so the
// step's commit can store them on the tool message and the chat's cost
// matches the gateway's records. It is safe for concurrent use.
type meter struct {
	mu    sync.Mutex
	calls int         // guarded by mu
	usage store.Usage // guarded by mu
	cost  *int64      // guarded by mu; nil while no call was priced
}

type meterKey struct{}

// withMeter returns ctx carrying m, found by meterCall.
func withMeter(ctx context.Context, m *meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

// meterCall adds a model call's usage and cost (nil: unpriced) to the
// meter of ctx, if any.
func meterCall(ctx context.Context, u store.Usage, cost *int64) {
	m, ok := ctx.Value(meterKey{}).(*meter)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	m.usage.Input += u.Input
	m.usage.Output += u.Output
	m.usage.CacheRead += u.CacheRead
	m.usage.CacheWrite += u.CacheWrite
	m.usage.Reasoning += u.Reasoning
	m.cost = addMicros(m.cost, cost)
}

// apply sets msg's usage and cost to what the meter counted; a meter
// that counted no call leaves msg alone.
func (m *meter) apply(msg *store.Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls == 0 {
		return
	}
	msg.Usage, msg.CostMicros = m.usage, m.cost
}
