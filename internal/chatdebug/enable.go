package chatdebug

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatd/chatd/internal/store"
)

// SettingKey is the user setting and the deployment setting that switch
// debug recording on ("true") or off ("false").
const SettingKey = "debug_recording"

// errBadSetting is a toggle that is neither "true" nor "false".
var errBadSetting = errors.New("debug recording setting is neither true nor false")

// Enabled reports whether a model call of a chat is recorded: the chat's
// override if set, else the user's setting if set, else Force or the
// deployment setting. Any error while deciding means off.
func (s *Service) Enabled(ctx context.Context, chatOverride *bool, userID string) bool {
	if s == nil {
		return false
	}
	if chatOverride != nil {
		return *chatOverride
	}
	if userID != "" && s.c.UserSettings != nil {
		v, err := s.c.UserSettings.GetUserSetting(ctx, userID, SettingKey)
		if err == nil {
			on, err := parseToggle(v)
			if err != nil {
				s.log.WarnContext(ctx, "debug recording off: bad user setting", "user_id", userID, "error", err)
				return false
			}
			return on
		}
		if !errors.Is(err, store.ErrNotFound) {
			s.log.WarnContext(ctx, "debug recording off: read user setting", "user_id", userID, "error", err)
			return false
		}
	}
	if s.c.Force {
		return true
	}
	if s.c.Settings == nil {
		return false
	}
	v, err := s.c.Settings.GetSetting(ctx, SettingKey)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err == nil {
		var on bool
		if on, err = parseToggle(v); err == nil {
			return on
		}
	}
	s.log.WarnContext(ctx, "debug recording off: read deployment setting", "error", err)
	return false
}

func parseToggle(v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("parse %q: %w", v, errBadSetting)
}
