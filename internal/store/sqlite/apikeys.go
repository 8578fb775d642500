package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chatd/chatd/internal/store"
)

const apiKeyColumns = `id, user_id, name, kind, secret_hash, created_at, expires_at, last_used_at, revoked_at`

func scanAPIKey(s rowScanner) (store.APIKey, error) {
	var k store.APIKey
	var created int64
	var expires, lastUsed, revoked sql.NullInt64
	err := s.Scan(&k.ID, &k.UserID, &k.Name, &k.Kind, &k.SecretHash, &created, &expires, &lastUsed, &revoked)
	k.CreatedAt = fromMicros(created)
	k.ExpiresAt = fromNullMicros(expires)
	k.LastUsedAt = fromNullMicros(lastUsed)
	k.RevokedAt = fromNullMicros(revoked)
	return k, err
}

// CreateAPIKey inserts k. An unknown user is store.ErrNotFound and a taken
// ID store.ErrConflict.
func (db *DB) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	if k.ID == "" {
		return store.APIKey{}, errors.New("create api key: empty id")
	}
	if k.SecretHash == nil {
		k.SecretHash = []byte{}
	}
	k.CreatedAt = norm(k.CreatedAt)
	k.ExpiresAt = normPtr(k.ExpiresAt)
	k.LastUsedAt = normPtr(k.LastUsedAt)
	k.RevokedAt = normPtr(k.RevokedAt)
	_, err := db.w.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Name, k.Kind, k.SecretHash, k.CreatedAt.UnixMicro(),
		nullMicros(k.ExpiresAt), nullMicros(k.LastUsedAt), nullMicros(k.RevokedAt))
	if err != nil {
		return store.APIKey{}, fmt.Errorf("create api key %q: %w", k.ID, classify(err))
	}
	return k, nil
}

// GetAPIKey returns the key with id.
func (db *DB) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(db.r.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id))
	if err != nil {
		return store.APIKey{}, fmt.Errorf("get api key %q: %w", id, classify(err))
	}
	return k, nil
}

// ListAPIKeys lists userID's keys, newest first.
func (db *DB) ListAPIKeys(ctx context.Context, userID string) ([]store.APIKey, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = ? ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey sets the key's revocation time unless it is already set.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := db.w.ExecContext(ctx,
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, norm(at).UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("revoke api key %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke api key %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("revoke api key %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// TouchAPIKeys records last-used times in one transaction.
func (db *DB) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	ids := make([]string, 0, len(lastUsed))
	for id := range lastUsed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx,
			`UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			if _, err := stmt.ExecContext(ctx, lastUsed[id].UnixMicro(), id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("touch api keys: %w", err)
	}
	return nil
}
