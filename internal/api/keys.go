package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := a.store.ListAPIKeys(r.Context(), principal(r).User.ID)
	if err != nil {
		return fmt.Errorf("list API keys: %w", err)
	}
	out := make([]wire.APIKey, 0, len(ks))
	for _, k := range ks {
		out = append(out, viewAPIKey(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": out})
	return nil
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name      string  `json:"name"`
		ExpiresAt *string `json:"expires_at"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if err := validKeyName("name", req.Name); err != nil {
		return err
	}
	now := a.now().UTC()
	exp, err := parseExpiry(req.ExpiresAt, now)
	if err != nil {
		return err
	}
	p := principal(r)
	id, key, hash := auth.NewKey()
	k, err := a.store.CreateAPIKey(r.Context(), store.APIKey{
		ID:         id,
		UserID:     p.User.ID,
		Name:       req.Name,
		Kind:       store.APIKeyKindAPI,
		SecretHash: hash,
		CreatedAt:  now,
		ExpiresAt:  exp,
	})
	if err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	a.log.Info("API key created", "user_id", p.User.ID, "api_key_id", k.ID)
	writeJSON(w, http.StatusCreated, wire.NewKey{Key: key, APIKey: viewAPIKey(k)})
	return nil
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id := r.PathValue("id")
	k, err := a.store.GetAPIKey(r.Context(), id)
	// Someone else's key is answered exactly like a missing one.
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.UserID != p.User.ID) {
		return errNotFound("API key")
	}
	if err != nil {
		return fmt.Errorf("get API key: %w", err)
	}
	if err := a.store.RevokeAPIKey(r.Context(), id, a.now().UTC()); err != nil {
		return fmt.Errorf("revoke API key: %w", err)
	}
	a.auth.Forget(id)
	a.log.Info("API key revoked", "user_id", p.User.ID, "api_key_id", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
