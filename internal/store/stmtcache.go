package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
)

// SQLite parses every statement it runs, and the driver prepares each
// query afresh: in a profile of BenchmarkPayments parsing was a quarter
// of all CPU. cachingConnector keeps each connection's prepared
// statements by their text and runs a repeated query on the one already
// prepared, which the driver resets between uses. PostgreSQL needs none
// of this: pgx keeps prepared statements itself.
//
// A statement is used by one query at a time: while its rows are open
// (a caller reading them may run the same query again on the same
// connection, in a transaction) a second use prepares a statement of its
// own, closed after. The cache is bounded (statementsKept) so that
// statements built with a varying number of values do not pile up.

// statementsKept is how many prepared statements a connection keeps.
const statementsKept = 256

// cachingConnector opens connections that keep their statements.
type cachingConnector struct{ driver.Connector }

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	for _, need := range []bool{
		implements[driver.ExecerContext](conn), implements[driver.QueryerContext](conn),
		implements[driver.ConnPrepareContext](conn), implements[driver.ConnBeginTx](conn),
	} {
		if !need {
			conn.Close()
			return nil, errors.New("store: the SQLite driver's connection lacks a context method the statement cache relies on")
		}
	}
	return &cachingConn{Conn: conn, byText: map[string]*list.Element{}, order: list.New()}, nil
}

func implements[T any](v any) bool { _, ok := v.(T); return ok }

// cachingConn is a connection with its statements. database/sql never
// uses a connection from two goroutines at once, so it has no lock.
type cachingConn struct {
	driver.Conn
	byText map[string]*list.Element // of *cachedStmt, most recently used first
	order  *list.List
}

type cachedStmt struct {
	text string
	stmt driver.Stmt
	busy bool // its rows are open
	// evicted: dropped from the cache while busy, closed when released.
	evicted bool
}

// stmtFor returns a statement for text and the function that gives it
// back once the caller is done with it (for a query, once its rows are
// closed).
func (c *cachingConn) stmtFor(ctx context.Context, text string) (driver.Stmt, func() error, error) {
	if el, ok := c.byText[text]; ok {
		cs := el.Value.(*cachedStmt)
		if !cs.busy {
			c.order.MoveToFront(el)
			cs.busy = true
			return cs.stmt, func() error { return c.release(cs) }, nil
		}
		s, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, text)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil // a one-off beside the busy one
	}
	s, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, text)
	if err != nil {
		return nil, nil, err
	}
	cs := &cachedStmt{text: text, stmt: s, busy: true}
	c.byText[text] = c.order.PushFront(cs)
	if c.order.Len() > statementsKept {
		c.evict(c.order.Back())
	}
	return s, func() error { return c.release(cs) }, nil
}

func (c *cachingConn) release(cs *cachedStmt) error {
	cs.busy = false
	if cs.evicted {
		return cs.stmt.Close()
	}
	return nil
}

func (c *cachingConn) evict(el *list.Element) {
	cs := c.order.Remove(el).(*cachedStmt)
	delete(c.byText, cs.text)
	cs.evicted = true
	if !cs.busy {
		_ = cs.stmt.Close()
	}
}

// ExecContext implements driver.ExecerContext.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, release, err := c.stmtFor(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := s.(driver.StmtExecContext).ExecContext(ctx, args)
	return res, errors.Join(err, release())
}

// QueryContext implements driver.QueryerContext.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, release, err := c.stmtFor(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := s.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, errors.Join(err, release())
	}
	return &releasingRows{Rows: rows, release: release}, nil
}

// releasingRows gives its statement back when closed.
type releasingRows struct {
	driver.Rows
	release func() error
}

func (r *releasingRows) Close() error {
	err := r.Rows.Close()
	if r.release != nil {
		err = errors.Join(err, r.release())
		r.release = nil
	}
	return err
}

// PrepareContext implements driver.ConnPrepareContext: a statement the
// caller prepares is its own, not cached.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

// BeginTx implements driver.ConnBeginTx.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

// Ping implements driver.Pinger.
func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession implements driver.SessionResetter.
func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid implements driver.Validator.
func (c *cachingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// Close closes the connection's statements, then the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for el := c.order.Front(); el != nil; el = el.Next() {
		errs = append(errs, el.Value.(*cachedStmt).stmt.Close())
	}
	c.byText, c.order = nil, list.New()
	return errors.Join(append(errs, c.Conn.Close())...)
}
