package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

func (a *API) listProviderKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := a.store.ListProviderKeys(r.Context(), principal(r).User.ID)
	if err != nil {
		return fmt.Errorf("list provider keys: %w", err)
	}
	provs, err := a.providersByID(r)
	if err != nil {
		return err
	}
	out := make([]wire.ProviderKey, 0, len(ks))
	for _, k := range ks {
		p, ok := provs[k.ProviderID]
		if !ok {
			continue
		}
		out = append(out, viewProviderKey(k, p.Name))
	}
	writeJSON(w, http.StatusOK, map[string]any{"provider_keys": out})
	return nil
}

func (a *API) putProviderKey(w http.ResponseWriter, r *http.Request) error {
	if !a.allowBYOK {
		return errForbidden("this deployment does not accept users' own provider keys (BYOK is disabled)")
	}
	var req struct {
		APIKey string `json:"api_key"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if req.APIKey == "" {
		return invalid("api_key", "required")
	}
	p, err := a.providerByName(r, r.PathValue("provider"))
	if err != nil {
		return err
	}
	c, hint, err := a.seal("api_key", req.APIKey)
	if err != nil {
		return err
	}
	u := principal(r).User
	k, err := a.store.PutProviderKey(r.Context(), store.UserProviderKey{UserID: u.ID, ProviderID: p.ID, KeyCipher: c, KeyHint: hint})
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("provider")
	}
	if err != nil {
		return fmt.Errorf("put provider key: %w", err)
	}
	a.log.Info("provider key stored", "user_id", u.ID, "provider", p.Name)
	writeJSON(w, http.StatusOK, viewProviderKey(k, p.Name))
	return nil
}

func (a *API) deleteProviderKey(w http.ResponseWriter, r *http.Request) error {
	p, err := a.providerByName(r, r.PathValue("provider"))
	if err != nil {
		return err
	}
	u := principal(r).User
	err = a.store.DeleteProviderKey(r.Context(), u.ID, p.ID)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("provider key")
	}
	if err != nil {
		return fmt.Errorf("delete provider key: %w", err)
	}
	a.log.Info("provider key deleted", "user_id", u.ID, "provider", p.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
