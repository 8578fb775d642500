package sqlite

import (
	"context"
	"fmt"
)

// GetSetting returns the value stored under key, or store.ErrNotFound.
func (db *DB) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	if err := db.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v); err != nil {
		return "", fmt.Errorf("get setting %q: %w", key, classify(err))
	}
	return v, nil
}

// PutSetting stores value under key, replacing any previous value.
func (db *DB) PutSetting(ctx context.Context, key, value string) error {
	_, err := db.w.ExecContext(ctx, `
		INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, value, now().UnixMicro())
	if err != nil {
		return fmt.Errorf("put setting %q: %w", key, err)
	}
	return nil
}
