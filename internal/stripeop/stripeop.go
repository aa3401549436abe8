// Package stripeop makes each write Tender sends to Stripe happen exactly
// once, whatever happens to the process that sends it: one mechanism that
// every creation, capture, cancel, refund, transfer, reversal and fee
// refund goes through, so that its crash-safety is proven once and
// inherited by every user.
//
// An operation is named by what it does (Kind) and the Tender object and
// part it is for (Object), and has a row of its own, written before Stripe
// is first called:
//
//   - Its idempotency key is derived from the operation and its try, never
//     random, so a rerun within Stripe's 24-hour key window gets Stripe's
//     first answer replayed.
//   - Stripe's id is saved as soon as Stripe answers; a rerun that finds it
//     saved returns it without calling Stripe.
//   - A rerun that finds the row with no id (an earlier run may have
//     reached Stripe and died before saving its answer) first looks for
//     what that run made, by Tender's metadata (Find), so even a run after
//     the key window cannot make a second.
//   - Stripe stores a 5xx under its key and replays it, so after one the
//     next try moves to a new key, but only once Find can be trusted to
//     show what the failed call might have made (FindLag: Stripe's search
//     lags by up to a minute; its lists do not).
//   - Errors are classified once (stripeapi.Classify) and returned as
//     *Failed for the caller to decide what the refusal means for its
//     object.
//
// The row keeps the bookkeeping (try, runs, last error, when a 5xx was
// stored, when it will be tried next), so the objects keep only their own
// state.
package stripeop

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// Kind is what an operation does at Stripe.
type Kind string

// Kinds of operation. The values are stored.
const (
	CreatePaymentIntent    Kind = "payment_intent.create"
	CapturePaymentIntent   Kind = "payment_intent.capture"
	CancelPaymentIntent    Kind = "payment_intent.cancel"
	CreateTransfer         Kind = "transfer.create"
	CreateRefund           Kind = "refund.create"
	CreateFeeRefund        Kind = "application_fee_refund.create"
	CreateTransferReversal Kind = "transfer_reversal.create"
	// A card's clone on a connected account, and what holds it there.
	ClonePaymentMethod  Kind = "payment_method.clone"
	AttachPaymentMethod Kind = "payment_method.attach"
	CreateCustomer      Kind = "customer.create"
)

// Op is one write to Stripe.
type Op struct {
	PlatformID string
	Kind       Kind
	// Object is the Tender object and part the operation is for, unique
	// within its kind: "pay_…:1" for a payment's first attempt.
	Object string
	// Key is the parts its idempotency key derives from; from the second
	// try on, "try" and the try's number are appended
	// (stripeapi.IdempotencyKey).
	Key []string
	// Step names its crash points for tests: "before_"+Step just before
	// Stripe is called, "after_"+Step just after it answered, before the
	// answer is saved.
	Step string
	// FindLag is how long after a stored 5xx an empty answer from Find
	// proves that the failed call made nothing; 0 for Stripe's lists,
	// which show what was just written.
	FindLag time.Duration
	// Params, when not nil, is stored with the operation (as JSON) the
	// first time, for whatever finishes it later.
	Params any
	// Find returns the id of what an earlier run of the operation made at
	// Stripe, found by Tender's metadata, or "" when there is none. Nil
	// when nothing can have been made without its id being returned.
	Find func(ctx context.Context) (string, error)
	// Prepare, when not nil, runs once Stripe is certain to be called
	// (nothing was saved or found): the checks that only matter before a
	// write is made, and what Call needs. An error from it is returned by
	// Run as it is, and nothing is sent.
	Prepare func(ctx context.Context) error
	// Begin, when not nil, runs in the transaction that counts the run
	// just before Stripe is called: the object's own move to show that
	// its write is under way, committed with the count or not at all. An
	// error from it is returned by Run as it is, and nothing is sent.
	Begin func(ctx context.Context, tx *sql.Tx) error
	// Call makes the write at Stripe under key and returns the id of what
	// it made; with an error, the id of anything Stripe made anyway (a
	// declined PaymentIntent), or "".
	Call func(ctx context.Context, key string) (string, error)
	// OnSave, when not nil, runs in the transaction that saves Stripe's
	// id: the object's own copy of it, so the two never disagree.
	OnSave func(ctx context.Context, tx *sql.Tx, stripeID string) error
	// First says the caller knows no run of the operation has begun (its
	// object had not started, and is now started by this run alone), so
	// its row is not looked for.
	First bool
}

// Result is where an operation ended.
type Result struct {
	// StripeID is the id of what the operation made (or found made).
	StripeID string
	// Resumed is true when an earlier run made it: the id was saved, or
	// found by Find. The caller then reads the object back from Stripe
	// rather than trusting what it sent.
	Resumed bool
}

// Failed is Stripe's refusal or failure of an operation's call, classified.
// StripeID is the id of anything Stripe made anyway (a declined
// PaymentIntent), or "".
type Failed struct {
	Outcome  stripeapi.Outcome
	StripeID string
	err      error
}

func (f *Failed) Error() string {
	return fmt.Sprintf("%s at Stripe: %v", f.Outcome.Kind, f.err)
}

func (f *Failed) Unwrap() error { return f.err }

// AsFailed returns the *Failed in err's chain, or nil.
func AsFailed(err error) *Failed {
	var f *Failed
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// LookupFailed is a failure of an operation's Find: whether an earlier run
// made something is not known, so nothing may be made now.
type LookupFailed struct{ Err error }

func (l *LookupFailed) Error() string { return "looking for it at Stripe: " + l.Err.Error() }

func (l *LookupFailed) Unwrap() error { return l.Err }

// Ops runs operations and keeps their rows.
type Ops struct {
	db  *store.DB
	now func() time.Time
	// crash runs at each crash point with the step and the operation's
	// object; tests make it fail to stop a run there, as a crash would.
	crash func(step, object string) error
}

// New returns Ops over db. crash, if not nil, runs at each crash point
// (see Op.Step).
func New(db *store.DB, now func() time.Time, crash func(step, object string) error) *Ops {
	if now == nil {
		now = time.Now
	}
	return &Ops{db: db, now: now, crash: crash}
}

// Record is an operation's row.
type Record struct {
	PlatformID    string
	Kind          Kind
	Object        string
	Try           int64
	Params        json.RawMessage
	StripeID      string
	Runs          int64
	StoredFailure time.Time
	LastError     string
	NextAttempt   time.Time
	Created       time.Time
	Updated       time.Time
}

// Run carries out op exactly once: it returns the id saved by an earlier
// run, or the one Find shows an earlier run made, or calls Stripe. A
// *Failed is Stripe's answer to the call; a *LookupFailed means nothing
// could be decided. Run is safe to call any number of times, concurrently
// included: two calls racing send the same key, and Stripe answers both
// with one object.
func (o *Ops) Run(ctx context.Context, op Op) (Result, error) {
	rec, err := &Record{}, error(nil)
	if !op.First {
		rec, err = o.Get(ctx, o.db, op.PlatformID, op.Kind, op.Object)
	}
	if errors.Is(err, sql.ErrNoRows) {
		rec, err = &Record{}, nil // a first run: its row is written when it calls Stripe
	}
	if err != nil {
		return Result{}, err
	}
	if rec.StripeID != "" {
		return Result{StripeID: rec.StripeID, Resumed: true}, nil
	}
	if rec.Runs > 0 && op.Find != nil {
		// An earlier run may have reached Stripe and died before saving.
		id, err := op.Find(ctx)
		if err != nil {
			return Result{}, &LookupFailed{Err: err}
		}
		if id != "" {
			return Result{StripeID: id, Resumed: true}, o.save(ctx, op, id)
		}
	}
	if !rec.StoredFailure.IsZero() {
		if err := o.nextTry(ctx, op, rec); err != nil {
			return Result{}, err
		}
	}
	if op.Prepare != nil {
		if err := op.Prepare(ctx); err != nil {
			return Result{}, err
		}
	}
	if err := o.began(ctx, op, rec); err != nil {
		return Result{}, err
	}
	if err := o.crashPoint("before", op); err != nil {
		return Result{}, err
	}
	id, callErr := op.Call(ctx, op.key(rec.Try))
	if id != "" || callErr == nil {
		if err := o.crashPoint("after", op); err != nil {
			return Result{}, err
		}
	}
	if callErr != nil {
		return Result{StripeID: id}, o.failed(ctx, op, id, callErr)
	}
	return Result{StripeID: id}, o.save(ctx, op, id)
}

// key is the operation's idempotency key on try.
func (op Op) key(try int64) string {
	parts := op.Key
	if try > 0 {
		parts = append(append([]string(nil), op.Key...), "try", strconv.FormatInt(try, 10))
	}
	return stripeapi.IdempotencyKey(parts...)
}

func (o *Ops) crashPoint(when string, op Op) error {
	if o.crash == nil || op.Step == "" {
		return nil
	}
	return o.crash(when+"_"+op.Step, op.Object)
}

// began counts a run that is about to call Stripe, committed first, so
// that the next run knows this one may have reached it, in one
// transaction with op.Begin when there is one; a first run writes the
// operation's row with its count. Two first runs racing both count: the
// second's insert does nothing and it counts by update.
func (o *Ops) began(ctx context.Context, op Op, rec *Record) error {
	if op.Begin == nil {
		return o.count(ctx, o.db, op, rec)
	}
	return o.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := op.Begin(ctx, tx); err != nil {
			return err
		}
		return o.count(ctx, tx, op, rec)
	})
}

func (o *Ops) count(ctx context.Context, q Execer, op Op, rec *Record) error {
	now := store.TimeOf(o.now())
	if rec.Created.IsZero() {
		params := []byte("{}")
		if op.Params != nil {
			var err error
			if params, err = json.Marshal(op.Params); err != nil {
				return err
			}
		}
		res, err := q.ExecContext(ctx, `INSERT INTO stripe_operations (platform_id, kind, object_id, params, runs, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 1, $5, $5) ON CONFLICT DO NOTHING`, op.PlatformID, string(op.Kind), op.Object, string(params), now)
		if err != nil {
			return fmt.Errorf("%s %s: writing its operation: %w", op.Kind, op.Object, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
	}
	_, err := q.ExecContext(ctx, `UPDATE stripe_operations SET runs = runs + 1, next_attempt_at = NULL, updated_at = $4
		WHERE platform_id = $1 AND kind = $2 AND object_id = $3`, op.PlatformID, string(op.Kind), op.Object, now)
	return err
}

// nextTry moves the operation to a new key after Stripe stored a 5xx
// under the current one, once Find has had FindLag to show what that
// call might have made; sooner, the run is put off until it has.
func (o *Ops) nextTry(ctx context.Context, op Op, rec *Record) error {
	if wait := op.FindLag - o.now().Sub(rec.StoredFailure); wait > 0 {
		if _, err := o.db.ExecContext(ctx, `UPDATE stripe_operations SET next_attempt_at = $4 WHERE platform_id = $1 AND kind = $2 AND object_id = $3`,
			op.PlatformID, string(op.Kind), op.Object, store.TimeOf(o.now().Add(wait))); err != nil {
			return err
		}
		return river.JobSnooze(wait)
	}
	res, err := o.db.ExecContext(ctx, `UPDATE stripe_operations SET try = try + 1, stored_failure_at = NULL, updated_at = $4
		WHERE platform_id = $1 AND kind = $2 AND object_id = $3 AND try = $5`, op.PlatformID, string(op.Kind), op.Object, store.TimeOf(o.now()), rec.Try)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(err, fmt.Errorf("%s %s: another run moved to a new key; retrying", op.Kind, op.Object))
	}
	rec.Try++
	return nil
}

// Again moves an operation Stripe refused to a new key, for a refusal that
// may pass later (balance_insufficient, say): Stripe stores a refusal
// made while the request executed under its key and replays it for a
// day, though it made nothing. The next run still looks (Find) before it
// calls, as every run after the first does, so a call under the old key
// that was in flight meanwhile is found rather than made again.
func (o *Ops) Again(ctx context.Context, op Op) error {
	_, err := o.db.ExecContext(ctx, `UPDATE stripe_operations SET try = try + 1, updated_at = $4
		WHERE platform_id = $1 AND kind = $2 AND object_id = $3 AND stripe_id IS NULL`,
		op.PlatformID, string(op.Kind), op.Object, store.TimeOf(o.now()))
	return err
}

// save records Stripe's id, the first thing done with its answer.
func (o *Ops) save(ctx context.Context, op Op, stripeID string) error {
	const q = `UPDATE stripe_operations SET stripe_id = $4, last_error = '', updated_at = $5
		WHERE platform_id = $1 AND kind = $2 AND object_id = $3 AND stripe_id IS NULL`
	args := []any{op.PlatformID, string(op.Kind), op.Object, stripeID, store.TimeOf(o.now())}
	if op.OnSave == nil {
		_, err := o.db.ExecContext(ctx, q, args...)
		return err
	}
	return o.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		return op.OnSave(ctx, tx, stripeID)
	})
}

// failed records a failed call: the id of anything Stripe made anyway,
// the error, and, for a 5xx Stripe stored under the key, when, so that
// the next run moves to a new key.
func (o *Ops) failed(ctx context.Context, op Op, stripeID string, callErr error) error {
	out := stripeapi.Classify(callErr)
	stored := out.Kind == stripeapi.KindUnavailable && out.Status >= 500
	var storedAt *store.Time
	if stored {
		t := store.TimeOf(o.now())
		storedAt = &t
	}
	msg := string(out.Kind)
	if out.Code != "" {
		msg += " (" + out.Code + ")"
	}
	if out.Message != "" {
		msg += ": " + out.Message
	}
	if _, err := o.db.ExecContext(ctx, `UPDATE stripe_operations SET last_error = $4, stored_failure_at = COALESCE($5, stored_failure_at),
		stripe_id = COALESCE(stripe_id, $6), updated_at = $7 WHERE platform_id = $1 AND kind = $2 AND object_id = $3`,
		op.PlatformID, string(op.Kind), op.Object, truncate(msg, 1000), storedAt, nullString(stripeID), store.TimeOf(o.now())); err != nil {
		return errors.Join(err, callErr)
	}
	return &Failed{Outcome: out, StripeID: stripeID, err: callErr}
}

const recordCols = `platform_id, kind, object_id, try, params, stripe_id, runs, stored_failure_at, last_error, next_attempt_at, created_at, updated_at`

// Get returns an operation's row, or sql.ErrNoRows.
func (o *Ops) Get(ctx context.Context, q store.Querier, platformID string, kind Kind, object string) (*Record, error) {
	var r Record
	var k, params string
	var stripeID sql.NullString
	var storedFailure, next, created, updated store.Time
	err := q.QueryRowContext(ctx, `SELECT `+recordCols+` FROM stripe_operations WHERE platform_id = $1 AND kind = $2 AND object_id = $3`,
		platformID, string(kind), object).Scan(&r.PlatformID, &k, &r.Object, &r.Try, &params, &stripeID, &r.Runs, &storedFailure, &r.LastError,
		&next, &created, &updated)
	if err != nil {
		return nil, err
	}
	r.Kind, r.Params, r.StripeID = Kind(k), json.RawMessage(params), stripeID.String
	r.StoredFailure, r.NextAttempt, r.Created, r.Updated = storedFailure.Time, next.Time, created.Time, updated.Time
	return &r, nil
}

// Execer runs a statement: a *store.DB, or the caller's *sql.Tx.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Renew makes an operation that was carried out be made afresh when it
// next runs, under its next key: for an object Tender removed at Stripe
// (a card's clone detached from an account) and may need again, which
// the saved id, or Stripe's replay of the old key, would otherwise
// return. An operation not carried out is left as it is.
func Renew(ctx context.Context, q Execer, platformID string, kind Kind, object string) error {
	_, err := q.ExecContext(ctx, `UPDATE stripe_operations SET stripe_id = NULL, runs = 0, try = try + 1, stored_failure_at = NULL
		WHERE platform_id = $1 AND kind = $2 AND object_id = $3 AND stripe_id IS NOT NULL`, platformID, string(kind), object)
	return err
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
