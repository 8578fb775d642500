package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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
	p      store.Provider
	key    secret.Value
	keyErr error
}

// maxCachedProviders bounds the provider cache. Only rows that exist are
// cached, so it holds the providers in use; the bound is a backstop.
const maxCachedProviders = 1024

// provider returns the usable provider called name. It runs only for an
// authenticated caller, so that an anonymous one cannot learn which
// providers exist; a name that breaks the naming rule is refused before
// any lookup, so that a path cannot make the gateway query or cache it.
func (g *Gateway) provider(ctx context.Context, name string) (*providerEntry, *gatewayError) {
	if !store.ValidProviderName(name) {
		return nil, errorf(http.StatusNotFound, kindNotFound,
			"no such provider: provider names are lowercase letters and digits in dash-separated runs")
	}
	pe, err := g.lookupProvider(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errorf(http.StatusNotFound, kindNotFound, fmt.Sprintf("no provider named %q", name))
	case err != nil:
		return nil, errorf(http.StatusInternalServerError, kindInternal, "could not load the provider")
	case !pe.p.Enabled:
		return nil, errorf(http.StatusNotFound, kindNotFound, fmt.Sprintf("provider %q is disabled", name))
	}
	return pe, nil
}

// lookupProvider returns the provider row called name from a cache that
// lives providerTTL, so that hot paths take no lock and cost no query.
// Misses and failures are not cached: a cache keyed by whatever names
// callers send would grow without bound.
func (g *Gateway) lookupProvider(ctx context.Context, name string) (*providerEntry, error) {
	now := time.Now()
	if e, ok := g.providers.get(name, now); ok {
		return e, nil
	}
	e, err := g.loadProvider(ctx, name)
	if err != nil {
		return nil, err
	}
	g.providers.put(strings.Clone(name), e, now.Add(providerTTL), now)
	return e, nil
}

func (g *Gateway) loadProvider(ctx context.Context, name string) (*providerEntry, error) {
	p, err := g.store.GetProviderByName(ctx, name)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			g.log.ErrorContext(ctx, "load provider", "provider", name, "err", err)
		}
		return nil, err
	}
	e := &providerEntry{p: p}
	if len(p.APIKeyCipher) > 0 {
		e.key, e.keyErr = g.keyring.Open(p.APIKeyCipher)
		if e.keyErr != nil {
			g.log.ErrorContext(ctx, "open central provider key", "provider", name, "err", e.keyErr)
		}
	}
	return e, nil
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
	configured bool
	name       string        // the configured model's name, when configured
	prices     *store.Prices // nil when the model is not configured
}

// maxCachedModels bounds the model cache. Its keys come from request
// bodies, and unconfigured names are cached too (most calls on a server
// without model configs are such), so the bound is what keeps a caller
// inventing model names from growing it.
const maxCachedModels = 4096

// modelConfig returns what the gateway knows of model on provider: zero
// when it is not configured or could not be loaded.
func (g *Gateway) modelConfig(ctx context.Context, providerID, model string) modelEntry {
	if model == "" {
		return modelEntry{}
	}
	k := providerID + "\x00" + model
	now := time.Now()
	if e, ok := g.models.get(k, now); ok {
		return e
	}
	var e modelEntry
	m, err := g.store.GetModelByName(ctx, providerID, model)
	switch {
	case err == nil:
		e = modelEntry{configured: true, name: m.Model, prices: &m.Prices}
	case !errors.Is(err, store.ErrNotFound):
		g.log.WarnContext(ctx, "load model config", "provider_id", providerID, "model", model, "err", err)
		return modelEntry{}
	}
	g.models.put(k, e, now.Add(modelTTL), now)
	return e
}

// costMicros prices u with the model's prices; nil when the model has no
// config (see store.Prices.CostMicros).
func costMicros(p *store.Prices, u store.Usage, t store.ProviderType) *int64 {
	if p == nil {
		return nil
	}
	return p.CostMicros(u, t)
}

// checkBYOK refuses a BYOK request that is not allowed or would send
// the provider anything but the caller's own provider key. It runs once
// the provider is known, so that its errors have the provider's shape.
func (g *Gateway) checkBYOK(h http.Header, c caller) *gatewayError {
	switch {
	case !c.byok:
		return nil
	case !g.allowBYOK:
		return errorf(http.StatusForbidden, kindPermission,
			"bring-your-own-key requests are disabled on this chatd server; remove "+GovernanceHeader+" to use the central key")
	case c.byokKey.IsZero():
		return errorf(http.StatusUnauthorized, kindAuthentication,
			"a request with "+GovernanceHeader+" must carry your own provider key in Authorization or x-api-key")
	case forwardsChatdKey(h):
		return errorf(http.StatusUnauthorized, kindAuthentication,
			"a request with "+GovernanceHeader+" must carry your own provider key in Authorization or x-api-key, not a chatd API key; "+
				"send the chatd key only in "+GovernanceHeader+", or drop that header to use the central key")
	}
	return nil
}

// forwardsChatdKey reports whether a BYOK request would carry a chatd API
// key to the provider. BYOK requests keep their headers, so a client that
// put its chatd key in both the governance header and Authorization (or
// any other forwarded header) would hand it to the provider.
func forwardsChatdKey(h http.Header) bool {
	gov := h.Get(GovernanceHeader)
	if gov == DelegatedMarker {
		gov = ""
	}
	for k, vv := range h {
		if dropRequestHeader(k) {
			continue // not forwarded; the governance header itself is among them
		}
		for _, v := range vv {
			if gov != "" && strings.Contains(v, gov) {
				return true
			}
			if k == "Authorization" || k == "X-Api-Key" {
				if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
					v = v[7:]
				}
				if auth.LooksLikeKey(strings.TrimSpace(v)) {
					return true
				}
			}
		}
	}
	return false
}
