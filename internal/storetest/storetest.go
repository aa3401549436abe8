// Package storetest opens real, migrated, isolated databases for tests: a
// fresh SQLite file always, and a fresh PostgreSQL schema when
// TEST_DATABASE_URL is set. Tests written once with Each run on both; there
// are no fakes of the database.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/store"
)

// migrate brings a fresh database to the schema Tender runs on: its own
// tables and River's.
func migrate(ctx context.Context, db *store.DB) error {
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	_, err := jobs.Migrate(ctx, db)
	return err
}

// Each runs fn as a subtest on every available database: "sqlite" always,
// "postgres" when TEST_DATABASE_URL is set (skipped with a message otherwise).
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a migrated database in a new file under tb.TempDir.
func SQLite(tb testing.TB) *store.DB {
	tb.Helper()
	return open(tb, "sqlite:"+filepath.Join(tb.TempDir(), "tender.db"))
}

// Postgres returns a migrated database in a new schema of TEST_DATABASE_URL,
// dropped when the test ends.
func Postgres(tb testing.TB) *store.DB {
	tb.Helper()
	return open(tb, PostgresSchemaURL(tb, PostgresURL(tb)))
}

// PostgresNodes returns n connection pools on one new migrated schema of
// TEST_DATABASE_URL, as n Tender nodes sharing one PostgreSQL have.
func PostgresNodes(tb testing.TB, n int) []*store.DB {
	tb.Helper()
	url := PostgresSchemaURL(tb, PostgresURL(tb))
	dbs := make([]*store.DB, n)
	for i := range dbs {
		dbs[i] = open(tb, url) // migrating again finds nothing to do
	}
	return dbs
}

// PostgresURL returns TEST_DATABASE_URL. When it is unset the test is
// skipped with a message, except under CI (CI=true), where a skipped
// PostgreSQL test would hide that half the suite never ran: there it fails.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base != "" {
		return base
	}
	const how = "set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable); .ci/run does"
	if os.Getenv("CI") == "true" {
		tb.Fatal("PostgreSQL tests cannot run under CI: " + how)
	}
	tb.Skip("PostgreSQL tests skipped: " + how)
	return ""
}

// PostgresSchemaURL creates an empty schema in the database at base, drops
// it when tb ends, and returns a URL whose connections use it.
func PostgresSchemaURL(tb testing.TB, base string) string {
	tb.Helper()
	ctx := context.Background()
	admin, err := store.Open(ctx, base, store.Options{MaxConns: 2})
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	schema := "tender_test_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(tb testing.TB, rawURL string) *store.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, rawURL, store.Options{MaxConns: 8})
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := migrate(ctx, db); err != nil {
		tb.Fatalf("migrate test database: %v", err)
	}
	return db
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
