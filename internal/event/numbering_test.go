package event_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestNumbersNeverGoBack holds a transaction open after it recorded an
// event while another records one. On PostgreSQL the second neither waits
// for the first nor takes a number the first could undercut: it is
// numbered when it commits, the first when it commits, after it; a reader
// that saw the second finds the first above it.
func TestNumbersNeverGoBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Dialect == store.SQLite {
			t.Skip("SQLite has one writer, so transactions cannot interleave")
		}
		ctx := context.Background()
		p, _ := platform.NewService(db, time.Now).Create(ctx, "A")
		recorded, release, firstDone := make(chan string), make(chan struct{}), make(chan error, 1)
		go func() {
			firstDone <- db.InTx(ctx, func(tx *sql.Tx) error {
				e, err := event.Record(ctx, tx, time.Now(), p.ID, "payment.created", "pay_a", nil)
				if err != nil {
					close(recorded)
					return err
				}
				recorded <- e.ID
				<-release
				return nil
			})
		}()
		first, ok := <-recorded
		if !ok {
			t.Fatal(<-firstDone)
		}
		second := make(chan *event.Event, 1)
		go func() {
			var e *event.Event
			_ = db.InTx(ctx, func(tx *sql.Tx) error {
				var err error
				e, err = event.Record(ctx, tx, time.Now(), p.ID, "payment.created", "pay_b", nil)
				return err
			})
			if e != nil {
				e, _ = event.NewStore(db).Get(ctx, p.ID, e.ID)
			}
			second <- e
		}()
		var b *event.Event
		select {
		case b = <-second:
			if b == nil {
				t.Fatal("the second event was not recorded and numbered")
			}
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatal("the second transaction waited for the first, still open")
		}
		if b.Sequence != 1 {
			t.Errorf("the second event, the first committed, is number %d", b.Sequence)
		}
		events := event.NewStore(db)
		if l, _, _ := events.List(ctx, p.ID, event.Query{Page: store.Page{Limit: 10}}); len(l) != 1 || l[0].ID != b.ID {
			t.Fatalf("while the first is open the feed shows %v, want only %s", ids(l), b.ID)
		}
		close(release)
		if err := <-firstDone; err != nil {
			t.Fatal(err)
		}
		after := b.Sequence
		l, _, err := events.List(ctx, p.ID, event.Query{After: &after, Page: store.Page{Limit: 10}})
		if err != nil || len(l) != 1 || l[0].ID != first || l[0].Sequence != b.Sequence+1 {
			t.Fatalf("after %d the feed shows %+v, %v; want %s numbered %d", after, l, err, first, b.Sequence+1)
		}
	})
}

// TestNumberedInItsTransaction: a transaction that InTx does not run
// numbers its event itself and holds the platform's counter until it
// ends, so the next is numbered after it.
func TestNumberedInItsTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Dialect == store.SQLite {
			t.Skip("SQLite has one writer, so transactions cannot interleave")
		}
		ctx := context.Background()
		p, _ := platform.NewService(db, time.Now).Create(ctx, "A")
		first, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Rollback()
		a, err := event.Record(ctx, first, time.Now(), p.ID, "payment.created", "pay_a", nil)
		if err != nil || a.Sequence != 1 {
			t.Fatalf("Record = %+v, %v; want number 1 at once", a, err)
		}
		second := make(chan *event.Event, 1)
		go func() {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				second <- nil
				return
			}
			e, err := event.Record(ctx, tx, time.Now(), p.ID, "payment.created", "pay_b", nil)
			if err != nil || tx.Commit() != nil {
				e = nil
			}
			second <- e
		}()
		select {
		case e := <-second:
			t.Fatalf("second transaction recorded %+v while the first was open", e)
		case <-time.After(200 * time.Millisecond):
		}
		if err := first.Commit(); err != nil {
			t.Fatal(err)
		}
		if b := <-second; b == nil || b.Sequence != a.Sequence+1 {
			t.Fatalf("second event %+v after first %d", b, a.Sequence)
		}
	})
}

// TestTailingWhileManyRecord runs writers that record events of shared
// objects in transactions of random length while a reader tails the feed:
// every page the reader gets starts just above its cursor and has no
// holes, it reads every event once, and each object's events come in the
// order of their object numbers.
func TestTailingWhileManyRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p, _ := platform.NewService(db, time.Now).Create(ctx, "A")
		const writers, perWriter = 6, 40
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(7, uint64(w)))
				for range perWriter {
					// A transaction changes its objects in one order (by
					// id), as code that locks their rows does; one of them
					// may change twice.
					objs := []string{fmt.Sprintf("pay_%d", rng.IntN(8)), fmt.Sprintf("pay_%d", rng.IntN(8))}
					slices.Sort(objs)
					err := db.InTx(ctx, func(tx *sql.Tx) error {
						for _, obj := range objs[:1+rng.IntN(2)] {
							if _, err := event.Record(ctx, tx, time.Now(), p.ID, "payment.captured", obj, nil); err != nil {
								return err
							}
						}
						time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()

		events := event.NewStore(db)
		var cursor int64
		seen := map[string]bool{}
		lastOfObject := map[string]int64{}
		read := func() {
			for {
				page, more, err := events.List(ctx, p.ID, event.Query{After: &cursor, Page: store.Page{Limit: 50}})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page {
					if e.Sequence != cursor+1 {
						t.Fatalf("after %d the feed gave %d", cursor, e.Sequence)
					}
					if seen[e.ID] {
						t.Fatalf("%s read twice", e.ID)
					}
					if e.ObjectSequence <= lastOfObject[e.ObjectID] {
						t.Fatalf("%s: object number %d read after %d", e.ObjectID, e.ObjectSequence, lastOfObject[e.ObjectID])
					}
					seen[e.ID], lastOfObject[e.ObjectID], cursor = true, e.ObjectSequence, e.Sequence
				}
				if !more {
					return
				}
			}
		}
		for running := true; running; {
			select {
			case <-done:
				running = false
			case <-time.After(time.Millisecond):
			}
			read()
		}
		read()
		var total int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE platform_id = $1`, p.ID).Scan(&total); err != nil {
			t.Fatal(err)
		}
		if len(seen) != total || cursor != int64(total) {
			t.Fatalf("read %d events up to %d; %d were recorded", len(seen), cursor, total)
		}
	})
}

// TestSweepNumbersWhatADeadNodeLeft: events committed without a pass (their
// node died between the commit and the pass) are numbered by the sweep as
// it starts, above what was numbered before them.
func TestSweepNumbersWhatADeadNodeLeft(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p, _ := platform.NewService(db, time.Now).Create(ctx, "A")
		before := record(t, db, time.Now(), p.ID, "payment.created", "pay_1", nil)
		// What Record leaves on PostgreSQL when no pass follows.
		left := id.New(event.Prefix)
		if _, err := db.ExecContext(ctx, `INSERT INTO events (platform_id, id, type, seq, object_id, object_seq, data, created_at)
			VALUES ($1, $2, 'payment.succeeded', 0, 'pay_1', 2, 'null', $3)`, p.ID, left, store.TimeOf(time.Now())); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE event_sequences SET last = 2 WHERE platform_id = $1 AND object_id = 'pay_1'`, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := event.Get(ctx, db, p.ID, left); err == nil {
			t.Fatal("an unnumbered event is visible")
		}
		runCtx, cancel := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() { event.RunNumbering(runCtx, db, slog.New(slog.DiscardHandler)); close(stopped) }()
		defer func() { cancel(); <-stopped }()
		deadline := time.Now().Add(5 * time.Second)
		for {
			e, err := event.Get(ctx, db, p.ID, left) // reads, without asking for a pass
			if err == nil {
				if e.Sequence != before.Sequence+1 {
					t.Fatalf("the left event is number %d, after %d", e.Sequence, before.Sequence)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the sweep did not number the left event")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if next := record(t, db, time.Now(), p.ID, "payment.failed", "pay_1", nil); next.Sequence != before.Sequence+2 || next.ObjectSequence != 3 {
			t.Fatalf("the next event is numbered %d/%d", next.Sequence, next.ObjectSequence)
		}
	})
}

// TestNumberedSoonAfterCommit: with no reader asking and no sweep running,
// a committed event is numbered by the pass its commit asked for.
func TestNumberedSoonAfterCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p, _ := platform.NewService(db, time.Now).Create(ctx, "A")
		var e *event.Event
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			e, err = event.Record(ctx, tx, time.Now(), p.ID, "payment.created", "pay_1", nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, err := event.Get(ctx, db, p.ID, e.ID) // reads, without asking for a pass
			if err == nil && got.Sequence == 1 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("not numbered 5 s after its commit: %+v, %v", got, err)
			}
			time.Sleep(time.Millisecond)
		}
	})
}
