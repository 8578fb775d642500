package postgres

import "github.com/chatd/chatd/internal/store"

// LatestSchemaVersion is the schema version this binary migrates to.
func LatestSchemaVersion() (int64, error) {
	return store.LatestMigration(migrationFiles, "migrations")
}
