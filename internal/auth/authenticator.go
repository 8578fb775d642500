package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// Errors of authentication. ErrInvalidKey maps to 401, ErrSuspended to 403.
var (
	ErrInvalidKey = errors.New("invalid API key")
	ErrSuspended  = errors.New("user is suspended")
)

// Principal is who a request acts as.
type Principal struct {
	User store.User
	Key  store.APIKey
}

// IsAdmin reports whether the principal may administer the deployment.
func (p Principal) IsAdmin() bool { return p.User.Role == store.RoleAdmin }

// Authenticator checks API keys against the store and records when each
// key was last used, in batches, so a request costs no write.
//
// An Authenticator is safe for concurrent use. Run must be running for
// last-used times to reach the store.
type Authenticator struct {
	store store.Store
	log   *slog.Logger
	now   func() time.Time

	// lastUsed maps key id to the time it was last used, since the last
	// flush. sync.Map because keys are written per request from many
	// goroutines and a mutex would serialise every authenticated request.
	lastUsed sync.Map
	// flushEvery is how often lastUsed is written to the store.
	flushEvery time.Duration

	// rows caches key and user rows by key id for cacheTTL, so a busy
	// caller costs no database read per request; the secret is still
	// checked against the cached hash every time. Forget and ForgetUser
	// drop entries when this process changes a key or user, so a revoked
	// key or suspended user is refused at once here, and within cacheTTL
	// on other replicas.
	rows     sync.Map // key id -> *cacheEntry
	cacheTTL time.Duration
	prune    atomic.Uint64
}

type cacheEntry struct {
	key     store.APIKey
	user    store.User
	missing bool // no such key (or its user is gone)
	expires time.Time
}

// Config configures an Authenticator.
type Config struct {
	Store store.Store
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// Now; if nil, time.Now.
	Now func() time.Time
	// FlushInterval is how often last-used times are written; if zero, 15s.
	FlushInterval time.Duration
	// CacheTTL is how long key and user rows are reused without reading
	// the store; if zero, nothing is cached.
	CacheTTL time.Duration
}

// New returns an Authenticator.
func New(c Config) *Authenticator {
	a := &Authenticator{store: c.Store, log: c.Logger, now: c.Now, flushEvery: c.FlushInterval, cacheTTL: c.CacheTTL}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.flushEvery == 0 {
		a.flushEvery = 15 * time.Second
	}
	return a
}

// Authenticate checks a presented "<id>-<secret>" key.
func (a *Authenticator) Authenticate(ctx context.Context, key string) (Principal, error) {
	id, sec, err := SplitKey(key)
	if err != nil {
		return Principal{}, ErrInvalidKey
	}
	e, err := a.load(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	if !secretMatches(sec, e.key.SecretHash) {
		return Principal{}, ErrInvalidKey
	}
	return a.finish(e)
}

// AuthenticateKeyID authorises by key id alone, for callers inside the
// process that already proved who they are (the chat daemon acting for
// the key that started a turn). The key must still be live.
func (a *Authenticator) AuthenticateKeyID(ctx context.Context, id string) (Principal, error) {
	e, err := a.load(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	return a.finish(e)
}

// Forget drops the cached rows of a key, after it was revoked.
func (a *Authenticator) Forget(keyID string) { a.rows.Delete(keyID) }

// ForgetUser drops the cached rows of every key of a user, after the user
// was suspended or changed.
func (a *Authenticator) ForgetUser(userID string) {
	a.rows.Range(func(k, v any) bool {
		if v.(*cacheEntry).user.ID == userID || v.(*cacheEntry).key.UserID == userID {
			a.rows.Delete(k)
		}
		return true
	})
}

// load returns the key and user rows of id, from the cache when fresh.
// A missing key or user is ErrInvalidKey.
func (a *Authenticator) load(ctx context.Context, id string) (*cacheEntry, error) {
	now := a.now()
	if a.cacheTTL > 0 {
		if v, ok := a.rows.Load(id); ok {
			if e := v.(*cacheEntry); now.Before(e.expires) {
				if e.missing {
					return nil, ErrInvalidKey
				}
				return e, nil
			}
		}
	}
	e := &cacheEntry{expires: now.Add(a.cacheTTL)}
	k, err := a.store.GetAPIKey(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.missing = true
	case err != nil:
		return nil, fmt.Errorf("load API key: %w", err)
	default:
		e.key = k
		u, err := a.store.GetUser(ctx, k.UserID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			e.missing = true
		case err != nil:
			return nil, fmt.Errorf("load user: %w", err)
		default:
			e.user = u
		}
	}
	if a.cacheTTL > 0 {
		a.rows.Store(id, e)
		a.pruneCache(now)
	}
	if e.missing {
		return nil, ErrInvalidKey
	}
	return e, nil
}

// pruneCache drops expired entries now and then, so a stream of unknown
// key ids cannot grow the cache without bound.
func (a *Authenticator) pruneCache(now time.Time) {
	if a.prune.Add(1)%1024 != 0 {
		return
	}
	a.rows.Range(func(k, v any) bool {
		if !now.Before(v.(*cacheEntry).expires) {
			a.rows.Delete(k)
		}
		return true
	})
}

func (a *Authenticator) finish(e *cacheEntry) (Principal, error) {
	now := a.now()
	k := e.key
	if k.RevokedAt != nil || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) {
		return Principal{}, ErrInvalidKey
	}
	if e.user.Suspended {
		return Principal{}, ErrSuspended
	}
	a.lastUsed.Store(k.ID, now)
	return Principal{User: e.user, Key: k}, nil
}

// Run writes last-used times every flush interval until ctx is done, then
// once more.
func (a *Authenticator) Run(ctx context.Context) {
	t := time.NewTicker(a.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			a.Flush(fctx)
			cancel()
			return
		case <-t.C:
			a.Flush(ctx)
		}
	}
}

// Flush writes pending last-used times now.
func (a *Authenticator) Flush(ctx context.Context) {
	batch := map[string]time.Time{}
	a.lastUsed.Range(func(k, v any) bool {
		batch[k.(string)] = v.(time.Time)
		a.lastUsed.CompareAndDelete(k, v)
		return true
	})
	if len(batch) == 0 {
		return
	}
	if err := a.store.TouchAPIKeys(ctx, batch); err != nil {
		a.log.Warn("record API key use", "keys", len(batch), "err", err)
	}
}
