package api

import (
	"os"
	"testing"

	"github.com/chatd/chatd/internal/store/postgres/pgtest"
)

// TestMain says, in go test's normal output, that the PostgreSQL-backed
// tests were skipped.
func TestMain(m *testing.M) {
	pgtest.ReportSkip()
	os.Exit(m.Run())
}
