package postgres

import "context"

// CountBusySubagents counts busy child chats; see store.Chats.
func (db *DB) CountBusySubagents(ctx context.Context, ownerID string) (mine, total int64, err error) {
	err = db.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE owner_id = $1), count(*) FROM chats
		WHERE parent_chat_id IS NOT NULL AND status IN ('running', 'interrupting', 'requires_action')`,
		ownerID).Scan(&mine, &total)
	if err != nil {
		return 0, 0, wrap("count busy subagents", err)
	}
	return mine, total, nil
}
