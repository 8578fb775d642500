package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

func (a *API) listProviders(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.store.ListProviders(r.Context())
	if err != nil {
		return fmt.Errorf("list providers: %w", err)
	}
	out := make([]wire.Provider, 0, len(ps))
	for _, p := range ps {
		out = append(out, viewProvider(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"providers": out})
	return nil
}

// providerByName loads the provider named in the path, answering 404 for
// names that do not exist.
func (a *API) providerByName(r *http.Request, name string) (store.Provider, error) {
	p, err := a.store.GetProviderByName(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Provider{}, errNotFound(fmt.Sprintf("provider %q", name))
	}
	if err != nil {
		return store.Provider{}, fmt.Errorf("get provider %q: %w", name, err)
	}
	return p, nil
}

// seal encrypts a provider credential for storage and returns it with its
// hint. field names the request field for errors.
func (a *API) seal(field, key string) (cipher []byte, hint string, err error) {
	if len(key) > maxProviderKey {
		return nil, "", invalid(field, "at most %d bytes", maxProviderKey)
	}
	if a.keyring == nil {
		return nil, "", errors.New("seal provider key: no keyring configured")
	}
	c, err := a.keyring.Seal(secret.New(key))
	if err != nil {
		return nil, "", fmt.Errorf("seal provider key: %w", err)
	}
	return c, secret.Hint(key), nil
}

func (a *API) createProvider(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name    string  `json:"name"`
		Type    string  `json:"type"`
		BaseURL string  `json:"base_url"`
		Enabled *bool   `json:"enabled"`
		APIKey  *string `json:"api_key"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if err := validProviderName("name", req.Name); err != nil {
		return err
	}
	if err := validProviderType(req.Type); err != nil {
		return err
	}
	if err := validBaseURL(req.BaseURL); err != nil {
		return err
	}
	p := store.Provider{Name: req.Name, Type: store.ProviderType(req.Type), BaseURL: req.BaseURL, Enabled: true}
	if req.Enabled != nil {
		p.Enabled = *req.Enabled
	}
	if req.APIKey != nil && *req.APIKey != "" {
		c, hint, err := a.seal("api_key", *req.APIKey)
		if err != nil {
			return err
		}
		p.APIKeyCipher, p.APIKeyHint = c, hint
	}
	p, err := a.store.CreateProvider(r.Context(), p)
	if errors.Is(err, store.ErrConflict) {
		return errConflict(fmt.Sprintf("provider name %q is taken", req.Name))
	}
	if err != nil {
		return fmt.Errorf("create provider: %w", err)
	}
	a.log.Info("provider created", "provider", p.Name, "provider_type", string(p.Type), "has_api_key", len(p.APIKeyCipher) > 0, "by", principal(r).User.ID)
	writeJSON(w, http.StatusCreated, viewProvider(p))
	return nil
}

func (a *API) getProvider(w http.ResponseWriter, r *http.Request) error {
	p, err := a.providerByName(r, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewProvider(p))
	return nil
}

func (a *API) patchProvider(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name    *string `json:"name"`
		BaseURL *string `json:"base_url"`
		Enabled *bool   `json:"enabled"`
		APIKey  *string `json:"api_key"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	var patch store.ProviderPatch
	if req.Name != nil {
		if err := validProviderName("name", *req.Name); err != nil {
			return err
		}
		patch.Name = req.Name
	}
	if req.BaseURL != nil {
		if err := validBaseURL(*req.BaseURL); err != nil {
			return err
		}
		patch.BaseURL = req.BaseURL
	}
	patch.Enabled = req.Enabled
	if req.APIKey != nil {
		if *req.APIKey == "" {
			patch.ClearAPIKey = true
		} else {
			c, hint, err := a.seal("api_key", *req.APIKey)
			if err != nil {
				return err
			}
			patch.APIKeyCipher, patch.APIKeyHint = c, &hint
		}
	}
	p, err := a.providerByName(r, r.PathValue("name"))
	if err != nil {
		return err
	}
	p, err = a.store.UpdateProvider(r.Context(), p.ID, patch)
	switch {
	case errors.Is(err, store.ErrConflict):
		return errConflict("provider name is taken")
	case errors.Is(err, store.ErrNotFound):
		return errNotFound("provider")
	case err != nil:
		return fmt.Errorf("update provider: %w", err)
	}
	a.log.Info("provider updated", "provider", p.Name, "api_key_changed", req.APIKey != nil, "by", principal(r).User.ID)
	writeJSON(w, http.StatusOK, viewProvider(p))
	return nil
}

func (a *API) deleteProvider(w http.ResponseWriter, r *http.Request) error {
	p, err := a.providerByName(r, r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := a.store.DeleteProvider(r.Context(), p.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound("provider")
		}
		return fmt.Errorf("delete provider: %w", err)
	}
	a.log.Info("provider deleted", "provider", p.Name, "by", principal(r).User.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
