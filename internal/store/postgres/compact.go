package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/internal/store/chatops"
)

var _ chatops.SummaryTx = pgTx{}

func (t pgTx) SeqVisible(ctx context.Context, chatID string, seq int64) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages
		WHERE chat_id = $1 AND seq = $2 AND deleted_at IS NULL)`, chatID, seq).Scan(&ok)
	return ok, err
}

func (t pgTx) SummarizedThrough(ctx context.Context, chatID string) (int64, error) {
	var through int64
	err := t.tx.QueryRow(ctx, `SELECT coalesce(summary_through_seq, seq - 1) FROM messages
		WHERE chat_id = $1 AND role = 'summary' AND deleted_at IS NULL
		ORDER BY seq DESC LIMIT 1`, chatID).Scan(&through)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return through, err
}

// summaryThrough stores zero (no boundary) as NULL.
func summaryThrough(seq int64) *int64 {
	if seq == 0 {
		return nil
	}
	return &seq
}
