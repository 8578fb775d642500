package gateway

import (
	"sync"
	"sync/atomic"
	"time"
)

// ttlCache maps strings to values that expire. Reads take no lock. It
// holds at most about max entries (concurrent puts may overshoot by the
// number of writers): when full, a put first sweeps expired entries, at
// most once per sweepEvery, and stores nothing if that freed no room, so
// the caller simply goes to the store next time. It is safe for
// concurrent use.
type ttlCache[V any] struct {
	max       int
	m         sync.Map     // string -> *ttlEntry[V]
	n         atomic.Int64 // entries in m
	lastSweep atomic.Int64 // unix nanoseconds
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

// sweepEvery spaces out sweeps of a full cache, so that a cache full of
// live entries does not cost every put a walk over it.
const sweepEvery = time.Second

func newTTLCache[V any](max int) *ttlCache[V] { return &ttlCache[V]{max: max} }

// get returns the live value of k.
func (c *ttlCache[V]) get(k string, now time.Time) (V, bool) {
	if v, ok := c.m.Load(k); ok {
		if e := v.(*ttlEntry[V]); now.Before(e.expires) {
			return e.v, true
		}
	}
	var zero V
	return zero, false
}

// put stores v under k until expires, if there is room.
func (c *ttlCache[V]) put(k string, v V, expires, now time.Time) {
	e := &ttlEntry[V]{v: v, expires: expires}
	if _, ok := c.m.Load(k); !ok && c.n.Load() >= int64(c.max) {
		c.sweep(now)
		if c.n.Load() >= int64(c.max) {
			return
		}
	}
	if _, loaded := c.m.Swap(k, e); !loaded {
		c.n.Add(1)
	}
}

// sweep deletes expired entries, unless another sweep ran recently.
func (c *ttlCache[V]) sweep(now time.Time) {
	last := c.lastSweep.Load()
	if now.UnixNano()-last < int64(sweepEvery) || !c.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	c.m.Range(func(k, v any) bool {
		if !now.Before(v.(*ttlEntry[V]).expires) && c.m.CompareAndDelete(k, v) {
			c.n.Add(-1)
		}
		return true
	})
}

// size returns the number of entries, live or expired.
func (c *ttlCache[V]) size() int { return int(c.n.Load()) }
