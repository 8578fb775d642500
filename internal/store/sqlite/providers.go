package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/chatd/chatd/internal/store"
)

const providerColumns = `id, name, type, base_url, enabled, api_key_cipher, api_key_hint, created_at, updated_at`

func scanProvider(s rowScanner) (store.Provider, error) {
	var p store.Provider
	var created, updated int64
	err := s.Scan(&p.ID, &p.Name, &p.Type, &p.BaseURL, &p.Enabled, &p.APIKeyCipher, &p.APIKeyHint, &created, &updated)
	p.CreatedAt = fromMicros(created)
	p.UpdatedAt = fromMicros(updated)
	return p, err
}

// CreateProvider inserts p. A taken name is store.ErrConflict.
func (db *DB) CreateProvider(ctx context.Context, p store.Provider) (store.Provider, error) {
	if p.ID == "" {
		p.ID = newID()
	}
	p.CreatedAt = norm(p.CreatedAt)
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	p.UpdatedAt = norm(p.UpdatedAt)
	_, err := db.w.ExecContext(ctx, `INSERT INTO providers (`+providerColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Name, p.Type, p.BaseURL, p.Enabled, p.APIKeyCipher, p.APIKeyHint,
		p.CreatedAt.UnixMicro(), p.UpdatedAt.UnixMicro())
	if err != nil {
		return store.Provider{}, fmt.Errorf("create provider %q: %w", p.Name, classify(err))
	}
	return p, nil
}

// GetProvider returns the provider with id.
func (db *DB) GetProvider(ctx context.Context, id string) (store.Provider, error) {
	p, err := scanProvider(db.r.QueryRowContext(ctx, `SELECT `+providerColumns+` FROM providers WHERE id = ?`, id))
	if err != nil {
		return store.Provider{}, fmt.Errorf("get provider %q: %w", id, classify(err))
	}
	return p, nil
}

// GetProviderByName returns the provider called name.
func (db *DB) GetProviderByName(ctx context.Context, name string) (store.Provider, error) {
	p, err := scanProvider(db.r.QueryRowContext(ctx, `SELECT `+providerColumns+` FROM providers WHERE name = ?`, name))
	if err != nil {
		return store.Provider{}, fmt.Errorf("get provider by name %q: %w", name, classify(err))
	}
	return p, nil
}

// ListProviders returns every provider ordered by name.
func (db *DB) ListProviders(ctx context.Context) ([]store.Provider, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+providerColumns+` FROM providers ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	defer rows.Close()
	var out []store.Provider
	for rows.Next() {
		p, err := scanProvider(rows)
		if err != nil {
			return nil, fmt.Errorf("list providers: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	return out, nil
}

// UpdateProvider applies the non-nil fields of p. ClearAPIKey wins over a
// new APIKeyCipher in the same patch.
func (db *DB) UpdateProvider(ctx context.Context, id string, p store.ProviderPatch) (store.Provider, error) {
	sets := []string{"updated_at = ?"}
	args := []any{now().UnixMicro()}
	if p.Name != nil {
		sets = append(sets, "name = ?")
		args = append(args, *p.Name)
	}
	if p.BaseURL != nil {
		sets = append(sets, "base_url = ?")
		args = append(args, *p.BaseURL)
	}
	if p.Enabled != nil {
		sets = append(sets, "enabled = ?")
		args = append(args, *p.Enabled)
	}
	switch {
	case p.ClearAPIKey:
		sets = append(sets, "api_key_cipher = NULL", "api_key_hint = ''")
	default:
		if p.APIKeyCipher != nil {
			sets = append(sets, "api_key_cipher = ?")
			args = append(args, p.APIKeyCipher)
		}
		if p.APIKeyHint != nil {
			sets = append(sets, "api_key_hint = ?")
			args = append(args, *p.APIKeyHint)
		}
	}
	args = append(args, id)
	var out store.Provider
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanProvider(tx.QueryRowContext(ctx,
			`UPDATE providers SET `+strings.Join(sets, ", ")+` WHERE id = ? RETURNING `+providerColumns, args...))
		return err
	})
	if err != nil {
		return store.Provider{}, fmt.Errorf("update provider %q: %w", id, classify(err))
	}
	return out, nil
}

// DeleteProvider removes the provider; foreign keys cascade to its models
// and users' keys.
func (db *DB) DeleteProvider(ctx context.Context, id string) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM providers WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete provider %q: %w", id, classify(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete provider %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("delete provider %q: %w", id, store.ErrNotFound)
	}
	return nil
}
