package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in      string
		dialect store.Dialect
		target  string
		wantErr bool
	}{
		{"postgres://u@h/db", store.Postgres, "postgres://u@h/db", false},
		{"postgresql://u@h/db", store.Postgres, "postgresql://u@h/db", false},
		{"sqlite:./tender.db", store.SQLite, "./tender.db", false},
		{"sqlite:///var/lib/tender.db", store.SQLite, "/var/lib/tender.db", false},
		{"file:data.db", store.SQLite, "data.db", false},
		{"tender.db", store.SQLite, "tender.db", false},
		{"mysql://x", "", "", true},
		{"", "", "", true},
	}
	for _, tt := range tests {
		d, target, err := store.ParseURL(tt.in)
		if (err != nil) != tt.wantErr || d != tt.dialect || target != tt.target {
			t.Errorf("ParseURL(%q) = %q, %q, %v", tt.in, d, target, err)
		}
	}
}

func TestOpenSQLiteErrors(t *testing.T) {
	ctx := context.Background()
	_, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "missing", "x.db"), store.Options{})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing directory: got %v", err)
	}
	if os.Geteuid() != 0 { // root writes anywhere
		dir := t.TempDir()
		os.Chmod(dir, 0o500)
		defer os.Chmod(dir, 0o700)
		if _, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "x.db"), store.Options{}); err == nil {
			t.Fatal("read-only directory: want error")
		}
	}
}

func TestOpenPostgresUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := store.Open(ctx, "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2", store.Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot reach PostgreSQL") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("got %v; want a clear error without the password", err)
	}
}

func TestMigrationsAndPortableSQL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ok, err := db.MigrationsCurrent(ctx)
		if err != nil || !ok {
			t.Fatalf("MigrationsCurrent = %v, %v", ok, err)
		}
		st, err := db.MigrationStatus(ctx)
		if err != nil || len(st) == 0 || !st[0].Applied {
			t.Fatalf("MigrationStatus = %+v, %v", st, err)
		}
		if n, err := db.Migrate(ctx); err != nil || n != 0 {
			t.Fatalf("second Migrate applied %d, %v; want 0, nil", n, err)
		}

		// Times round-trip exactly; booleans and $n placeholders work.
		now := store.TimeOf(time.Now())
		pid := id.New(id.Platform)
		_, err = db.ExecContext(ctx, `INSERT INTO platforms (id, name, is_default, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`, pid, "P", false, now)
		if err != nil {
			t.Fatal(err)
		}
		var got store.Time
		var isDefault bool
		if err := db.QueryRowContext(ctx, `SELECT created_at, is_default FROM platforms WHERE id = $1`, pid).Scan(&got, &isDefault); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(now.Time) || isDefault {
			t.Fatalf("round trip: %v %v, want %v false", got, isDefault, now)
		}
		_, err = db.ExecContext(ctx, `INSERT INTO platforms (id, name, is_default, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`, pid, "dup", false, now)
		if !store.IsUniqueViolation(err) {
			t.Fatalf("duplicate id: %v is not a unique violation", err)
		}
		if store.IsUniqueViolation(errors.New("other")) {
			t.Fatal("any error is a unique violation")
		}
	})
}

func TestInTxRollsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO platforms (id, name, created_at, updated_at) VALUES ($1, 'x', 1, 1)`, id.New(id.Platform))
			if err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		var n int
		db.QueryRowContext(ctx, `SELECT count(*) FROM platforms`).Scan(&n)
		if n != 0 {
			t.Fatalf("rolled back tx left %d rows", n)
		}
	})
}

func TestPageClause(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ids []string
		for i := range 5 {
			pid := id.New(id.Platform)
			ids = append(ids, pid)
			if _, err := db.ExecContext(ctx, `INSERT INTO platforms (id, name, created_at, updated_at) VALUES ($1, $2, 1, 1)`, pid, fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond) // ids are ordered by millisecond
		}
		list := func(p store.Page) ([]string, bool) {
			cond, tail, arg := p.Clause("id", 1)
			args := []any{}
			q := `SELECT id FROM platforms WHERE 1=1`
			if arg != nil {
				args = append(args, arg)
			}
			rows, err := db.QueryContext(ctx, q+cond+tail, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var s string
				rows.Scan(&s)
				out = append(out, s)
			}
			return store.Trim(p, out)
		}
		page, more := list(store.Page{Limit: 2})
		if !more || len(page) != 2 || page[0] != ids[4] || page[1] != ids[3] {
			t.Fatalf("first page %v %v", page, more)
		}
		page, more = list(store.Page{Limit: 2, StartingAfter: ids[1]})
		if more || len(page) != 1 || page[0] != ids[0] {
			t.Fatalf("last page %v %v", page, more)
		}
		page, more = list(store.Page{Limit: 2, EndingBefore: ids[1]})
		if !more || len(page) != 2 || page[0] != ids[3] || page[1] != ids[2] {
			t.Fatalf("ending_before page %v %v", page, more)
		}
	})
}

// TestOnCommitOnceAndDBOf: a hook under a key is registered once per
// transaction, and a transaction InTx runs knows its database; one begun
// otherwise knows none and runs no hooks.
func TestOnCommitOnceAndDBOf(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		type key struct{}
		runs := 0
		for range 2 {
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				if store.DBOf(tx) != db {
					t.Error("DBOf does not know InTx's transaction")
				}
				for range 3 {
					store.OnCommitOnce(tx, key{}, func() { runs++ })
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if runs != 2 {
			t.Fatalf("a hook registered thrice in each of two transactions ran %d times, want 2", runs)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		store.OnCommit(tx, func() { runs++ })
		if store.DBOf(tx) != nil {
			t.Error("DBOf knows a transaction InTx does not run")
		}
		if err := tx.Commit(); err != nil || runs != 2 {
			t.Fatalf("commit %v; hooks ran %d times", err, runs)
		}
	})
}

// TestOnCommit: what a transaction registers runs after it commits, in
// order, and never when it rolls back.
func TestOnCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ran []string
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			store.OnCommit(tx, func() { ran = append(ran, "rolled back") })
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			store.OnCommit(tx, func() { ran = append(ran, "first") })
			store.OnCommit(tx, func() { ran = append(ran, "second") })
			if len(ran) != 0 {
				t.Error("a hook ran before the commit")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ran, ", "); got != "first, second" {
			t.Fatalf("ran %q, want first, second", got)
		}
	})
}

// TestDeleteInBatches: rows are deleted a batch at a time until a batch
// comes short, all of them and only those the query picks.
func TestDeleteInBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE doomed (id BIGINT PRIMARY KEY, keep BOOLEAN NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		for i := range 23 {
			if _, err := db.ExecContext(ctx, `INSERT INTO doomed (id, keep) VALUES ($1, $2)`, i, i%5 == 0); err != nil {
				t.Fatal(err)
			}
		}
		n, err := store.DeleteInBatches(ctx, db, 4, `DELETE FROM doomed WHERE id IN (SELECT id FROM doomed WHERE keep = $1 LIMIT $2)`, false)
		if err != nil || n != 18 {
			t.Fatalf("deleted %d: %v", n, err)
		}
		var left int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM doomed WHERE keep`).Scan(&left); err != nil || left != 5 {
			t.Errorf("%d kept: %v", left, err)
		}
	})
}
