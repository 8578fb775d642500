package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
}

// New returns an Authenticator.
func New(c Config) *Authenticator {
	a := &Authenticator{store: c.Store, log: c.Logger, now: c.Now, flushEvery: c.FlushInterval}
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
	k, err := a.store.GetAPIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrInvalidKey
	}
	if err != nil {
		return Principal{}, fmt.Errorf("load API key: %w", err)
	}
	if !secretMatches(sec, k.SecretHash) {
		return Principal{}, ErrInvalidKey
	}
	return a.finish(ctx, k)
}

// AuthenticateKeyID authorises by key id alone, for callers inside the
// process that already proved who they are (the chat daemon acting for
// the key that started a turn). The key must still be live.
func (a *Authenticator) AuthenticateKeyID(ctx context.Context, id string) (Principal, error) {
	k, err := a.store.GetAPIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrInvalidKey
	}
	if err != nil {
		return Principal{}, fmt.Errorf("load API key: %w", err)
	}
	return a.finish(ctx, k)
}

func (a *Authenticator) finish(ctx context.Context, k store.APIKey) (Principal, error) {
	now := a.now()
	if k.RevokedAt != nil || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) {
		return Principal{}, ErrInvalidKey
	}
	u, err := a.store.GetUser(ctx, k.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrInvalidKey
	}
	if err != nil {
		return Principal{}, fmt.Errorf("load user: %w", err)
	}
	if u.Suspended {
		return Principal{}, ErrSuspended
	}
	a.lastUsed.Store(k.ID, now)
	return Principal{User: u, Key: k}, nil
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
