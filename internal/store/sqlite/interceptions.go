package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/rowcodec"
)

const interceptionColumns = `id, user_id, api_key_id, provider_name, provider_type, endpoint, model,
	streaming, client, user_agent, chat_id, subchat_id, source, credential_kind, credential_hint,
	status, error, started_at, ended_at, ttfb_micros,
	input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
	prompt, tool_calls, reasoning, cost_micros`

// defaultLimit is the listing size when a filter leaves Limit zero.
const defaultLimit = 100

func scanInterception(s rowScanner) (store.Interception, error) {
	var in store.Interception
	var started, ttfb int64
	var ended, cost sql.NullInt64
	var toolCalls sql.NullString
	err := s.Scan(&in.ID, &in.UserID, &in.APIKeyID, &in.ProviderName, &in.ProviderType, &in.Endpoint, &in.Model,
		&in.Streaming, &in.Client, &in.UserAgent, &in.ChatID, &in.SubchatID, &in.Source, &in.CredentialKind, &in.CredentialHint,
		&in.Status, &in.Error, &started, &ended, &ttfb,
		&in.Usage.Input, &in.Usage.Output, &in.Usage.CacheRead, &in.Usage.CacheWrite, &in.Usage.Reasoning,
		&in.Prompt, &toolCalls, &in.Reasoning, &cost)
	if err != nil {
		return store.Interception{}, err
	}
	in.StartedAt = fromMicros(started)
	if ended.Valid {
		in.EndedAt = fromMicros(ended.Int64)
	}
	in.TTFB = time.Duration(ttfb) * time.Microsecond
	if in.ToolCalls, err = rowcodec.DecodeToolCalls([]byte(toolCalls.String)); err != nil {
		return store.Interception{}, fmt.Errorf("decode tool calls of %q: %w", in.ID, err)
	}
	if cost.Valid {
		in.CostMicros = &cost.Int64
	}
	return in, nil
}

const insertInterception = `INSERT INTO interceptions (` + interceptionColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// interceptionArgs normalises in as it is stored and returns it with the
// arguments of insertInterception.
func interceptionArgs(in store.Interception) (store.Interception, []any, error) {
	in.ID = rowcodec.OrNewID(in.ID)
	in.StartedAt = rowcodec.Time(in.StartedAt)
	var ended sql.NullInt64
	if !in.EndedAt.IsZero() {
		in.EndedAt = in.EndedAt.UTC().Truncate(time.Microsecond)
		ended = sql.NullInt64{Int64: in.EndedAt.UnixMicro(), Valid: true}
	}
	in.TTFB = in.TTFB.Truncate(time.Microsecond)
	b, err := rowcodec.EncodeToolCalls(in.ToolCalls, nil)
	if err != nil {
		return store.Interception{}, nil, err
	}
	toolCalls := sql.NullString{String: string(b), Valid: b != nil}
	var cost sql.NullInt64
	if in.CostMicros != nil {
		cost = sql.NullInt64{Int64: *in.CostMicros, Valid: true}
	}
	return in, []any{
		in.ID, in.UserID, in.APIKeyID, in.ProviderName, in.ProviderType, in.Endpoint, in.Model,
		in.Streaming, in.Client, in.UserAgent, in.ChatID, in.SubchatID, in.Source, in.CredentialKind, in.CredentialHint,
		in.Status, in.Error, in.StartedAt.UnixMicro(), ended, in.TTFB.Microseconds(),
		in.Usage.Input, in.Usage.Output, in.Usage.CacheRead, in.Usage.CacheWrite, in.Usage.Reasoning,
		in.Prompt, toolCalls, in.Reasoning, cost,
	}, nil
}

// CreateInterception inserts a finished record.
func (db *DB) CreateInterception(ctx context.Context, in store.Interception) (store.Interception, error) {
	in, args, err := interceptionArgs(in)
	if err != nil {
		return store.Interception{}, fmt.Errorf("create interception: %w", err)
	}
	if _, err := db.w.ExecContext(ctx, insertInterception, args...); err != nil {
		return store.Interception{}, fmt.Errorf("create interception %q: %w", in.ID, classify(err))
	}
	return in, nil
}

// CreateInterceptions inserts finished records in one transaction, all or
// none. One commit for many records is what lets the single SQLite writer
// keep up with a busy gateway.
func (db *DB) CreateInterceptions(ctx context.Context, ins []store.Interception) error {
	if len(ins) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, insertInterception)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, in := range ins {
			in, args, err := interceptionArgs(in)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("%q: %w", in.ID, classify(err))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create %d interceptions: %w", len(ins), classify(err))
	}
	return nil
}

// GetInterception returns the record with id.
func (db *DB) GetInterception(ctx context.Context, id string) (store.Interception, error) {
	in, err := scanInterception(db.r.QueryRowContext(ctx,
		`SELECT `+interceptionColumns+` FROM interceptions WHERE id = ?`, id))
	if err != nil {
		return store.Interception{}, fmt.Errorf("get interception %q: %w", id, classify(err))
	}
	return in, nil
}

// where builds the WHERE clause for f. Since is inclusive; Until and
// Before are exclusive.
func where(f store.InterceptionFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
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
		add("started_at >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		add("started_at < ?", f.Until.UnixMicro())
	}
	if !f.Before.IsZero() {
		add("started_at < ?", f.Before.UnixMicro())
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// ListInterceptions returns records matching f, newest first.
func (db *DB) ListInterceptions(ctx context.Context, f store.InterceptionFilter) ([]store.Interception, error) {
	w, args := where(f)
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	args = append(args, limit)
	rows, err := db.r.QueryContext(ctx,
		`SELECT `+interceptionColumns+` FROM interceptions`+w+` ORDER BY started_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list interceptions: %w", err)
	}
	defer rows.Close()
	var out []store.Interception
	for rows.Next() {
		in, err := scanInterception(rows)
		if err != nil {
			return nil, fmt.Errorf("list interceptions: %w", err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list interceptions: %w", err)
	}
	return out, nil
}

// UsageByDay sums records matching f (Limit ignored) per UTC day, user and
// model, ordered by day, user and model.
func (db *DB) UsageByDay(ctx context.Context, f store.InterceptionFilter) ([]store.UsageRow, error) {
	w, args := where(f)
	rows, err := db.r.QueryContext(ctx, `
		SELECT strftime('%Y-%m-%d', started_at / 1000000, 'unixepoch') AS day, user_id, model,
			COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens),
			SUM(cache_write_tokens), SUM(reasoning_tokens), COALESCE(SUM(cost_micros), 0)
		FROM interceptions`+w+`
		GROUP BY day, user_id, model
		ORDER BY day, user_id, model`, args...)
	if err != nil {
		return nil, fmt.Errorf("usage by day: %w", err)
	}
	defer rows.Close()
	var out []store.UsageRow
	for rows.Next() {
		var u store.UsageRow
		if err := rows.Scan(&u.Day, &u.UserID, &u.Model, &u.Calls, &u.Usage.Input, &u.Usage.Output,
			&u.Usage.CacheRead, &u.Usage.CacheWrite, &u.Usage.Reasoning, &u.CostMicros); err != nil {
			return nil, fmt.Errorf("usage by day: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage by day: %w", err)
	}
	return out, nil
}

// PurgeInterceptions deletes records started before cutoff.
func (db *DB) PurgeInterceptions(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM interceptions WHERE started_at < ?`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("purge interceptions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge interceptions: %w", err)
	}
	return n, nil
}
