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
	"github.com/jackc/pgx/v5"
)

var _ store.Chats = (*DB)(nil)

const chatCols = `id, owner_id, title, status, archived, model_config_id, coalesce(parent_chat_id, ''),
	root_chat_id, api_key_id, worker_id, lease_expires_at, snapshot_version, last_error,
	retry, debug_override, client_tools, action_deadline, created_at, updated_at`

func scanChat(row pgx.Row, extra ...any) (store.Chat, error) {
	var (
		c      store.Chat
		status string
		retry  *string
		tools  string
	)
	dest := append([]any{&c.ID, &c.OwnerID, &c.Title, &status, &c.Archived, &c.ModelConfigID, &c.ParentChatID,
		&c.RootChatID, &c.APIKeyID, &c.WorkerID, &c.LeaseExpiresAt, &c.SnapshotVersion, &c.LastError,
		&retry, &c.DebugOverride, &tools, &c.ActionDeadline, &c.CreatedAt, &c.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return store.Chat{}, err
	}
	c.Status = store.ChatStatus(status)
	c.LeaseExpiresAt = utcPtr(c.LeaseExpiresAt)
	c.ActionDeadline = utcPtr(c.ActionDeadline)
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
	if retry != nil {
		c.Retry = new(store.RetryState)
		if err := json.Unmarshal([]byte(*retry), c.Retry); err != nil {
			return store.Chat{}, fmt.Errorf("decode retry state: %w", err)
		}
		c.Retry.NextAt = c.Retry.NextAt.UTC()
	}
	if err := json.Unmarshal([]byte(tools), &c.ClientTools); err != nil {
		return store.Chat{}, fmt.Errorf("decode client tools: %w", err)
	}
	return c, nil
}

const messageCols = `id, chat_id, seq, role, parts, input_tokens, output_tokens,
	cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_micros, model_config_id,
	api_key_id, created_by, deleted_at, created_at, summary_through_seq`

func scanMessage(row pgx.Row) (store.Message, error) {
	var (
		m       store.Message
		role    string
		parts   string
		through *int64
	)
	err := row.Scan(&m.ID, &m.ChatID, &m.Seq, &role, &parts, &m.Usage.Input, &m.Usage.Output,
		&m.Usage.CacheRead, &m.Usage.CacheWrite, &m.Usage.Reasoning, &m.CostMicros, &m.ModelConfigID,
		&m.APIKeyID, &m.CreatedBy, &m.DeletedAt, &m.CreatedAt, &through)
	if err != nil {
		return store.Message{}, err
	}
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

// pgTx implements chatTx on a transaction. Chats are locked with SELECT
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
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, $15, $16)`,
		m.ID, m.ChatID, m.Seq, string(m.Role), parts, m.Usage.Input, m.Usage.Output,
		m.Usage.CacheRead, m.Usage.CacheWrite, m.Usage.Reasoning, m.CostMicros, m.ModelConfigID,
		m.APIKeyID, m.CreatedBy, m.CreatedAt, summaryThrough(m.SummaryThroughSeq))
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
	parts, err := chatJSON(q.Parts)
	if err != nil {
		return store.QueuedMessage{}, err
	}
	q.ID = newID()
	q.CreatedAt = at.Truncate(time.Microsecond)
	err = t.tx.QueryRow(ctx, `INSERT INTO queued_messages (`+queuedCols+`)
		VALUES ($1, $2, (SELECT coalesce(max(position), 0) + 1 FROM queued_messages WHERE chat_id = $2), $3, $4, $5, $6)
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
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.pool.Query(ctx, `SELECT `+messageCols+` FROM messages
		WHERE chat_id = $1 AND seq > $2 AND deleted_at IS NULL ORDER BY seq LIMIT $3`, chatID, afterSeq, limit)
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
