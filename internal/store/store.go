// Package store owns Tender's database: opening SQLite or PostgreSQL behind
// database/sql, the embedded migrations, transactions, and the few places
// where the two dialects differ. Feature packages keep their queries beside
// the types they read and write, through this package's DB and Querier.
// One SQL code path serves both databases: statements use $1 placeholders,
// which both accept, and portable types (TEXT, BIGINT, BOOLEAN). Times are
// stored as BIGINT microseconds since the Unix epoch (see Time), so ordering
// and comparison behave the same on both. Where a statement must differ, the
// difference lives behind Dialect and is tested on both databases.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
)

// Dialect names the database behind a DB.
type Dialect string

// The supported databases.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is Tender's handle on its database.
type DB struct {
	*sql.DB
	Dialect Dialect
	// Location is where the data lives, for humans: a file path or a
	// PostgreSQL URL with its password removed.
	Location string
}

// Querier is what both *sql.DB and *sql.Tx offer, so query functions can run
// inside or outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Options tune the connection pool.
type Options struct {
	// MaxConns bounds PostgreSQL connections (default 20). SQLite always uses
	// one connection: it has a single writer, and one connection avoids
	// SQLITE_BUSY between Tender's own goroutines.
	MaxConns int
}

// ParseURL tells which database a TENDER_DATABASE_URL value names. Accepted:
// "postgres://…" or "postgresql://…", "sqlite:PATH", "file:PATH", or a bare
// file path (SQLite).
func ParseURL(raw string) (Dialect, string, error) {
	switch {
	case raw == "":
		return "", "", errors.New("empty database URL")
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", fmt.Errorf("invalid PostgreSQL URL: %v", err)
		}
		return Postgres, raw, nil
	case strings.HasPrefix(raw, "sqlite://"):
		return SQLite, strings.TrimPrefix(raw, "sqlite://"), nil
	case strings.HasPrefix(raw, "sqlite:"):
		return SQLite, strings.TrimPrefix(raw, "sqlite:"), nil
	case strings.HasPrefix(raw, "file:"):
		return SQLite, strings.TrimPrefix(raw, "file:"), nil
	case strings.Contains(raw, "://"):
		return "", "", fmt.Errorf("unsupported database URL scheme in %q", redact(raw))
	default:
		return SQLite, raw, nil
	}
}

// Open connects to the database named by rawURL and checks that it answers.
// It does not migrate.
func Open(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	dialect, target, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	switch dialect {
	case Postgres:
		return openPostgres(ctx, target, opts)
	default:
		return openSQLite(ctx, target)
	}
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("empty SQLite path")
	}
	if path != ":memory:" {
		dir := filepath.Dir(path)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("cannot use SQLite database %s: directory %s does not exist", path, dir)
		}
	}
	// WAL lets readers run beside the writer; synchronous=FULL makes every
	// commit durable before it returns (money must survive a power cut);
	// BEGIN IMMEDIATE takes the write lock up front so two processes (serve
	// and `tender apikey`) wait on busy_timeout instead of failing mid-tx.
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	base, err := sqlite.NewConnector("file:" + path + "?" + q.Encode())
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(cachingConnector{base}) // see stmtcache.go
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := ping(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot open SQLite database %s: %w", path, err)
	}
	// A read-only file or directory is only discovered on the first write.
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS tender_write_check (x INTEGER); DROP TABLE tender_write_check`); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot write SQLite database %s: %w", path, err)
	}
	return &DB{DB: db, Dialect: SQLite, Location: path}, nil
}

func openPostgres(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, err
	}
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = 20
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := ping(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", redact(rawURL), err)
	}
	return &DB{DB: db, Dialect: Postgres, Location: redact(rawURL)}, nil
}

func ping(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// redact removes the password from a database URL so it can be printed.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// InTx runs fn inside a transaction, committing if fn returns nil and rolling
// back otherwise. What fn registered with OnCommit runs after the commit.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	st := &txState{db: db}
	txStates.Store(tx, st)
	defer txStates.Delete(tx)
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, f := range st.hooks {
		f()
	}
	return nil
}

// txState is what InTx knows of a transaction it runs: its database and
// what OnCommit registered. A transaction runs in one goroutine at a time,
// so the slice needs no lock.
type txState struct {
	db    *DB
	hooks []func()
	once  map[any]bool
}

// txStates holds, by transaction, the state of those InTx is running.
var txStates sync.Map

// OnCommit makes f run once tx, begun by InTx, has committed; never if it
// rolls back, nor if tx was not begun by InTx. It is for what may only be
// known once the transaction's writes are visible to every other: an
// in-memory cache of rows it wrote, or numbering its events.
func OnCommit(tx *sql.Tx, f func()) {
	if st, ok := txStates.Load(tx); ok {
		st := st.(*txState)
		st.hooks = append(st.hooks, f)
	}
}

// OnCommitOnce is OnCommit, except that f is not registered if a hook was
// already registered under key in tx: for what must run once per
// transaction however many of its changes ask for it.
func OnCommitOnce(tx *sql.Tx, key any, f func()) {
	v, ok := txStates.Load(tx)
	if !ok {
		return
	}
	st := v.(*txState)
	if st.once[key] {
		return
	}
	if st.once == nil {
		st.once = map[any]bool{}
	}
	st.once[key] = true
	st.hooks = append(st.hooks, f)
}

// DBOf returns the database of tx when InTx runs it, else nil.
func DBOf(tx *sql.Tx) *DB {
	if st, ok := txStates.Load(tx); ok {
		return st.(*txState).db
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation, on
// either database.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	// pgx: SQLSTATE 23505; modernc sqlite: "constraint failed: UNIQUE
	// constraint failed" (extended code 2067) or PRIMARY KEY (1555).
	return strings.Contains(msg, "SQLSTATE 23505") ||
		strings.Contains(msg, "UNIQUE constraint failed") ||
		strings.Contains(msg, "(1555)") || strings.Contains(msg, "(2067)")
}
