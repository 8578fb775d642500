package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/store"
)

// Browsers authenticate with a session key kept in an HttpOnly cookie, so
// that page scripts (and anything injected into them) never see the key.
const (
	// SessionCookie names the cookie holding a browser's session key.
	SessionCookie = "chatd_session"
	// CSRFHeader must accompany every state-changing request authenticated
	// by the cookie. Browsers only send custom headers cross-site after a
	// CORS preflight, which this server never approves, so its presence
	// proves the request came from a page of our own origin.
	CSRFHeader = "X-Chatd-CSRF"
)

var (
	errNoCredential = &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "missing API key: send Authorization: Bearer <key>"}
	errCSRF         = errForbidden("cookie-authenticated requests that change state must send " + CSRFHeader + ": 1 from this server's origin")
)

func (a *API) sessionRoutes() {
	a.handle("POST "+Prefix+"/auth/session", public, a.createSession)
	a.handle("DELETE "+Prefix+"/auth/session", public, a.deleteSession)
}

// requestKey returns the API key a request authenticates with: the bearer
// key if there is an Authorization header, else the session cookie, which
// must pass the CSRF check.
func (a *API) requestKey(r *http.Request) (string, error) {
	if r.Header.Get("Authorization") != "" {
		key, ok := bearer(r)
		if !ok {
			return "", errNoCredential
		}
		return key, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return "", errNoCredential
	}
	if !sameOriginWrite(r) {
		return "", errCSRF
	}
	return c.Value, nil
}

// sameOriginWrite reports whether a cookie-authenticated request may run:
// safe methods always, others only with the CSRF header and, when the
// browser names an Origin, only from this server's own host.
func sameOriginWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if r.Header.Get(CSRFHeader) != "1" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && u.Host == r.Host
}

// createSession signs a browser in: like POST /auth/login, but the session
// key goes into the cookie and never into the body.
func (a *API) createSession(w http.ResponseWriter, r *http.Request) error {
	// A login form posted cross-site could sign a victim into the
	// attacker's account; the CSRF rule applies here too.
	if !sameOriginWrite(r) {
		return errCSRF
	}
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if req.Username == "" {
		return invalid("username", "required")
	}
	if req.Password == "" {
		return invalid("password", "required")
	}
	u, k, key, err := a.startSession(r.Context(), req.Username, req.Password, "browser session")
	if err != nil {
		return err
	}
	http.SetCookie(w, sessionCookie(r, key.Reveal(), int(sessionTTL.Seconds())))
	a.log.Info("user signed in", "user_id", u.ID, "api_key_id", k.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"user": viewUser(u), "api_key": viewAPIKey(k)})
	return nil
}

// deleteSession signs a browser out: it revokes the cookie's key and
// clears the cookie. Without a live session it only clears the cookie.
func (a *API) deleteSession(w http.ResponseWriter, r *http.Request) error {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		http.SetCookie(w, sessionCookie(r, "", -1))
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if !sameOriginWrite(r) {
		return errCSRF
	}
	p, err := a.auth.Authenticate(r.Context(), c.Value)
	switch {
	case err == nil && p.Key.Kind == store.APIKeyKindSession:
		if err := a.store.RevokeAPIKey(r.Context(), p.Key.ID, a.now().UTC()); err != nil {
			return fmt.Errorf("revoke session key: %w", err)
		}
		a.auth.Forget(p.Key.ID)
		a.log.Info("user signed out", "user_id", p.User.ID, "api_key_id", p.Key.ID)
	case err == nil, errors.Is(err, auth.ErrInvalidKey), errors.Is(err, auth.ErrSuspended):
		// Nothing to revoke: an API key pasted into the cookie is not
		// ours to revoke, and a dead one is dead already.
	default:
		return fmt.Errorf("authenticate session: %w", err)
	}
	http.SetCookie(w, sessionCookie(r, "", -1))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sessionCookie builds the session cookie; maxAge < 0 deletes it.
func sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     SessionCookie,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
}
