package sqlite

import (
	"context"
	"fmt"
)

// CountBusySubagents counts busy child chats; see store.Chats.
func (db *DB) CountBusySubagents(ctx context.Context, ownerID string) (mine, total int64, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(owner_id = ?), 0), COUNT(*) FROM chats
		WHERE parent_chat_id IS NOT NULL AND status IN ('running', 'interrupting', 'requires_action')`,
		ownerID).Scan(&mine, &total)
	if err != nil {
		return 0, 0, fmt.Errorf("count busy subagents: %w", err)
	}
	return mine, total, nil
}
