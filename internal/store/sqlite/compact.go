package sqlite

import (
	"context"
	"database/sql"

	"github.com/chatd/chatd/internal/store/chatops"
)

var _ chatops.SummaryTx = sqliteTx{}

func (t sqliteTx) SeqVisible(ctx context.Context, chatID string, seq int64) (bool, error) {
	var one int
	err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM messages
		WHERE chat_id = ? AND seq = ? AND deleted_at IS NULL`, chatID, seq).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

func (t sqliteTx) SummarizedThrough(ctx context.Context, chatID string) (int64, error) {
	var through sql.NullInt64
	err := t.tx.QueryRowContext(ctx, `SELECT coalesce(summary_through_seq, seq - 1) FROM messages
		WHERE chat_id = ? AND role = 'summary' AND deleted_at IS NULL
		ORDER BY seq DESC LIMIT 1`, chatID).Scan(&through)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return through.Int64, err
}
