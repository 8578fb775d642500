package postgres

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/internal/store"
)

var _ store.UserSettings = (*DB)(nil)

// GetUserSetting returns the value userID stored under key, or
// store.ErrNotFound.
func (db *DB) GetUserSetting(ctx context.Context, userID, key string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, `SELECT value FROM user_settings WHERE user_id = $1 AND key = $2`,
		userID, key).Scan(&v)
	if err != nil {
		return "", wrap(fmt.Sprintf("get setting %q of user %q", key, userID), err)
	}
	return v, nil
}

// PutUserSetting stores value under key for userID, replacing any previous
// value. A missing user is store.ErrNotFound.
func (db *DB) PutUserSetting(ctx context.Context, userID, key, value string) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO user_settings (user_id, key, value, updated_at) VALUES ($1, $2, $3, now())
		ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
		userID, key, cleanText(value))
	if err != nil {
		return wrap(fmt.Sprintf("put setting %q of user %q", key, userID), err)
	}
	return nil
}

// DeleteUserSetting removes key for userID; a key that was never set is
// not an error.
func (db *DB) DeleteUserSetting(ctx context.Context, userID, key string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM user_settings WHERE user_id = $1 AND key = $2`, userID, key)
	if err != nil {
		return wrap(fmt.Sprintf("delete setting %q of user %q", key, userID), err)
	}
	return nil
}
