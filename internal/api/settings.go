package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/chatd/chatd/internal/settings"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// DefaultCompactionThresholdPercent is the deployment's compaction
// threshold when an admin never set one.
const DefaultCompactionThresholdPercent = 80

func (a *API) settingsRoutes() {
	p := Prefix + "/settings"
	a.handle("GET "+p+"/me", anyUser, a.getUserSettings)
	a.handle("PATCH "+p+"/me", anyUser, a.patchUserSettings)
	a.handle("GET "+p+"/deployment", adminOnly, a.getDeploymentSettings)
	a.handle("PATCH "+p+"/deployment", adminOnly, a.patchDeploymentSettings)
}

// settingsPatch is a PATCH body: each field absent (nil), null
// ("null") or a value. Unknown model kinds are refused.
type settingsPatch struct {
	DebugRecording             json.RawMessage            `json:"debug_recording"`
	DebugRecordingForced       json.RawMessage            `json:"debug_recording_forced"`
	Models                     map[string]json.RawMessage `json:"models"`
	CompactionThresholdPercent json.RawMessage            `json:"compaction_threshold_percent"`
}

// change is one setting to write; a nil value clears it.
type change struct {
	key   string
	value *string
}

func isNull(b json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(b), []byte("null")) }

// changes validates p and returns the writes it asks for. nullable says
// whether debug_recording may be null (users inherit; the deployment has
// a value).
func (a *API) changes(r *http.Request, p settingsPatch, nullable bool) ([]change, error) {
	var out []change
	if p.DebugRecording != nil {
		switch {
		case isNull(p.DebugRecording) && nullable:
			out = append(out, change{key: settings.DebugRecording})
		case isNull(p.DebugRecording):
			return nil, invalid("debug_recording", "must be true or false")
		default:
			var on bool
			if err := json.Unmarshal(p.DebugRecording, &on); err != nil {
				if nullable {
					return nil, invalid("debug_recording", "must be true, false or null")
				}
				return nil, invalid("debug_recording", "must be true or false")
			}
			v := strconv.FormatBool(on)
			out = append(out, change{key: settings.DebugRecording, value: &v})
		}
	}
	for kind, raw := range p.Models {
		if !knownKind(kind) {
			return nil, invalid("models."+kind, "unknown model kind; use subagent, advisor, compaction or title")
		}
		if isNull(raw) {
			out = append(out, change{key: settings.ModelKey(kind)})
			continue
		}
		var id string
		if err := json.Unmarshal(raw, &id); err != nil || id == "" {
			return nil, invalid("models."+kind, "must be a model id or null")
		}
		mc, err := a.store.GetModel(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !mc.Enabled) {
			return nil, invalid("models."+kind, "no enabled model with id %q", id)
		}
		if err != nil {
			return nil, fmt.Errorf("get model: %w", err)
		}
		out = append(out, change{key: settings.ModelKey(kind), value: &id})
	}
	if p.CompactionThresholdPercent != nil {
		if isNull(p.CompactionThresholdPercent) {
			out = append(out, change{key: settings.CompactionThresholdPercent})
		} else {
			var n int
			if err := json.Unmarshal(p.CompactionThresholdPercent, &n); err != nil || n < 1 || n > 100 {
				return nil, invalid("compaction_threshold_percent", "must be an integer from 1 to 100 or null")
			}
			v := strconv.Itoa(n)
			out = append(out, change{key: settings.CompactionThresholdPercent, value: &v})
		}
	}
	return out, nil
}

func knownKind(kind string) bool {
	for _, k := range settings.ModelKinds {
		if k == kind {
			return true
		}
	}
	return false
}

func (a *API) getUserSettings(w http.ResponseWriter, r *http.Request) error {
	v, err := a.userSettings(r, principal(r).User.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) patchUserSettings(w http.ResponseWriter, r *http.Request) error {
	var p settingsPatch
	if err := a.decode(w, r, &p); err != nil {
		return err
	}
	if p.DebugRecordingForced != nil {
		return invalid("field debug_recording_forced", "unknown field")
	}
	cs, err := a.changes(r, p, true)
	if err != nil {
		return err
	}
	userID := principal(r).User.ID
	for _, c := range cs {
		if c.value == nil {
			err = a.store.DeleteUserSetting(r.Context(), userID, c.key)
			if errors.Is(err, store.ErrNotFound) {
				err = nil
			}
		} else {
			err = a.store.PutUserSetting(r.Context(), userID, c.key, *c.value)
		}
		if err != nil {
			return fmt.Errorf("write user setting %q: %w", c.key, err)
		}
	}
	return a.getUserSettings(w, r)
}

func (a *API) userSettings(r *http.Request, userID string) (wire.UserSettings, error) {
	get := func(key string) (string, bool, error) {
		v, err := a.store.GetUserSetting(r.Context(), userID, key)
		if errors.Is(err, store.ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("read user setting %q: %w", key, err)
		}
		return v, true, nil
	}
	out := wire.UserSettings{Models: make(map[string]*string, len(settings.ModelKinds))}
	if v, ok, err := get(settings.DebugRecording); err != nil {
		return out, err
	} else if ok {
		on := v == "true"
		out.DebugRecording = &on
	}
	for _, kind := range settings.ModelKinds {
		v, ok, err := get(settings.ModelKey(kind))
		if err != nil {
			return out, err
		}
		if ok && v != "" {
			out.Models[kind] = &v
		} else {
			out.Models[kind] = nil
		}
	}
	if v, ok, err := get(settings.CompactionThresholdPercent); err != nil {
		return out, err
	} else if ok {
		if n, err := settings.ParsePercent(v); err == nil {
			out.CompactionThresholdPercent = &n
		}
	}
	return out, nil
}

func (a *API) getDeploymentSettings(w http.ResponseWriter, r *http.Request) error {
	v, err := a.deploymentSettings(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) patchDeploymentSettings(w http.ResponseWriter, r *http.Request) error {
	var p settingsPatch
	if err := a.decode(w, r, &p); err != nil {
		return err
	}
	if p.DebugRecordingForced != nil {
		return invalid("debug_recording_forced", "is set by the server's --debug-recording flag, not through the API")
	}
	cs, err := a.changes(r, p, false)
	if err != nil {
		return err
	}
	for _, c := range cs {
		// The deployment table has no delete: an empty value is unset.
		v := ""
		if c.value != nil {
			v = *c.value
		}
		if err := a.store.PutSetting(r.Context(), c.key, v); err != nil {
			return fmt.Errorf("write deployment setting %q: %w", c.key, err)
		}
	}
	a.log.Info("deployment settings changed", "user_id", principal(r).User.ID, "count", len(cs))
	return a.getDeploymentSettings(w, r)
}

func (a *API) deploymentSettings(r *http.Request) (wire.DeploymentSettings, error) {
	get := func(key string) (string, error) {
		v, err := a.store.GetSetting(r.Context(), key)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("read deployment setting %q: %w", key, err)
		}
		return v, nil
	}
	out := wire.DeploymentSettings{
		DebugRecordingForced:       a.debugForced,
		Models:                     make(map[string]*string, len(settings.ModelKinds)),
		CompactionThresholdPercent: DefaultCompactionThresholdPercent,
	}
	v, err := get(settings.DebugRecording)
	if err != nil {
		return out, err
	}
	out.DebugRecording = v == "true"
	for _, kind := range settings.ModelKinds {
		v, err := get(settings.ModelKey(kind))
		if err != nil {
			return out, err
		}
		if v != "" {
			out.Models[kind] = &v
		} else {
			out.Models[kind] = nil
		}
	}
	v, err = get(settings.CompactionThresholdPercent)
	if err != nil {
		return out, err
	}
	if n, err := settings.ParsePercent(v); err == nil {
		out.CompactionThresholdPercent = n
	}
	return out, nil
}
