// Package sqlite implements store.Store on a single SQLite file, the default
// backend for one chatd process.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/chatops"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var _ store.Store = (*DB)(nil)

// Config configures Open.
type Config struct {
	// Path is the database file. Required. Its parent directory is created
	// with mode 0700 when missing.
	Path string
	// Logger receives migration messages. If nil, slog.Default() is used.
	Logger *slog.Logger
	// Statements, if not nil, counts the SQL statements the store's
	// connections execute: each Exec and Query, prepared or not, and each
	// BEGIN, COMMIT and ROLLBACK (load measurements). If nil, nothing is
	// counted and the driver's connections are used bare.
	Statements *atomic.Int64
}

// DB is a store.Store backed by SQLite. It is safe for concurrent use.
//
// Writes go through one connection opened with BEGIN IMMEDIATE, so
// concurrent writers queue in Go instead of failing with "database is
// locked"; reads use a separate pool that WAL lets run beside the writer.
type DB struct {
	// Transitions implements the chat transitions on chatTx.
	chatops.Transitions

	w   *sql.DB // exactly one connection; every write goes here
	r   *sql.DB // read-only pool
	ver *goose.Provider
	log *slog.Logger
}

// Open opens (creating if needed) the database at c.Path and applies any
// pending migrations.
func Open(ctx context.Context, c Config) (*DB, error) {
	if c.Path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	log := cmp.Or(c.Logger, slog.Default())
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// The file holds key hashes and sealed provider keys: create it
	// readable by the owner only, whatever the umask or the directory's
	// mode. SQLite gives its -wal and -shm files the database's mode.
	f, err := os.OpenFile(c.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	f.Close()

	w, err := openDB(dsn(c.Path, false), c.Statements)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", c.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	up, err := goose.NewProvider(goose.DialectSQLite3, w, migrations)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: migrations: %w", err)
	}
	results, err := up.Up(ctx)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: migrate: %w", c.Path, err)
	}
	for _, res := range results {
		log.Info("applied migration", "version", res.Source.Version, "file", res.Source.Path, "duration", res.Duration)
	}

	// Readers open after migrating so that none sees a half-built schema.
	r, err := openDB(dsn(c.Path, true), c.Statements)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", c.Path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	r.SetConnMaxIdleTime(5 * time.Minute)
	ver, err := goose.NewProvider(goose.DialectSQLite3, r, migrations)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite: migrations: %w", err)
	}
	db := &DB{w: w, r: r, ver: ver, log: log}
	db.Transitions = chatops.NewTransitions(db.chatTx, wrapChatErr)
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", c.Path, err)
	}
	return db, nil
}

// dsn builds the modernc.org/sqlite data source name. Pragmas go in the DSN
// so that every pooled connection gets them, not just the first.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// A deferred transaction that reads first and then writes cannot
		// wait on busy_timeout when it upgrades its lock; IMMEDIATE takes
		// the write lock at BEGIN, where busy_timeout applies.
		q.Set("_txlock", "immediate")
	}
	// SQLite decodes %XX in a file: URI, so escaping lets a path hold '?',
	// '#' or '%'.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close releases both connection pools.
func (db *DB) Close() error {
	return errors.Join(db.r.Close(), db.w.Close())
}

// Ping reports whether both pools answer.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite reader: %w", err)
	}
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite writer: %w", err)
	}
	return nil
}

// SchemaVersion returns the highest migration goose has applied.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	v, err := db.ver.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// Now returns the time according to SQLite, which is this host's clock.
func (db *DB) Now(ctx context.Context) (time.Time, error) {
	var us int64
	err := db.r.QueryRowContext(ctx, `SELECT CAST(unixepoch('subsec') * 1000000 AS INTEGER)`).Scan(&us)
	if err != nil {
		return time.Time{}, fmt.Errorf("now: %w", err)
	}
	return fromMicros(us), nil
}

// inTx runs fn in a write transaction and commits if fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// classify turns driver errors into store sentinels where one applies and
// returns err unchanged otherwise.
func classify(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return store.ErrConflict
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return store.ErrNotFound
		}
	}
	return err
}

// newID returns a time-ordered UUIDv7 string.
func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// now is the current time at the precision the store keeps.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// norm brings t to stored precision and UTC, or the current time if zero.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

func normPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}

func fromMicros(us int64) time.Time {
	return time.UnixMicro(us).UTC()
}

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}
