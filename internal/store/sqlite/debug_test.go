package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/storetest"
)

func TestDebugConformance(t *testing.T) {
	t.Parallel()
	storetest.RunDebug(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "chatd.db"), quiet())
	})
}

func TestUserSettingsConformance(t *testing.T) {
	t.Parallel()
	storetest.RunUserSettings(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "chatd.db"), quiet())
	})
}
