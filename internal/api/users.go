package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// sessionTTL is how long a key made by logging in lives.
const sessionTTL = 30 * 24 * time.Hour

var errBadLogin = &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "invalid username or password"}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Username string  `json:"username"`
		Password string  `json:"password"`
		KeyName  *string `json:"key_name"`
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
	name := "session"
	if req.KeyName != nil {
		if err := validKeyName("key_name", *req.KeyName); err != nil {
			return err
		}
		name = *req.KeyName
	}
	u, k, key, err := a.startSession(r.Context(), req.Username, req.Password, name)
	if err != nil {
		return err
	}
	a.log.Info("user logged in", "user_id", u.ID, "api_key_id", k.ID)
	writeJSON(w, http.StatusCreated, wire.Session{NewKey: wire.NewKey{Key: key, APIKey: viewAPIKey(k)}, User: viewUser(u)})
	return nil
}

// startSession checks a username and password and creates a session key
// named keyName for the user. Unknown users get the same work and answer
// as a wrong password, so neither timing nor the message tells which
// usernames exist; a suspended user learns so only with the right
// password.
func (a *API) startSession(ctx context.Context, username, password, keyName string) (store.User, store.APIKey, secret.Value, error) {
	u, err := a.store.GetUserByUsername(ctx, username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		auth.CheckPassword("", password)
		return store.User{}, store.APIKey{}, secret.Value{}, errBadLogin
	case err != nil:
		return store.User{}, store.APIKey{}, secret.Value{}, fmt.Errorf("load user: %w", err)
	}
	if !auth.CheckPassword(u.PasswordHash, password) {
		return store.User{}, store.APIKey{}, secret.Value{}, errBadLogin
	}
	if u.Suspended {
		return store.User{}, store.APIKey{}, secret.Value{}, auth.ErrSuspended
	}
	now := a.now().UTC()
	exp := now.Add(sessionTTL)
	id, key, hash := auth.NewKey()
	k, err := a.store.CreateAPIKey(ctx, store.APIKey{
		ID:         id,
		UserID:     u.ID,
		Name:       keyName,
		Kind:       store.APIKeyKindSession,
		SecretHash: hash,
		CreatedAt:  now,
		ExpiresAt:  &exp,
	})
	if err != nil {
		return store.User{}, store.APIKey{}, secret.Value{}, fmt.Errorf("create session key: %w", err)
	}
	return u, k, key, nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, viewUser(principal(r).User))
	return nil
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := a.store.ListUsers(r.Context())
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	out := make([]wire.User, 0, len(us))
	for _, u := range us {
		out = append(out, viewUser(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Username string  `json:"username"`
		Role     *string `json:"role"`
		Password *string `json:"password"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if err := validUsername(req.Username); err != nil {
		return err
	}
	u := store.User{Username: req.Username, Role: store.RoleMember}
	if req.Role != nil {
		if err := validRole(*req.Role); err != nil {
			return err
		}
		u.Role = store.Role(*req.Role)
	}
	if req.Password != nil {
		h, err := hashPassword(*req.Password)
		if err != nil {
			return err
		}
		u.PasswordHash = h
	}
	u, err := a.store.CreateUser(r.Context(), u)
	if errors.Is(err, store.ErrConflict) {
		return errConflict(fmt.Sprintf("username %q is taken", req.Username))
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	a.log.Info("user created", "user_id", u.ID, "username", u.Username, "role", string(u.Role), "by", principal(r).User.ID)
	writeJSON(w, http.StatusCreated, viewUser(u))
	return nil
}

func hashPassword(pw string) (string, error) {
	h, err := auth.HashPassword(pw)
	if errors.Is(err, auth.ErrWeakPassword) {
		return "", invalid("password", "must be %d to 72 bytes long", auth.MinPasswordLen)
	}
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.store.GetUser(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("user")
	}
	if err != nil {
		return fmt.Errorf("get user: %w", err)
	}
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

func (a *API) patchUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Role      *string `json:"role"`
		Suspended *bool   `json:"suspended"`
		Password  *string `json:"password"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	var p store.UserPatch
	if req.Role != nil {
		if err := validRole(*req.Role); err != nil {
			return err
		}
		role := store.Role(*req.Role)
		p.Role = &role
	}
	p.Suspended = req.Suspended
	if req.Password != nil {
		h, err := hashPassword(*req.Password)
		if err != nil {
			return err
		}
		p.PasswordHash = &h
	}
	id := r.PathValue("id")
	u, err := a.store.GetUser(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("user")
	}
	if err != nil {
		return fmt.Errorf("get user: %w", err)
	}
	if activeAdmin(u) && ((p.Role != nil && *p.Role != store.RoleAdmin) || (p.Suspended != nil && *p.Suspended)) {
		n, err := a.activeAdmins(r)
		if err != nil {
			return err
		}
		if n <= 1 {
			return errConflict("cannot demote or suspend the last active admin")
		}
	}
	u, err = a.store.UpdateUser(r.Context(), id, p)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("user")
	}
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	// Suspension and role changes apply to the user's very next request.
	a.auth.ForgetUser(u.ID)
	a.log.Info("user updated", "user_id", u.ID, "role", string(u.Role), "suspended", u.Suspended,
		"password_changed", p.PasswordHash != nil, "by", principal(r).User.ID)
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

func activeAdmin(u store.User) bool { return u.Role == store.RoleAdmin && !u.Suspended }

func (a *API) activeAdmins(r *http.Request) (int, error) {
	us, err := a.store.ListUsers(r.Context())
	if err != nil {
		return 0, fmt.Errorf("list users: %w", err)
	}
	n := 0
	for _, u := range us {
		if activeAdmin(u) {
			n++
		}
	}
	return n, nil
}
