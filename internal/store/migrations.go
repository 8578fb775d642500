package store

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// LatestMigration returns the highest version among the goose migration
// files ("0001_init.sql") in dir of fsys, so a binary can say which schema
// it migrates to without a database.
func LatestMigration(fsys fs.FS, dir string) (int64, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return 0, fmt.Errorf("read migrations: %w", err)
	}
	var latest int64
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migration %q: version is not a number", e.Name())
		}
		latest = max(latest, v)
	}
	return latest, nil
}
