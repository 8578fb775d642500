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
)

var _ store.Chats = (*DB)(nil)

const chatColumns = `id, owner_id, title, status, archived, model_config_id, parent_chat_id,
	root_chat_id, api_key_id, worker_id, lease_expires_at, snapshot_version, last_error,
	retry, debug_override, client_tools, action_deadline, created_at, updated_at`

func scanChat(s rowScanner) (store.Chat, error) {
	var (
		c                store.Chat
		status           string
		parent, retry    sql.NullString
		lease, deadline  sql.NullInt64
		debug            sql.NullBool
		tools            string
		created, updated int64
	)
	err := s.Scan(&c.ID, &c.OwnerID, &c.Title, &status, &c.Archived, &c.ModelConfigID, &parent,
		&c.RootChatID, &c.APIKeyID, &c.WorkerID, &lease, &c.SnapshotVersion, &c.LastError,
		&retry, &debug, &tools, &deadline, &created, &updated)
	if err != nil {
		return store.Chat{}, err
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
	if retry.Valid {
		c.Retry = new(store.RetryState)
		if err := json.Unmarshal([]byte(retry.String), c.Retry); err != nil {
			return store.Chat{}, fmt.Errorf("decode retry state: %w", err)
		}
		c.Retry.NextAt = c.Retry.NextAt.UTC()
	}
	if err := json.Unmarshal([]byte(tools), &c.ClientTools); err != nil {
		return store.Chat{}, fmt.Errorf("decode client tools: %w", err)
	}
	return c, nil
}

const messageColumns = `id, chat_id, seq, role, parts, input_tokens, output_tokens,
	cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_micros, model_config_id,
	api_key_id, created_by, deleted_at, created_at, summary_through_seq`

func scanMessage(s rowScanner) (store.Message, error) {
	var (
		m       store.Message
		role    string
		parts   string
		cost    sql.NullInt64
		deleted sql.NullInt64
		created int64
		through sql.NullInt64
	)
	err := s.Scan(&m.ID, &m.ChatID, &m.Seq, &role, &parts, &m.Usage.Input, &m.Usage.Output,
		&m.Usage.CacheRead, &m.Usage.CacheWrite, &m.Usage.Reasoning, &cost, &m.ModelConfigID,
		&m.APIKeyID, &m.CreatedBy, &deleted, &created, &through)
	if err != nil {
		return store.Message{}, err
	}
	m.Role = store.MessageRole(role)
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

// chatTx implements chatTx on a write transaction. The transaction is
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
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
		m.ID, m.ChatID, m.Seq, string(m.Role), parts, m.Usage.Input, m.Usage.Output,
		m.Usage.CacheRead, m.Usage.CacheWrite, m.Usage.Reasoning, cost, m.ModelConfigID,
		m.APIKeyID, m.CreatedBy, at.UnixMicro(), sql.NullInt64{Int64: m.SummaryThroughSeq, Valid: m.SummaryThroughSeq != 0})
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
	parts, err := chatJSON(q.Parts)
	if err != nil {
		return store.QueuedMessage{}, err
	}
	q.ID = newID()
	q.CreatedAt = at
	err = t.tx.QueryRowContext(ctx, `INSERT INTO queued_messages (`+queuedColumns+`)
		VALUES (?1, ?2, (SELECT coalesce(max(position), 0) + 1 FROM queued_messages WHERE chat_id = ?2), ?3, ?4, ?5, ?6)
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
			VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, '', NULL, 1, '', NULL, ?, ?, NULL, ?, ?)`,
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
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE chat_id = ? AND seq > ? AND deleted_at IS NULL ORDER BY seq LIMIT ?`, chatID, afterSeq, limit)
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

// Send commits or queues a user message; see store.Chats.
func (db *DB) Send(ctx context.Context, chatID string, parts []store.Part, apiKeyID, createdBy string, mode store.SendMode) (store.SendResult, error) {
	var res store.SendResult
	err := db.chatTx(ctx, func(tx chatops.Tx) (err error) {
		res, err = chatops.Send(ctx, tx, chatID, parts, apiKeyID, createdBy, mode)
		return err
	})
	return res, chatErr(fmt.Sprintf("send to chat %q", chatID), err)
}

// EditMessage replaces a user message and everything after it.
func (db *DB) EditMessage(ctx context.Context, chatID, messageID string, parts []store.Part, apiKeyID string) (store.Chat, store.Message, error) {
	var (
		c store.Chat
		m store.Message
	)
	err := db.chatTx(ctx, func(tx chatops.Tx) (err error) {
		c, m, err = chatops.EditMessage(ctx, tx, chatID, messageID, parts, apiKeyID)
		return err
	})
	return c, m, chatErr(fmt.Sprintf("edit message of chat %q", chatID), err)
}

// chatOp runs fn as one transition and wraps its error with op.
func (db *DB) chatOp(ctx context.Context, op string, fn func(tx chatops.Tx) (store.Chat, error)) (store.Chat, error) {
	var c store.Chat
	err := db.chatTx(ctx, func(tx chatops.Tx) (err error) {
		c, err = fn(tx)
		return err
	})
	if err != nil {
		return store.Chat{}, chatErr(op, err)
	}
	return c, nil
}

// DeleteQueued removes a queued message.
func (db *DB) DeleteQueued(ctx context.Context, chatID, queuedID string) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("delete queued message of chat %q", chatID), func(tx chatops.Tx) (store.Chat, error) {
		return chatops.UserOp(ctx, tx, chatID, store.OpDeleteQueued, func(c *store.Chat, _ time.Time) error {
			return tx.DeleteQueued(ctx, c.ID, queuedID)
		})
	})
}

// PromoteQueued moves a queued message to the head of the queue.
func (db *DB) PromoteQueued(ctx context.Context, chatID, queuedID string) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("promote queued message of chat %q", chatID), func(tx chatops.Tx) (store.Chat, error) {
		return chatops.UserOp(ctx, tx, chatID, store.OpPromoteQueued, func(c *store.Chat, _ time.Time) error {
			return tx.PromoteQueued(ctx, c.ID, queuedID)
		})
	})
}

// Interrupt stops the running turn, keeping what it committed.
func (db *DB) Interrupt(ctx context.Context, chatID string) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("interrupt chat %q", chatID), func(tx chatops.Tx) (store.Chat, error) {
		return chatops.Interrupt(ctx, tx, chatID)
	})
}

// SubmitToolResults answers the pending client tool calls.
func (db *DB) SubmitToolResults(ctx context.Context, chatID string, results []store.Part) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("submit tool results to chat %q", chatID), func(tx chatops.Tx) (store.Chat, error) {
		return chatops.SubmitToolResults(ctx, tx, chatID, results)
	})
}

// SetArchived archives or unarchives a chat.
func (db *DB) SetArchived(ctx context.Context, chatID string, archived bool) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("archive chat %q", chatID), func(tx chatops.Tx) (store.Chat, error) {
		return chatops.SetArchived(ctx, tx, chatID, archived)
	})
}

// SetTitle renames a chat.
func (db *DB) SetTitle(ctx context.Context, chatID, title string) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("set title of chat %q", chatID), func(tx chatops.Tx) (store.Chat, error) {
		return chatops.UserOp(ctx, tx, chatID, store.OpSetTitle, func(c *store.Chat, _ time.Time) error {
			c.Title = chatops.CleanTitle(title)
			return nil
		})
	})
}

// SetDebugOverride switches debug recording for a chat; nil inherits.
func (db *DB) SetDebugOverride(ctx context.Context, chatID string, on *bool) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("set debug override of chat %q", chatID), func(tx chatops.Tx) (store.Chat, error) {
		// Like a title, the override is metadata any state allows.
		return chatops.UserOp(ctx, tx, chatID, store.OpSetTitle, func(c *store.Chat, _ time.Time) error {
			c.DebugOverride = on
			return nil
		})
	})
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

// AcquireChat leases the least recently updated runnable chat to workerID.
// A lease of zero or less is already expired, which tests use to make a
// stale lease without waiting.
func (db *DB) AcquireChat(ctx context.Context, workerID string, lease time.Duration) (store.Chat, bool, error) {
	var (
		c  store.Chat
		ok bool
	)
	err := db.chatTx(ctx, func(tx chatops.Tx) (err error) {
		c, ok, err = chatops.Acquire(ctx, tx, workerID, lease)
		return err
	})
	if err != nil {
		return store.Chat{}, false, chatErr("acquire chat", err)
	}
	return c, ok, nil
}

// Heartbeat extends workerID's lease on a chat.
func (db *DB) Heartbeat(ctx context.Context, chatID, workerID string, lease time.Duration) error {
	err := db.chatTx(ctx, func(tx chatops.Tx) error { return chatops.Heartbeat(ctx, tx, chatID, workerID, lease) })
	return chatErr(fmt.Sprintf("heartbeat chat %q", chatID), err)
}

// ReleaseChat gives up workerID's lease, leaving the status as it is.
func (db *DB) ReleaseChat(ctx context.Context, chatID, workerID string) error {
	err := db.chatTx(ctx, func(tx chatops.Tx) error { return chatops.Release(ctx, tx, chatID, workerID) })
	return chatErr(fmt.Sprintf("release chat %q", chatID), err)
}

// CommitStep appends a step's messages.
func (db *DB) CommitStep(ctx context.Context, chatID, workerID string, msgs []store.Message) (store.Chat, []store.Message, error) {
	var (
		c   store.Chat
		out []store.Message
	)
	err := db.chatTx(ctx, func(tx chatops.Tx) (err error) {
		c, out, err = chatops.CommitStep(ctx, tx, chatID, workerID, msgs)
		return err
	})
	if err != nil {
		return store.Chat{}, nil, chatErr(fmt.Sprintf("commit step of chat %q", chatID), err)
	}
	return c, out, nil
}

// SetRetry records or clears the retry state shown to watchers.
func (db *DB) SetRetry(ctx context.Context, chatID, workerID string, r *store.RetryState) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("set retry of chat %q", chatID), func(tx chatops.Tx) (store.Chat, error) {
		return chatops.SetRetry(ctx, tx, chatID, workerID, r)
	})
}

// FinishTurn ends the turn: the next queued message starts the next one,
// or the chat waits.
func (db *DB) FinishTurn(ctx context.Context, chatID, workerID string) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("finish turn of chat %q", chatID), func(tx chatops.Tx) (store.Chat, error) {
		return chatops.FinishTurn(ctx, tx, chatID, workerID)
	})
}

// FinishWithError ends the turn in the error status, keeping the queue.
func (db *DB) FinishWithError(ctx context.Context, chatID, workerID, msg string) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("finish chat %q with error", chatID), func(tx chatops.Tx) (store.Chat, error) {
		return chatops.FinishWithError(ctx, tx, chatID, workerID, msg)
	})
}

// EnterRequiresAction waits for client tool results until deadline.
func (db *DB) EnterRequiresAction(ctx context.Context, chatID, workerID string, deadline time.Time) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("enter requires_action on chat %q", chatID), func(tx chatops.Tx) (store.Chat, error) {
		return chatops.EnterRequiresAction(ctx, tx, chatID, workerID, deadline)
	})
}

// CancelRequiresAction answers the pending client tool calls with errors
// and makes the chat runnable.
func (db *DB) CancelRequiresAction(ctx context.Context, chatID string) (store.Chat, error) {
	return db.chatOp(ctx, fmt.Sprintf("cancel requires_action on chat %q", chatID), func(tx chatops.Tx) (store.Chat, error) {
		return chatops.CancelRequiresAction(ctx, tx, chatID)
	})
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
