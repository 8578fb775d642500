package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/chatd/chatd/internal/store"
)

// AddOrphanSpend records a model call that left no message; see
// store.Chats.
func (db *DB) AddOrphanSpend(ctx context.Context, chatID string, cost *int64) error {
	var res sql.Result
	var err error
	if cost == nil {
		res, err = db.w.ExecContext(ctx, `UPDATE chats SET orphan_unpriced_calls = orphan_unpriced_calls + 1 WHERE id = ?`, chatID)
	} else {
		res, err = db.w.ExecContext(ctx, `UPDATE chats SET orphan_cost_micros = coalesce(orphan_cost_micros, 0) + ? WHERE id = ?`, *cost, chatID)
	}
	if err != nil {
		return fmt.Errorf("add orphan spend of chat %q: %w", chatID, classify(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("add orphan spend of chat %q: %w", chatID, err)
	} else if n == 0 {
		return fmt.Errorf("add orphan spend of chat %q: %w", chatID, store.ErrNotFound)
	}
	return nil
}
