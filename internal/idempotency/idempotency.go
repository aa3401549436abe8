// Package idempotency keeps the responses of requests made with an
// Idempotency-Key, with Stripe's semantics: the first response is stored and
// replayed for the same key; the same key with different parameters is an
// error; a request on a key whose first request is still running is refused;
// records are kept for a retention period and then pruned by a periodic job.
package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
)

const (
	// Retention is how long a key and its response are kept.
	Retention = 7 * 24 * time.Hour
	// LockTimeout is how long a key stays "in progress" before another
	// request may take it over. It only matters when a process died
	// mid-request; it must exceed the longest request (the HTTP write
	// timeout is shorter).
	LockTimeout = 2 * time.Minute
	// MaxKeyLength is Stripe's limit, kept for familiarity.
	MaxKeyLength = 255
)

// Request identifies one use of a key.
type Request struct {
	PlatformID string
	Key        string
	Method     string
	Path       string
	// Fingerprint summarises the request's parameters; the same key with a
	// different fingerprint is refused.
	Fingerprint string
}

// Response is a stored response, replayed for later uses of the key.
type Response struct {
	Status int
	Body   []byte
}

// Store keeps idempotency records in the database.
type Store struct {
	db   *store.DB
	now  func() time.Time
	keys *secret.Keyring
}

// NewStore returns a Store over db; now is the clock (time.Now if nil).
func NewStore(db *store.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// SealWith makes the Store seal the responses it keeps under keys: some
// responses carry what must not rest in clear (the URL of a single-use
// link, a client secret), and the store cannot tell which. Responses stored
// before remain readable.
func (s *Store) SealWith(keys *secret.Keyring) *Store {
	s.keys = keys
	return s
}

// where binds a sealed response to its record.
func where(req Request) string { return "idempotency_keys/" + req.PlatformID + "/" + req.Key }

func (s *Store) seal(req Request, body []byte) string {
	if s.keys == nil {
		return string(body)
	}
	return s.keys.Seal(string(body), where(req))
}

// open returns a stored body; one stored in clear (before sealing was on)
// is JSON, which no sealed value is.
func (s *Store) open(req Request, stored string) ([]byte, error) {
	if s.keys == nil || strings.HasPrefix(stored, "{") || strings.HasPrefix(stored, "[") || stored == "" {
		return []byte(stored), nil
	}
	plain, err := s.keys.Open(stored, where(req))
	if err != nil {
		return nil, fmt.Errorf("open stored response for key %q: %w", req.Key, err)
	}
	return []byte(plain), nil
}

// ValidateKey checks a key's shape. Returns errs.Invalid naming the header.
func ValidateKey(key string) error {
	if key == "" || len(key) > MaxKeyLength {
		return errs.Invalidf("Idempotency-Key", "Idempotency-Key must be 1 to %d characters long.", MaxKeyLength)
	}
	return nil
}

// Begin claims the key for req. It returns (nil, nil) when the caller should
// run the request and later call Complete or Release; a stored *Response to
// replay; errs.Invalid (reason idempotency_key_reused) if the key was used with
// other parameters; or errs.Conflict (reason idempotency_key_in_use) if a
// request with this key is still running.
func (s *Store) Begin(ctx context.Context, req Request) (*Response, error) {
	if err := ValidateKey(req.Key); err != nil {
		return nil, err
	}
	var replay *Response
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		replay, err = s.begin(ctx, tx, req)
		return err
	})
	if store.IsUniqueViolation(err) {
		// Another request inserted the key between our read and write.
		return nil, inUse()
	}
	return replay, err
}

func (s *Store) begin(ctx context.Context, tx *sql.Tx, req Request) (*Response, error) {
	now := s.now()
	var (
		fingerprint, method, path, state string
		status                           sql.NullInt64
		body                             sql.NullString
		lockedUntil, expiresAt           store.Time
	)
	err := tx.QueryRowContext(ctx, `SELECT fingerprint, method, path, state, response_status, response_body, locked_until, expires_at
		FROM idempotency_keys WHERE platform_id = $1 AND idempotency_key = $2`, req.PlatformID, req.Key).
		Scan(&fingerprint, &method, &path, &state, &status, &body, &lockedUntil, &expiresAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, s.insert(ctx, tx, req, now)
	case err != nil:
		return nil, err
	case !expiresAt.After(now):
		// Past retention the key is new again, as with Stripe.
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE platform_id = $1 AND idempotency_key = $2`, req.PlatformID, req.Key); err != nil {
			return nil, err
		}
		return nil, s.insert(ctx, tx, req, now)
	case fingerprint != req.Fingerprint || method != req.Method || path != req.Path:
		return nil, errs.E(errs.Invalid, "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", req.Key).WithReason("idempotency_key_reused")
	case state == "complete":
		b, err := s.open(req, body.String)
		if err != nil {
			return nil, err
		}
		return &Response{Status: int(status.Int64), Body: b}, nil
	case lockedUntil.After(now):
		return nil, inUse()
	default:
		// The first request died holding the key; this one takes over.
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET locked_until = $3 WHERE platform_id = $1 AND idempotency_key = $2`,
			req.PlatformID, req.Key, store.TimeOf(now.Add(LockTimeout)))
		return nil, err
	}
}

func (s *Store) insert(ctx context.Context, tx *sql.Tx, req Request, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys
		(platform_id, idempotency_key, fingerprint, method, path, state, locked_until, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, 'in_progress', $6, $7, $8)`,
		req.PlatformID, req.Key, req.Fingerprint, req.Method, req.Path,
		store.TimeOf(now.Add(LockTimeout)), store.TimeOf(now), store.TimeOf(now.Add(Retention)))
	return err
}

func inUse() error {
	return errs.E(errs.Conflict, "There is currently another in-progress request using this Idempotency-Key. Please try again later.").WithReason("idempotency_key_in_use")
}

// Complete stores the response to replay for the key.
func (s *Store) Complete(ctx context.Context, req Request, resp Response) error {
	_, err := s.db.ExecContext(ctx, `UPDATE idempotency_keys SET state = 'complete', response_status = $3, response_body = $4, locked_until = NULL
		WHERE platform_id = $1 AND idempotency_key = $2`, req.PlatformID, req.Key, resp.Status, s.seal(req, resp.Body))
	if err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	return nil
}

// Release forgets the key, so a later request with it runs afresh. Used when
// the request was refused before it changed anything (bad input), as Stripe
// does not store validation failures.
func (s *Store) Release(ctx context.Context, req Request) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE platform_id = $1 AND idempotency_key = $2 AND state = 'in_progress'`,
		req.PlatformID, req.Key)
	return err
}

// Prune deletes records past their retention and returns how many.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= $1`, store.TimeOf(s.now()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// PruneArgs is the periodic maintenance job that prunes expired records.
type PruneArgs struct{}

// Kind implements river.JobArgs.
func (PruneArgs) Kind() string { return "idempotency.prune" }

// PruneWorker runs PruneArgs jobs. Pruning twice is harmless.
type PruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	Store *Store
}

// Work implements river.Worker.
func (w *PruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	_, err := w.Store.Prune(ctx)
	return err
}
