package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Live chat parts between replicas, over LISTEN/NOTIFY. The chat daemon
// finds PublishParts and ListenParts by type assertion; payloads are
// opaque here.

// PartsChannel is the NOTIFY channel of live chat parts. Notifications
// stay within a database, so deployments sharing a server do not mix.
const PartsChannel = "chatd_parts"

// MaxNotifyPayload is the largest NOTIFY payload PostgreSQL takes, in
// bytes (it refuses 8000 or more).
const MaxNotifyPayload = 7999

// Listener reconnection: the first retry comes soon, later ones back off.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 30 * time.Second
	// listenPing is how long the listener waits for a notification
	// before checking that its connection still answers: a connection
	// lost without a reset would otherwise look like a quiet one.
	listenPing = 30 * time.Second
)

// listenerName is the application_name of the listening connection, so
// that an operator can find it in pg_stat_activity.
const listenerName = "chatd-parts-listener"

// PublishParts sends each payload, in order, on PartsChannel, in one
// statement: every listening replica, this one included, receives them in
// that order. A payload longer than MaxNotifyPayload is store.ErrInvalid
// and nothing is sent.
func (db *DB) PublishParts(ctx context.Context, payloads []string) error {
	if len(payloads) == 0 {
		return nil
	}
	for _, p := range payloads {
		if len(p) > MaxNotifyPayload {
			return fmt.Errorf("publish parts: %w: a payload of %d bytes exceeds the %d NOTIFY takes", store.ErrInvalid, len(p), MaxNotifyPayload)
		}
	}
	// unnest yields the array in order, and notifications are delivered
	// in the order they were sent.
	if _, err := db.pool.Exec(ctx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS t(p)", PartsChannel, payloads); err != nil {
		return wrap("publish parts", err)
	}
	return nil
}

// ListenParts listens on PartsChannel over a connection of its own, outside
// the pool, and calls deliver with each payload until ctx ends. It calls
// listening each time LISTEN took effect; when the connection drops it
// logs a warning and reconnects, backing off from 100ms to 30s (what was
// sent meanwhile is lost). It returns ctx's error.
func (db *DB) ListenParts(ctx context.Context, listening func(), deliver func(payload string)) error {
	wait := listenRetryMin
	for {
		listened, err := db.listen(ctx, listening, deliver)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if listened {
			wait = listenRetryMin
		}
		db.log.Warn("postgres: listen for live chat parts; reconnecting", "error", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// listen runs one listening connection until it fails or ctx ends, and
// reports whether LISTEN took effect.
func (db *DB) listen(ctx context.Context, listening func(), deliver func(string)) (bool, error) {
	cc := db.pool.Config().ConnConfig
	// Not the pool's statements: the Statements hook counts those.
	cc.Tracer = nil
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	cc.RuntimeParams["application_name"] = listenerName
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+PartsChannel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	listening()
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			deliver(n.Payload)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
			// Quiet: check the connection still answers.
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		default:
			return true, fmt.Errorf("wait for notification: %w", err)
		}
	}
}
