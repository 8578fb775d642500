package postgres_test

import (
	"testing"

	"github.com/chatd/chatd/internal/store/storetest"
)

func TestResealConformance(t *testing.T) {
	t.Parallel()
	storetest.RunReseal(t, openInSchema(t))
}
