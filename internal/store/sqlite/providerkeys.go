package sqlite

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/internal/store"
)

const providerKeyColumns = `user_id, provider_id, key_cipher, key_hint, created_at, updated_at`

func scanProviderKey(s rowScanner) (store.UserProviderKey, error) {
	var k store.UserProviderKey
	var created, updated int64
	err := s.Scan(&k.UserID, &k.ProviderID, &k.KeyCipher, &k.KeyHint, &created, &updated)
	k.CreatedAt = fromMicros(created)
	k.UpdatedAt = fromMicros(updated)
	return k, err
}

// PutProviderKey inserts or replaces the user's key for a provider. The
// first CreatedAt is kept on replace.
func (db *DB) PutProviderKey(ctx context.Context, k store.UserProviderKey) (store.UserProviderKey, error) {
	t := now()
	if k.KeyCipher == nil {
		k.KeyCipher = []byte{}
	}
	out, err := scanProviderKey(db.w.QueryRowContext(ctx, `
		INSERT INTO user_provider_keys (`+providerKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, provider_id) DO UPDATE SET
			key_cipher = excluded.key_cipher,
			key_hint = excluded.key_hint,
			updated_at = excluded.updated_at
		RETURNING `+providerKeyColumns,
		k.UserID, k.ProviderID, k.KeyCipher, k.KeyHint, t.UnixMicro(), t.UnixMicro()))
	if err != nil {
		return store.UserProviderKey{}, fmt.Errorf("put provider key for user %q provider %q: %w", k.UserID, k.ProviderID, classify(err))
	}
	return out, nil
}

// GetProviderKey returns the user's key for a provider.
func (db *DB) GetProviderKey(ctx context.Context, userID, providerID string) (store.UserProviderKey, error) {
	k, err := scanProviderKey(db.r.QueryRowContext(ctx,
		`SELECT `+providerKeyColumns+` FROM user_provider_keys WHERE user_id = ? AND provider_id = ?`, userID, providerID))
	if err != nil {
		return store.UserProviderKey{}, fmt.Errorf("get provider key for user %q provider %q: %w", userID, providerID, classify(err))
	}
	return k, nil
}

// ListProviderKeys returns the user's keys ordered by provider ID.
func (db *DB) ListProviderKeys(ctx context.Context, userID string) ([]store.UserProviderKey, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT `+providerKeyColumns+` FROM user_provider_keys WHERE user_id = ? ORDER BY provider_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list provider keys: %w", err)
	}
	defer rows.Close()
	var out []store.UserProviderKey
	for rows.Next() {
		k, err := scanProviderKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list provider keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list provider keys: %w", err)
	}
	return out, nil
}

// DeleteProviderKey removes the user's key for a provider.
func (db *DB) DeleteProviderKey(ctx context.Context, userID, providerID string) error {
	res, err := db.w.ExecContext(ctx,
		`DELETE FROM user_provider_keys WHERE user_id = ? AND provider_id = ?`, userID, providerID)
	if err != nil {
		return fmt.Errorf("delete provider key for user %q provider %q: %w", userID, providerID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete provider key: %w", err)
	} else if n == 0 {
		return fmt.Errorf("delete provider key for user %q provider %q: %w", userID, providerID, store.ErrNotFound)
	}
	return nil
}
