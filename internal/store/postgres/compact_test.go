package postgres_test

import (
	"testing"

	"github.com/chatd/chatd/internal/store/storetest"
)

func TestCompactionConformance(t *testing.T) {
	t.Parallel()
	storetest.RunCompaction(t, openInSchema(t))
}
