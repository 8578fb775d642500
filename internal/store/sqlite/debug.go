package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/rowcodec"
)

var _ store.DebugRuns = (*DB)(nil)

const debugRunColumns = `id, kind, chat_id, root_chat_id, parent_chat_id, message_id, user_id,
	model_config_id, provider, model, status, summary, started_at, updated_at, finished_at`

const debugStepColumns = `id, run_id, number, operation, status, request, response, error,
	started_at, updated_at, finished_at`

const debugAttemptColumns = `id, step_id, number, method, url, status, request_header, request_body,
	response_header, response_body, error, started_at, duration_micros, ttfb_micros`

func scanDebugRun(s rowScanner) (store.DebugRun, error) {
	var r store.DebugRun
	var started, updated int64
	var finished sql.NullInt64
	err := s.Scan(&r.ID, &r.Kind, &r.ChatID, &r.RootChatID, &r.ParentChatID, &r.MessageID, &r.UserID,
		&r.ModelConfigID, &r.Provider, &r.Model, &r.Status, &r.Summary, &started, &updated, &finished)
	if err != nil {
		return store.DebugRun{}, err
	}
	r.StartedAt = fromMicros(started)
	r.UpdatedAt = fromMicros(updated)
	r.FinishedAt = fromNullMicros(finished)
	return r, nil
}

func scanDebugStep(s rowScanner) (store.DebugStep, error) {
	var st store.DebugStep
	var req, resp sql.NullString
	var started, updated int64
	var finished sql.NullInt64
	err := s.Scan(&st.ID, &st.RunID, &st.Number, &st.Operation, &st.Status, &req, &resp, &st.Error,
		&started, &updated, &finished)
	if err != nil {
		return store.DebugStep{}, err
	}
	st.Request = rowcodec.RawJSON(nullStringPtr(req))
	st.Response = rowcodec.RawJSON(nullStringPtr(resp))
	st.StartedAt = fromMicros(started)
	st.UpdatedAt = fromMicros(updated)
	st.FinishedAt = fromNullMicros(finished)
	return st, nil
}

func scanDebugAttempt(s rowScanner) (store.DebugAttempt, error) {
	var a store.DebugAttempt
	var reqHeader, respHeader string
	var started, dur, ttfb int64
	err := s.Scan(&a.ID, &a.StepID, &a.Number, &a.Method, &a.URL, &a.Status, &reqHeader, &a.RequestBody,
		&respHeader, &a.ResponseBody, &a.Error, &started, &dur, &ttfb)
	if err != nil {
		return store.DebugAttempt{}, err
	}
	if err := rowcodec.DecodeHeaders(&a, reqHeader, respHeader); err != nil {
		return store.DebugAttempt{}, err
	}
	a.StartedAt = fromMicros(started)
	a.Duration = rowcodec.Micros(dur)
	a.TimeToFirstByte = rowcodec.Micros(ttfb)
	return a, nil
}

// nullStringPtr is s as an optional string.
func nullStringPtr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

// CreateDebugRun inserts r. An empty ID is generated, an empty Status is
// in_progress, a zero StartedAt is now and a zero UpdatedAt is StartedAt.
func (db *DB) CreateDebugRun(ctx context.Context, r store.DebugRun) (store.DebugRun, error) {
	r = rowcodec.DebugRun(r)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO debug_runs (`+debugRunColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Kind, r.ChatID, r.RootChatID, r.ParentChatID, r.MessageID, r.UserID,
			r.ModelConfigID, r.Provider, r.Model, r.Status, r.Summary,
			r.StartedAt.UnixMicro(), r.UpdatedAt.UnixMicro(), nullMicros(r.FinishedAt))
		return err
	})
	if err != nil {
		return store.DebugRun{}, fmt.Errorf("create debug run %q: %w", r.ID, classify(err))
	}
	return r, nil
}

// UpdateDebugRun applies the non-nil fields of p and bumps UpdatedAt. On a
// run whose status is already final, Status and FinishedAt are left alone
// (a late update never reopens or re-finishes a run); Summary still
// applies. A patch that makes the status final without FinishedAt
// finishes the run now.
func (db *DB) UpdateDebugRun(ctx context.Context, id string, p store.DebugRunPatch) (store.DebugRun, error) {
	t := now().UnixMicro()
	var r store.DebugRun
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanDebugRun(tx.QueryRowContext(ctx, `
			UPDATE debug_runs SET
				status = CASE WHEN status = 'in_progress' THEN COALESCE(?1, status) ELSE status END,
				finished_at = CASE WHEN status = 'in_progress'
					THEN COALESCE(?2, CASE WHEN COALESCE(?1, 'in_progress') <> 'in_progress' THEN ?4 END, finished_at)
					ELSE finished_at END,
				summary = COALESCE(?3, summary),
				updated_at = ?4
			WHERE id = ?5
			RETURNING `+debugRunColumns,
			rowcodec.StatusArg(p.Status), nullMicros(rowcodec.TimePtr(p.FinishedAt)), p.Summary, t, id))
		return err
	})
	if err != nil {
		return store.DebugRun{}, fmt.Errorf("update debug run %q: %w", id, classify(err))
	}
	return r, nil
}

// touchDebugRun marks run id as alive at t, so that a run whose steps are
// progressing is not taken for abandoned. It never moves UpdatedAt back.
func touchDebugRun(ctx context.Context, tx *sql.Tx, id string, t int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE debug_runs SET updated_at = max(updated_at, ?) WHERE id = ?`, t, id)
	return err
}

// CreateDebugStep inserts s with its Attempts, if any. Defaults are as for
// CreateDebugRun. A missing run is store.ErrNotFound; a Number already used
// in the run is store.ErrConflict. The run's UpdatedAt moves up to the
// step's.
func (db *DB) CreateDebugStep(ctx context.Context, s store.DebugStep) (store.DebugStep, error) {
	s = rowcodec.DebugStep(s)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO debug_steps (`+debugStepColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.RunID, s.Number, s.Operation, s.Status, rowcodec.OptJSON(s.Request), rowcodec.OptJSON(s.Response), s.Error,
			s.StartedAt.UnixMicro(), s.UpdatedAt.UnixMicro(), nullMicros(s.FinishedAt))
		if err != nil {
			return err
		}
		for _, a := range s.Attempts {
			if err := insertDebugAttempt(ctx, tx, a); err != nil {
				return err
			}
		}
		return touchDebugRun(ctx, tx, s.RunID, s.UpdatedAt.UnixMicro())
	})
	if err != nil {
		return store.DebugStep{}, fmt.Errorf("create debug step %d of run %q: %w", s.Number, s.RunID, classify(err))
	}
	return s, nil
}

// UpdateDebugStep applies the non-nil fields of p with the rule of
// UpdateDebugRun: on a final step, Status and FinishedAt stay; Response and
// Error still apply. It also bumps the run's UpdatedAt.
func (db *DB) UpdateDebugStep(ctx context.Context, id string, p store.DebugStepPatch) (store.DebugStep, error) {
	t := now().UnixMicro()
	var s store.DebugStep
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = scanDebugStep(tx.QueryRowContext(ctx, `
			UPDATE debug_steps SET
				status = CASE WHEN status = 'in_progress' THEN COALESCE(?1, status) ELSE status END,
				finished_at = CASE WHEN status = 'in_progress'
					THEN COALESCE(?2, CASE WHEN COALESCE(?1, 'in_progress') <> 'in_progress' THEN ?5 END, finished_at)
					ELSE finished_at END,
				response = COALESCE(?3, response),
				error = COALESCE(?4, error),
				updated_at = ?5
			WHERE id = ?6
			RETURNING `+debugStepColumns,
			rowcodec.StatusArg(p.Status), nullMicros(rowcodec.TimePtr(p.FinishedAt)), rowcodec.OptJSON(p.Response), p.Error, t, id))
		if err != nil {
			return err
		}
		return touchDebugRun(ctx, tx, s.RunID, t)
	})
	if err != nil {
		return store.DebugStep{}, fmt.Errorf("update debug step %q: %w", id, classify(err))
	}
	return s, nil
}

func insertDebugAttempt(ctx context.Context, tx *sql.Tx, a store.DebugAttempt) error {
	reqHeader, respHeader, err := rowcodec.EncodeHeaders(a)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO debug_attempts (`+debugAttemptColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.StepID, a.Number, a.Method, a.URL, a.Status, reqHeader, a.RequestBody,
		respHeader, a.ResponseBody, a.Error, a.StartedAt.UnixMicro(),
		a.Duration.Microseconds(), a.TimeToFirstByte.Microseconds())
	return err
}

// AddDebugAttempt inserts a; a missing step is store.ErrNotFound. Durations
// are kept to the microsecond. It also bumps the run's UpdatedAt.
func (db *DB) AddDebugAttempt(ctx context.Context, a store.DebugAttempt) (store.DebugAttempt, error) {
	a = rowcodec.DebugAttempt(a)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertDebugAttempt(ctx, tx, a); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			UPDATE debug_runs SET updated_at = max(updated_at, ?)
			WHERE id = (SELECT run_id FROM debug_steps WHERE id = ?)`, now().UnixMicro(), a.StepID)
		return err
	})
	if err != nil {
		return store.DebugAttempt{}, fmt.Errorf("add debug attempt to step %q: %w", a.StepID, classify(err))
	}
	return a, nil
}

// ListDebugRuns lists chatID's runs without their steps, newest first. A
// limit of zero or less is 50; more than 500 is 500.
func (db *DB) ListDebugRuns(ctx context.Context, chatID string, limit int) ([]store.DebugRun, error) {
	limit = rowcodec.DebugRunLimit(limit)
	rows, err := db.r.QueryContext(ctx, `SELECT `+debugRunColumns+` FROM debug_runs
		WHERE chat_id = ? ORDER BY started_at DESC, id DESC LIMIT ?`, chatID, limit)
	if err != nil {
		return nil, fmt.Errorf("list debug runs of chat %q: %w", chatID, err)
	}
	defer rows.Close()
	var out []store.DebugRun
	for rows.Next() {
		r, err := scanDebugRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list debug runs of chat %q: %w", chatID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list debug runs of chat %q: %w", chatID, err)
	}
	return out, nil
}

// GetDebugRun returns run id with its steps ordered by number, each with
// its attempts ordered by number. It reads one snapshot.
func (db *DB) GetDebugRun(ctx context.Context, id string) (store.DebugRun, []store.DebugStep, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.DebugRun{}, nil, fmt.Errorf("get debug run %q: %w", id, err)
	}
	defer tx.Rollback()
	r, steps, err := getDebugRun(ctx, tx, id)
	if err != nil {
		return store.DebugRun{}, nil, fmt.Errorf("get debug run %q: %w", id, classify(err))
	}
	return r, steps, nil
}

func getDebugRun(ctx context.Context, tx *sql.Tx, id string) (store.DebugRun, []store.DebugStep, error) {
	r, err := scanDebugRun(tx.QueryRowContext(ctx, `SELECT `+debugRunColumns+` FROM debug_runs WHERE id = ?`, id))
	if err != nil {
		return store.DebugRun{}, nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+debugStepColumns+` FROM debug_steps
		WHERE run_id = ? ORDER BY number`, id)
	if err != nil {
		return store.DebugRun{}, nil, err
	}
	defer rows.Close()
	var steps []store.DebugStep
	index := map[string]int{}
	for rows.Next() {
		s, err := scanDebugStep(rows)
		if err != nil {
			return store.DebugRun{}, nil, err
		}
		index[s.ID] = len(steps)
		steps = append(steps, s)
	}
	if err := rows.Err(); err != nil {
		return store.DebugRun{}, nil, err
	}
	if len(steps) == 0 {
		return r, nil, nil
	}

	rows, err = tx.QueryContext(ctx, `SELECT a.`+strings.ReplaceAll(debugAttemptColumns, ", ", ", a.")+`
		FROM debug_attempts a JOIN debug_steps s ON s.id = a.step_id
		WHERE s.run_id = ? ORDER BY a.step_id, a.number, a.id`, id)
	if err != nil {
		return store.DebugRun{}, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanDebugAttempt(rows)
		if err != nil {
			return store.DebugRun{}, nil, err
		}
		i := index[a.StepID]
		steps[i].Attempts = append(steps[i].Attempts, a)
	}
	if err := rows.Err(); err != nil {
		return store.DebugRun{}, nil, err
	}
	return r, steps, nil
}

// DeleteDebugRunsAfter deletes chatID's runs started at or after from and
// before before (a zero before is no upper bound), with their steps and
// attempts, and returns how many runs went.
func (db *DB) DeleteDebugRunsAfter(ctx context.Context, chatID string, from, before time.Time) (int64, error) {
	upper := int64(math.MaxInt64)
	if !before.IsZero() {
		upper = before.UnixMicro()
	}
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM debug_runs WHERE chat_id = ? AND started_at >= ? AND started_at < ?`,
			chatID, from.UnixMicro(), upper)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete debug runs of chat %q from %v: %w", chatID, from, err)
	}
	return n, nil
}

// debugDeleteChunk bounds the number of SQL variables per statement.
const debugDeleteChunk = 500

// DeleteDebugRunsForChats deletes every run of chatIDs and returns how many
// went.
func (db *DB) DeleteDebugRunsForChats(ctx context.Context, chatIDs []string) (int64, error) {
	if len(chatIDs) == 0 {
		return 0, nil
	}
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for ids := range debugChunks(chatIDs, debugDeleteChunk) {
			args := make([]any, len(ids))
			for i, id := range ids {
				args[i] = id
			}
			marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
			res, err := tx.ExecContext(ctx, `DELETE FROM debug_runs WHERE chat_id IN (`+marks+`)`, args...)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete debug runs of %d chats: %w", len(chatIDs), err)
	}
	return n, nil
}

// debugChunks yields s in pieces of at most n.
func debugChunks[T any](s []T, n int) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// FinalizeStaleDebugRuns ends every in_progress run not updated since
// before, and the in_progress steps of those runs, with status error and an
// "abandoned" summary and error. It returns how many runs it ended.
func (db *DB) FinalizeStaleDebugRuns(ctx context.Context, before time.Time) (int64, error) {
	t := now().UnixMicro()
	msg := rowcodec.DebugAbandoned(before)
	cut := before.UnixMicro()
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE debug_steps SET status = 'error', error = ?, finished_at = ?, updated_at = ?
			WHERE status = 'in_progress' AND run_id IN (
				SELECT id FROM debug_runs WHERE status = 'in_progress' AND updated_at < ?)`,
			msg, t, t, cut)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE debug_runs SET status = 'error', summary = ?, finished_at = ?, updated_at = ?
			WHERE status = 'in_progress' AND updated_at < ?`,
			msg, t, t, cut)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("finalize stale debug runs: %w", err)
	}
	return n, nil
}

// PurgeDebugRuns deletes runs started before the cutoff, with their steps
// and attempts, and returns how many runs went.
func (db *DB) PurgeDebugRuns(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM debug_runs WHERE started_at < ?`, before.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge debug runs before %v: %w", before, err)
	}
	return n, nil
}
