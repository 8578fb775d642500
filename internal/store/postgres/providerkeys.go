package postgres

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/internal/store"
	"github.com/jackc/pgx/v5"
)

const providerKeyCols = `user_id, provider_id, key_cipher, key_hint, created_at, updated_at`

func scanProviderKey(row pgx.Row) (store.UserProviderKey, error) {
	var k store.UserProviderKey
	if err := row.Scan(&k.UserID, &k.ProviderID, &k.KeyCipher, &k.KeyHint, &k.CreatedAt, &k.UpdatedAt); err != nil {
		return store.UserProviderKey{}, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.UpdatedAt = k.UpdatedAt.UTC()
	return k, nil
}

// PutProviderKey inserts or replaces the user's key for a provider,
// keeping the original creation time. An unknown user or provider is
// store.ErrNotFound.
func (db *DB) PutProviderKey(ctx context.Context, k store.UserProviderKey) (store.UserProviderKey, error) {
	op := fmt.Sprintf("put key of user %q for provider %q", k.UserID, k.ProviderID)
	cipher := k.KeyCipher
	if cipher == nil {
		cipher = []byte{}
	}
	row := db.pool.QueryRow(ctx, `
		INSERT INTO user_provider_keys (user_id, provider_id, key_cipher, key_hint, created_at, updated_at)
		VALUES ($1, $2, $3, $4, COALESCE($5, now()), COALESCE($6, $5, now()))
		ON CONFLICT (user_id, provider_id) DO UPDATE SET
			key_cipher = EXCLUDED.key_cipher,
			key_hint = EXCLUDED.key_hint,
			updated_at = COALESCE($6, now())
		RETURNING `+providerKeyCols,
		k.UserID, k.ProviderID, cipher, k.KeyHint, nullTime(k.CreatedAt), nullTime(k.UpdatedAt))
	out, err := scanProviderKey(row)
	if err != nil {
		return store.UserProviderKey{}, wrap(op, err)
	}
	return out, nil
}

// GetProviderKey returns the user's key for a provider.
func (db *DB) GetProviderKey(ctx context.Context, userID, providerID string) (store.UserProviderKey, error) {
	k, err := scanProviderKey(db.pool.QueryRow(ctx,
		`SELECT `+providerKeyCols+` FROM user_provider_keys WHERE user_id = $1 AND provider_id = $2`,
		userID, providerID))
	if err != nil {
		return store.UserProviderKey{}, wrap(fmt.Sprintf("get key of user %q for provider %q", userID, providerID), err)
	}
	return k, nil
}

// ListProviderKeys lists a user's keys by provider.
func (db *DB) ListProviderKeys(ctx context.Context, userID string) ([]store.UserProviderKey, error) {
	op := fmt.Sprintf("list provider keys of user %q", userID)
	rows, err := db.pool.Query(ctx, `
		SELECT `+providerKeyCols+` FROM user_provider_keys
		WHERE user_id = $1
		ORDER BY provider_id`, userID)
	if err != nil {
		return nil, wrap(op, err)
	}
	ks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.UserProviderKey, error) { return scanProviderKey(r) })
	if err != nil {
		return nil, wrap(op, err)
	}
	return ks, nil
}

// DeleteProviderKey removes the user's key for a provider.
func (db *DB) DeleteProviderKey(ctx context.Context, userID, providerID string) error {
	op := fmt.Sprintf("delete key of user %q for provider %q", userID, providerID)
	tag, err := db.pool.Exec(ctx,
		`DELETE FROM user_provider_keys WHERE user_id = $1 AND provider_id = $2`, userID, providerID)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op)
	}
	return nil
}
