package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/chatd/chatd/internal/store"
)

var _ store.UserSettings = (*DB)(nil)

// GetUserSetting returns the value userID stored under key, or
// store.ErrNotFound.
func (db *DB) GetUserSetting(ctx context.Context, userID, key string) (string, error) {
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT value FROM user_settings WHERE user_id = ? AND key = ?`,
		userID, key).Scan(&v)
	if err != nil {
		return "", fmt.Errorf("get setting %q of user %q: %w", key, userID, classify(err))
	}
	return v, nil
}

// PutUserSetting stores value under key for userID, replacing any previous
// value. A missing user is store.ErrNotFound.
func (db *DB) PutUserSetting(ctx context.Context, userID, key, value string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO user_settings (user_id, key, value, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			userID, key, value, now().UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("put setting %q of user %q: %w", key, userID, classify(err))
	}
	return nil
}

// DeleteUserSetting removes key for userID; a key that was never set is
// not an error.
func (db *DB) DeleteUserSetting(ctx context.Context, userID, key string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM user_settings WHERE user_id = ? AND key = ?`, userID, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete setting %q of user %q: %w", key, userID, err)
	}
	return nil
}
