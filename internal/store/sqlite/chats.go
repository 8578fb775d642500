package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/chatops"
	"github.com/chatd/chatd/internal/store/rowcodec"
)

var _ store.Chats = (*DB)(nil)

const chatColumns = `id, owner_id, title, status, archived, model_config_id, parent_chat_id,
	root_chat_id, api_key_id, worker_id, lease_expires_at, snapshot_version, last_error,
	retry, debug_override, client_tools, action_deadline, created_at, updated_at,
	orphan_cost_micros, orphan_unpriced_calls`

func scanChat(s rowScanner) (store.Chat, error) {
	var (
		c                store.Chat
		status           string
		parent, retry    sql.NullString
		lease, deadline  sql.NullInt64
		debug            sql.NullBool
		tools            string
		created, updated int64
		orphanCost       sql.NullInt64
	)
	err := s.Scan(&c.ID, &c.OwnerID, &c.Title, &status, &c.Archived, &c.ModelConfigID, &parent,
		&c.RootChatID, &c.APIKeyID, &c.WorkerID, &lease, &c.SnapshotVersion, &c.LastError,
		&retry, &debug, &tools, &deadline, &created, &updated,
		&orphanCost, &c.OrphanUnpricedCalls)
	if err != nil {
		return store.Chat{}, err
	}
	if orphanCost.Valid {
		c.OrphanCostMicros = &orphanCost.Int64
	}
	c.Status = store.ChatStatus(status)
	c.ParentChatID = parent.String
	c.LeaseExpiresAt = fromNullMicros(lease)
	c.ActionDeadline = fromNullMicros(deadline)
	c.CreatedAt = fromMicros(created)
	c.UpdatedAt = fromMicros(updated)
	if debug.Valid {
		c.DebugOverride = &debug.Bool
	}
	if err := rowcodec.DecodeChat(&c, nullStringPtr(retry), tools); err != nil {
		return store.Chat{}, err
	}
	return c, nil
}

const messageColumns = `id, chat_id, seq, role, parts, input_tokens, output_tokens,
	cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_micros, model_config_id,
	api_key_id, created_by, deleted_at, created_at, summary_through_seq, end_reason`

func scanMessage(s rowScanner) (store.Message, error) {
	var (
		m       store.Message
		role    string
		parts   string
		cost    sql.NullInt64
		deleted sql.NullInt64
		created int64
		through sql.NullInt64
		end     string
	)
	err := s.Scan(&m.ID, &m.ChatID, &m.Seq, &role, &parts, &m.Usage.Input, &m.Usage.Output,
		&m.Usage.CacheRead, &m.Usage.CacheWrite, &m.Usage.Reasoning, &cost, &m.ModelConfigID,
		&m.APIKeyID, &m.CreatedBy, &deleted, &created, &through, &end)
	if err != nil {
		return store.Message{}, err
	}
	m.Role = store.MessageRole(role)
	m.EndReason = store.EndReason(end)
	if cost.Valid {
		m.CostMicros = &cost.Int64
	}
	m.DeletedAt = fromNullMicros(deleted)
	m.CreatedAt = fromMicros(created)
	m.SummaryThroughSeq = through.Int64
	if err := json.Unmarshal([]byte(parts), &m.Parts); err != nil {
		return store.Message{}, fmt.Errorf("decode message parts: %w", err)
	}
	return m, nil
}

const queuedColumns = `id, chat_id, position, parts, api_key_id, created_by, created_at`

func scanQueued(s rowScanner) (store.QueuedMessage, error) {
	var (
		q       store.QueuedMessage
		parts   string
		created int64
	)
	if err := s.Scan(&q.ID, &q.ChatID, &q.Position, &parts, &q.APIKeyID, &q.CreatedBy, &created); err != nil {
		return store.QueuedMessage{}, err
	}
	q.CreatedAt = fromMicros(created)
	if err := json.Unmarshal([]byte(parts), &q.Parts); err != nil {
		return store.QueuedMessage{}, fmt.Errorf("decode queued parts: %w", err)
	}
	return q, nil
}

func chatJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func chatNullID(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

func chatNullBool(b *bool) sql.NullBool {
	if b == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *b, Valid: true}
}

// sqliteTx implements chatops.Tx on a write transaction. The transaction is
// IMMEDIATE and the writer connection is single, so it already excludes
// every other writer: "locking" a chat is reading it.
type sqliteTx struct{ tx *sql.Tx }

func (t sqliteTx) Lock(ctx context.Context, chatID string) (store.Chat, time.Time, error) {
	c, err := scanChat(t.tx.QueryRowContext(ctx, `SELECT `+chatColumns+` FROM chats WHERE id = ?`, chatID))
	if err != nil {
		return store.Chat{}, time.Time{}, classify(err)
	}
	return c, now(), nil
}

func (t sqliteTx) Runnable(ctx context.Context) (store.Chat, time.Time, bool, error) {
	at := now()
	c, err := scanChat(t.tx.QueryRowContext(ctx, `SELECT `+chatColumns+` FROM chats
		WHERE status IN ('running', 'interrupting') AND archived = 0
			AND (worker_id = '' OR lease_expires_at IS NULL OR lease_expires_at <= ?)
		ORDER BY updated_at, id LIMIT 1`, at.UnixMicro()))
	if err == sql.ErrNoRows {
		return store.Chat{}, at, false, nil
	}
	if err != nil {
		return store.Chat{}, at, false, err
	}
	return c, at, true, nil
}

func (t sqliteTx) Save(ctx context.Context, c store.Chat, at time.Time, bump bool) (store.Chat, error) {
	var retry sql.NullString
	if c.Retry != nil {
		s, err := chatJSON(c.Retry)
		if err != nil {
			return store.Chat{}, err
		}
		retry = sql.NullString{String: s, Valid: true}
	}
	tools, err := chatJSON(c.ClientTools)
	if err != nil {
		return store.Chat{}, err
	}
	inc, updated := 0, c.UpdatedAt.UnixMicro()
	if bump {
		inc, updated = 1, at.UnixMicro()
	}
	return scanChat(t.tx.QueryRowContext(ctx, `UPDATE chats SET
			title = ?, status = ?, archived = ?, api_key_id = ?, worker_id = ?, lease_expires_at = ?,
			snapshot_version = snapshot_version + ?, last_error = ?, retry = ?, debug_override = ?,
			client_tools = ?, action_deadline = ?, updated_at = ?
		WHERE id = ? RETURNING `+chatColumns,
		c.Title, string(c.Status), c.Archived, c.APIKeyID, c.WorkerID, nullMicros(normPtr(c.LeaseExpiresAt)),
		inc, c.LastError, retry, chatNullBool(c.DebugOverride),
		tools, nullMicros(normPtr(c.ActionDeadline)), updated, c.ID))
}

func (t sqliteTx) InsertMessage(ctx context.Context, m store.Message, at time.Time) (store.Message, error) {
	if err := t.tx.QueryRowContext(ctx, `UPDATE chats SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq`, m.ChatID).Scan(&m.Seq); err != nil {
		return store.Message{}, classify(err)
	}
	if m.ID == "" {
		m.ID = newID()
	}
	m.CreatedAt = at
	m.DeletedAt = nil
	parts, err := chatJSON(m.Parts)
	if err != nil {
		return store.Message{}, err
	}
	var cost sql.NullInt64
	if m.CostMicros != nil {
		cost = sql.NullInt64{Int64: *m.CostMicros, Valid: true}
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO messages (`+messageColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`,
		m.ID, m.ChatID, m.Seq, string(m.Role), parts, m.Usage.Input, m.Usage.Output,
		m.Usage.CacheRead, m.Usage.CacheWrite, m.Usage.Reasoning, cost, m.ModelConfigID,
		m.APIKeyID, m.CreatedBy, at.UnixMicro(), sql.NullInt64{Int64: m.SummaryThroughSeq, Valid: m.SummaryThroughSeq != 0},
		string(m.EndReason))
	if err != nil {
		return store.Message{}, classify(err)
	}
	return m, nil
}

func (t sqliteTx) VisibleMessage(ctx context.Context, chatID, messageID string) (store.Message, error) {
	m, err := scanMessage(t.tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE id = ? AND chat_id = ? AND deleted_at IS NULL`, messageID, chatID))
	return m, classify(err)
}

func (t sqliteTx) Tail(ctx context.Context, chatID string) ([]store.Message, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE chat_id = ?1 AND deleted_at IS NULL AND seq >= (
			SELECT max(seq) FROM messages WHERE chat_id = ?1 AND deleted_at IS NULL AND role = 'assistant')
		ORDER BY seq`, chatID)
	if err != nil {
		return nil, err
	}
	return collectChatRows(rows, scanMessage)
}

func (t sqliteTx) DeleteFrom(ctx context.Context, chatID string, seq int64, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE messages SET deleted_at = ?
		WHERE chat_id = ? AND seq >= ? AND deleted_at IS NULL`, at.UnixMicro(), chatID, seq)
	return err
}

func (t sqliteTx) Enqueue(ctx context.Context, q store.QueuedMessage, at time.Time) (store.QueuedMessage, error) {
	return t.enqueue(ctx, q, at, `(SELECT coalesce(max(position), 0) + 1 FROM queued_messages WHERE chat_id = ?2)`)
}

func (t sqliteTx) EnqueueHead(ctx context.Context, q store.QueuedMessage, at time.Time) (store.QueuedMessage, error) {
	return t.enqueue(ctx, q, at, `(SELECT coalesce(min(position), 1) - 1 FROM queued_messages WHERE chat_id = ?2)`)
}

// enqueue inserts q at position, a constant SQL expression of the chat id
// (?2).
func (t sqliteTx) enqueue(ctx context.Context, q store.QueuedMessage, at time.Time, position string) (store.QueuedMessage, error) {
	parts, err := chatJSON(q.Parts)
	if err != nil {
		return store.QueuedMessage{}, err
	}
	q.ID = newID()
	q.CreatedAt = at
	err = t.tx.QueryRowContext(ctx, `INSERT INTO queued_messages (`+queuedColumns+`)
		VALUES (?1, ?2, `+position+`, ?3, ?4, ?5, ?6)
		RETURNING position`,
		q.ID, q.ChatID, parts, q.APIKeyID, q.CreatedBy, at.UnixMicro()).Scan(&q.Position)
	if err != nil {
		return store.QueuedMessage{}, classify(err)
	}
	return q, nil
}

func (t sqliteTx) PopQueued(ctx context.Context, chatID string) (store.QueuedMessage, bool, error) {
	q, err := scanQueued(t.tx.QueryRowContext(ctx, `DELETE FROM queued_messages WHERE id = (
			SELECT id FROM queued_messages WHERE chat_id = ? ORDER BY position, created_at, id LIMIT 1)
		RETURNING `+queuedColumns, chatID))
	if err == sql.ErrNoRows {
		return store.QueuedMessage{}, false, nil
	}
	if err != nil {
		return store.QueuedMessage{}, false, err
	}
	return q, true, nil
}

func (t sqliteTx) DeleteQueued(ctx context.Context, chatID, queuedID string) error {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM queued_messages WHERE id = ? AND chat_id = ?`, queuedID, chatID)
	if err != nil {
		return err
	}
	return queuedRowAffected(res, queuedID)
}

func (t sqliteTx) PromoteQueued(ctx context.Context, chatID, queuedID string) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE queued_messages
		SET position = (SELECT min(position) - 1 FROM queued_messages WHERE chat_id = ?1)
		WHERE id = ?2 AND chat_id = ?1`, chatID, queuedID)
	if err != nil {
		return err
	}
	return queuedRowAffected(res, queuedID)
}

func queuedRowAffected(res sql.Result, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("queued message %q: %w", id, store.ErrNotFound)
	}
	return nil
}

func collectChatRows[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// chatTx runs fn in a write transaction.
func (db *DB) chatTx(ctx context.Context, fn func(tx chatops.Tx) error) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return fn(sqliteTx{tx}) })
}

// CreateChat inserts a chat and, when nc.First is set, its first user
// message, leaving the chat runnable.
func (db *DB) CreateChat(ctx context.Context, nc store.NewChat) (store.Chat, error) {
	at := now()
	c := store.Chat{
		ID: newID(), OwnerID: nc.OwnerID, Title: chatops.CleanTitle(nc.Title), Status: store.ChatWaiting,
		ModelConfigID: nc.ModelConfigID, ParentChatID: nc.ParentChatID, RootChatID: nc.RootChatID,
		APIKeyID: nc.APIKeyID, SnapshotVersion: 1, DebugOverride: nc.DebugOverride,
		ClientTools: nc.ClientTools, CreatedAt: at, UpdatedAt: at,
	}
	err := db.chatTx(ctx, func(tx chatops.Tx) error {
		t := tx.(sqliteTx).tx
		var one int
		if err := t.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, nc.OwnerID).Scan(&one); err != nil {
			return fmt.Errorf("owner %q: %w", nc.OwnerID, classify(err))
		}
		if err := t.QueryRowContext(ctx, `SELECT 1 FROM models WHERE id = ?`, nc.ModelConfigID).Scan(&one); err != nil {
			return fmt.Errorf("model config %q: %w", nc.ModelConfigID, classify(err))
		}
		if nc.ParentChatID != "" {
			var root string
			if err := t.QueryRowContext(ctx, `SELECT root_chat_id FROM chats WHERE id = ?`, nc.ParentChatID).Scan(&root); err != nil {
				return fmt.Errorf("parent chat %q: %w", nc.ParentChatID, classify(err))
			}
			if c.RootChatID == "" {
				c.RootChatID = cmp.Or(root, nc.ParentChatID)
			}
		}
		tools, err := chatJSON(c.ClientTools)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `INSERT INTO chats (`+chatColumns+`)
			VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, '', NULL, 1, '', NULL, ?, ?, NULL, ?, ?, NULL, 0)`,
			c.ID, c.OwnerID, c.Title, string(c.Status), c.ModelConfigID, chatNullID(c.ParentChatID),
			c.RootChatID, c.APIKeyID, chatNullBool(c.DebugOverride), tools, at.UnixMicro(), at.UnixMicro())
		if err != nil {
			return classify(err)
		}
		c, err = chatops.CreateChat(ctx, tx, c, nc.First, at)
		return err
	})
	if err != nil {
		return store.Chat{}, chatErr("create chat", err)
	}
	return c, nil
}

// chatErr passes refusals through unchanged; see chatops.WrapErr.
func chatErr(op string, err error) error { return chatops.WrapErr(op, err, wrapChatErr) }

// wrapChatErr prefixes op and maps driver errors onto the store's
// sentinels.
func wrapChatErr(op string, err error) error { return fmt.Errorf("%s: %w", op, classify(err)) }

// GetChat returns the chat with id.
func (db *DB) GetChat(ctx context.Context, id string) (store.Chat, error) {
	c, err := scanChat(db.r.QueryRowContext(ctx, `SELECT `+chatColumns+` FROM chats WHERE id = ?`, id))
	if err != nil {
		return store.Chat{}, fmt.Errorf("get chat %q: %w", id, classify(err))
	}
	return c, nil
}

// ListChats returns the owner's chats matching f, most recently updated
// first.
func (db *DB) ListChats(ctx context.Context, f store.ChatFilter) ([]store.Chat, error) {
	where := []string{"owner_id = ?"}
	args := []any{f.OwnerID}
	if f.ParentChatID == "" {
		where = append(where, "parent_chat_id IS NULL")
	} else {
		where = append(where, "parent_chat_id = ?")
		args = append(args, f.ParentChatID)
	}
	if f.Archived != nil {
		where = append(where, "archived = ?")
		args = append(args, *f.Archived)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := db.r.QueryContext(ctx, `SELECT `+chatColumns+` FROM chats WHERE `+strings.Join(where, " AND ")+`
		ORDER BY updated_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list chats: %w", err)
	}
	out, err := collectChatRows(rows, scanChat)
	if err != nil {
		return nil, fmt.Errorf("list chats: %w", err)
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
	rows, err := db.r.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE chat_id = ? AND seq > ? `+cond+` ORDER BY seq LIMIT ?`, chatID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("list messages of chat %q: %w", chatID, err)
	}
	out, err := collectChatRows(rows, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("list messages of chat %q: %w", chatID, err)
	}
	return out, nil
}

// ListQueued returns the chat's queue, head first.
func (db *DB) ListQueued(ctx context.Context, chatID string) ([]store.QueuedMessage, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+queuedColumns+` FROM queued_messages
		WHERE chat_id = ? ORDER BY position, created_at, id`, chatID)
	if err != nil {
		return nil, fmt.Errorf("list queue of chat %q: %w", chatID, err)
	}
	out, err := collectChatRows(rows, scanQueued)
	if err != nil {
		return nil, fmt.Errorf("list queue of chat %q: %w", chatID, err)
	}
	return out, nil
}

// DeleteChat removes a chat with its children, messages and queue.
func (db *DB) DeleteChat(ctx context.Context, chatID string) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM chats WHERE id = ?`, chatID)
	if err != nil {
		return fmt.Errorf("delete chat %q: %w", chatID, classify(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete chat %q: %w", chatID, err)
	} else if n == 0 {
		return fmt.Errorf("delete chat %q: %w", chatID, store.ErrNotFound)
	}
	return nil
}

// ExpiredActions lists chats whose requires_action deadline has passed,
// earliest deadline first.
func (db *DB) ExpiredActions(ctx context.Context, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id FROM chats
		WHERE status = 'requires_action' AND action_deadline <= ? ORDER BY action_deadline, id LIMIT ?`,
		now().UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("list expired actions: %w", err)
	}
	ids, err := collectChatRows(rows, func(s rowScanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("list expired actions: %w", err)
	}
	return ids, nil
}
