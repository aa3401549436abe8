package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

type echoArgs struct{ N int }

func (echoArgs) Kind() string { return "test.echo" }

type echoWorker struct {
	river.WorkerDefaults[echoArgs]
	done chan int
}

func (w *echoWorker) Work(ctx context.Context, job *river.Job[echoArgs]) error {
	w.done <- job.Args.N
	return nil
}

// A job inserted in a transaction that rolls back never runs; one inserted in
// a committed transaction runs once.
func TestJobsFollowTheirTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ok, err := jobs.MigrationsCurrent(ctx, db)
		if err != nil || !ok {
			t.Fatalf("MigrationsCurrent = %v, %v", ok, err)
		}
		w := &echoWorker{done: make(chan int, 4)}
		workers := jobs.NewWorkers()
		jobs.Add(workers, river.Worker[echoArgs](w), 0)
		client, err := jobs.New(db, jobs.Config{Workers: 2, PollInterval: 20 * time.Millisecond}, workers, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := client.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Stop(context.Background()) })

		rollback := errors.New("rollback")
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := client.InsertTx(ctx, tx, echoArgs{N: 1}, nil); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := client.InsertTx(ctx, tx, echoArgs{N: 2}, nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-w.done:
			if n != 2 {
				t.Fatalf("ran job %d; the rolled-back job must never run", n)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("committed job did not run")
		}
		select {
		case n := <-w.done:
			t.Fatalf("unexpected second run of job %d", n)
		case <-time.After(200 * time.Millisecond):
		}
	})
}
