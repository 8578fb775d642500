package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/jackc/pgx/v5"
)

const apiKeyCols = `id, user_id, name, kind, secret_hash, created_at, expires_at, last_used_at, revoked_at`

func scanAPIKey(row pgx.Row) (store.APIKey, error) {
	var k store.APIKey
	var kind string
	if err := row.Scan(&k.ID, &k.UserID, &k.Name, &kind, &k.SecretHash, &k.CreatedAt, &k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt); err != nil {
		return store.APIKey{}, err
	}
	k.Kind = store.APIKeyKind(kind)
	k.CreatedAt = k.CreatedAt.UTC()
	k.ExpiresAt = utcPtr(k.ExpiresAt)
	k.LastUsedAt = utcPtr(k.LastUsedAt)
	k.RevokedAt = utcPtr(k.RevokedAt)
	return k, nil
}

// CreateAPIKey inserts k. An unknown user is store.ErrNotFound; a taken ID
// is store.ErrConflict.
func (db *DB) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	op := fmt.Sprintf("create api key %q", k.ID)
	if k.ID == "" {
		return store.APIKey{}, fmt.Errorf("%s: ID is required", op)
	}
	hash := k.SecretHash
	if hash == nil {
		hash = []byte{} // the column is NOT NULL; an empty hash matches nothing
	}
	row := db.pool.QueryRow(ctx, `
		INSERT INTO api_keys (id, user_id, name, kind, secret_hash, created_at, expires_at, last_used_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()), $7, $8, $9)
		RETURNING `+apiKeyCols,
		k.ID, k.UserID, k.Name, string(k.Kind), hash, nullTime(k.CreatedAt), k.ExpiresAt, k.LastUsedAt, k.RevokedAt)
	out, err := scanAPIKey(row)
	if err != nil {
		return store.APIKey{}, wrap(op, err)
	}
	return out, nil
}

// GetAPIKey returns the key with the given ID, revoked or not.
func (db *DB) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(db.pool.QueryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return store.APIKey{}, wrap(fmt.Sprintf("get api key %q", id), err)
	}
	return k, nil
}

// ListAPIKeys lists a user's keys, newest first, revoked ones included.
func (db *DB) ListAPIKeys(ctx context.Context, userID string) ([]store.APIKey, error) {
	op := fmt.Sprintf("list api keys of user %q", userID)
	rows, err := db.pool.Query(ctx, `
		SELECT `+apiKeyCols+` FROM api_keys
		WHERE user_id = $1
		ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, wrap(op, err)
	}
	ks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.APIKey, error) { return scanAPIKey(r) })
	if err != nil {
		return nil, wrap(op, err)
	}
	return ks, nil
}

// RevokeAPIKey sets the key's revocation time unless it is already set.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	op := fmt.Sprintf("revoke api key %q", id)
	tag, err := db.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, at)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op)
	}
	return nil
}

// TouchAPIKeys records last-used times in one statement. Unknown IDs are
// ignored and a time never moves backwards, so replicas flushing out of
// order cannot lose the latest use.
func (db *DB) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	ids := make([]string, 0, len(lastUsed))
	times := make([]time.Time, 0, len(lastUsed))
	for id, t := range lastUsed {
		ids = append(ids, id)
		times = append(times, t)
	}
	// Rows are locked in ID order before the update: overlapping batches
	// from concurrent flushes would otherwise lock them in whatever order
	// the join produced and deadlock.
	_, err := db.pool.Exec(ctx, `
		WITH u AS (
			SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS u(id, t)
		), locked AS (
			SELECT k.id FROM api_keys k JOIN u ON u.id = k.id
			ORDER BY k.id
			FOR UPDATE OF k
		)
		UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, u.t)
		FROM locked l JOIN u ON u.id = l.id
		WHERE k.id = l.id`, ids, times)
	if err != nil {
		return wrap("touch api keys", err)
	}
	return nil
}
