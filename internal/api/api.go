// Package api serves chatd's administration and identity HTTP API under
// /api/v1 (users, API keys, providers, models, provider keys and the
// gateway's records), as documented in docs/api.md.
package api

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/chat"
	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// Prefix is the path every endpoint of this package lives under.
const Prefix = "/api/v1"

// Config configures an API.
type Config struct {
	// Store holds everything; required.
	Store store.Store
	// Auth checks API keys; required.
	Auth *auth.Authenticator
	// Keyring seals provider keys at rest; required to set any provider key.
	Keyring *secret.Keyring
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// AllowBYOK lets users store their own provider keys. If false,
	// PUT /provider-keys/{provider} answers 403.
	AllowBYOK bool
	// Now; if nil, time.Now.
	Now func() time.Time
	// Chats runs chats. If nil, every /chats endpoint answers 503.
	Chats *chat.Service
	// StreamHeartbeat is how long a chat stream stays silent before a
	// heartbeat comment is sent; if zero, 15s.
	StreamHeartbeat time.Duration
	// Debug feeds the live debug stream of a chat. If nil, that stream
	// only sends heartbeats.
	Debug *chatdebug.Service
	// DebugRecordingForced is shown in the deployment settings: the server
	// forces debug recording on (--debug-recording).
	DebugRecordingForced bool
}

// API is the HTTP handler for paths under /api/v1/.
//
// An API is safe for concurrent use.
type API struct {
	store     store.Store
	auth      *auth.Authenticator
	keyring   *secret.Keyring
	log       *slog.Logger
	allowBYOK bool
	now       func() time.Time
	mux       *http.ServeMux

	chats           *chat.Service
	streamHeartbeat time.Duration
	debug           *chatdebug.Service
	debugForced     bool

	// bodyReadTimeout bounds reading a request body (see decode); tests
	// shorten it.
	bodyReadTimeout time.Duration
	// streamEnded, if set, is called when a chat stream handler has
	// returned and its subscription has closed; tests observe it.
	streamEnded func(chatID string)
}

// New returns an API.
func New(c Config) *API {
	a := &API{
		store:     c.Store,
		auth:      c.Auth,
		keyring:   c.Keyring,
		log:       c.Logger,
		allowBYOK: c.AllowBYOK,
		now:       c.Now,
		mux:       http.NewServeMux(),

		chats:           c.Chats,
		streamHeartbeat: cmp.Or(c.StreamHeartbeat, defaultStreamHeartbeat),
		debug:           c.Debug,
		debugForced:     c.DebugRecordingForced,

		bodyReadTimeout: defaultBodyReadTimeout,
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.routes()
	return a
}

// handlerFunc is an endpoint: it writes a success answer itself and
// returns an error for writeError to answer with.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// access says who may call an endpoint.
type access int

const (
	public access = iota
	anyUser
	adminOnly
)

func (a *API) handle(pattern string, who access, h handlerFunc) {
	var hh http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if who == adminOnly {
			p, _ := PrincipalFrom(r.Context())
			if !p.IsAdmin() {
				a.writeError(w, r, errForbidden("this endpoint is for admins"))
				return
			}
		}
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
	if who != public {
		hh = a.authenticated(hh)
	}
	a.mux.Handle(pattern, hh)
}

func (a *API) routes() {
	p := Prefix
	a.handle("POST "+p+"/auth/login", public, a.login)
	a.sessionRoutes()
	a.handle("GET "+p+"/me", anyUser, a.me)

	a.handle("GET "+p+"/users", adminOnly, a.listUsers)
	a.handle("POST "+p+"/users", adminOnly, a.createUser)
	a.handle("GET "+p+"/users/{id}", adminOnly, a.getUser)
	a.handle("PATCH "+p+"/users/{id}", adminOnly, a.patchUser)

	a.handle("GET "+p+"/keys", anyUser, a.listKeys)
	a.handle("POST "+p+"/keys", anyUser, a.createKey)
	a.handle("DELETE "+p+"/keys/{id}", anyUser, a.revokeKey)

	a.handle("GET "+p+"/providers", adminOnly, a.listProviders)
	a.handle("POST "+p+"/providers", adminOnly, a.createProvider)
	a.handle("GET "+p+"/providers/{name}", adminOnly, a.getProvider)
	a.handle("PATCH "+p+"/providers/{name}", adminOnly, a.patchProvider)
	a.handle("DELETE "+p+"/providers/{name}", adminOnly, a.deleteProvider)

	a.handle("GET "+p+"/models", anyUser, a.listModels)
	a.handle("POST "+p+"/models", adminOnly, a.createModel)
	a.handle("GET "+p+"/models/{id}", anyUser, a.getModel)
	a.handle("PATCH "+p+"/models/{id}", adminOnly, a.patchModel)
	a.handle("DELETE "+p+"/models/{id}", adminOnly, a.deleteModel)

	a.handle("GET "+p+"/provider-keys", anyUser, a.listProviderKeys)
	a.handle("PUT "+p+"/provider-keys/{provider}", anyUser, a.putProviderKey)
	a.handle("DELETE "+p+"/provider-keys/{provider}", anyUser, a.deleteProviderKey)

	a.handle("GET "+p+"/gateway/interceptions", anyUser, a.listInterceptions)
	a.handle("GET "+p+"/gateway/interceptions/{id}", anyUser, a.getInterception)
	a.handle("GET "+p+"/gateway/usage", anyUser, a.usage)

	a.chatRoutes()
	a.costRoutes()
	a.debugRoutes()
	a.settingsRoutes()
}

// ServeHTTP implements http.Handler. Unknown paths and wrong methods get
// JSON errors rather than ServeMux's plain text.
//
// A path or query holding invalid UTF-8 or a NUL byte is refused with 400
// before routing: no endpoint has a use for one, and PostgreSQL cannot
// compare text against it.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !cleanURL(r.URL) {
		a.writeError(w, r, &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "path/query must be valid UTF-8 without NUL"})
		return
	}
	if _, pattern := a.mux.Handler(r); pattern == "" {
		a.noRoute(w, r)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// cleanURL reports whether u's decoded path and query keys and values are
// valid UTF-8 without NUL bytes.
func cleanURL(u *url.URL) bool {
	clean := func(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }
	if !clean(u.Path) {
		return false
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// Malformed escapes; the handlers decide, as before.
		return clean(u.RawQuery)
	}
	for k, vs := range q {
		if !clean(k) {
			return false
		}
		for _, v := range vs {
			if !clean(v) {
				return false
			}
		}
	}
	return true
}

// noRoute answers a request no pattern matched. ServeMux knows whether the
// path exists with other methods; ask it through a recorder.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	h, _ := a.mux.Handler(r)
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		a.writeError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: r.Method + " is not allowed here"})
		return
	}
	a.writeError(w, r, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint"})
}

// headerRecorder keeps a status and headers and drops the body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(b), nil
}
func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

type principalKey struct{}

// withPrincipal returns a context carrying p.
func withPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal an authenticated request acts as.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// principal is PrincipalFrom for handlers behind authentication, where it
// is always there.
func principal(r *http.Request) auth.Principal {
	p, _ := PrincipalFrom(r.Context())
	return p
}

// authenticated wraps next so that it runs only for requests with a live
// API key (or session cookie, see requestKey), with the principal in the
// request context (see PrincipalFrom). Others get a JSON error.
func (a *API) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := a.requestKey(r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		p, err := a.auth.Authenticate(r.Context(), key)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), p)))
	})
}

// bearer extracts the key from an Authorization header; the scheme is
// case-insensitive (RFC 9110 section 11.1).
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	key := strings.TrimSpace(h[len(scheme):])
	return key, key != ""
}
