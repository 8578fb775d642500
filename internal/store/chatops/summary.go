package chatops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// SummaryTx is a Tx that can also check a compaction boundary.
type SummaryTx interface {
	Tx
	// SeqVisible reports whether the chat has a visible message at seq.
	SeqVisible(ctx context.Context, chatID string, seq int64) (bool, error)
	// SummarizedThrough is the last seq the chat's latest visible summary
	// covers, or zero when it has none.
	SummarizedThrough(ctx context.Context, chatID string) (int64, error)
}

// CommitSummary appends a summary covering the messages up to throughSeq;
// see store.Chats.
func CommitSummary(ctx context.Context, tx SummaryTx, chatID, workerID string, summary store.Message, throughSeq int64) (store.Chat, store.Message, error) {
	if throughSeq <= 0 {
		return store.Chat{}, store.Message{}, fmt.Errorf("%w: a summary must cover at least one message", store.ErrInvalid)
	}
	empty := true
	for _, p := range summary.Parts {
		if p.Type == store.PartText && strings.TrimSpace(p.Text) != "" {
			empty = false
		}
	}
	if empty {
		return store.Chat{}, store.Message{}, fmt.Errorf("%w: empty summary", store.ErrInvalid)
	}
	var out store.Message
	fn := func(c *store.Chat, now time.Time) error {
		// The history may have changed while the summary was written (an
		// edit truncated it, another compaction won): refuse rather than
		// summarise what is no longer there.
		ok, err := tx.SeqVisible(ctx, c.ID, throughSeq)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: message %d is no longer in the chat's history", store.ErrConflict, throughSeq)
		}
		prev, err := tx.SummarizedThrough(ctx, c.ID)
		if err != nil {
			return err
		}
		if prev >= throughSeq {
			return fmt.Errorf("%w: the history is already compacted through message %d", store.ErrConflict, prev)
		}
		summary.ID = ""
		summary.ChatID = c.ID
		summary.Role = store.RoleSummary
		summary.SummaryThroughSeq = throughSeq
		out, err = tx.InsertMessage(ctx, summary, now)
		return err
	}
	var (
		c   store.Chat
		err error
	)
	if workerID == "" {
		c, err = UserOp(ctx, tx, chatID, store.OpCompact, fn)
	} else {
		c, err = workerOp(ctx, tx, chatID, workerID, store.OpCommitStep, fn)
	}
	if err != nil {
		return store.Chat{}, store.Message{}, err
	}
	return c, out, nil
}
