package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/rowcodec"
	"github.com/jackc/pgx/v5"
)

const interceptionCols = `id, user_id, api_key_id, provider_name, provider_type, endpoint, model,
	streaming, client, user_agent, chat_id, subchat_id, source, credential_kind, credential_hint,
	status, error, started_at, ended_at, ttfb_ns,
	input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
	prompt, tool_calls, reasoning, cost_micros`

// defaultListLimit is the page size when a filter's Limit is zero.
const defaultListLimit = 100

func scanInterception(row pgx.Row) (store.Interception, error) {
	var (
		in        store.Interception
		typ       string
		endedAt   *time.Time
		ttfb      int64
		toolCalls []byte
	)
	if err := row.Scan(&in.ID, &in.UserID, &in.APIKeyID, &in.ProviderName, &typ, &in.Endpoint, &in.Model,
		&in.Streaming, &in.Client, &in.UserAgent, &in.ChatID, &in.SubchatID, &in.Source, &in.CredentialKind, &in.CredentialHint,
		&in.Status, &in.Error, &in.StartedAt, &endedAt, &ttfb,
		&in.Usage.Input, &in.Usage.Output, &in.Usage.CacheRead, &in.Usage.CacheWrite, &in.Usage.Reasoning,
		&in.Prompt, &toolCalls, &in.Reasoning, &in.CostMicros); err != nil {
		return store.Interception{}, err
	}
	in.ProviderType = store.ProviderType(typ)
	in.StartedAt = in.StartedAt.UTC()
	if endedAt != nil {
		in.EndedAt = endedAt.UTC()
	}
	in.TTFB = time.Duration(ttfb)
	var err error
	if in.ToolCalls, err = rowcodec.DecodeToolCalls(toolCalls); err != nil {
		return store.Interception{}, fmt.Errorf("decode tool calls: %w", err)
	}
	return in, nil
}

const insertInterception = `
	INSERT INTO interceptions (` + interceptionCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
		$16, $17, COALESCE($18, now()), $19, $20, $21, $22, $23, $24, $25, $26, $27::jsonb, $28, $29)`

// interceptionArgs returns the arguments of insertInterception for in.
// Every text value is passed through cleanText: a record must never be
// lost because a client sent a NUL or invalid UTF-8 in a prompt or header.
func interceptionArgs(in store.Interception) ([]any, error) {
	// Cleaned first: json.Marshal would write a NUL as \u0000, which jsonb
	// refuses.
	toolCalls, err := rowcodec.EncodeToolCalls(in.ToolCalls, cleanText)
	if err != nil {
		return nil, err
	}
	return []any{
		cleanText(rowcodec.OrNewID(in.ID)), cleanText(in.UserID), cleanText(in.APIKeyID), cleanText(in.ProviderName),
		cleanText(string(in.ProviderType)), cleanText(in.Endpoint), cleanText(in.Model),
		in.Streaming, cleanText(in.Client), cleanText(in.UserAgent), cleanText(in.ChatID), cleanText(in.SubchatID),
		cleanText(in.Source), cleanText(in.CredentialKind), cleanText(in.CredentialHint),
		in.Status, cleanText(in.Error), nullTime(in.StartedAt), nullTime(in.EndedAt), int64(in.TTFB),
		in.Usage.Input, in.Usage.Output, in.Usage.CacheRead, in.Usage.CacheWrite, in.Usage.Reasoning,
		cleanText(in.Prompt), toolCalls, cleanText(in.Reasoning), in.CostMicros,
	}, nil
}

// CreateInterception inserts a finished record. ID is set when empty and
// StartedAt defaults to the database clock.
func (db *DB) CreateInterception(ctx context.Context, in store.Interception) (store.Interception, error) {
	op := "create interception"
	args, err := interceptionArgs(in)
	if err != nil {
		return store.Interception{}, fmt.Errorf("%s: %w", op, err)
	}
	out, err := scanInterception(db.pool.QueryRow(ctx, insertInterception+` RETURNING `+interceptionCols, args...))
	if err != nil {
		return store.Interception{}, wrap(op, err)
	}
	return out, nil
}

// CreateInterceptions inserts finished records in one transaction and one
// round trip, all or none.
func (db *DB) CreateInterceptions(ctx context.Context, ins []store.Interception) error {
	op := fmt.Sprintf("create %d interceptions", len(ins))
	if len(ins) == 0 {
		return nil
	}
	var b pgx.Batch
	for _, in := range ins {
		args, err := interceptionArgs(in)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		b.Queue(insertInterception, args...)
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return wrap(op, err)
	}
	return nil
}

// GetInterception returns the record with the given ID.
func (db *DB) GetInterception(ctx context.Context, id string) (store.Interception, error) {
	in, err := scanInterception(db.pool.QueryRow(ctx, `SELECT `+interceptionCols+` FROM interceptions WHERE id = $1`, id))
	if err != nil {
		return store.Interception{}, wrap(fmt.Sprintf("get interception %q", id), err)
	}
	return in, nil
}

// where builds the WHERE clause for f, numbering parameters from $1.
func where(f store.InterceptionFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.ProviderName != "" {
		add("provider_name = ?", f.ProviderName)
	}
	if f.Model != "" {
		add("model = ?", f.Model)
	}
	if f.ChatID != "" {
		add("chat_id = ?", f.ChatID)
	}
	if !f.Since.IsZero() {
		add("started_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		add("started_at < ?", f.Until)
	}
	if !f.Before.IsZero() {
		add("started_at < ?", f.Before)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// ListInterceptions returns records matching f, newest first.
func (db *DB) ListInterceptions(ctx context.Context, f store.InterceptionFilter) ([]store.Interception, error) {
	const op = "list interceptions"
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	w, args := where(f)
	args = append(args, limit)
	rows, err := db.pool.Query(ctx, `SELECT `+interceptionCols+` FROM interceptions`+w+
		` ORDER BY started_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	ins, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Interception, error) { return scanInterception(r) })
	if err != nil {
		return nil, wrap(op, err)
	}
	return ins, nil
}

// UsageByDay sums tokens and cost per UTC day, user and model, ordered by
// day, user and model. f.Limit does not apply.
func (db *DB) UsageByDay(ctx context.Context, f store.InterceptionFilter) ([]store.UsageRow, error) {
	const op = "usage by day"
	w, args := where(f)
	rows, err := db.pool.Query(ctx, `
		SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, user_id, model, count(*),
			COALESCE(sum(input_tokens), 0)::bigint, COALESCE(sum(output_tokens), 0)::bigint,
			COALESCE(sum(cache_read_tokens), 0)::bigint, COALESCE(sum(cache_write_tokens), 0)::bigint,
			COALESCE(sum(reasoning_tokens), 0)::bigint, COALESCE(sum(cost_micros), 0)::bigint
		FROM interceptions`+w+`
		GROUP BY day, user_id, model
		ORDER BY day, user_id, model`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.UsageRow, error) {
		var u store.UsageRow
		err := r.Scan(&u.Day, &u.UserID, &u.Model, &u.Calls,
			&u.Usage.Input, &u.Usage.Output, &u.Usage.CacheRead, &u.Usage.CacheWrite, &u.Usage.Reasoning, &u.CostMicros)
		return u, err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return us, nil
}

// PurgeInterceptions deletes records started before cutoff.
func (db *DB) PurgeInterceptions(ctx context.Context, before time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM interceptions WHERE started_at < $1`, before)
	if err != nil {
		return 0, wrap("purge interceptions", err)
	}
	return tag.RowsAffected(), nil
}
