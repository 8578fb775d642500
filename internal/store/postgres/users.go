package postgres

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/internal/store"
	"github.com/jackc/pgx/v5"
)

const userCols = `id, username, role, suspended, password_hash, created_at, updated_at`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var role string
	if err := row.Scan(&u.ID, &u.Username, &role, &u.Suspended, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return store.User{}, err
	}
	u.Role = store.Role(role)
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
	return u, nil
}

// CreateUser inserts u. A taken username is store.ErrConflict.
func (db *DB) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	row := db.pool.QueryRow(ctx, `
		INSERT INTO users (id, username, role, suspended, password_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()), COALESCE($7, $6, now()))
		RETURNING `+userCols,
		orNewID(u.ID), u.Username, string(u.Role), u.Suspended, u.PasswordHash,
		nullTime(u.CreatedAt), nullTime(u.UpdatedAt))
	out, err := scanUser(row)
	if err != nil {
		return store.User{}, wrap(fmt.Sprintf("create user %q", u.Username), err)
	}
	return out, nil
}

// GetUser returns the user with the given ID.
func (db *DB) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return store.User{}, wrap(fmt.Sprintf("get user %q", id), err)
	}
	return u, nil
}

// GetUserByUsername returns the user with the given username.
func (db *DB) GetUserByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username))
	if err != nil {
		return store.User{}, wrap(fmt.Sprintf("get user by username %q", username), err)
	}
	return u, nil
}

// ListUsers lists every user by username.
func (db *DB) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY username, id`)
	if err != nil {
		return nil, wrap("list users", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	if err != nil {
		return nil, wrap("list users", err)
	}
	return us, nil
}

// UpdateUser applies the non-nil fields of p.
func (db *DB) UpdateUser(ctx context.Context, id string, p store.UserPatch) (store.User, error) {
	var role *string
	if p.Role != nil {
		r := string(*p.Role)
		role = &r
	}
	row := db.pool.QueryRow(ctx, `
		UPDATE users SET
			role = COALESCE($2, role),
			suspended = COALESCE($3, suspended),
			password_hash = COALESCE($4, password_hash),
			updated_at = now()
		WHERE id = $1
		RETURNING `+userCols,
		id, role, p.Suspended, p.PasswordHash)
	u, err := scanUser(row)
	if err != nil {
		return store.User{}, wrap(fmt.Sprintf("update user %q", id), err)
	}
	return u, nil
}

// CountUsers counts every user, suspended ones included.
func (db *DB) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, wrap("count users", err)
	}
	return n, nil
}
