package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatd/chatd/internal/catalog"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// providersByID loads every provider, to name each model's provider.
func (a *API) providersByID(r *http.Request) (map[string]store.Provider, error) {
	ps, err := a.store.ListProviders(r.Context())
	if err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	m := make(map[string]store.Provider, len(ps))
	for _, p := range ps {
		m[p.ID] = p
	}
	return m, nil
}

// usable reports whether members may see m: it and its provider are on.
func usable(m store.ModelConfig, p store.Provider, ok bool) bool {
	return ok && m.Enabled && p.Enabled
}

func (a *API) listModels(w http.ResponseWriter, r *http.Request) error {
	all := false
	if v := r.URL.Query().Get("all"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return invalid("all", "must be true or false")
		}
		all = b
	}
	// Members only ever see what they can use.
	all = all && principal(r).IsAdmin()
	ms, err := a.store.ListModels(r.Context())
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	provs, err := a.providersByID(r)
	if err != nil {
		return err
	}
	out := make([]wire.Model, 0, len(ms))
	for _, m := range ms {
		p, ok := provs[m.ProviderID]
		if !all && !usable(m, p, ok) {
			continue
		}
		out = append(out, viewModel(m, p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": out})
	return nil
}

// model loads the model in the path with its provider, answering 404 for
// members asking for one they cannot use.
func (a *API) model(r *http.Request) (store.ModelConfig, store.Provider, error) {
	m, err := a.store.GetModel(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return m, store.Provider{}, errNotFound("model")
	}
	if err != nil {
		return m, store.Provider{}, fmt.Errorf("get model: %w", err)
	}
	p, err := a.store.GetProvider(r.Context(), m.ProviderID)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return m, p, fmt.Errorf("get provider of model: %w", err)
	}
	if !principal(r).IsAdmin() && !usable(m, p, found) {
		return m, p, errNotFound("model")
	}
	return m, p, nil
}

func (a *API) getModel(w http.ResponseWriter, r *http.Request) error {
	m, p, err := a.model(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewModel(m, p))
	return nil
}

func (a *API) createModel(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Provider     string       `json:"provider"`
		Model        string       `json:"model"`
		DisplayName  *string      `json:"display_name"`
		ContextLimit *int64       `json:"context_limit"`
		Prices       *wire.Prices `json:"prices"`
		Enabled      *bool        `json:"enabled"`
		Default      *bool        `json:"default"`

		UseResponsesAPI            *bool `json:"use_responses_api"`
		CompactionThresholdPercent *int  `json:"compaction_threshold_percent"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if err := validProviderName("provider", req.Provider); err != nil {
		return err
	}
	if strings.TrimSpace(req.Model) == "" {
		return invalid("model", "required")
	}
	if len(req.Model) > maxModelName {
		return invalid("model", "at most %d characters", maxModelName)
	}
	m := store.ModelConfig{Model: req.Model, DisplayName: req.Model, Enabled: true}
	if req.DisplayName != nil {
		if err := validDisplayName(*req.DisplayName); err != nil {
			return err
		}
		m.DisplayName = *req.DisplayName
	}
	if req.ContextLimit != nil {
		if err := validContextLimit(*req.ContextLimit); err != nil {
			return err
		}
		m.ContextLimit = *req.ContextLimit
	}
	if req.Prices != nil {
		m.Prices = storePrices(*req.Prices)
		if err := validPrices(m.Prices); err != nil {
			return err
		}
	}
	if req.Enabled != nil {
		m.Enabled = *req.Enabled
	}
	if req.Default != nil {
		m.IsDefault = *req.Default
	}
	if err := defaultEnabled(m.Enabled, m.IsDefault, false); err != nil {
		return err
	}
	if err := validThreshold(req.CompactionThresholdPercent); err != nil {
		return err
	}
	m.CompactionThresholdPercent = req.CompactionThresholdPercent
	p, err := a.store.GetProviderByName(r.Context(), req.Provider)
	if errors.Is(err, store.ErrNotFound) {
		return invalid("provider", "no provider named %q", req.Provider)
	}
	if err != nil {
		return fmt.Errorf("get provider: %w", err)
	}
	m.ProviderID = p.ID
	if req.UseResponsesAPI != nil {
		if err := validResponsesAPI(*req.UseResponsesAPI, p.Type); err != nil {
			return err
		}
		m.UseResponsesAPI = *req.UseResponsesAPI
	}
	if e, ok := catalog.Lookup(p.Type, req.Model); ok {
		if req.ContextLimit == nil {
			m.ContextLimit = e.ContextLimit
		}
		if req.Prices == nil {
			m.Prices = e.Prices
		}
	}
	m, err = a.store.CreateModel(r.Context(), m)
	if errors.Is(err, store.ErrConflict) {
		return errConflict(fmt.Sprintf("model %q is already configured on provider %q", req.Model, req.Provider))
	}
	if err != nil {
		return fmt.Errorf("create model: %w", err)
	}
	a.log.Info("model created", "model_id", m.ID, "provider", p.Name, "model", m.Model, "by", principal(r).User.ID)
	writeJSON(w, http.StatusCreated, viewModel(m, p))
	return nil
}

func (a *API) patchModel(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		DisplayName  *string      `json:"display_name"`
		ContextLimit *int64       `json:"context_limit"`
		Prices       *wire.Prices `json:"prices"`
		Enabled      *bool        `json:"enabled"`
		Default      *bool        `json:"default"`

		UseResponsesAPI *bool `json:"use_responses_api"`
		// CompactionThresholdPercent is absent, null (inherit) or 1-100.
		CompactionThresholdPercent json.RawMessage `json:"compaction_threshold_percent"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	var patch store.ModelPatch
	switch {
	case req.CompactionThresholdPercent == nil:
	case isNull(req.CompactionThresholdPercent):
		patch.ClearCompactionThreshold = true
	default:
		var pct int
		if err := json.Unmarshal(req.CompactionThresholdPercent, &pct); err != nil {
			return invalid("compaction_threshold_percent", "must be an integer from 1 to 100 or null")
		}
		if err := validThreshold(&pct); err != nil {
			return err
		}
		patch.CompactionThresholdPercent = &pct
	}
	if req.DisplayName != nil {
		if err := validDisplayName(*req.DisplayName); err != nil {
			return err
		}
		patch.DisplayName = req.DisplayName
	}
	if req.ContextLimit != nil {
		if err := validContextLimit(*req.ContextLimit); err != nil {
			return err
		}
		patch.ContextLimit = req.ContextLimit
	}
	if req.Prices != nil {
		pr := storePrices(*req.Prices)
		if err := validPrices(pr); err != nil {
			return err
		}
		patch.Prices = &pr
	}
	patch.Enabled = req.Enabled
	patch.IsDefault = req.Default
	m, p, err := a.model(r)
	if err != nil {
		return err
	}
	if req.UseResponsesAPI != nil {
		if err := validResponsesAPI(*req.UseResponsesAPI, p.Type); err != nil {
			return err
		}
		patch.UseResponsesAPI = req.UseResponsesAPI
	}
	enabled, isDefault := m.Enabled, m.IsDefault
	if req.Enabled != nil {
		enabled = *req.Enabled
	}
	if req.Default != nil {
		isDefault = *req.Default
	}
	if err := defaultEnabled(enabled, isDefault, req.Enabled != nil && req.Default == nil); err != nil {
		return err
	}
	m, err = a.store.UpdateModel(r.Context(), m.ID, patch)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("model")
	}
	if err != nil {
		return fmt.Errorf("update model: %w", err)
	}
	if m.IsDefault && req.Default != nil {
		if err := a.clearOtherDefaults(r, m.ID); err != nil {
			return err
		}
	}
	a.log.Info("model updated", "model_id", m.ID, "provider", p.Name, "model", m.Model, "by", principal(r).User.ID)
	writeJSON(w, http.StatusOK, viewModel(m, p))
	return nil
}

// defaultEnabled refuses a model that would end up both the default and
// disabled, which would leave members without a default model.
// disabling says the request only changed enabled, for the message.
func defaultEnabled(enabled, isDefault, disabling bool) error {
	if enabled || !isDefault {
		return nil
	}
	if disabling {
		return errConflict("the default model cannot be disabled; make another model the default first (or send \"default\": false with \"enabled\": false)")
	}
	return errConflict("a disabled model cannot be the default; enable it (\"enabled\": true) in the same request or first")
}

// clearOtherDefaults makes keep the only default model. The store clears
// other defaults itself on create; on update the contract does not say
// so, and this is harmless when it already did.
func (a *API) clearOtherDefaults(r *http.Request, keep string) error {
	ms, err := a.store.ListModels(r.Context())
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	off := false
	for _, m := range ms {
		if m.ID == keep || !m.IsDefault {
			continue
		}
		if _, err := a.store.UpdateModel(r.Context(), m.ID, store.ModelPatch{IsDefault: &off}); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("clear default model: %w", err)
		}
	}
	return nil
}

func (a *API) deleteModel(w http.ResponseWriter, r *http.Request) error {
	m, _, err := a.model(r)
	if err != nil {
		return err
	}
	if err := a.store.DeleteModel(r.Context(), m.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound("model")
		}
		return fmt.Errorf("delete model: %w", err)
	}
	a.log.Info("model deleted", "model_id", m.ID, "model", m.Model, "by", principal(r).User.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// validThreshold refuses a compaction threshold outside 1 to 100 percent.
func validThreshold(pct *int) error {
	if store.CheckThreshold(pct) != nil {
		return invalid("compaction_threshold_percent", "must be an integer from 1 to 100 or null")
	}
	return nil
}

// validResponsesAPI refuses the Responses API for a provider that does not
// speak it.
func validResponsesAPI(on bool, t store.ProviderType) error {
	if on && t == store.ProviderAnthropic {
		return invalid("use_responses_api", "provider type %q has no Responses API; only OpenAI types do", t)
	}
	return nil
}
