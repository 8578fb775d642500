package postgres

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/internal/store"
	"github.com/jackc/pgx/v5"
)

const providerCols = `id, name, type, base_url, enabled, api_key_cipher, api_key_hint, created_at, updated_at`

func scanProvider(row pgx.Row) (store.Provider, error) {
	var p store.Provider
	var typ string
	if err := row.Scan(&p.ID, &p.Name, &typ, &p.BaseURL, &p.Enabled, &p.APIKeyCipher, &p.APIKeyHint, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return store.Provider{}, err
	}
	p.Type = store.ProviderType(typ)
	p.CreatedAt = p.CreatedAt.UTC()
	p.UpdatedAt = p.UpdatedAt.UTC()
	return p, nil
}

// CreateProvider inserts p. A taken name is store.ErrConflict.
func (db *DB) CreateProvider(ctx context.Context, p store.Provider) (store.Provider, error) {
	row := db.pool.QueryRow(ctx, `
		INSERT INTO providers (id, name, type, base_url, enabled, api_key_cipher, api_key_hint, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, now()), COALESCE($9, $8, now()))
		RETURNING `+providerCols,
		orNewID(p.ID), p.Name, string(p.Type), p.BaseURL, p.Enabled, p.APIKeyCipher, p.APIKeyHint,
		nullTime(p.CreatedAt), nullTime(p.UpdatedAt))
	out, err := scanProvider(row)
	if err != nil {
		return store.Provider{}, wrap(fmt.Sprintf("create provider %q", p.Name), err)
	}
	return out, nil
}

// GetProvider returns the provider with the given ID.
func (db *DB) GetProvider(ctx context.Context, id string) (store.Provider, error) {
	p, err := scanProvider(db.pool.QueryRow(ctx, `SELECT `+providerCols+` FROM providers WHERE id = $1`, id))
	if err != nil {
		return store.Provider{}, wrap(fmt.Sprintf("get provider %q", id), err)
	}
	return p, nil
}

// GetProviderByName returns the provider with the given name.
func (db *DB) GetProviderByName(ctx context.Context, name string) (store.Provider, error) {
	p, err := scanProvider(db.pool.QueryRow(ctx, `SELECT `+providerCols+` FROM providers WHERE name = $1`, name))
	if err != nil {
		return store.Provider{}, wrap(fmt.Sprintf("get provider by name %q", name), err)
	}
	return p, nil
}

// ListProviders lists every provider by name.
func (db *DB) ListProviders(ctx context.Context) ([]store.Provider, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+providerCols+` FROM providers ORDER BY name, id`)
	if err != nil {
		return nil, wrap("list providers", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Provider, error) { return scanProvider(r) })
	if err != nil {
		return nil, wrap("list providers", err)
	}
	return ps, nil
}

// UpdateProvider applies the non-nil fields of p. ClearAPIKey wins over a
// new key given in the same patch.
func (db *DB) UpdateProvider(ctx context.Context, id string, p store.ProviderPatch) (store.Provider, error) {
	row := db.pool.QueryRow(ctx, `
		UPDATE providers SET
			name = COALESCE($2, name),
			base_url = COALESCE($3, base_url),
			enabled = COALESCE($4, enabled),
			api_key_cipher = CASE WHEN $5::boolean THEN NULL ELSE COALESCE($6, api_key_cipher) END,
			api_key_hint = CASE WHEN $5::boolean THEN '' ELSE COALESCE($7, api_key_hint) END,
			updated_at = now()
		WHERE id = $1
		RETURNING `+providerCols,
		id, p.Name, p.BaseURL, p.Enabled, p.ClearAPIKey, p.APIKeyCipher, p.APIKeyHint)
	out, err := scanProvider(row)
	if err != nil {
		return store.Provider{}, wrap(fmt.Sprintf("update provider %q", id), err)
	}
	return out, nil
}

// DeleteProvider removes the provider; its models and users' keys for it go
// with it (ON DELETE CASCADE).
func (db *DB) DeleteProvider(ctx context.Context, id string) error {
	op := fmt.Sprintf("delete provider %q", id)
	tag, err := db.pool.Exec(ctx, `DELETE FROM providers WHERE id = $1`, id)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op)
	}
	return nil
}
