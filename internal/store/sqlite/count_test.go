package sqlite_test

import (
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/sqlite"
	"github.com/chatd/chatd/internal/store/storetest"
)

func openCounted(t *testing.T, n *atomic.Int64) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "chatd.db"), Logger: quiet(), Statements: n})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return db
}

func TestStatementCount(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	db := openCounted(t, &n)
	defer db.Close()
	storetest.RunStatementCount(t, db, &n)
}

// TestConformanceCounted runs the suite on counting connections: the
// wrapper must not change what the store does.
func TestConformanceCounted(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store { return openCounted(t, &n) })
	if n.Load() == 0 {
		t.Fatal("no statement counted")
	}
}
