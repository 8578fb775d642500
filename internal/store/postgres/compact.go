package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/internal/store"
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

// CommitSummary appends a compaction summary; see store.Chats.
func (db *DB) CommitSummary(ctx context.Context, chatID, workerID string, summary store.Message, throughSeq int64) (store.Chat, store.Message, error) {
	var (
		c store.Chat
		m store.Message
	)
	err := db.chatTx(ctx, func(tx chatops.Tx) (err error) {
		c, m, err = chatops.CommitSummary(ctx, tx.(pgTx), chatID, workerID, summary, throughSeq)
		return err
	})
	if err != nil {
		return store.Chat{}, store.Message{}, chatErr(fmt.Sprintf("commit summary of chat %q", chatID), err)
	}
	return c, m, nil
}
