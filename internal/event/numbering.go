package event

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/tenderpay/tender/internal/store"
)

// Numbering events after commit (PostgreSQL).
//
// A platform's sequence must never show a consumer a number below one it
// has already seen. Numbering inside the recording transaction meets that
// by holding the platform's counter row until commit, which makes every
// transaction that records an event wait for the previous one's commit:
// measured at 18 of 23 ms of a payment's final move under load. Instead an
// event is written with seq 0 (invisible to readers), and a pass numbers
// committed events: it locks the counter row, reads every unnumbered event
// (a statement that starts after the lock, so it sees what an earlier pass
// numbered as numbered), numbers them above the counter and commits. Only
// committed events are numbered, and numbers are handed out under the lock
// in increasing order, so what a reader sees is always 1..N without holes
// (pruning aside) and what it sees next is above N. Passes are few:
// transactions that commit while one runs wait together for the next.
//
// A pass runs soon after a commit, in the background, gathering the
// commits of a few milliseconds; before a read of the feed that would
// miss events committed but not numbered (so a client that made a change
// finds its event); and every SweepEvery on every node, for events whose
// node died between commit and pass.

// SweepEvery is how often RunNumbering numbers what no pass did.
const SweepEvery = time.Second

// passTimeout bounds one numbering pass; a pass cut short leaves its events
// to the next.
const passTimeout = 10 * time.Second

// numberRows bounds the rows one UPDATE numbers (2 arguments each).
const numberRows = 200

// numberAfterCommit arranges for tx's events to be numbered soon after it
// commits. The committing goroutine does not wait: a change's caller never
// pays for numbering, and a reader of the feed asks for a pass itself
// (see awaitNumbered).
func numberAfterCommit(tx *sql.Tx, db *store.DB) {
	store.OnCommitOnce(tx, numberKey{}, func() { numbererOf(db).poke(db) })
}

type numberKey struct{}

// gatherFor is how long a pass that a commit asked for waits for more
// commits to number with it: far below what a consumer of the feed could
// notice, and enough that under load one pass numbers many events.
const gatherFor = 5 * time.Millisecond

// numberer runs the passes of one database, one at a time, in a goroutine
// that lives while there is work: commits mark it dirty, and readers wait
// for the end of a pass that started after they asked.
type numberer struct {
	mu      sync.Mutex
	running bool
	dirty   bool
	waiting []chan struct{}
}

// numberers holds a numberer per database, dropped when the database is
// garbage.
var numberers sync.Map // weak.Pointer[store.DB] → *numberer

func numbererOf(db *store.DB) *numberer {
	key := weak.Make(db)
	if n, ok := numberers.Load(key); ok {
		return n.(*numberer)
	}
	n, loaded := numberers.LoadOrStore(key, &numberer{})
	if !loaded {
		runtime.AddCleanup(db, func(k weak.Pointer[store.DB]) { numberers.Delete(k) }, key)
	}
	return n.(*numberer)
}

// poke asks for a pass after a commit.
func (n *numberer) poke(db *store.DB) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dirty = true
	n.start(db)
}

// await returns once a pass that started after the call has ended.
func (n *numberer) await(ctx context.Context, db *store.DB) error {
	done := make(chan struct{})
	n.mu.Lock()
	n.dirty = true
	n.waiting = append(n.waiting, done)
	n.start(db)
	n.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start starts the goroutine unless it runs; n.mu is held.
func (n *numberer) start(db *store.DB) {
	if !n.running {
		n.running = true
		go n.run(db)
	}
}

// run passes while there is cause: a commit since the last pass began, or
// a reader waiting. A pass that fails leaves its events to the next one or
// to the sweep, which logs.
func (n *numberer) run(db *store.DB) {
	for {
		n.mu.Lock()
		if !n.dirty {
			n.running = false
			n.mu.Unlock()
			return
		}
		gather := len(n.waiting) == 0
		n.mu.Unlock()
		if gather {
			time.Sleep(gatherFor)
		}
		n.mu.Lock()
		n.dirty = false
		waiting := n.waiting
		n.waiting = nil
		n.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), passTimeout)
		_, _ = Number(ctx, db)
		cancel()
		for _, w := range waiting {
			close(w)
		}
	}
}

// AwaitNumbered returns once every event of the platform committed before
// the call is numbered: for a reader that must not take a later event for
// an earlier one, such as a new webhook endpoint's starting cursor. It
// does nothing on SQLite, where events are numbered as they commit, and
// must not be called inside a transaction that records events.
func AwaitNumbered(ctx context.Context, db *store.DB, platformID string) error {
	return awaitNumbered(ctx, db, platformID)
}

// awaitNumbered makes sure that what the platform committed before the
// call is numbered, when some of its events are not: a client that made a
// change and then reads the feed finds its event.
func awaitNumbered(ctx context.Context, db *store.DB, platformID string) error {
	if db.Dialect != store.Postgres {
		return nil
	}
	var pending bool
	err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE platform_id = $1 AND seq = 0)`, platformID).Scan(&pending)
	if err != nil || !pending {
		return err
	}
	return numbererOf(db).await(ctx, db)
}

// Number numbers every committed event of db not numbered yet, platform by
// platform, and returns how many. Safe on several nodes at once.
func Number(ctx context.Context, db *store.DB) (int, error) {
	platforms, err := store.All(ctx, db, func(row store.Scanner) (string, error) {
		var p string
		return p, row.Scan(&p)
	}, `SELECT DISTINCT platform_id FROM events WHERE seq = 0`)
	if err != nil {
		return 0, fmt.Errorf("events to number: %w", err)
	}
	total := 0
	var failed []error
	for _, p := range platforms {
		n, err := numberPlatform(ctx, db, p)
		total += n
		if err != nil {
			// One platform's failure does not hold back the others'.
			failed = append(failed, fmt.Errorf("number events of %s: %w", p, err))
		}
	}
	return total, errors.Join(failed...)
}

type unnumbered struct {
	id, objectID string
	objectSeq    int64
	created      store.Time
}

// numberPlatform numbers one platform's unnumbered events in one
// transaction that holds the platform's counter row throughout.
func numberPlatform(ctx context.Context, db *store.DB, platformID string) (int, error) {
	var count int
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		var last int64
		err := tx.QueryRowContext(ctx, `INSERT INTO event_sequences (platform_id, object_id, last) VALUES ($1, '', 0)
			ON CONFLICT (platform_id, object_id) DO UPDATE SET last = event_sequences.last RETURNING last`, platformID).Scan(&last)
		if err != nil {
			return err
		}
		events, err := store.All(ctx, tx, func(row store.Scanner) (unnumbered, error) {
			var u unnumbered
			return u, row.Scan(&u.id, &u.objectID, &u.objectSeq, &u.created)
		}, `SELECT id, object_id, object_seq, created_at FROM events WHERE platform_id = $1 AND seq = 0`, platformID)
		if err != nil || len(events) == 0 {
			return err
		}
		numberingOrder(events)
		for start := 0; start < len(events); start += numberRows {
			chunk := events[start:min(start+numberRows, len(events))]
			if err := setNumbers(ctx, tx, platformID, chunk, last+int64(start)); err != nil {
				return err
			}
		}
		count = len(events)
		_, err = tx.ExecContext(ctx, `UPDATE event_sequences SET last = $2 WHERE platform_id = $1 AND object_id = ''`,
			platformID, last+int64(count))
		return err
	})
	return count, err
}

// numberingOrder sorts events by creation, then puts each object's events
// in the order of their object numbers within the places they hold, so a
// consumer reading by sequence sees an object's changes in their order
// even when two clocks disagreed about which came first.
func numberingOrder(events []unnumbered) {
	slices.SortFunc(events, func(a, b unnumbered) int {
		return cmp.Or(cmp.Compare(a.created.UnixMicro(), b.created.UnixMicro()), strings.Compare(a.id, b.id))
	})
	places := map[string][]int{}
	for i, e := range events {
		places[e.objectID] = append(places[e.objectID], i)
	}
	for _, at := range places {
		if len(at) < 2 {
			continue
		}
		mine := make([]unnumbered, len(at))
		for j, i := range at {
			mine[j] = events[i]
		}
		slices.SortFunc(mine, func(a, b unnumbered) int { return cmp.Compare(a.objectSeq, b.objectSeq) })
		for j, i := range at {
			events[i] = mine[j]
		}
	}
}

// setNumbers numbers chunk from after+1 in one statement.
func setNumbers(ctx context.Context, tx *sql.Tx, platformID string, chunk []unnumbered, after int64) error {
	values := make([]string, len(chunk))
	args := []any{platformID}
	for i, e := range chunk {
		values[i] = fmt.Sprintf("(CAST($%d AS TEXT), CAST($%d AS BIGINT))", len(args)+1, len(args)+2)
		args = append(args, e.id, after+int64(i)+1)
	}
	// VALUES names its columns column1, column2 on both databases.
	res, err := tx.ExecContext(ctx, `UPDATE events SET seq = v.column2 FROM (VALUES `+strings.Join(values, ", ")+`) AS v
		WHERE events.platform_id = $1 AND events.id = v.column1 AND events.seq = 0`, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(chunk)) {
		return fmt.Errorf("numbered %d of %d events: %v", n, len(chunk), err)
	}
	return nil
}

// RunNumbering numbers, at once and then every SweepEvery until ctx ends,
// the events that no pass numbered: those of a node that died between a
// commit and its pass, or of a pass that failed.
func RunNumbering(ctx context.Context, db *store.DB, log *slog.Logger) {
	t := time.NewTicker(SweepEvery)
	defer t.Stop()
	for {
		if n, err := Number(ctx, db); err != nil && ctx.Err() == nil {
			log.Error("numbering events", "error", err)
		} else if n > 0 {
			log.Debug("numbered events no pass had", "events", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
