package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/chatd/chatd/internal/store"
)

const userColumns = `id, username, role, suspended, password_hash, created_at, updated_at`

func scanUser(s rowScanner) (store.User, error) {
	var u store.User
	var created, updated int64
	err := s.Scan(&u.ID, &u.Username, &u.Role, &u.Suspended, &u.PasswordHash, &created, &updated)
	u.CreatedAt = fromMicros(created)
	u.UpdatedAt = fromMicros(updated)
	return u, err
}

// CreateUser inserts u.
func (db *DB) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	if u.ID == "" {
		u.ID = newID()
	}
	u.CreatedAt = norm(u.CreatedAt)
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	u.UpdatedAt = norm(u.UpdatedAt)
	_, err := db.w.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, u.Role, u.Suspended, u.PasswordHash, u.CreatedAt.UnixMicro(), u.UpdatedAt.UnixMicro())
	if err != nil {
		return store.User{}, fmt.Errorf("create user %q: %w", u.Username, classify(err))
	}
	return u, nil
}

// GetUser returns the user with id.
func (db *DB) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return store.User{}, fmt.Errorf("get user %q: %w", id, classify(err))
	}
	return u, nil
}

// GetUserByUsername returns the user called username.
func (db *DB) GetUserByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if err != nil {
		return store.User{}, fmt.Errorf("get user by username %q: %w", username, classify(err))
	}
	return u, nil
}

// ListUsers returns every user ordered by username.
func (db *DB) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username, id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser applies the non-nil fields of p.
func (db *DB) UpdateUser(ctx context.Context, id string, p store.UserPatch) (store.User, error) {
	sets := []string{"updated_at = ?"}
	args := []any{now().UnixMicro()}
	if p.Role != nil {
		sets = append(sets, "role = ?")
		args = append(args, *p.Role)
	}
	if p.Suspended != nil {
		sets = append(sets, "suspended = ?")
		args = append(args, *p.Suspended)
	}
	if p.PasswordHash != nil {
		sets = append(sets, "password_hash = ?")
		args = append(args, *p.PasswordHash)
	}
	args = append(args, id)
	var u store.User
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx,
			`UPDATE users SET `+strings.Join(sets, ", ")+` WHERE id = ? RETURNING `+userColumns, args...))
		return err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("update user %q: %w", id, classify(err))
	}
	return u, nil
}

// CountUsers returns how many users exist.
func (db *DB) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}
