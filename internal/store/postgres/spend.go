package postgres

import (
	"context"
	"fmt"
)

// AddOrphanSpend records a model call that left no message; see
// store.Chats.
func (db *DB) AddOrphanSpend(ctx context.Context, chatID string, cost *int64) error {
	op := fmt.Sprintf("add orphan spend of chat %q", chatID)
	tag, err := db.pool.Exec(ctx, `UPDATE chats SET
			orphan_cost_micros = CASE WHEN $2::bigint IS NULL THEN orphan_cost_micros
				ELSE coalesce(orphan_cost_micros, 0) + $2 END,
			orphan_unpriced_calls = orphan_unpriced_calls + CASE WHEN $2::bigint IS NULL THEN 1 ELSE 0 END
		WHERE id = $1`, chatID, cost)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op)
	}
	return nil
}
