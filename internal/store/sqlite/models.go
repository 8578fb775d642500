package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/chatd/chatd/internal/store"
)

const modelColumns = `id, provider_id, model, display_name, context_limit,
	price_input, price_output, price_cache_read, price_cache_write,
	enabled, is_default, use_responses_api, created_at, updated_at,
	compaction_threshold_percent`

func scanModel(s rowScanner) (store.ModelConfig, error) {
	var m store.ModelConfig
	var in, out, cr, cw sql.NullFloat64
	var created, updated int64
	var threshold sql.NullInt64
	err := s.Scan(&m.ID, &m.ProviderID, &m.Model, &m.DisplayName, &m.ContextLimit,
		&in, &out, &cr, &cw, &m.Enabled, &m.IsDefault, &m.UseResponsesAPI, &created, &updated,
		&threshold)
	if threshold.Valid {
		pct := int(threshold.Int64)
		m.CompactionThresholdPercent = &pct
	}
	m.Prices = store.Prices{Input: fromNullFloat(in), Output: fromNullFloat(out), CacheRead: fromNullFloat(cr), CacheWrite: fromNullFloat(cw)}
	m.CreatedAt = fromMicros(created)
	m.UpdatedAt = fromMicros(updated)
	return m, err
}

func fromNullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

func nullInt(v *int) sql.NullInt64 {
	if v == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*v), Valid: true}
}

func nullFloat(v *float64) sql.NullFloat64 {
	if v == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *v, Valid: true}
}

// clearDefault unsets the default flag on every model but keep.
func clearDefault(ctx context.Context, tx *sql.Tx, keep string) error {
	_, err := tx.ExecContext(ctx, `UPDATE models SET is_default = 0 WHERE is_default = 1 AND id <> ?`, keep)
	return err
}

// CreateModel inserts m, clearing any other default when m.IsDefault.
func (db *DB) CreateModel(ctx context.Context, m store.ModelConfig) (store.ModelConfig, error) {
	if err := store.CheckThreshold(m.CompactionThresholdPercent); err != nil {
		return store.ModelConfig{}, fmt.Errorf("create model %q: %w", m.Model, err)
	}
	if m.ID == "" {
		m.ID = newID()
	}
	m.CreatedAt = norm(m.CreatedAt)
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	m.UpdatedAt = norm(m.UpdatedAt)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if m.IsDefault {
			if err := clearDefault(ctx, tx, m.ID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO models (`+modelColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, m.ProviderID, m.Model, m.DisplayName, m.ContextLimit,
			nullFloat(m.Prices.Input), nullFloat(m.Prices.Output), nullFloat(m.Prices.CacheRead), nullFloat(m.Prices.CacheWrite),
			m.Enabled, m.IsDefault, m.UseResponsesAPI, m.CreatedAt.UnixMicro(), m.UpdatedAt.UnixMicro(),
			nullInt(m.CompactionThresholdPercent))
		return err
	})
	if err != nil {
		return store.ModelConfig{}, fmt.Errorf("create model %q on provider %q: %w", m.Model, m.ProviderID, classify(err))
	}
	return m, nil
}

// GetModel returns the model config with id.
func (db *DB) GetModel(ctx context.Context, id string) (store.ModelConfig, error) {
	m, err := scanModel(db.r.QueryRowContext(ctx, `SELECT `+modelColumns+` FROM models WHERE id = ?`, id))
	if err != nil {
		return store.ModelConfig{}, fmt.Errorf("get model %q: %w", id, classify(err))
	}
	return m, nil
}

// GetModelByName returns the config of model on providerID.
func (db *DB) GetModelByName(ctx context.Context, providerID, model string) (store.ModelConfig, error) {
	m, err := scanModel(db.r.QueryRowContext(ctx,
		`SELECT `+modelColumns+` FROM models WHERE provider_id = ? AND model = ?`, providerID, model))
	if err != nil {
		return store.ModelConfig{}, fmt.Errorf("get model %q on provider %q: %w", model, providerID, classify(err))
	}
	return m, nil
}

// ListModels returns every model config ordered by provider and model.
func (db *DB) ListModels(ctx context.Context) ([]store.ModelConfig, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+modelColumns+` FROM models ORDER BY provider_id, model`)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	defer rows.Close()
	var out []store.ModelConfig
	for rows.Next() {
		m, err := scanModel(rows)
		if err != nil {
			return nil, fmt.Errorf("list models: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	return out, nil
}

// UpdateModel applies the non-nil fields of p. Setting IsDefault clears the
// previous default in the same transaction.
func (db *DB) UpdateModel(ctx context.Context, id string, p store.ModelPatch) (store.ModelConfig, error) {
	if err := p.Check(); err != nil {
		return store.ModelConfig{}, fmt.Errorf("update model %q: %w", id, err)
	}
	sets := []string{"updated_at = ?"}
	args := []any{now().UnixMicro()}
	if p.DisplayName != nil {
		sets = append(sets, "display_name = ?")
		args = append(args, *p.DisplayName)
	}
	if p.ContextLimit != nil {
		sets = append(sets, "context_limit = ?")
		args = append(args, *p.ContextLimit)
	}
	if p.Prices != nil {
		sets = append(sets, "price_input = ?", "price_output = ?", "price_cache_read = ?", "price_cache_write = ?")
		args = append(args, nullFloat(p.Prices.Input), nullFloat(p.Prices.Output),
			nullFloat(p.Prices.CacheRead), nullFloat(p.Prices.CacheWrite))
	}
	if p.Enabled != nil {
		sets = append(sets, "enabled = ?")
		args = append(args, *p.Enabled)
	}
	if p.IsDefault != nil {
		sets = append(sets, "is_default = ?")
		args = append(args, *p.IsDefault)
	}
	if p.UseResponsesAPI != nil {
		sets = append(sets, "use_responses_api = ?")
		args = append(args, *p.UseResponsesAPI)
	}
	if p.CompactionThresholdPercent != nil || p.ClearCompactionThreshold {
		sets = append(sets, "compaction_threshold_percent = ?")
		args = append(args, nullInt(p.CompactionThresholdPercent))
	}
	args = append(args, id)
	var out store.ModelConfig
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if p.IsDefault != nil && *p.IsDefault {
			if err := clearDefault(ctx, tx, id); err != nil {
				return err
			}
		}
		var err error
		out, err = scanModel(tx.QueryRowContext(ctx,
			`UPDATE models SET `+strings.Join(sets, ", ")+` WHERE id = ? RETURNING `+modelColumns, args...))
		return err
	})
	if err != nil {
		return store.ModelConfig{}, fmt.Errorf("update model %q: %w", id, classify(err))
	}
	return out, nil
}

// DeleteModel removes the model config with id.
func (db *DB) DeleteModel(ctx context.Context, id string) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM models WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete model %q: %w", id, classify(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete model %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("delete model %q: %w", id, store.ErrNotFound)
	}
	return nil
}
