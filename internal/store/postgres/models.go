package postgres

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/internal/store"
	"github.com/jackc/pgx/v5"
)

const modelCols = `id, provider_id, model, display_name, context_limit,
	price_input, price_output, price_cache_read, price_cache_write,
	enabled, is_default, use_responses_api, created_at, updated_at,
	compaction_threshold_percent`

func scanModel(row pgx.Row) (store.ModelConfig, error) {
	var m store.ModelConfig
	if err := row.Scan(&m.ID, &m.ProviderID, &m.Model, &m.DisplayName, &m.ContextLimit,
		&m.Prices.Input, &m.Prices.Output, &m.Prices.CacheRead, &m.Prices.CacheWrite,
		&m.Enabled, &m.IsDefault, &m.UseResponsesAPI, &m.CreatedAt, &m.UpdatedAt,
		&m.CompactionThresholdPercent); err != nil {
		return store.ModelConfig{}, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
	m.UpdatedAt = m.UpdatedAt.UTC()
	return m, nil
}

// defaultLockID serialises changes of the default model. Without it two
// transactions making different models the default would each clear the
// old default and the second would then fail on models_one_default_idx.
const defaultLockID int64 = 0x63686174_6d64 // "chatmd"

// clearDefault unsets the default flag on every model but keep.
func clearDefault(ctx context.Context, tx pgx.Tx, keep string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, defaultLockID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE models SET is_default = false, updated_at = now() WHERE is_default AND id <> $1`, keep)
	return err
}

// CreateModel inserts m. The same (provider, model) twice is
// store.ErrConflict; an unknown provider is store.ErrNotFound. A new
// default replaces the old one in the same transaction.
func (db *DB) CreateModel(ctx context.Context, m store.ModelConfig) (store.ModelConfig, error) {
	op := fmt.Sprintf("create model %q", m.Model)
	if err := store.CheckThreshold(m.CompactionThresholdPercent); err != nil {
		return store.ModelConfig{}, fmt.Errorf("%s: %w", op, err)
	}
	id := orNewID(m.ID)
	var out store.ModelConfig
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if m.IsDefault {
			if err := clearDefault(ctx, tx, id); err != nil {
				return err
			}
		}
		var err error
		out, err = scanModel(tx.QueryRow(ctx, `
			INSERT INTO models (id, provider_id, model, display_name, context_limit,
				price_input, price_output, price_cache_read, price_cache_write,
				enabled, is_default, use_responses_api, created_at, updated_at,
				compaction_threshold_percent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $14, COALESCE($12, now()), COALESCE($13, $12, now()), $15)
			RETURNING `+modelCols,
			id, m.ProviderID, m.Model, m.DisplayName, m.ContextLimit,
			m.Prices.Input, m.Prices.Output, m.Prices.CacheRead, m.Prices.CacheWrite,
			m.Enabled, m.IsDefault, nullTime(m.CreatedAt), nullTime(m.UpdatedAt), m.UseResponsesAPI,
			m.CompactionThresholdPercent))
		return err
	})
	if err != nil {
		return store.ModelConfig{}, wrap(op, err)
	}
	return out, nil
}

// GetModel returns the model config with the given ID.
func (db *DB) GetModel(ctx context.Context, id string) (store.ModelConfig, error) {
	m, err := scanModel(db.pool.QueryRow(ctx, `SELECT `+modelCols+` FROM models WHERE id = $1`, id))
	if err != nil {
		return store.ModelConfig{}, wrap(fmt.Sprintf("get model %q", id), err)
	}
	return m, nil
}

// GetModelByName finds the config of model on a provider.
func (db *DB) GetModelByName(ctx context.Context, providerID, model string) (store.ModelConfig, error) {
	m, err := scanModel(db.pool.QueryRow(ctx,
		`SELECT `+modelCols+` FROM models WHERE provider_id = $1 AND model = $2`, providerID, model))
	if err != nil {
		return store.ModelConfig{}, wrap(fmt.Sprintf("get model %q of provider %q", model, providerID), err)
	}
	return m, nil
}

// ListModels lists every model config by provider and model.
func (db *DB) ListModels(ctx context.Context) ([]store.ModelConfig, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+modelCols+` FROM models ORDER BY provider_id, model`)
	if err != nil {
		return nil, wrap("list models", err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ModelConfig, error) { return scanModel(r) })
	if err != nil {
		return nil, wrap("list models", err)
	}
	return ms, nil
}

// UpdateModel applies the non-nil fields of p. Making a model the default
// clears the previous default in the same transaction.
func (db *DB) UpdateModel(ctx context.Context, id string, p store.ModelPatch) (store.ModelConfig, error) {
	op := fmt.Sprintf("update model %q", id)
	if err := p.Check(); err != nil {
		return store.ModelConfig{}, fmt.Errorf("%s: %w", op, err)
	}
	var prices store.Prices
	if p.Prices != nil {
		prices = *p.Prices
	}
	var out store.ModelConfig
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if p.IsDefault != nil && *p.IsDefault {
			if err := clearDefault(ctx, tx, id); err != nil {
				return err
			}
		}
		var err error
		out, err = scanModel(tx.QueryRow(ctx, `
			UPDATE models SET
				display_name = COALESCE($2, display_name),
				context_limit = COALESCE($3, context_limit),
				price_input = CASE WHEN $4::boolean THEN $5 ELSE price_input END,
				price_output = CASE WHEN $4::boolean THEN $6 ELSE price_output END,
				price_cache_read = CASE WHEN $4::boolean THEN $7 ELSE price_cache_read END,
				price_cache_write = CASE WHEN $4::boolean THEN $8 ELSE price_cache_write END,
				enabled = COALESCE($9, enabled),
				is_default = COALESCE($10, is_default),
				use_responses_api = COALESCE($11, use_responses_api),
				compaction_threshold_percent = CASE WHEN $12::boolean THEN $13 ELSE compaction_threshold_percent END,
				updated_at = now()
			WHERE id = $1
			RETURNING `+modelCols,
			id, p.DisplayName, p.ContextLimit, p.Prices != nil,
			prices.Input, prices.Output, prices.CacheRead, prices.CacheWrite,
			p.Enabled, p.IsDefault, p.UseResponsesAPI,
			p.CompactionThresholdPercent != nil || p.ClearCompactionThreshold, p.CompactionThresholdPercent))
		return err
	})
	if err != nil {
		return store.ModelConfig{}, wrap(op, err)
	}
	return out, nil
}

// DeleteModel removes a model config.
func (db *DB) DeleteModel(ctx context.Context, id string) error {
	op := fmt.Sprintf("delete model %q", id)
	tag, err := db.pool.Exec(ctx, `DELETE FROM models WHERE id = $1`, id)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op)
	}
	return nil
}
