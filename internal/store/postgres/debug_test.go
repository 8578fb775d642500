package postgres_test

import (
	"testing"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/store/postgres/pgtest"
	"github.com/chatd/chatd/internal/store/storetest"
)

// openInSchema returns an opener that gives each case a schema of its own
// in one database; the suites close the stores they open.
func openInSchema(t *testing.T) func(t *testing.T) store.Store {
	dbURL := pgtest.NewDatabase(t)
	return func(t *testing.T) store.Store {
		db, err := postgres.Open(t.Context(), postgres.Config{URL: pgtest.NewSchema(t, dbURL), Logger: discard()})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return db
	}
}

func TestDebugConformance(t *testing.T) {
	t.Parallel()
	storetest.RunDebug(t, openInSchema(t))
}

func TestUserSettingsConformance(t *testing.T) {
	t.Parallel()
	storetest.RunUserSettings(t, openInSchema(t))
}
