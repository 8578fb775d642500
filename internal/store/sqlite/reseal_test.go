package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/storetest"
)

func TestResealConformance(t *testing.T) {
	t.Parallel()
	storetest.RunReseal(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "chatd.db"), quiet())
	})
}
