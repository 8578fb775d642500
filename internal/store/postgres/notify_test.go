package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/store/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// openURL opens a store on url, closed when t ends; several may share a
// database, as replicas do.
func openURL(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), postgres.Config{URL: url, Logger: discard()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// listener runs db.ListenParts until t ends, reporting each LISTEN on
// listening and each payload on got.
func listener(t *testing.T, db *postgres.DB) (listening <-chan struct{}, got <-chan string) {
	t.Helper()
	l := make(chan struct{}, 16)
	g := make(chan string, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		err := db.ListenParts(ctx, func() { l <- struct{}{} }, func(p string) { g <- p })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ListenParts = %v, want context.Canceled", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return l, g
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s within 20s", what)
	}
	var zero T
	return zero
}

// TestPublishPartsInOrder: every listener, the publisher's own included,
// gets the payloads of a call in order, the largest NOTIFY takes among
// them; a longer one is refused before anything is sent.
func TestPublishPartsInOrder(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	db, other := openURL(t, url), openURL(t, url)
	ownUp, own := listener(t, db)
	otherUp, others := listener(t, other)
	wait(t, ownUp, "LISTEN")
	wait(t, otherUp, "LISTEN")

	largest := strings.Repeat("é", (postgres.MaxNotifyPayload-1)/2) + "x"
	if len(largest) != postgres.MaxNotifyPayload {
		t.Fatalf("test payload has %d bytes", len(largest))
	}
	want := []string{`{"n":1}`, largest, `{"n":3}`}
	if err := db.PublishParts(t.Context(), want); err != nil {
		t.Fatalf("PublishParts: %v", err)
	}
	for name, ch := range map[string]<-chan string{"own": own, "other": others} {
		for i, w := range want {
			if got := wait(t, ch, name+" payload"); got != w {
				t.Fatalf("%s listener: payload %d = %.40q (%d bytes), want %.40q (%d bytes)", name, i, got, len(got), w, len(w))
			}
		}
	}

	err := db.PublishParts(t.Context(), []string{"fits", largest + "y"})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("PublishParts with %d bytes = %v, want ErrInvalid", len(largest)+1, err)
	}
	if err := db.PublishParts(t.Context(), []string{"after"}); err != nil {
		t.Fatalf("PublishParts: %v", err)
	}
	if got := wait(t, own, "payload"); got != "after" {
		t.Fatalf("after a refused call got %q: part of it was sent", got)
	}
}

// TestListenPartsReconnects: when the listening connection is killed, the
// listener connects again, says so, and gets what is sent afterwards.
func TestListenPartsReconnects(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	db := openURL(t, url)
	up, got := listener(t, db)
	wait(t, up, "LISTEN")

	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var killed int
	err = conn.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'chatd-parts-listener'`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate the listener: killed %d, %v", killed, err)
	}
	wait(t, up, "LISTEN again")
	if err := db.PublishParts(t.Context(), []string{"back"}); err != nil {
		t.Fatalf("PublishParts: %v", err)
	}
	if p := wait(t, got, "payload"); p != "back" {
		t.Fatalf("payload = %q, want %q", p, "back")
	}
}
