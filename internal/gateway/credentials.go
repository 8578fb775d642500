package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// delegatedKey is the context key of the delegated API key id.
type delegatedKey struct{}

// WithDelegatedKeyID returns a context that makes requests on the
// in-process transport act for the chatd API key keyID.
func WithDelegatedKeyID(ctx context.Context, keyID string) context.Context {
	return context.WithValue(ctx, delegatedKey{}, keyID)
}

func delegatedKeyID(ctx context.Context) string {
	id, _ := ctx.Value(delegatedKey{}).(string)
	return id
}

// caller is who a request acts as and which provider credential it uses.
type caller struct {
	principal auth.Principal
	byok      bool
	// byokKey is the caller's own provider key, kept only to scrub it from
	// error text and to hint at it in the record; it is already in the
	// outgoing headers. A secret.Value, so that no log or dump of a caller
	// can print it.
	byokKey secret.Value
}

// authenticate finds the caller of r. External callers present a chatd
// key; in-process callers (keyID set) are trusted for their key id.
func (g *Gateway) authenticate(ctx context.Context, r *http.Request, keyID string) (caller, *gatewayError) {
	gov := r.Header.Get(GovernanceHeader)
	var c caller
	var p auth.Principal
	var err error
	if keyID != "" {
		c.byok = gov == DelegatedMarker
		p, err = g.auth.AuthenticateKeyID(ctx, keyID)
	} else {
		key := gov
		c.byok = gov != ""
		if key == "" {
			key = bearerToken(r.Header)
		}
		if key == "" {
			key = r.Header.Get("X-Api-Key")
		}
		if key == "" {
			return c, errorf(http.StatusUnauthorized, kindAuthentication,
				"missing chatd API key: send it as Authorization: Bearer, x-api-key or "+GovernanceHeader)
		}
		p, err = g.auth.Authenticate(ctx, key)
	}
	switch {
	case errors.Is(err, auth.ErrInvalidKey):
		return c, errorf(http.StatusUnauthorized, kindAuthentication, "invalid, revoked or expired chatd API key")
	case errors.Is(err, auth.ErrSuspended):
		return c, errorf(http.StatusForbidden, kindPermission, "the user of this chatd API key is suspended")
	case err != nil:
		g.log.ErrorContext(ctx, "authenticate gateway request", "err", err)
		return c, errorf(http.StatusInternalServerError, kindInternal, "could not check the chatd API key")
	}
	c.principal = p
	if c.byok {
		k := bearerToken(r.Header)
		if k == "" {
			k = r.Header.Get("X-Api-Key")
		}
		if k != "" {
			c.byokKey = secret.New(k)
		}
	}
	return c, nil
}

// providerEntry is a cached provider row with its opened central key.
type providerEntry struct {
	p       store.Provider
	key     secret.Value
	keyErr  error
	err     error // store.ErrNotFound or a load failure
	expires time.Time
}

// lookupProvider returns the provider row called name, or an entry
// holding why it could not be loaded, from a cache that lives providerTTL
// so that hot paths take no lock and cost no query.
func (g *Gateway) lookupProvider(ctx context.Context, name string) *providerEntry {
	now := time.Now()
	if v, ok := g.providers.Load(name); ok && now.Before(v.(*providerEntry).expires) {
		return v.(*providerEntry)
	}
	e := g.loadProvider(ctx, name)
	if !errors.Is(e.err, context.Canceled) {
		e.expires = now.Add(providerTTL)
		g.providers.Store(name, e)
	}
	return e
}

// flavor is the error dialect of the provider e, or a guess from the
// request when there is no such provider.
func (e *providerEntry) flavor(path string, h http.Header) flavor {
	if e.err != nil {
		return guessFlavor(path, h)
	}
	return flavorOf(e.p.Type)
}

// usable returns e if its provider can serve calls.
func (e *providerEntry) usable(name string) (*providerEntry, *gatewayError) {
	switch {
	case errors.Is(e.err, store.ErrNotFound):
		return nil, errorf(http.StatusNotFound, kindNotFound, fmt.Sprintf("no provider named %q", name))
	case e.err != nil:
		return nil, errorf(http.StatusInternalServerError, kindInternal, "could not load the provider")
	case !e.p.Enabled:
		return nil, errorf(http.StatusNotFound, kindNotFound, fmt.Sprintf("provider %q is disabled", name))
	}
	return e, nil
}

func (g *Gateway) loadProvider(ctx context.Context, name string) *providerEntry {
	p, err := g.store.GetProviderByName(ctx, name)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			g.log.ErrorContext(ctx, "load provider", "provider", name, "err", err)
		}
		return &providerEntry{err: err}
	}
	e := &providerEntry{p: p}
	if len(p.APIKeyCipher) > 0 {
		e.key, e.keyErr = g.keyring.Open(p.APIKeyCipher)
		if e.keyErr != nil {
			g.log.ErrorContext(ctx, "open central provider key", "provider", name, "err", e.keyErr)
		}
	}
	return e
}

// centralKey returns the provider's central key or an error a caller can
// act on.
func (e *providerEntry) centralKey() (secret.Value, *gatewayError) {
	switch {
	case e.keyErr != nil:
		return secret.Value{}, errorf(http.StatusBadGateway, kindUpstream,
			fmt.Sprintf("the central API key of provider %q cannot be decrypted; ask an administrator to set it again", e.p.Name))
	case e.key.IsZero():
		return secret.Value{}, errorf(http.StatusServiceUnavailable, kindUpstream,
			fmt.Sprintf("provider %q has no central API key; ask an administrator to set one, or send your own key with %s", e.p.Name, GovernanceHeader))
	}
	return e.key, nil
}

// setCentralKey replaces whatever credential the client sent with the
// provider's central key, in the header that provider type reads.
func setCentralKey(h http.Header, t store.ProviderType, key secret.Value) {
	h.Del("Authorization")
	h.Del("X-Api-Key")
	if t == store.ProviderAnthropic {
		h.Set("X-Api-Key", key.Reveal())
		return
	}
	h.Set("Authorization", "Bearer "+key.Reveal())
}

// modelEntry is a cached model config lookup.
type modelEntry struct {
	prices  *store.Prices // nil when the model is not configured
	expires time.Time
}

// prices returns the prices of model on provider, or nil when unknown.
func (g *Gateway) prices(ctx context.Context, providerID, model string) *store.Prices {
	if model == "" {
		return nil
	}
	k := providerID + "\x00" + model
	now := time.Now()
	if v, ok := g.models.Load(k); ok && now.Before(v.(*modelEntry).expires) {
		return v.(*modelEntry).prices
	}
	e := &modelEntry{expires: now.Add(modelTTL)}
	m, err := g.store.GetModelByName(ctx, providerID, model)
	switch {
	case err == nil:
		e.prices = &m.Prices
	case !errors.Is(err, store.ErrNotFound):
		g.log.WarnContext(ctx, "load model prices", "model", model, "err", err)
		return nil
	}
	g.models.Store(k, e)
	return e.prices
}

// costMicros prices u with the model's prices; nil when the model has no
// config (see store.Prices.CostMicros).
func costMicros(p *store.Prices, u store.Usage, t store.ProviderType) *int64 {
	if p == nil {
		return nil
	}
	return p.CostMicros(u, t)
}
