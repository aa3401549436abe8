package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// cached returns the statements SQLite's one connection keeps.
func cached(t *testing.T, db *DB) []string {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var texts []string
	err = conn.Raw(func(dc any) error {
		c := dc.(*cachingConn)
		for el := c.order.Front(); el != nil; el = el.Next() {
			cs := el.Value.(*cachedStmt)
			if cs.busy {
				return fmt.Errorf("statement %q still busy", cs.text)
			}
			texts = append(texts, cs.text)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return texts
}

// TestStatementCache: SQLite's statements are prepared once per text and
// reused; a query run again while its rows are open gets a statement of
// its own; the cache stays bounded; a statement that fails to prepare is
// not kept; a statement prepared before a schema change sees the change.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "cache.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (x BIGINT)`); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO t (x) VALUES ($1)`
	for i := range 100 {
		if _, err := db.ExecContext(ctx, insert, i); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(strings.Join(cached(t, db), "\n"), insert); n != 1 {
		t.Fatalf("the insert is cached %d times, want once", n)
	}

	t.Run("a query again while its rows are open", func(t *testing.T) {
		const q = `SELECT x FROM t WHERE x < $1 ORDER BY x`
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, q, 3)
			if err != nil {
				return err
			}
			defer rows.Close()
			var got []string
			for rows.Next() {
				var x int64
				if err := rows.Scan(&x); err != nil {
					return err
				}
				var first int64
				if err := tx.QueryRowContext(ctx, q, 100).Scan(&first); err != nil {
					return err
				}
				got = append(got, fmt.Sprintf("%d/%d", x, first))
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if s := strings.Join(got, " "); s != "0/0 1/0 2/0" {
				return fmt.Errorf("read %q, want 0/0 1/0 2/0", s)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		cached(t, db) // and nothing is left busy
	})

	t.Run("bounded", func(t *testing.T) {
		for i := range statementsKept + 50 {
			var x int64
			if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT x + %d FROM t WHERE x = $1`, i), 1).Scan(&x); err != nil {
				t.Fatal(err)
			}
			if x != int64(i+1) {
				t.Fatalf("query %d read %d", i, x)
			}
		}
		if n := len(cached(t, db)); n != statementsKept {
			t.Fatalf("%d statements kept, want %d", n, statementsKept)
		}
	})

	t.Run("a statement that does not prepare", func(t *testing.T) {
		const bad = `SELEC x FROM t`
		for range 2 {
			if _, err := db.ExecContext(ctx, bad); err == nil {
				t.Fatal("a syntax error ran")
			}
		}
		for _, s := range cached(t, db) {
			if s == bad {
				t.Fatal("a statement that failed to prepare was kept")
			}
		}
	})

	t.Run("schema change", func(t *testing.T) {
		const all = `SELECT * FROM u`
		columns := func() int {
			rows, err := db.QueryContext(ctx, all)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cols, err := rows.Columns()
			if err != nil {
				t.Fatal(err)
			}
			return len(cols)
		}
		if _, err := db.ExecContext(ctx, `CREATE TABLE u (a BIGINT); INSERT INTO u VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		if n := columns(); n != 1 {
			t.Fatalf("%d columns, want 1", n)
		}
		if _, err := db.ExecContext(ctx, `ALTER TABLE u ADD COLUMN b BIGINT NOT NULL DEFAULT 7`); err != nil {
			t.Fatal(err)
		}
		if n := columns(); n != 2 {
			t.Fatalf("after adding a column: %d columns, want 2", n)
		}
	})
}
