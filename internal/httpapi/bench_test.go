package httpapi_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// These benchmarks put a price on idempotency in units of the database's own
// commit. Run them with
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench 'POSTPlatform|RawCommit' ./internal/httpapi/
//
// Without TEST_DATABASE_URL the postgres halves skip. docs/BENCHMARKS.md
// records the results.
//
// A commit's cost is mostly the disk's flush, which on a shared machine
// varies by several times from one second to the next, so comparing two
// benchmarks run a minute apart says little. BenchmarkPOSTPlatform therefore
// measures its own unit as it goes: every iteration commits one raw row and
// then sends one request, timing each, and reports the request's time as
// ns/op, the commit's as ns/commit, and their ratio as commits/op.

// benchDatabases opens a fresh, migrated database of each kind, exactly as
// the app's is opened (store.Open: SQLite as a file with WAL and
// synchronous=FULL; PostgreSQL with the server's settings, here
// synchronous_commit=on). With b.Loop a benchmark function runs once per
// -count, so each count gets its own database; storetest removes it after.
var benchDatabases = []struct {
	name string
	open func(testing.TB) *store.DB
}{
	{"sqlite", storetest.SQLite},
	{"postgres", storetest.Postgres},
}

// BenchmarkPOSTPlatform sends one POST /v1/platform per iteration to the
// whole app over loopback HTTP, sequentially on one keep-alive connection:
//
//   - idempotent: a fresh Idempotency-Key each time, so the key is claimed
//     (a transaction), the handler updates the platform (a transaction) and
//     the response is stored (an autocommit UPDATE): three commits.
//   - replay: the same key and body after the first, so each request is
//     answered from the stored response: reads only.
//   - no_key: no Idempotency-Key, so only the handler's transaction.
func BenchmarkPOSTPlatform(b *testing.B) {
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			b.Run("idempotent", func(b *testing.B) {
				env, commit := benchEnv(b, d.open(b))
				i := 0
				inCommits(b, commit, func() {
					i++
					postPlatform(b, env, "bench-"+strconv.Itoa(i), "")
				})
			})
			b.Run("replay", func(b *testing.B) {
				env, commit := benchEnv(b, d.open(b))
				postPlatform(b, env, "bench-replay", "")
				inCommits(b, commit, func() { postPlatform(b, env, "bench-replay", "true") })
			})
			b.Run("no_key", func(b *testing.B) {
				env, commit := benchEnv(b, d.open(b))
				inCommits(b, commit, func() { postPlatform(b, env, "", "") })
			})
		})
	}
}

// BenchmarkRawCommit is the unit alone: one INSERT of one small row into a
// scratch table, in its own transaction through store.DB.InTx.
func BenchmarkRawCommit(b *testing.B) {
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			commit := rawCommitter(b, d.open(b))
			for b.Loop() {
				commit()
			}
		})
	}
}

// benchEnv starts the app on db and returns it with a raw committer on the
// same database, so both share its file, connection pool and settings.
func benchEnv(b *testing.B, db *store.DB) (*apitest.Env, func()) {
	b.Helper()
	env := apitest.New(b, db, app.Config{})
	return env, rawCommitter(b, db)
}

// rawCommitter creates a scratch table in db and returns a function that
// commits one new row to it per call.
func rawCommitter(b *testing.B, db *store.DB) func() {
	b.Helper()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE bench_commit (id BIGINT PRIMARY KEY, note TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	var n int64
	return func() {
		n++
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO bench_commit (id, note) VALUES ($1, $2)`, n, "bench")
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// inCommits runs commit then op once per iteration and reports op's mean
// time as ns/op (replacing the loop's own, which counts both), commit's as
// ns/commit, and op's cost in commits, measured side by side.
func inCommits(b *testing.B, commit, op func()) {
	b.Helper()
	var inCommit, inOp time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		commit()
		t1 := time.Now()
		op()
		inOp += time.Since(t1)
		inCommit += t1.Sub(t0)
		n++
	}
	b.ReportMetric(float64(inOp.Nanoseconds())/float64(n), "ns/op")
	b.ReportMetric(float64(inCommit.Nanoseconds())/float64(n), "ns/commit")
	b.ReportMetric(float64(inOp)/float64(inCommit), "commits/op")
}

// postPlatform sends one POST /v1/platform with the Env's key and fails b
// unless it gets 200 with Idempotent-Replayed equal to replayed. Unlike
// Env.Do it does not check the response against the OpenAPI document: that
// check costs more than the request, and the tests make it.
func postPlatform(b *testing.B, env *apitest.Env, idempotencyKey, replayed string) {
	b.Helper()
	req, err := http.NewRequest("POST", env.Server.URL+"/v1/platform", strings.NewReader(`{"name":"Bench platform"}`))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+env.Key)
	req.Header.Set("Content-Type", "application/json")
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := env.Server.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Idempotent-Replayed") != replayed {
		b.Fatalf("POST /v1/platform: %d (Idempotent-Replayed %q, want %q): %s",
			resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), replayed, body)
	}
}
