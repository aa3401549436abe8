package jobs_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/jobstest"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

const poll = 20 * time.Millisecond

// startEcho starts a client on db running echo jobs, and returns it with
// the channel each run reports on.
func startEcho(t *testing.T, db *store.DB) (*jobs.Client, chan int) {
	t.Helper()
	w := &echoWorker{done: make(chan int, 4)}
	workers := jobs.NewWorkers()
	jobs.Add(workers, river.Worker[echoArgs](w), 0)
	client, err := jobs.New(db, jobs.Config{Workers: 2, PollInterval: poll}, workers, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Stop(context.Background()) })
	return client, w.done
}

func insertEcho(t *testing.T, db *store.DB, client *jobs.Client, n int) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		_, err := client.InsertTx(context.Background(), tx, echoArgs{N: n}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// awaitResumed waits for the orphaned job to run and complete, failing the
// test if that takes longer than the documented bound from killed.
func awaitResumed(t *testing.T, db *store.DB, done chan int, id int64, killed time.Time) {
	t.Helper()
	bound := killed.Add(jobs.ResumeWithin(poll))
	select {
	case <-done:
	case <-time.After(time.Until(bound)):
		t.Fatalf("job %d not resumed within %s of the kill: %+v", id, jobs.ResumeWithin(poll), jobstest.Job(t, db, id))
	}
	for time.Now().Before(bound.Add(10 * time.Second)) {
		if j := jobstest.Job(t, db, id); j.State == rivertype.JobStateCompleted {
			return
		}
		time.Sleep(poll)
	}
	t.Fatalf("job %d ran but was not recorded completed: %+v", id, jobstest.Job(t, db, id))
}

// A job a killed process left running (attempted by a client that is gone,
// since long enough to be rescued) is run again by the next client to
// start, within the documented bound, at once rather than after a retry's
// backoff.
func TestJobOrphanedByAKilledProcessResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		client, done := startEcho(t, db)
		insertEcho(t, db, client, 7)
		killed := time.Now()
		ids := jobstest.Orphan(t, db, echoArgs{}.Kind(), "tender_killed", killed.Add(-jobs.RescueAfter))
		if err := client.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		awaitResumed(t, db, done, ids[0], killed)
	})
}

// On PostgreSQL several Tenders share the work: one that dies holding
// River's leadership, with a job running, is replaced as leader by another
// once its lease runs out, and that one rescues its job.
func TestDeadLeadersJobResumesOnAnotherNode(t *testing.T) {
	db := storetest.Postgres(t)
	client, done := startEcho(t, db)
	insertEcho(t, db, client, 8)
	killed := time.Now()
	// Killed just after renewing its lease, the worst case.
	jobstest.HoldLeadership(t, db, "tender_dead_leader", killed.Add(jobs.LeaderTTL))
	ids := jobstest.Orphan(t, db, echoArgs{}.Kind(), "tender_dead_leader", killed.Add(-jobs.RescueAfter))
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	awaitResumed(t, db, done, ids[0], killed)
	if l := jobstest.Leader(t, db); l == "tender_dead_leader" || l == "" {
		t.Errorf("leader = %q; the surviving node should have taken over", l)
	}
}

// A kind whose timeout would let a live run reach the rescue threshold is
// refused: two runs of one job at once must not come from River itself.
func TestTimeoutTooCloseToRescueIsRefused(t *testing.T) {
	db := storetest.SQLite(t)
	workers := jobs.NewWorkers()
	jobs.Add(workers, river.Worker[echoArgs](&echoWorker{}), jobs.RescueAfter-jobs.RescueMargin+time.Second)
	if _, err := jobs.New(db, jobs.Config{}, workers, nil); !errs.Is(err, errs.Invalid) {
		t.Fatalf("New = %v, want invalid", err)
	}
}
