package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"

	"modernc.org/sqlite"
)

// openDB opens a pool on dsn. With n set, its connections count the
// statements they execute into n. The wrapper goes through sql.OpenDB
// and a driver.Connector rather than a driver registered under a name of
// its own: sql.Register is process-wide and permanent, and the counter
// belongs to one DB.
func openDB(dsn string, n *atomic.Int64) (*sql.DB, error) {
	if n == nil {
		return sql.Open("sqlite", dsn)
	}
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(countingConnector{Connector: base, n: n}), nil
}

// countingConnector opens the driver's connections wrapped in
// countingConn.
type countingConnector struct {
	driver.Connector
	n *atomic.Int64
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	fc, ok := conn.(fullConn)
	if !ok {
		_ = conn.Close()
		return nil, fmt.Errorf("count statements: %T lacks an optional driver interface", conn)
	}
	return &countingConn{c: fc, n: c.n}, nil
}

// fullConn is what every modernc.org/sqlite connection implements. The
// wrapper forwards all of it: hiding one makes database/sql fall back to
// context-free paths (see sqlite.NewConnector).
type fullConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// countingConn adds one to n for each statement it executes: each Exec
// and Query, direct or through a prepared statement, and each BEGIN,
// COMMIT and ROLLBACK. Preparing executes nothing and is not counted.
type countingConn struct {
	c fullConn
	n *atomic.Int64
}

var _ fullConn = (*countingConn)(nil)

// Unwrap lets the driver's helpers (sqlite.Limit) reach the connection.
func (c *countingConn) Unwrap() driver.Conn { return c.c }

func (c *countingConn) Close() error { return c.c.Close() }

func (c *countingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	fs, ok := s.(fullStmt)
	if !ok {
		_ = s.Close()
		return nil, fmt.Errorf("count statements: %T lacks an optional driver interface", s)
	}
	return &countingStmt{s: fs, n: c.n}, nil
}

func (c *countingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.n.Add(1)
	tx, err := c.c.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return countingTx{tx: tx, n: c.n}, nil
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.c.ExecContext(ctx, query, args)
	c.count(err)
	return r, err
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.c.QueryContext(ctx, query, args)
	c.count(err)
	return r, err
}

// count counts a direct Exec or Query unless the driver declined it
// (database/sql then prepares the statement, counted when it runs).
func (c *countingConn) count(err error) {
	if !errors.Is(err, driver.ErrSkip) {
		c.n.Add(1)
	}
}

func (c *countingConn) Ping(ctx context.Context) error { return c.c.Ping(ctx) }

func (c *countingConn) ResetSession(ctx context.Context) error { return c.c.ResetSession(ctx) }

func (c *countingConn) IsValid() bool { return c.c.IsValid() }

// countingTx counts the COMMIT or ROLLBACK that ends a transaction.
type countingTx struct {
	tx driver.Tx
	n  *atomic.Int64
}

func (t countingTx) Commit() error {
	t.n.Add(1)
	return t.tx.Commit()
}

func (t countingTx) Rollback() error {
	t.n.Add(1)
	return t.tx.Rollback()
}

// fullStmt is what every modernc.org/sqlite statement implements.
type fullStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// countingStmt counts each execution of a prepared statement.
type countingStmt struct {
	s fullStmt
	n *atomic.Int64
}

var _ fullStmt = (*countingStmt)(nil)

func (s *countingStmt) Close() error  { return s.s.Close() }
func (s *countingStmt) NumInput() int { return s.s.NumInput() }

// Exec and Query are driver.Stmt's context-free methods; database/sql
// uses the context ones below.

func (s *countingStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.n.Add(1)
	return s.s.Exec(args)
}

func (s *countingStmt) Query(args []driver.Value) (driver.Rows, error) {
	s.n.Add(1)
	return s.s.Query(args)
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.n.Add(1)
	return s.s.ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.n.Add(1)
	return s.s.QueryContext(ctx, args)
}
