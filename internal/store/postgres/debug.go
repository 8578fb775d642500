package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/rowcodec"
)

var _ store.DebugRuns = (*DB)(nil)

const debugRunCols = `id, kind, chat_id, root_chat_id, parent_chat_id, message_id, user_id,
	model_config_id, provider, model, status, summary, started_at, updated_at, finished_at`

const debugStepCols = `id, run_id, number, operation, status, request, response, error,
	started_at, updated_at, finished_at`

const debugAttemptCols = `id, step_id, number, method, url, status, request_header, request_body,
	response_header, response_body, error, started_at, duration_micros, ttfb_micros`

func scanDebugRun(row pgx.Row) (store.DebugRun, error) {
	var r store.DebugRun
	var status string
	err := row.Scan(&r.ID, &r.Kind, &r.ChatID, &r.RootChatID, &r.ParentChatID, &r.MessageID, &r.UserID,
		&r.ModelConfigID, &r.Provider, &r.Model, &status, &r.Summary, &r.StartedAt, &r.UpdatedAt, &r.FinishedAt)
	if err != nil {
		return store.DebugRun{}, err
	}
	r.Status = store.DebugStatus(status)
	r.StartedAt = r.StartedAt.UTC()
	r.UpdatedAt = r.UpdatedAt.UTC()
	r.FinishedAt = utcPtr(r.FinishedAt)
	return r, nil
}

func scanDebugStep(row pgx.Row) (store.DebugStep, error) {
	var s store.DebugStep
	var status string
	var req, resp *string
	err := row.Scan(&s.ID, &s.RunID, &s.Number, &s.Operation, &status, &req, &resp, &s.Error,
		&s.StartedAt, &s.UpdatedAt, &s.FinishedAt)
	if err != nil {
		return store.DebugStep{}, err
	}
	s.Status = store.DebugStatus(status)
	s.Request = rowcodec.RawJSON(req)
	s.Response = rowcodec.RawJSON(resp)
	s.StartedAt = s.StartedAt.UTC()
	s.UpdatedAt = s.UpdatedAt.UTC()
	s.FinishedAt = utcPtr(s.FinishedAt)
	return s, nil
}

func scanDebugAttempt(row pgx.Row) (store.DebugAttempt, error) {
	var a store.DebugAttempt
	var reqHeader, respHeader string
	var dur, ttfb int64
	err := row.Scan(&a.ID, &a.StepID, &a.Number, &a.Method, &a.URL, &a.Status, &reqHeader, &a.RequestBody,
		&respHeader, &a.ResponseBody, &a.Error, &a.StartedAt, &dur, &ttfb)
	if err != nil {
		return store.DebugAttempt{}, err
	}
	if err := rowcodec.DecodeHeaders(&a, reqHeader, respHeader); err != nil {
		return store.DebugAttempt{}, err
	}
	a.StartedAt = a.StartedAt.UTC()
	a.Duration = rowcodec.Micros(dur)
	a.TimeToFirstByte = rowcodec.Micros(ttfb)
	return a, nil
}

// CreateDebugRun inserts r. An empty ID is generated, an empty Status is
// in_progress, a zero StartedAt is now and a zero UpdatedAt is StartedAt.
func (db *DB) CreateDebugRun(ctx context.Context, r store.DebugRun) (store.DebugRun, error) {
	r = rowcodec.DebugRun(r)
	_, err := db.pool.Exec(ctx, `INSERT INTO debug_runs (`+debugRunCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		r.ID, r.Kind, r.ChatID, r.RootChatID, r.ParentChatID, r.MessageID, r.UserID,
		r.ModelConfigID, r.Provider, r.Model, string(r.Status), r.Summary,
		r.StartedAt, r.UpdatedAt, r.FinishedAt)
	if err != nil {
		return store.DebugRun{}, wrap(fmt.Sprintf("create debug run %q", r.ID), err)
	}
	return r, nil
}

// UpdateDebugRun applies the non-nil fields of p and bumps UpdatedAt. On a
// run whose status is already final, Status and FinishedAt are left alone
// (a late update never reopens or re-finishes a run); Summary still
// applies. A patch that makes the status final without FinishedAt
// finishes the run now. The single UPDATE reads the row it locks, so
// concurrent patches cannot interleave around the check.
func (db *DB) UpdateDebugRun(ctx context.Context, id string, p store.DebugRunPatch) (store.DebugRun, error) {
	r, err := scanDebugRun(db.pool.QueryRow(ctx, `
		UPDATE debug_runs SET
			status = CASE WHEN status = 'in_progress' THEN COALESCE($2::text, status) ELSE status END,
			finished_at = CASE WHEN status = 'in_progress'
				THEN COALESCE($3::timestamptz,
					CASE WHEN COALESCE($2::text, 'in_progress') <> 'in_progress' THEN date_trunc('microseconds', now()) END,
					finished_at)
				ELSE finished_at END,
			summary = COALESCE($4::text, summary),
			updated_at = now()
		WHERE id = $1
		RETURNING `+debugRunCols,
		id, rowcodec.StatusArg(p.Status), rowcodec.TimePtr(p.FinishedAt), p.Summary))
	if err != nil {
		return store.DebugRun{}, wrap(fmt.Sprintf("update debug run %q", id), err)
	}
	return r, nil
}

// touchDebugRun marks run id as alive at t, so that a run whose steps are
// progressing is not taken for abandoned. It never moves UpdatedAt back.
func touchDebugRun(ctx context.Context, tx pgx.Tx, id string, t time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE debug_runs SET updated_at = GREATEST(updated_at, $2) WHERE id = $1`, id, t)
	return err
}

// CreateDebugStep inserts s with its Attempts, if any. Defaults are as for
// CreateDebugRun. A missing run is store.ErrNotFound; a Number already used
// in the run is store.ErrConflict. The run's UpdatedAt moves up to the
// step's.
func (db *DB) CreateDebugStep(ctx context.Context, s store.DebugStep) (store.DebugStep, error) {
	s = rowcodec.DebugStep(s)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO debug_steps (`+debugStepCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			s.ID, s.RunID, s.Number, s.Operation, string(s.Status), rowcodec.OptJSON(s.Request), rowcodec.OptJSON(s.Response), s.Error,
			s.StartedAt, s.UpdatedAt, s.FinishedAt)
		if err != nil {
			return err
		}
		for _, a := range s.Attempts {
			if err := insertDebugAttempt(ctx, tx, a); err != nil {
				return err
			}
		}
		return touchDebugRun(ctx, tx, s.RunID, s.UpdatedAt)
	})
	if err != nil {
		return store.DebugStep{}, wrap(fmt.Sprintf("create debug step %d of run %q", s.Number, s.RunID), err)
	}
	return s, nil
}

// UpdateDebugStep applies the non-nil fields of p with the rule of
// UpdateDebugRun: on a final step, Status and FinishedAt stay; Response and
// Error still apply. It also bumps the run's UpdatedAt.
func (db *DB) UpdateDebugStep(ctx context.Context, id string, p store.DebugStepPatch) (store.DebugStep, error) {
	var s store.DebugStep
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		s, err = scanDebugStep(tx.QueryRow(ctx, `
			UPDATE debug_steps SET
				status = CASE WHEN status = 'in_progress' THEN COALESCE($2::text, status) ELSE status END,
				finished_at = CASE WHEN status = 'in_progress'
					THEN COALESCE($3::timestamptz,
						CASE WHEN COALESCE($2::text, 'in_progress') <> 'in_progress' THEN date_trunc('microseconds', now()) END,
						finished_at)
					ELSE finished_at END,
				response = COALESCE($4::text, response),
				error = COALESCE($5::text, error),
				updated_at = now()
			WHERE id = $1
			RETURNING `+debugStepCols,
			id, rowcodec.StatusArg(p.Status), rowcodec.TimePtr(p.FinishedAt), rowcodec.OptJSON(p.Response), p.Error))
		if err != nil {
			return err
		}
		return touchDebugRun(ctx, tx, s.RunID, s.UpdatedAt)
	})
	if err != nil {
		return store.DebugStep{}, wrap(fmt.Sprintf("update debug step %q", id), err)
	}
	return s, nil
}

func insertDebugAttempt(ctx context.Context, tx pgx.Tx, a store.DebugAttempt) error {
	reqHeader, respHeader, err := rowcodec.EncodeHeaders(a)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO debug_attempts (`+debugAttemptCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		a.ID, a.StepID, a.Number, a.Method, a.URL, a.Status, reqHeader, a.RequestBody,
		respHeader, a.ResponseBody, a.Error, a.StartedAt,
		a.Duration.Microseconds(), a.TimeToFirstByte.Microseconds())
	return err
}

// AddDebugAttempt inserts a; a missing step is store.ErrNotFound. Durations
// are kept to the microsecond. It also bumps the run's UpdatedAt.
func (db *DB) AddDebugAttempt(ctx context.Context, a store.DebugAttempt) (store.DebugAttempt, error) {
	a = rowcodec.DebugAttempt(a)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := insertDebugAttempt(ctx, tx, a); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			UPDATE debug_runs SET updated_at = GREATEST(updated_at, now())
			WHERE id = (SELECT run_id FROM debug_steps WHERE id = $1)`, a.StepID)
		return err
	})
	if err != nil {
		return store.DebugAttempt{}, wrap(fmt.Sprintf("add debug attempt to step %q", a.StepID), err)
	}
	return a, nil
}

// ListDebugRuns lists chatID's runs without their steps, newest first. A
// limit of zero or less is 50; more than 500 is 500.
func (db *DB) ListDebugRuns(ctx context.Context, chatID string, limit int) ([]store.DebugRun, error) {
	limit = rowcodec.DebugRunLimit(limit)
	op := fmt.Sprintf("list debug runs of chat %q", chatID)
	rows, err := db.pool.Query(ctx, `SELECT `+debugRunCols+` FROM debug_runs
		WHERE chat_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2`, chatID, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	runs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DebugRun, error) { return scanDebugRun(r) })
	if err != nil {
		return nil, wrap(op, err)
	}
	return runs, nil
}

// GetDebugRun returns run id with its steps ordered by number, each with
// its attempts ordered by number. It reads one snapshot.
func (db *DB) GetDebugRun(ctx context.Context, id string) (store.DebugRun, []store.DebugStep, error) {
	var r store.DebugRun
	var steps []store.DebugStep
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			var err error
			r, steps, err = getDebugRun(ctx, tx, id)
			return err
		})
	if err != nil {
		return store.DebugRun{}, nil, wrap(fmt.Sprintf("get debug run %q", id), err)
	}
	return r, steps, nil
}

func getDebugRun(ctx context.Context, tx pgx.Tx, id string) (store.DebugRun, []store.DebugStep, error) {
	r, err := scanDebugRun(tx.QueryRow(ctx, `SELECT `+debugRunCols+` FROM debug_runs WHERE id = $1`, id))
	if err != nil {
		return store.DebugRun{}, nil, err
	}
	rows, err := tx.Query(ctx, `SELECT `+debugStepCols+` FROM debug_steps WHERE run_id = $1 ORDER BY number`, id)
	if err != nil {
		return store.DebugRun{}, nil, err
	}
	steps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DebugStep, error) { return scanDebugStep(r) })
	if err != nil {
		return store.DebugRun{}, nil, err
	}
	if len(steps) == 0 {
		return r, nil, nil
	}
	index := make(map[string]int, len(steps))
	for i, s := range steps {
		index[s.ID] = i
	}
	rows, err = tx.Query(ctx, `SELECT `+debugAttemptCols+` FROM debug_attempts
		WHERE step_id IN (SELECT id FROM debug_steps WHERE run_id = $1)
		ORDER BY step_id, number, id`, id)
	if err != nil {
		return store.DebugRun{}, nil, err
	}
	attempts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DebugAttempt, error) { return scanDebugAttempt(r) })
	if err != nil {
		return store.DebugRun{}, nil, err
	}
	for _, a := range attempts {
		i := index[a.StepID]
		steps[i].Attempts = append(steps[i].Attempts, a)
	}
	return r, steps, nil
}

// DeleteDebugRunsAfter deletes chatID's runs started at or after from and
// before before (a zero before is no upper bound), with their steps and
// attempts, and returns how many runs went.
func (db *DB) DeleteDebugRunsAfter(ctx context.Context, chatID string, from, before time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM debug_runs
		WHERE chat_id = $1 AND started_at >= $2 AND ($3::timestamptz IS NULL OR started_at < $3)`,
		chatID, from, nullTime(before))
	if err != nil {
		return 0, wrap(fmt.Sprintf("delete debug runs of chat %q from %v", chatID, from), err)
	}
	return tag.RowsAffected(), nil
}

// DeleteDebugRunsForChats deletes every run of chatIDs and returns how many
// went.
func (db *DB) DeleteDebugRunsForChats(ctx context.Context, chatIDs []string) (int64, error) {
	if len(chatIDs) == 0 {
		return 0, nil
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM debug_runs WHERE chat_id = ANY($1)`, chatIDs)
	if err != nil {
		return 0, wrap(fmt.Sprintf("delete debug runs of %d chats", len(chatIDs)), err)
	}
	return tag.RowsAffected(), nil
}

// FinalizeStaleDebugRuns ends every in_progress run not updated since
// before, and the in_progress steps of those runs, with status error and an
// "abandoned" summary and error. It returns how many runs it ended.
func (db *DB) FinalizeStaleDebugRuns(ctx context.Context, before time.Time) (int64, error) {
	msg := rowcodec.DebugAbandoned(before)
	var n int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the stale runs first so that a concurrent update of one of
		// them either lands before (and keeps it alive) or after (and finds
		// it final).
		rows, err := tx.Query(ctx, `SELECT id FROM debug_runs
			WHERE status = 'in_progress' AND updated_at < $1 ORDER BY id FOR UPDATE`, before)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `
			UPDATE debug_steps SET status = 'error', error = $2,
				finished_at = date_trunc('microseconds', now()), updated_at = now()
			WHERE status = 'in_progress' AND run_id = ANY($1)`, ids, msg); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE debug_runs SET status = 'error', summary = $2,
				finished_at = date_trunc('microseconds', now()), updated_at = now()
			WHERE status = 'in_progress' AND updated_at < $3 AND id = ANY($1)`, ids, msg, before)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, wrap("finalize stale debug runs", err)
	}
	return n, nil
}

// PurgeDebugRuns deletes runs started before the cutoff, with their steps
// and attempts, and returns how many runs went.
func (db *DB) PurgeDebugRuns(ctx context.Context, before time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM debug_runs WHERE started_at < $1`, before)
	if err != nil {
		return 0, wrap(fmt.Sprintf("purge debug runs before %v", before), err)
	}
	return tag.RowsAffected(), nil
}
