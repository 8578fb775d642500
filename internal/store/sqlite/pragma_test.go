package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestPragmas checks that every pooled connection, not only the first,
// carries the settings that keep concurrent use safe.
func TestPragmas(t *testing.T) {
	t.Parallel()
	db, err := Open(t.Context(), Config{Path: filepath.Join(t.TempDir(), "chatd.db")})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()

	pools := []struct {
		name      string
		db        *sql.DB
		queryOnly string
	}{
		{"writer", db.w, "0"},
		{"reader", db.r, "1"},
	}
	for _, p := range pools {
		t.Run(p.name, func(t *testing.T) {
			// Hold several connections at once so the pool opens more than one.
			n := min(3, p.db.Stats().MaxOpenConnections)
			conns := make([]*sql.Conn, n)
			for i := range conns {
				c, err := p.db.Conn(t.Context())
				if err != nil {
					t.Fatalf("conn %d: %v", i, err)
				}
				defer c.Close()
				conns[i] = c
			}
			for i, c := range conns {
				for _, tc := range []struct{ pragma, want string }{
					{"journal_mode", "wal"},
					{"foreign_keys", "1"},
					{"busy_timeout", "10000"},
					{"synchronous", "1"},
					{"query_only", p.queryOnly},
				} {
					var got string
					if err := c.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
						t.Fatalf("conn %d: pragma %s: %v", i, tc.pragma, err)
					}
					if got != tc.want {
						t.Fatalf("conn %d: %s = %s, want %s", i, tc.pragma, got, tc.want)
					}
				}
			}
		})
	}
	if got := db.w.Stats().MaxOpenConnections; got != 1 {
		t.Fatalf("writer max open conns = %d, want 1", got)
	}
	if _, err := db.r.ExecContext(t.Context(), `INSERT INTO settings (key, value, updated_at) VALUES ('x', 'y', 0)`); err == nil {
		t.Fatal("write through reader pool: got nil error")
	}
}
