package postgres

import (
	"context"
	"log/slog"
	"testing"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/postgres/pgtest"
	"github.com/chatd/chatd/internal/store/storetest"
)

// smallBatches reseals two secrets at a time, so the conformance suite
// crosses page boundaries.
type smallBatches struct{ *DB }

func (s smallBatches) ResealSecrets(ctx context.Context, reseal store.ResealFunc) (store.ResealResult, error) {
	return s.resealSecrets(ctx, reseal, 2)
}

func TestResealSmallBatches(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	storetest.RunReseal(t, func(t *testing.T) store.Store {
		db, err := Open(t.Context(), Config{URL: pgtest.NewSchema(t, dbURL), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return smallBatches{db}
	})
}
