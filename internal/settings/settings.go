// Package settings names the user and deployment settings of chatd and
// reads them with the user's value taking precedence over the deployment's.
package settings

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/store"
)

// Setting keys, the same in the user and the deployment tables.
const (
	// DebugRecording is "true" or "false".
	DebugRecording = chatdebug.SettingKey
	// CompactionThresholdPercent is an integer from 1 to 100: how full the
	// context window may get before a chat is compacted. A model config's
	// own threshold (store.ModelConfig.CompactionThresholdPercent) comes
	// between the user's and the deployment's.
	CompactionThresholdPercent = "compaction_threshold_percent"
)

// Model override kinds: which model a kind of call uses instead of the
// chat's own.
const (
	ModelSubagent   = "subagent"
	ModelAdvisor    = "advisor"
	ModelCompaction = "compaction"
	ModelTitle      = "title"
)

// ModelKinds lists the model override kinds, in display order.
var ModelKinds = []string{ModelSubagent, ModelAdvisor, ModelCompaction, ModelTitle}

// ErrUnknownKind is a model override kind not in ModelKinds.
var ErrUnknownKind = errors.New("unknown model override kind")

// ModelKey is the setting key of a model override kind, "model_" + kind.
func ModelKey(kind string) string { return "model_" + kind }

// Store reads user and deployment settings; store.Store implements it.
type Store interface {
	store.UserSettings
	store.Settings
}

// lookup returns the user's value of key, else the deployment's; ok is
// false when neither is set. An empty deployment value means unset (the
// deployment table has no delete).
func lookup(ctx context.Context, st Store, userID, key string) (string, bool, error) {
	if userID != "" {
		v, err := st.GetUserSetting(ctx, userID, key)
		switch {
		case err == nil:
			return v, true, nil
		case !errors.Is(err, store.ErrNotFound):
			return "", false, fmt.Errorf("read user setting %q: %w", key, err)
		}
	}
	v, err := st.GetSetting(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && v == ""):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("read deployment setting %q: %w", key, err)
	}
	return v, true, nil
}

// ModelOverride returns the model config id the user's, else the
// deployment's, override of kind names; ok is false when neither is set.
// The id is not checked: the model may have been disabled or deleted
// since, which routing reports.
func ModelOverride(ctx context.Context, st Store, userID, kind string) (id string, ok bool, err error) {
	if !validKind(kind) {
		return "", false, fmt.Errorf("model override %q: %w", kind, ErrUnknownKind)
	}
	return lookup(ctx, st, userID, ModelKey(kind))
}

// CompactionThreshold returns the user's, else the deployment's,
// compaction threshold in percent; ok is false when neither is set. It is
// CompactionThresholdFor a model config without a threshold of its own.
func CompactionThreshold(ctx context.Context, st Store, userID string) (pct int, ok bool, err error) {
	return CompactionThresholdFor(ctx, st, userID, nil)
}

// CompactionThresholdFor returns the compaction threshold in percent of
// a chat of userID on a model config whose own threshold is modelPct
// (store.ModelConfig.CompactionThresholdPercent; nil: none): the user's
// setting, else the model's, else the deployment's setting. ok is false
// when none is set; a value that is not an integer from 1 to 100 counts
// as unset.
func CompactionThresholdFor(ctx context.Context, st Store, userID string, modelPct *int) (pct int, ok bool, err error) {
	if userID != "" {
		v, err := st.GetUserSetting(ctx, userID, CompactionThresholdPercent)
		switch {
		case err == nil:
			if n, err := ParsePercent(v); err == nil {
				return n, true, nil
			}
		case !errors.Is(err, store.ErrNotFound):
			return 0, false, fmt.Errorf("read user setting %q: %w", CompactionThresholdPercent, err)
		}
	}
	if modelPct != nil && *modelPct >= 1 && *modelPct <= 100 {
		return *modelPct, true, nil
	}
	v, ok, err := lookup(ctx, st, "", CompactionThresholdPercent)
	if err != nil || !ok {
		return 0, false, err
	}
	n, err := ParsePercent(v)
	if err != nil {
		return 0, false, nil
	}
	return n, true, nil
}

// ParsePercent parses an integer from 1 to 100.
func ParsePercent(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, fmt.Errorf("%q is not an integer from 1 to 100", v)
	}
	return n, nil
}

func validKind(kind string) bool {
	for _, k := range ModelKinds {
		if k == kind {
			return true
		}
	}
	return false
}
