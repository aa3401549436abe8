package stripeop_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeop"
)

// fakeStripe stands in for one kind of Stripe object: it makes one per
// idempotency key, as Stripe does within its key window, can forget its
// keys (the window passed), and answers with the errors it is given.
type fakeStripe struct {
	mu      sync.Mutex
	byKey   map[string]string // key -> object id
	made    []string          // ids, in order
	keys    []string          // keys of calls, in order
	answers []error           // errors for the next calls; nil makes the object
	// stored is the error Stripe stored under a key and replays.
	stored map[string]error
}

func newFake() *fakeStripe {
	return &fakeStripe{byKey: map[string]string{}, stored: map[string]error{}}
}

func (f *fakeStripe) call(_ context.Context, key string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, key)
	if err, ok := f.stored[key]; ok {
		return "", err
	}
	if id, ok := f.byKey[key]; ok {
		return id, nil
	}
	if len(f.answers) > 0 {
		err := f.answers[0]
		f.answers = f.answers[1:]
		if err != nil {
			var se *stripe.Error
			if errors.As(err, &se) && se.HTTPStatusCode >= 500 {
				f.stored[key] = err
			}
			return "", err
		}
	}
	id := fmt.Sprintf("obj_%d", len(f.made)+1)
	f.made, f.byKey[key] = append(f.made, id), id
	return id, nil
}

// find looks the object up by "metadata": any object made counts.
func (f *fakeStripe) find(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.made) == 0 {
		return "", nil
	}
	return f.made[0], nil
}

// forgetKeys is Stripe's 24-hour key window passing.
func (f *fakeStripe) forgetKeys() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byKey, f.stored = map[string]string{}, map[string]error{}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	ops        *stripeop.Ops
	db         *store.DB
	clock      *clock
	platformID string
	crashAt    string
}

var errCrash = errors.New("simulated crash")

func newFixture(t *testing.T, db *store.DB) *fixture {
	f := &fixture{db: db, clock: &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}}
	p, err := platform.NewService(db, time.Now).Create(context.Background(), "Ops")
	if err != nil {
		t.Fatal(err)
	}
	f.platformID = p.ID
	f.ops = stripeop.New(db, f.clock.now, func(step, _ string) error {
		if step == f.crashAt {
			return errCrash
		}
		return nil
	})
	return f
}

func (f *fixture) op(fs *fakeStripe, object string) stripeop.Op {
	return stripeop.Op{PlatformID: f.platformID, Kind: stripeop.CreateTransfer, Object: object, Key: []string{"transfer", object, "create"},
		Step: "create", FindLag: 2 * time.Minute, Find: fs.find, Call: fs.call}
}

func (f *fixture) record(t *testing.T, object string) *stripeop.Record {
	t.Helper()
	r, err := f.ops.Get(context.Background(), f.db, f.platformID, stripeop.CreateTransfer, object)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRunOnce: a first run makes the object and saves its id; later runs
// return the saved id without calling Stripe.
func TestRunOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, fs, ctx := newFixture(t, db), newFake(), context.Background()
		res, err := f.ops.Run(ctx, f.op(fs, "trf_1"))
		if err != nil || res.StripeID != "obj_1" || res.Resumed {
			t.Fatalf("first run: %+v %v", res, err)
		}
		for range 3 {
			res, err := f.ops.Run(ctx, f.op(fs, "trf_1"))
			if err != nil || res.StripeID != "obj_1" || !res.Resumed {
				t.Fatalf("rerun: %+v %v", res, err)
			}
		}
		if len(fs.keys) != 1 || fs.keys[0] != "transfer:trf_1:create" {
			t.Errorf("calls %v, want one with the first key", fs.keys)
		}
		if r := f.record(t, "trf_1"); r.StripeID != "obj_1" || r.Runs != 1 || r.Try != 0 {
			t.Errorf("record %+v", r)
		}
	})
}

// TestRunCrashes: a run that dies before Stripe is called, or after it
// answered and before the answer was saved, is resumed past Stripe's key
// window with exactly one object made.
func TestRunCrashes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, step := range []string{"before_create", "after_create"} {
			f, fs, ctx := newFixture(t, db), newFake(), context.Background()
			f.crashAt = step
			if _, err := f.ops.Run(ctx, f.op(fs, "trf_c")); !errors.Is(err, errCrash) {
				t.Fatalf("%s: %v, want the crash", step, err)
			}
			f.crashAt = ""
			fs.forgetKeys() // only the saved id or the lookup protect now
			for range 3 {
				res, err := f.ops.Run(ctx, f.op(fs, "trf_c"))
				if err != nil || res.StripeID != "obj_1" {
					t.Fatalf("%s: rerun %+v %v", step, res, err)
				}
			}
			if len(fs.made) != 1 {
				t.Errorf("%s: %d objects made, want 1", step, len(fs.made))
			}
		}
	})
}

// TestStoredFailure: a 5xx Stripe stored under the key is not sent again
// under it; the next try moves to a new key only once the lookup has had
// FindLag to show what the failed call might have made.
func TestStoredFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, fs, ctx := newFixture(t, db), newFake(), context.Background()
		fs.answers = []error{&stripe.Error{HTTPStatusCode: http.StatusInternalServerError, Type: stripe.ErrorTypeAPI, Msg: "boom"}}
		_, err := f.ops.Run(ctx, f.op(fs, "trf_5"))
		fail := stripeop.AsFailed(err)
		if fail == nil || fail.Outcome.Kind != stripeapi.KindUnavailable {
			t.Fatalf("first run: %v, want a Failed unavailable", err)
		}
		if r := f.record(t, "trf_5"); r.StoredFailure.IsZero() || r.LastError == "" {
			t.Fatalf("record after the 5xx %+v", r)
		}
		_, err = f.ops.Run(ctx, f.op(fs, "trf_5"))
		var snooze *river.JobSnoozeError
		if !errors.As(err, &snooze) {
			t.Fatalf("rerun within FindLag: %v, want a snooze", err)
		}
		if r := f.record(t, "trf_5"); r.NextAttempt.IsZero() {
			t.Errorf("no next attempt recorded: %+v", r)
		}
		f.clock.advance(2*time.Minute + time.Second)
		res, err := f.ops.Run(ctx, f.op(fs, "trf_5"))
		if err != nil || res.StripeID != "obj_1" {
			t.Fatalf("rerun after FindLag: %+v %v", res, err)
		}
		if want := []string{"transfer:trf_5:create", "transfer:trf_5:create:try:1"}; fmt.Sprint(fs.keys) != fmt.Sprint(want) {
			t.Errorf("keys %v, want %v", fs.keys, want)
		}
		if r := f.record(t, "trf_5"); r.Try != 1 || !r.StoredFailure.IsZero() || r.LastError != "" {
			t.Errorf("record %+v", r)
		}
	})
}

// TestUnknownKeepsKey: a failure Stripe did not store (the connection
// dropped) is retried under the same key, which replays the object if
// the call had reached Stripe.
func TestUnknownKeepsKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, fs, ctx := newFixture(t, db), newFake(), context.Background()
		fs.answers = []error{fmt.Errorf("read: %w", errors.New("connection reset by peer"))}
		if _, err := f.ops.Run(ctx, f.op(fs, "trf_u")); stripeop.AsFailed(err) == nil {
			t.Fatalf("first run: %v", err)
		}
		if _, err := f.ops.Run(ctx, f.op(fs, "trf_u")); err != nil {
			t.Fatal(err)
		}
		if fs.keys[0] != fs.keys[1] || len(fs.made) != 1 {
			t.Errorf("keys %v, %d made", fs.keys, len(fs.made))
		}
	})
}

// TestFailedWithObject: a call that fails but made an object anyway (a
// declined PaymentIntent) saves its id; a rerun returns it.
func TestFailedWithObject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, ctx := newFixture(t, db), context.Background()
		decline := &stripe.Error{HTTPStatusCode: 402, Type: stripe.ErrorTypeCard, Code: "card_declined"}
		calls := 0
		op := stripeop.Op{PlatformID: f.platformID, Kind: stripeop.CreatePaymentIntent, Object: "pay_1:1", Key: []string{"payment", "pay_1"},
			Call: func(context.Context, string) (string, error) { calls++; return "pi_declined", decline }}
		_, err := f.ops.Run(ctx, op)
		if fail := stripeop.AsFailed(err); fail == nil || fail.StripeID != "pi_declined" || fail.Outcome.Kind != stripeapi.KindDeclined {
			t.Fatalf("first run: %v", err)
		}
		res, err := f.ops.Run(ctx, op)
		if err != nil || res.StripeID != "pi_declined" || !res.Resumed || calls != 1 {
			t.Fatalf("rerun: %+v %v after %d calls", res, err, calls)
		}
	})
}

// TestPrepare: a check that fails before the call sends nothing and does
// not count as a run that may have reached Stripe; one that passes runs
// once, only when Stripe is to be called.
func TestPrepare(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, fs, ctx := newFixture(t, db), newFake(), context.Background()
		refused := errors.New("card removed")
		op := f.op(fs, "trf_p")
		op.Prepare = func(context.Context) error { return refused }
		if _, err := f.ops.Run(ctx, op); !errors.Is(err, refused) {
			t.Fatalf("%v, want the check's error", err)
		}
		if len(fs.keys) != 0 {
			t.Fatalf("a refused check called Stripe: %v", fs.keys)
		}
		if _, err := f.ops.Get(ctx, db, f.platformID, stripeop.CreateTransfer, "trf_p"); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("a refused check left an operation that may have reached Stripe (%v)", err)
		}
		prepared := 0
		op.Prepare = func(context.Context) error { prepared++; return nil }
		for range 2 {
			if _, err := f.ops.Run(ctx, op); err != nil {
				t.Fatal(err)
			}
		}
		if prepared != 1 || len(fs.made) != 1 {
			t.Errorf("prepared %d times, %d made; want 1 and 1", prepared, len(fs.made))
		}
	})
}

// TestBegin: the object's own move commits with the run's count, before
// Stripe is called: a crash at the call leaves both. A move that refuses
// (another run moved the object on) sends nothing and writes nothing, not
// even the operation's row; nor does one whose count cannot be written.
func TestBegin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, fs, ctx := newFixture(t, db), newFake(), context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE begin_marks (object TEXT PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		marks := func() int {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM begin_marks`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		mark := func(object string) func(context.Context, *sql.Tx) error {
			return func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO begin_marks (object) VALUES ($1)`, object)
				return err
			}
		}

		movedOn := errors.New("moved on")
		op := f.op(fs, "trf_refused")
		op.First, op.Begin = true, func(context.Context, *sql.Tx) error { return movedOn }
		if _, err := f.ops.Run(ctx, op); !errors.Is(err, movedOn) {
			t.Fatalf("%v, want Begin's error", err)
		}
		if len(fs.keys) != 0 || marks() != 0 {
			t.Fatalf("a refused move called Stripe (%v) or wrote %d marks", fs.keys, marks())
		}
		if _, err := f.ops.Get(ctx, db, f.platformID, stripeop.CreateTransfer, "trf_refused"); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("a refused move left an operation (%v)", err)
		}

		// The move is written, but the count is not (the row's platform
		// does not exist): the move rolls back with it.
		op = f.op(fs, "trf_orphan")
		op.PlatformID, op.First, op.Begin = "plt_missing", true, mark("trf_orphan")
		if _, err := f.ops.Run(ctx, op); err == nil {
			t.Fatal("an operation of no platform was counted")
		}
		if len(fs.keys) != 0 || marks() != 0 {
			t.Fatalf("a count that failed called Stripe (%v) or kept %d marks", fs.keys, marks())
		}

		op = f.op(fs, "trf_b")
		op.First, op.Begin = true, mark("trf_b")
		f.crashAt = "before_create"
		if _, err := f.ops.Run(ctx, op); !errors.Is(err, errCrash) {
			t.Fatalf("%v, want the crash", err)
		}
		if r := f.record(t, "trf_b"); r.Runs != 1 || marks() != 1 {
			t.Fatalf("after a crash before the call: %d runs, %d marks; want 1 and 1", r.Runs, marks())
		}
		f.crashAt = ""
		op.First, op.Begin = false, nil // the object has moved: a rerun does not begin again
		if res, err := f.ops.Run(ctx, op); err != nil || len(fs.made) != 1 || res.StripeID != fs.made[0] {
			t.Fatalf("rerun: %+v, %v, made %v", res, err, fs.made)
		}
	})
}

// TestConcurrentRuns: runs of one operation at once send one key, so
// Stripe makes one object, and every run returns it.
func TestConcurrentRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, fs, ctx := newFixture(t, db), newFake(), context.Background()
		var wg sync.WaitGroup
		ids := make(chan string, 8)
		for range 8 {
			wg.Go(func() {
				if res, err := f.ops.Run(ctx, f.op(fs, "trf_x")); err == nil {
					ids <- res.StripeID
				}
			})
		}
		wg.Wait()
		close(ids)
		n := 0
		for id := range ids {
			n++
			if id != "obj_1" {
				t.Errorf("a run returned %s", id)
			}
		}
		if n == 0 || len(fs.made) != 1 {
			t.Errorf("%d runs returned, %d objects made", n, len(fs.made))
		}
	})
}

// TestScopedByPlatform: the same operation of two platforms is two
// operations.
func TestScopedByPlatform(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, fs, ctx := newFixture(t, db), newFake(), context.Background()
		b := newFixture(t, db)
		if _, err := a.ops.Run(ctx, a.op(fs, "trf_s")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.ops.Get(ctx, db, b.platformID, stripeop.CreateTransfer, "trf_s"); err == nil {
			t.Fatal("platform B sees platform A's operation")
		}
	})
}
