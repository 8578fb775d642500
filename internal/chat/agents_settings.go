package chat

import (
	"context"

	"github.com/chatd/chatd/internal/settings"
)

// subagentOverride is the model config id the user's, else the
// deployment's, subagent override names; "" when neither is set.
func (s *Service) subagentOverride(ctx context.Context, userID string) (string, error) {
	id, ok, err := settings.ModelOverride(ctx, s.store, userID, settings.ModelSubagent)
	if err != nil || !ok {
		return "", err
	}
	return id, nil
}
