// Package postgres implements store.Store on PostgreSQL, for deployments
// where several chatd replicas share one database.
package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/chatops"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// Config configures Open.
type Config struct {
	// URL is the PostgreSQL connection string, e.g.
	// postgres://user@host:5432/chatd?sslmode=disable. Required.
	URL string
	// Logger receives migration and connection logs. If nil, slog.Default()
	// is used.
	Logger *slog.Logger
	// MaxConns caps the connection pool. If zero, pgxpool's default is used
	// (the greater of 4 and the number of CPUs).
	MaxConns int32
	// Statements, if not nil, counts the SQL statements the pool sends
	// after migrating: each query (BEGIN and COMMIT included) and each
	// query of a batch (load measurements). If nil, no tracer is set.
	Statements *atomic.Int64
}

// DB is a store.Store backed by PostgreSQL. It is safe for concurrent use.
type DB struct {
	// Transitions implements the chat transitions on chatTx.
	chatops.Transitions

	pool *pgxpool.Pool
	log  *slog.Logger
	// versions reads the schema version through goose over the same pool.
	versions *goose.Provider
	sqlDB    *sql.DB
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at c.URL and applies any pending
// migrations. Replicas may call Open at the same time: migrations run under
// a PostgreSQL advisory lock, so only one applies them and the others wait.
func Open(ctx context.Context, c Config) (*DB, error) {
	if c.URL == "" {
		return nil, errors.New("open postgres: URL is required")
	}
	log := cmp.Or(c.Logger, slog.Default())

	pc, err := pgxpool.ParseConfig(c.URL)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, errors.New("open postgres: invalid URL")
	}
	if c.MaxConns > 0 {
		pc.MaxConns = c.MaxConns
	}

	if err := migrate(ctx, pc.ConnConfig.Copy(), log); err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if c.Statements != nil {
		pc.ConnConfig.Tracer = statementTracer{n: c.Statements}
	}

	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: ping: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	versions, err := newProvider(sqlDB, log)
	if err != nil {
		sqlDB.Close()
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := &DB{pool: pool, log: log, versions: versions, sqlDB: sqlDB}
	db.Transitions = chatops.NewTransitions(db.chatTx, wrapChatErr)
	return db, nil
}

// Close releases the pool. It waits for connections in use to be returned.
func (db *DB) Close() error {
	err := db.sqlDB.Close()
	db.pool.Close()
	return err
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// SchemaVersion is the highest migration goose has applied.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	v, err := db.versions.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// Now is the database server's clock, in UTC.
func (db *DB) Now(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := db.pool.QueryRow(ctx, "SELECT now()").Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("database now: %w", err)
	}
	return t.UTC(), nil
}

// newID returns a time-ordered UUIDv7 string.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// orNewID returns id, or a new ID when id is empty.
func orNewID(id string) string {
	if id == "" {
		return newID()
	}
	return id
}

// Unique and foreign key violations.
// https://www.postgresql.org/docs/current/errcodes-appendix.html
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	// codeCharacterNotInRepertoire is a NUL byte or invalid UTF-8 in a
	// text value; codeUntranslatableCharacter is \u0000 in a jsonb value.
	codeCharacterNotInRepertoire = "22021"
	codeUntranslatableCharacter  = "22P05"
)

// wrap maps driver errors onto the store's sentinels and prefixes op.
// A missing row or a reference to a missing row is store.ErrNotFound; a
// taken unique value is store.ErrConflict; text PostgreSQL cannot hold (NUL,
// invalid UTF-8) is store.ErrInvalid.
func wrap(op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pe.Code {
		case codeUniqueViolation:
			return fmt.Errorf("%s: %w (%s)", op, store.ErrConflict, pe.ConstraintName)
		case codeForeignKeyViolation:
			return fmt.Errorf("%s: %w (%s)", op, store.ErrNotFound, pe.ConstraintName)
		case codeCharacterNotInRepertoire, codeUntranslatableCharacter:
			return fmt.Errorf("%s: %w: text holds NUL or invalid UTF-8", op, store.ErrInvalid)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// cleanText makes s storable in a PostgreSQL text column, which refuses NUL
// bytes and invalid UTF-8: each invalid byte becomes U+FFFD and NULs are
// dropped. Text that is already storable comes back unchanged.
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	// strings.Map turns each invalid byte into U+FFFD, as encoding/json
	// does, and drops what dropNUL maps to -1.
	return strings.Map(dropNUL, s)
}

func dropNUL(r rune) rune {
	if r == 0 {
		return -1
	}
	return r
}

// notFound is the error for a write that matched no row.
func notFound(op string) error { return fmt.Errorf("%s: %w", op, store.ErrNotFound) }

// nullTime turns the zero time into SQL NULL, so that COALESCE(..., now())
// can fill in a default.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// utcPtr converts a scanned timestamp to UTC, keeping nil as nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// inTx runs fn in a transaction, committing when it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, fn)
}
