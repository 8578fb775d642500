// Package pgtest gives each test its own throwaway PostgreSQL database on the
// server named by CHATD_TEST_POSTGRES_URL.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable naming the server tests may use. Its
// database is only used to create and drop per-test databases.
const EnvURL = "CHATD_TEST_POSTGRES_URL"

// SkipMessage is what tests print when EnvURL is unset.
const SkipMessage = "PostgreSQL tests skipped: set " + EnvURL + "=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable to run them"

// ReportSkip prints SkipMessage when EnvURL is unset. Call it from
// TestMain: t.Skip's message only shows with go test -v, and a silent skip
// looks like a pass.
//
// It goes to standard error, which go test shows with -v or when run in
// the package's directory; .ci/run always sets the variable.
func ReportSkip() {
	if os.Getenv(EnvURL) != "" {
		return
	}
	fmt.Fprintln(os.Stderr, SkipMessage)
}

// NewDatabase creates a uniquely named, empty database for t and returns its
// URL. The database is dropped (forcibly, closing any connections left
// open) when t and its subtests finish. Without CHATD_TEST_POSTGRES_URL the
// test is skipped.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		t.Skip(SkipMessage)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvURL, err)
	}

	name := randomName(t)

	exec(t, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() {
		exec(t, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})

	u.Path = "/" + name
	return u.String()
}

// NewSchema creates a uniquely named, empty schema in the database at
// dbURL (typically from NewDatabase) and returns dbURL with the schema as
// its search_path, so everything created through it lands in the schema.
// The schema is dropped when t finishes. It is much cheaper than
// NewDatabase, for suites that need many empty stores.
func NewSchema(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("parse database URL: %v", err)
	}
	name := randomName(t)
	exec(t, dbURL, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() {
		exec(t, dbURL, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
	})
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// randomName returns a fresh chatd_test_ identifier.
func randomName(t testing.TB) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random name: %v", err)
	}
	return "chatd_test_" + hex.EncodeToString(b[:])
}

// exec runs one statement over a short-lived connection, so tests leave no
// pool behind.
func exec(t testing.TB, connURL, sql string) {
	t.Helper()
	// Cleanups run after the test's context is canceled, so use our own.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
