package postgres

import (
	"context"
	"fmt"
)

// GetSetting returns store.ErrNotFound when key was never set.
func (db *DB) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	if err := db.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v); err != nil {
		return "", wrap(fmt.Sprintf("get setting %q", key), err)
	}
	return v, nil
}

// PutSetting sets key to value, replacing any earlier value.
func (db *DB) PutSetting(ctx context.Context, key, value string) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, key, cleanText(value))
	if err != nil {
		return wrap(fmt.Sprintf("put setting %q", key), err)
	}
	return nil
}
