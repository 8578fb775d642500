package gateway

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// One writer drains the queue in batches: a record per transaction made
// the single SQLite writer spend most of a busy gateway's CPU on commits
// and statement parsing, and several writers only contend for its lock.
// A batch waits up to recordLinger for company, so that a steady trickle
// of calls also shares commits; shutdown does not wait for it.
const (
	recordBatch  = 256
	recordLinger = 5 * time.Millisecond
	recordQueue  = 16384
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
	// stopped is closed when the writer has drained the closed queue.
	stopped chan struct{}

	lastFullWarn atomic.Int64 // unix nanoseconds of the last warning
}

func newRecorder(s store.Store, log *slog.Logger, timeout time.Duration) *recorder {
	r := &recorder{store: s, log: log, timeout: timeout, queue: make(chan store.Interception, recordQueue), stopped: make(chan struct{})}
	go func() {
		defer close(r.stopped)
		r.run()
	}()
	return r
}

// run writes what is queued, up to recordBatch records per transaction,
// until close.
func (r *recorder) run() {
	batch := make([]store.Interception, 0, recordBatch)
	linger := time.NewTimer(recordLinger)
	linger.Stop()
	for in := range r.queue {
		batch = append(batch[:0], in)
		linger.Reset(recordLinger)
	fill:
		for len(batch) < recordBatch {
			select {
			case in, ok := <-r.queue:
				if !ok {
					break fill // closing: write what there is now
				}
				batch = append(batch, in)
			case <-linger.C:
				break fill
			}
		}
		linger.Stop()
		r.writeBatch(batch)
		clear(batch) // drop prompts and tool calls until the next batch
	}
}

// writeBatch writes batch in one transaction. If that fails, it writes the
// records one by one, so that one bad record does not lose the others.
func (r *recorder) writeBatch(batch []store.Interception) {
	if len(batch) == 1 {
		r.write(context.Background(), batch[0])
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	err := r.store.CreateInterceptions(ctx, batch)
	cancel()
	if err == nil {
		return
	}
	r.log.Warn("record interceptions in a batch; writing them one by one", "count", len(batch), "err", err)
	for _, in := range batch {
		r.write(context.Background(), in)
	}
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

// close stops taking records and waits until the queue is written, or
// until ctx ends; the writer keeps draining after that, and close starts no
// goroutine of its own.
func (r *recorder) close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	select {
	case <-r.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
