package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/chatops"
	"github.com/chatd/chatd/internal/store/rowcodec"
	"github.com/jackc/pgx/v5"
)

var _ store.Chats = (*DB)(nil)

const chatCols = `id, owner_id, title, status, archived, model_config_id, coalesce(parent_chat_id, ''),
	root_chat_id, api_key_id, worker_id, lease_expires_at, snapshot_version, last_error,
	retry, debug_override, client_tools, action_deadline, created_at, updated_at,
	orphan_cost_micros, orphan_unpriced_calls`

func scanChat(row pgx.Row, extra ...any) (store.Chat, error) {
	var (
		c      store.Chat
		status string
		retry  *string
		tools  string
	)
	dest := append([]any{&c.ID, &c.OwnerID, &c.Title, &status, &c.Archived, &c.ModelConfigID, &c.ParentChatID,
		&c.RootChatID, &c.APIKeyID, &c.WorkerID, &c.LeaseExpiresAt, &c.SnapshotVersion, &c.LastError,
		&retry, &c.DebugOverride, &tools, &c.ActionDeadline, &c.CreatedAt, &c.UpdatedAt,
		&c.OrphanCostMicros, &c.OrphanUnpricedCalls}, extra...)
	if err := row.Scan(dest...); err != nil {
		return store.Chat{}, err
	}
	c.Status = store.ChatStatus(status)
	c.LeaseExpiresAt = utcPtr(c.LeaseExpiresAt)
	c.ActionDeadline = utcPtr(c.ActionDeadline)
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
	if err := rowcodec.DecodeChat(&c, retry, tools); err != nil {
		return store.Chat{}, err
	}
	return c, nil
}

const messageCols = `id, chat_id, seq, role, parts, input_tokens, output_tokens,
	cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_micros, model_config_id,
	api_key_id, created_by, deleted_at, created_at, summary_through_seq, end_reason`

func scanMessage(row pgx.Row) (store.Message, error) {
	var (
		m       store.Message
		role    string
		parts   string
		through *int64
		end     string
	)
	err := row.Scan(&m.ID, &m.ChatID, &m.Seq, &role, &parts, &m.Usage.Input, &m.Usage.Output,
		&m.Usage.CacheRead, &m.Usage.CacheWrite, &m.Usage.Reasoning, &m.CostMicros, &m.ModelConfigID,
		&m.APIKeyID, &m.CreatedBy, &m.DeletedAt, &m.CreatedAt, &through, &end)
	if err != nil {
		return store.Message{}, err
	}
	m.EndReason = store.EndReason(end)
	if through != nil {
		m.SummaryThroughSeq = *through
	}
	m.Role = store.MessageRole(role)
	m.DeletedAt = utcPtr(m.DeletedAt)
	m.CreatedAt = m.CreatedAt.UTC()
	if err := json.Unmarshal([]byte(parts), &m.Parts); err != nil {
		return store.Message{}, fmt.Errorf("decode message parts: %w", err)
	}
	return m, nil
}

const queuedCols = `id, chat_id, position, parts, api_key_id, created_by, created_at`

func scanQueued(row pgx.Row) (store.QueuedMessage, error) {
	var (
		q     store.QueuedMessage
		parts string
	)
	if err := row.Scan(&q.ID, &q.ChatID, &q.Position, &parts, &q.APIKeyID, &q.CreatedBy, &q.CreatedAt); err != nil {
		return store.QueuedMessage{}, err
	}
	q.CreatedAt = q.CreatedAt.UTC()
	if err := json.Unmarshal([]byte(parts), &q.Parts); err != nil {
		return store.QueuedMessage{}, fmt.Errorf("decode queued parts: %w", err)
	}
	return q, nil
}

func chatJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func chatNullID(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func collectChatRows[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// pgTx implements chatops.Tx on a transaction. Chats are locked with SELECT
// ... FOR UPDATE; the clock is the transaction's now(), so every replica
// judges leases by the database's time.
type pgTx struct{ tx pgx.Tx }

func (t pgTx) Lock(ctx context.Context, chatID string) (store.Chat, time.Time, error) {
	var at time.Time
	c, err := scanChat(t.tx.QueryRow(ctx, `SELECT `+chatCols+`, now() FROM chats WHERE id = $1 FOR UPDATE`, chatID), &at)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return store.Chat{}, time.Time{}, store.ErrNotFound
		}
		return store.Chat{}, time.Time{}, err
	}
	return c, at.UTC(), nil
}

func (t pgTx) Runnable(ctx context.Context) (store.Chat, time.Time, bool, error) {
	var at time.Time
	// SKIP LOCKED: concurrent workers each take a different chat instead
	// of queueing behind the same row and then finding it taken.
	c, err := scanChat(t.tx.QueryRow(ctx, `SELECT `+chatCols+`, now() FROM chats
		WHERE status IN ('running', 'interrupting') AND NOT archived
			AND (worker_id = '' OR lease_expires_at IS NULL OR lease_expires_at <= now())
		ORDER BY updated_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`), &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Chat{}, time.Time{}, false, nil
	}
	if err != nil {
		return store.Chat{}, time.Time{}, false, err
	}
	return c, at.UTC(), true, nil
}

func (t pgTx) Save(ctx context.Context, c store.Chat, at time.Time, bump bool) (store.Chat, error) {
	var retry *string
	if c.Retry != nil {
		s, err := chatJSON(c.Retry)
		if err != nil {
			return store.Chat{}, err
		}
		retry = &s
	}
	tools, err := chatJSON(c.ClientTools)
	if err != nil {
		return store.Chat{}, err
	}
	inc, updated := 0, c.UpdatedAt
	if bump {
		inc, updated = 1, at
	}
	return scanChat(t.tx.QueryRow(ctx, `UPDATE chats SET
			title = $2, status = $3, archived = $4, api_key_id = $5, worker_id = $6, lease_expires_at = $7,
			snapshot_version = snapshot_version + $8, last_error = $9, retry = $10, debug_override = $11,
			client_tools = $12, action_deadline = $13, updated_at = $14
		WHERE id = $1 RETURNING `+chatCols,
		c.ID, cleanText(c.Title), string(c.Status), c.Archived, c.APIKeyID, c.WorkerID, c.LeaseExpiresAt,
		inc, cleanText(c.LastError), retry, c.DebugOverride, tools, c.ActionDeadline, updated))
}

func (t pgTx) InsertMessage(ctx context.Context, m store.Message, at time.Time) (store.Message, error) {
	if err := t.tx.QueryRow(ctx, `UPDATE chats SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq`, m.ChatID).Scan(&m.Seq); err != nil {
		return store.Message{}, err
	}
	if m.ID == "" {
		m.ID = newID()
	}
	m.CreatedAt = at.Truncate(time.Microsecond)
	m.DeletedAt = nil
	parts, err := chatJSON(m.Parts)
	if err != nil {
		return store.Message{}, err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO messages (`+messageCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, $15, $16, $17)`,
		m.ID, m.ChatID, m.Seq, string(m.Role), parts, m.Usage.Input, m.Usage.Output,
		m.Usage.CacheRead, m.Usage.CacheWrite, m.Usage.Reasoning, m.CostMicros, m.ModelConfigID,
		m.APIKeyID, m.CreatedBy, m.CreatedAt, summaryThrough(m.SummaryThroughSeq), string(m.EndReason))
	if err != nil {
		return store.Message{}, err
	}
	return m, nil
}

func (t pgTx) VisibleMessage(ctx context.Context, chatID, messageID string) (store.Message, error) {
	m, err := scanMessage(t.tx.QueryRow(ctx, `SELECT `+messageCols+` FROM messages
		WHERE id = $1 AND chat_id = $2 AND deleted_at IS NULL`, messageID, chatID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Message{}, store.ErrNotFound
	}
	return m, err
}

func (t pgTx) Tail(ctx context.Context, chatID string) ([]store.Message, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+messageCols+` FROM messages
		WHERE chat_id = $1 AND deleted_at IS NULL AND seq >= (
			SELECT max(seq) FROM messages WHERE chat_id = $1 AND deleted_at IS NULL AND role = 'assistant')
		ORDER BY seq`, chatID)
	if err != nil {
		return nil, err
	}
	return collectChatRows(rows, scanMessage)
}

func (t pgTx) DeleteFrom(ctx context.Context, chatID string, seq int64, at time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE messages SET deleted_at = $3
		WHERE chat_id = $1 AND seq >= $2 AND deleted_at IS NULL`, chatID, seq, at)
	return err
}

func (t pgTx) Enqueue(ctx context.Context, q store.QueuedMessage, at time.Time) (store.QueuedMessage, error) {
	return t.enqueue(ctx, q, at, `(SELECT coalesce(max(position), 0) + 1 FROM queued_messages WHERE chat_id = $2)`)
}

func (t pgTx) EnqueueHead(ctx context.Context, q store.QueuedMessage, at time.Time) (store.QueuedMessage, error) {
	return t.enqueue(ctx, q, at, `(SELECT coalesce(min(position), 1) - 1 FROM queued_messages WHERE chat_id = $2)`)
}

// enqueue inserts q at position, a constant SQL expression of the chat id
// ($2).
func (t pgTx) enqueue(ctx context.Context, q store.QueuedMessage, at time.Time, position string) (store.QueuedMessage, error) {
	parts, err := chatJSON(q.Parts)
	if err != nil {
		return store.QueuedMessage{}, err
	}
	q.ID = newID()
	q.CreatedAt = at.Truncate(time.Microsecond)
	err = t.tx.QueryRow(ctx, `INSERT INTO queued_messages (`+queuedCols+`)
		VALUES ($1, $2, `+position+`, $3, $4, $5, $6)
		RETURNING position`,
		q.ID, q.ChatID, parts, q.APIKeyID, q.CreatedBy, q.CreatedAt).Scan(&q.Position)
	if err != nil {
		return store.QueuedMessage{}, err
	}
	return q, nil
}

func (t pgTx) PopQueued(ctx context.Context, chatID string) (store.QueuedMessage, bool, error) {
	q, err := scanQueued(t.tx.QueryRow(ctx, `DELETE FROM queued_messages WHERE id = (
			SELECT id FROM queued_messages WHERE chat_id = $1 ORDER BY position, created_at, id LIMIT 1)
		RETURNING `+queuedCols, chatID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.QueuedMessage{}, false, nil
	}
	if err != nil {
		return store.QueuedMessage{}, false, err
	}
	return q, true, nil
}

func (t pgTx) DeleteQueued(ctx context.Context, chatID, queuedID string) error {
	tag, err := t.tx.Exec(ctx, `DELETE FROM queued_messages WHERE id = $1 AND chat_id = $2`, queuedID, chatID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound(fmt.Sprintf("queued message %q", queuedID))
	}
	return nil
}

func (t pgTx) PromoteQueued(ctx context.Context, chatID, queuedID string) error {
	tag, err := t.tx.Exec(ctx, `UPDATE queued_messages
		SET position = (SELECT min(position) - 1 FROM queued_messages WHERE chat_id = $1)
		WHERE id = $2 AND chat_id = $1`, chatID, queuedID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound(fmt.Sprintf("queued message %q", queuedID))
	}
	return nil
}

// chatTx runs fn in a transaction.
func (db *DB) chatTx(ctx context.Context, fn func(tx chatops.Tx) error) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return fn(pgTx{tx}) })
}

// chatErr passes refusals through unchanged; see chatops.WrapErr.
func chatErr(op string, err error) error { return chatops.WrapErr(op, err, wrapChatErr) }

// wrapChatErr prefixes op and maps driver errors onto the store's
// sentinels.
func wrapChatErr(op string, err error) error { return wrap(op, err) }

// CreateChat inserts a chat and, when nc.First is set, its first user
// message, leaving the chat runnable.
func (db *DB) CreateChat(ctx context.Context, nc store.NewChat) (store.Chat, error) {
	var c store.Chat
	err := db.chatTx(ctx, func(tx chatops.Tx) error {
		t := tx.(pgTx).tx
		var one int
		if err := t.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1`, nc.OwnerID).Scan(&one); err != nil {
			return wrap(fmt.Sprintf("owner %q", nc.OwnerID), err)
		}
		if err := t.QueryRow(ctx, `SELECT 1 FROM models WHERE id = $1`, nc.ModelConfigID).Scan(&one); err != nil {
			return wrap(fmt.Sprintf("model config %q", nc.ModelConfigID), err)
		}
		root := nc.RootChatID
		if nc.ParentChatID != "" {
			var parentRoot string
			if err := t.QueryRow(ctx, `SELECT root_chat_id FROM chats WHERE id = $1`, nc.ParentChatID).Scan(&parentRoot); err != nil {
				return wrap(fmt.Sprintf("parent chat %q", nc.ParentChatID), err)
			}
			if root == "" {
				root = parentRoot
				if root == "" {
					root = nc.ParentChatID
				}
			}
		}
		tools, err := chatJSON(nc.ClientTools)
		if err != nil {
			return err
		}
		var at time.Time
		c, err = scanChat(t.QueryRow(ctx, `INSERT INTO chats (id, owner_id, title, status, model_config_id,
				parent_chat_id, root_chat_id, api_key_id, snapshot_version, debug_override, client_tools,
				created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, now(), now())
			RETURNING `+chatCols+`, now()`,
			newID(), nc.OwnerID, cleanText(chatops.CleanTitle(nc.Title)), string(store.ChatWaiting), nc.ModelConfigID,
			chatNullID(nc.ParentChatID), root, nc.APIKeyID, nc.DebugOverride, tools), &at)
		if err != nil {
			return err
		}
		c, err = chatops.CreateChat(ctx, tx, c, nc.First, at.UTC())
		return err
	})
	if err != nil {
		return store.Chat{}, chatErr("create chat", err)
	}
	return c, nil
}

// GetChat returns the chat with id.
func (db *DB) GetChat(ctx context.Context, id string) (store.Chat, error) {
	c, err := scanChat(db.pool.QueryRow(ctx, `SELECT `+chatCols+` FROM chats WHERE id = $1`, id))
	if err != nil {
		return store.Chat{}, wrap(fmt.Sprintf("get chat %q", id), err)
	}
	return c, nil
}

// ListChats returns the owner's chats matching f, most recently updated
// first.
func (db *DB) ListChats(ctx context.Context, f store.ChatFilter) ([]store.Chat, error) {
	where := []string{"owner_id = $1"}
	args := []any{f.OwnerID}
	if f.ParentChatID == "" {
		where = append(where, "parent_chat_id IS NULL")
	} else {
		args = append(args, f.ParentChatID)
		where = append(where, fmt.Sprintf("parent_chat_id = $%d", len(args)))
	}
	if f.Archived != nil {
		args = append(args, *f.Archived)
		where = append(where, fmt.Sprintf("archived = $%d", len(args)))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := db.pool.Query(ctx, `SELECT `+chatCols+` FROM chats WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY updated_at DESC, id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, wrap("list chats", err)
	}
	out, err := collectChatRows(rows, func(r pgx.Row) (store.Chat, error) { return scanChat(r) })
	if err != nil {
		return nil, wrap("list chats", err)
	}
	return out, nil
}

// ListMessages returns the chat's visible messages after afterSeq.
func (db *DB) ListMessages(ctx context.Context, chatID string, afterSeq int64, limit int) ([]store.Message, error) {
	return db.listMessages(ctx, chatID, afterSeq, limit, `AND deleted_at IS NULL`)
}

// ListAllMessages returns the chat's messages after afterSeq, soft-deleted
// ones included.
func (db *DB) ListAllMessages(ctx context.Context, chatID string, afterSeq int64, limit int) ([]store.Message, error) {
	return db.listMessages(ctx, chatID, afterSeq, limit, ``)
}

// listMessages lists messages after afterSeq that also match cond, a
// constant SQL condition.
func (db *DB) listMessages(ctx context.Context, chatID string, afterSeq int64, limit int, cond string) ([]store.Message, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.pool.Query(ctx, `SELECT `+messageCols+` FROM messages
		WHERE chat_id = $1 AND seq > $2 `+cond+` ORDER BY seq LIMIT $3`, chatID, afterSeq, limit)
	if err != nil {
		return nil, wrap(fmt.Sprintf("list messages of chat %q", chatID), err)
	}
	out, err := collectChatRows(rows, scanMessage)
	if err != nil {
		return nil, wrap(fmt.Sprintf("list messages of chat %q", chatID), err)
	}
	return out, nil
}

// ListQueued returns the chat's queue, head first.
func (db *DB) ListQueued(ctx context.Context, chatID string) ([]store.QueuedMessage, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+queuedCols+` FROM queued_messages
		WHERE chat_id = $1 ORDER BY position, created_at, id`, chatID)
	if err != nil {
		return nil, wrap(fmt.Sprintf("list queue of chat %q", chatID), err)
	}
	out, err := collectChatRows(rows, scanQueued)
	if err != nil {
		return nil, wrap(fmt.Sprintf("list queue of chat %q", chatID), err)
	}
	return out, nil
}

// DeleteChat removes a chat with its children, messages and queue.
func (db *DB) DeleteChat(ctx context.Context, chatID string) error {
	op := fmt.Sprintf("delete chat %q", chatID)
	tag, err := db.pool.Exec(ctx, `DELETE FROM chats WHERE id = $1`, chatID)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op)
	}
	return nil
}

// ExpiredActions lists chats whose requires_action deadline has passed by
// the database's clock, earliest deadline first.
func (db *DB) ExpiredActions(ctx context.Context, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.pool.Query(ctx, `SELECT id FROM chats
		WHERE status = 'requires_action' AND action_deadline <= now() ORDER BY action_deadline, id LIMIT $1`, limit)
	if err != nil {
		return nil, wrap("list expired actions", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("list expired actions", err)
	}
	return ids, nil
}
