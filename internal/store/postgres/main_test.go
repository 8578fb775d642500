package postgres_test

import (
	"os"
	"testing"

	"github.com/chatd/chatd/internal/store/postgres/pgtest"
)

// TestMain says, in go test's normal output, that the PostgreSQL tests were
// skipped: t.Skip's message only shows with -v.
func TestMain(m *testing.M) {
	pgtest.ReportSkip()
	os.Exit(m.Run())
}
