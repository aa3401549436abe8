// Package jobstest leaves in River's tables what a killed Tender leaves
// there, for tests of how the survivors resume its work: jobs running under
// a client that no longer exists, and leadership held by it until its lease
// runs out. It writes through River's own driver, so the rows are exactly
// River's on either database.
package jobstest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/tenderpay/tender/internal/store"
)

func executor(db *store.DB) riverdriver.Executor {
	var d riverdriver.Driver[*sql.Tx] = riversqlite.New(db.DB)
	if db.Dialect == store.Postgres {
		d = riverdatabasesql.New(db.DB)
	}
	return d.GetExecutor()
}

// Orphan marks every job of kind that is waiting to run as a dead client's:
// running, on its first attempt, since attemptedAt, attempted by clientID.
// That is the row a process killed while working the job leaves. It returns
// the jobs' ids and fails the test if there are none.
func Orphan(tb testing.TB, db *store.DB, kind, clientID string, attemptedAt time.Time) []int64 {
	tb.Helper()
	ctx := context.Background()
	exec := executor(db)
	rows, err := exec.JobGetByKindMany(ctx, &riverdriver.JobGetByKindManyParams{Kind: []string{kind}})
	if err != nil {
		tb.Fatal(err)
	}
	var ids []int64
	at := attemptedAt.UTC()
	for _, j := range rows {
		if j.State != rivertype.JobStateAvailable && j.State != rivertype.JobStateScheduled && j.State != rivertype.JobStateRetryable {
			continue
		}
		_, err := exec.JobUpdateFull(ctx, &riverdriver.JobUpdateFullParams{ID: j.ID,
			StateDoUpdate: true, State: rivertype.JobStateRunning,
			AttemptDoUpdate: true, Attempt: 1,
			AttemptedAtDoUpdate: true, AttemptedAt: &at,
			AttemptedByDoUpdate: true, AttemptedBy: []string{clientID},
		})
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	if len(ids) == 0 {
		tb.Fatalf("no %s job waiting to run to orphan", kind)
	}
	return ids
}

// HoldLeadership makes clientID River's leader until expiresAt, as a leader
// killed just after renewing its lease leaves it.
func HoldLeadership(tb testing.TB, db *store.DB, clientID string, expiresAt time.Time) {
	tb.Helper()
	now := time.Now().UTC()
	exp := expiresAt.UTC()
	if _, err := executor(db).LeaderInsert(context.Background(), &riverdriver.LeaderInsertParams{
		LeaderID: clientID, ElectedAt: &now, ExpiresAt: &exp, TTL: exp.Sub(now),
	}); err != nil {
		tb.Fatal(err)
	}
}

// Leader returns the id of River's elected leader, or "" if there is none.
func Leader(tb testing.TB, db *store.DB) string {
	tb.Helper()
	l, err := executor(db).LeaderGetElectedLeader(context.Background(), &riverdriver.LeaderGetElectedLeaderParams{})
	if err != nil {
		return ""
	}
	return l.LeaderID
}

// Job returns the job with id.
func Job(tb testing.TB, db *store.DB, id int64) *rivertype.JobRow {
	tb.Helper()
	j, err := executor(db).JobGetByID(context.Background(), &riverdriver.JobGetByIDParams{ID: id})
	if err != nil {
		tb.Fatal(err)
	}
	return j
}
