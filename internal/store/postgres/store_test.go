package postgres_test

import (
	"testing"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/store/postgres/pgtest"
	"github.com/chatd/chatd/internal/store/storetest"
)

// TestConformance runs the shared store suite. Each case gets a schema of
// its own in one database (creating a database per case is several times
// slower), which also checks that the store works outside the public
// schema. storetest closes the stores it opens.
func TestConformance(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := postgres.Open(t.Context(), postgres.Config{URL: pgtest.NewSchema(t, dbURL), Logger: discard()})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return db
	})
}
