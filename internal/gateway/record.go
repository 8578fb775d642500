package gateway

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// recordWorkers write records in parallel; the store serialises what it
// must (SQLite has one writer).
const (
	recordWorkers = 4
	recordQueue   = 16384
	// fullWarnEvery spaces out warnings about a full queue.
	fullWarnEvery = 10 * time.Second
)

// recorder writes interceptions off the request path. Its workers are
// owned by the Gateway and stopped by close, which waits for the queue to
// drain.
type recorder struct {
	store   store.Store
	log     *slog.Logger
	timeout time.Duration

	mu     sync.RWMutex // guards closed, and sends on queue against close
	closed bool
	queue  chan store.Interception
	wg     sync.WaitGroup

	lastFullWarn atomic.Int64 // unix nanoseconds of the last warning
}

func newRecorder(s store.Store, log *slog.Logger, timeout time.Duration) *recorder {
	r := &recorder{store: s, log: log, timeout: timeout, queue: make(chan store.Interception, recordQueue)}
	r.wg.Add(recordWorkers)
	for range recordWorkers {
		go func() {
			defer r.wg.Done()
			for in := range r.queue {
				r.write(context.Background(), in)
			}
		}()
	}
	return r
}

// enqueue hands in to a worker. When the queue is full it waits: losing a
// governance record is worse than a slower handler return (the client has
// its response by then). After close it writes in place.
func (r *recorder) enqueue(ctx context.Context, in store.Interception) {
	r.mu.RLock()
	if !r.closed {
		select {
		case r.queue <- in:
			r.mu.RUnlock()
			return
		default:
		}
		if now, last := time.Now().UnixNano(), r.lastFullWarn.Load(); now-last > int64(fullWarnEvery) && r.lastFullWarn.CompareAndSwap(last, now) {
			r.log.WarnContext(ctx, "interception queue full: the database cannot keep up; requests wait for it", "queued", len(r.queue))
		}
		r.queue <- in
		r.mu.RUnlock()
		return
	}
	r.mu.RUnlock()
	r.write(context.WithoutCancel(ctx), in)
}

func (r *recorder) write(ctx context.Context, in store.Interception) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if _, err := r.store.CreateInterception(ctx, in); err != nil {
		r.log.ErrorContext(ctx, "record interception", "interception_id", in.ID, "provider", in.ProviderName, "err", err)
	}
}

func (r *recorder) close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
