package postgres_test

import (
	"sync/atomic"
	"testing"

	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/store/postgres/pgtest"
	"github.com/chatd/chatd/internal/store/storetest"
)

func TestStatementCount(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	db, err := postgres.Open(t.Context(), postgres.Config{URL: pgtest.NewDatabase(t), Logger: discard(), Statements: &n})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	storetest.RunStatementCount(t, db, &n)
}
