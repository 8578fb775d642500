package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockID names the advisory lock held while migrating. It is
// chatd's own so that other goose users of the same database do not wait
// on chatd or the other way round.
const migrationLockID int64 = 0x63686174_64 // "chatd"

func migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded, so this cannot fail
	}
	return sub
}

// newProvider reads chatd's embedded migrations only: the global registry
// is off so that Go migrations other packages register with goose cannot
// leak into this schema.
func newProvider(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations(),
		goose.WithSlog(log),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migration provider: %w", err)
	}
	return p, nil
}

// migrate applies pending migrations over a *sql.DB of its own, closed
// afterwards. The whole of goose's Up runs under a session advisory lock,
// so replicas starting together take turns: goose's own session locker
// only covers applying migrations, not the check for pending ones that
// creates the version table first, where concurrent replicas collide and
// back off for a second; it also polls the lock once per period instead
// of waiting on it. Closing the connection releases the lock should
// unlocking fail.
func migrate(ctx context.Context, cc *pgx.ConnConfig, log *slog.Logger) (err error) {
	db := stdlib.OpenDB(*cc)
	defer db.Close()
	p, err := newProvider(db, log)
	if err != nil {
		return err
	}

	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		// The caller's ctx may be done; unlocking must still happen.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, uerr := conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", migrationLockID); uerr != nil && err == nil {
			err = fmt.Errorf("migrate: unlock: %w", uerr)
		}
	}()

	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range res {
		log.InfoContext(ctx, "applied migration", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}
