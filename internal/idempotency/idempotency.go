// Package idempotency keeps the responses of requests made with an
// Idempotency-Key, with Stripe's semantics: the first response is stored and
// replayed for the same key; the same key with different parameters is an
// error; a request on a key whose first request is still running is refused;
// records are kept for a retention period and then pruned by a periodic job.
package idempotency

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
)

const (
	// Retention is how long a key and its response are kept.
	Retention = 7 * 24 * time.Hour
	// Lease is how long a request holds its key without renewing it. The
	// request renews it every Lease/3 while it runs (Claim.Hold), so only a
	// request whose process died loses it: a retry then waits at most this
	// long before it takes the key over.
	Lease = 30 * time.Second
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
	// renewEvery is how often a running request renews its lease (Lease/3;
	// shorter in tests).
	renewEvery time.Duration

	// DieAfterHandlerFunc is for tests of what a crash leaves: when it
	// returns true for a request, the request ends as if the process died
	// right after its handler returned, before anything else was stored or
	// sent (the connection is cut). Nil outside tests.
	DieAfterHandlerFunc func(Request) bool
}

// NewStore returns a Store over db; now is the clock (time.Now if nil).
func NewStore(db *store.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, renewEvery: Lease / 3}
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

// ValidateKey checks a key's shape: 1 to MaxKeyLength characters of
// printable ASCII (a header value), so a key that could not be sent back
// the same way is refused. Returns errs.Invalid naming the header.
func ValidateKey(key string) error {
	if key == "" || len(key) > MaxKeyLength {
		return errs.Invalidf("Idempotency-Key", "Idempotency-Key must be 1 to %d characters long.", MaxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return errs.Invalidf("Idempotency-Key", "Idempotency-Key must be printable ASCII characters.")
		}
	}
	return nil
}

// Claim is a running request's hold on its key. Exactly one request holds
// a key's claim at a time; its answer is stored either in the transaction
// that commits its work (Commit) or, for a request that changed nothing a
// rerun could not repeat, afterwards (Complete).
type Claim struct {
	store *Store
	req   Request
	owner string
	// seed and first derive the ids this request creates (id.For): the
	// same on every run of the request, so a rerun after a crash before
	// commit makes the same objects, and asks Stripe with the same keys.
	seed  string
	first time.Time

	mu      sync.Mutex
	pending *Response // what Commit wrote in the work's transaction
}

// Request returns what the claim is for.
func (c *Claim) Request() Request { return c.req }

// Begin claims the key for req. It returns a Claim when the caller should
// run the request (and then call Complete or Release, unless the work
// committed its answer through Commit); a stored *Response to replay;
// errs.Invalid (reason idempotency_key_reused) if the key was used with
// other parameters; or errs.Conflict (reason idempotency_key_in_use) if a
// request holding the key is still running.
func (s *Store) Begin(ctx context.Context, req Request) (*Claim, *Response, error) {
	if err := ValidateKey(req.Key); err != nil {
		return nil, nil, err
	}
	c := &Claim{store: s, req: req, owner: newOwner()}
	var replay *Response
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		replay, err = s.begin(ctx, tx, c)
		return err
	})
	if store.IsUniqueViolation(err) {
		// Another request inserted the key between our read and write.
		return nil, nil, inUse()
	}
	if err != nil || replay != nil {
		return nil, replay, err
	}
	c.seed = seed(req, c.first)
	return c, nil, nil
}

func (s *Store) begin(ctx context.Context, tx *sql.Tx, c *Claim) (*Response, error) {
	req, now := c.req, s.now()
	var (
		fingerprint, method, path, state  string
		status                            sql.NullInt64
		body                              sql.NullString
		lockedUntil, createdAt, expiresAt store.Time
	)
	err := tx.QueryRowContext(ctx, `SELECT fingerprint, method, path, state, response_status, response_body, locked_until, created_at, expires_at
		FROM idempotency_keys WHERE platform_id = $1 AND idempotency_key = $2`, req.PlatformID, req.Key).
		Scan(&fingerprint, &method, &path, &state, &status, &body, &lockedUntil, &createdAt, &expiresAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, s.insert(ctx, tx, c, now)
	case err != nil:
		return nil, err
	case !expiresAt.After(now):
		// Past retention the key is new again, as with Stripe.
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE platform_id = $1 AND idempotency_key = $2`, req.PlatformID, req.Key); err != nil {
			return nil, err
		}
		return nil, s.insert(ctx, tx, c, now)
	case fingerprint != req.Fingerprint || method != req.Method || path != req.Path:
		return nil, errs.E(errs.Invalid, "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", req.Key).WithReason("idempotency_key_reused")
	case state == "complete":
		return s.response(req, status, body)
	case lockedUntil.After(now):
		return nil, inUse()
	default:
		// The request holding the key died (its lease ran out); this one
		// takes over, and runs it again from what the first one committed,
		// which is nothing: its work commits with its answer.
		c.first = createdAt.Time
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET locked_until = $3, owner = $4 WHERE platform_id = $1 AND idempotency_key = $2`,
			req.PlatformID, req.Key, store.TimeOf(now.Add(Lease)), c.owner)
		return nil, err
	}
}

func (s *Store) insert(ctx context.Context, tx *sql.Tx, c *Claim, now time.Time) error {
	req := c.req
	c.first = store.TimeOf(now).Time
	_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys
		(platform_id, idempotency_key, fingerprint, method, path, state, locked_until, owner, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, 'in_progress', $6, $7, $8, $9)`,
		req.PlatformID, req.Key, req.Fingerprint, req.Method, req.Path,
		store.TimeOf(now.Add(Lease)), c.owner, store.TimeOf(now), store.TimeOf(now.Add(Retention)))
	return err
}

func inUse() error {
	return errs.E(errs.Conflict, "There is currently another in-progress request using this Idempotency-Key. Please try again later.").WithReason("idempotency_key_in_use")
}

// lost is the error of a claim whose lease ran out while its request was
// still running, and which another request took over.
func lost() error {
	return errs.E(errs.Conflict, "This request took too long and another request with the same Idempotency-Key took its place. Please try again later.").
		WithReason("idempotency_key_in_use")
}

func newOwner() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// seed is what a request's ids derive from: the key, and when it was
// first used (so a key used again past retention makes new objects).
func seed(req Request, first time.Time) string {
	h := sha256.Sum256([]byte(req.PlatformID + "\x00" + req.Key + "\x00" + strconv.FormatInt(first.UnixMicro(), 10)))
	return hex.EncodeToString(h[:])
}

// Hold keeps the claim's lease while the request runs, renewing it every
// Lease/3, until the returned stop is called. A renewal that fails is
// tried again at the next tick; if none gets through for a whole lease, a
// retry may take the key over, and then this claim's answer cannot be
// stored, so its work cannot commit: the request fails, and nothing is
// done twice.
func (c *Claim) Hold(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(c.store.renewEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				_ = c.renew(ctx)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func (c *Claim) renew(ctx context.Context) error {
	_, err := c.store.db.ExecContext(ctx, `UPDATE idempotency_keys SET locked_until = $4
		WHERE platform_id = $1 AND idempotency_key = $2 AND owner = $3 AND state = 'in_progress'`,
		c.req.PlatformID, c.req.Key, c.owner, store.TimeOf(c.store.now().Add(Lease)))
	return err
}

// complete stores resp as the key's answer, if the claim still holds the
// key; it reports whether it did.
func (c *Claim) complete(ctx context.Context, q store.Querier, resp Response) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE idempotency_keys SET state = 'complete', response_status = $4, response_body = $5, locked_until = NULL
		WHERE platform_id = $1 AND idempotency_key = $2 AND owner = $3 AND state = 'in_progress'`,
		c.req.PlatformID, c.req.Key, c.owner, resp.Status, c.store.seal(c.req, resp.Body))
	if err != nil {
		return false, fmt.Errorf("store idempotent response: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Complete stores the response to replay for the key, after a request
// whose work did not commit its answer (Commit): one that changed nothing,
// or nothing that running it again would not repeat the same way. It
// returns the answer the key now holds: resp, or, if the request's work
// committed another answer, that one; and errs.Conflict if another request
// took the key over.
func (c *Claim) Complete(ctx context.Context, resp Response) (Response, error) {
	if p := c.Pending(); p != nil && p.Status == resp.Status && bytes.Equal(p.Body, resp.Body) {
		return resp, nil // committed with the work
	}
	ok, err := c.complete(ctx, c.store.db, resp)
	if err != nil || ok {
		return resp, err
	}
	// Not in progress under this claim: either the work committed its own
	// answer (replay that, the truth) or another request took over.
	stored, err := c.store.stored(ctx, c.req, c.owner)
	if err != nil {
		return resp, err
	}
	if stored == nil {
		return resp, lost()
	}
	return *stored, nil
}

// stored returns the answer the key holds if this owner stored it.
func (s *Store) stored(ctx context.Context, req Request, owner string) (*Response, error) {
	var status sql.NullInt64
	var body sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT response_status, response_body FROM idempotency_keys
		WHERE platform_id = $1 AND idempotency_key = $2 AND owner = $3 AND state = 'complete'`, req.PlatformID, req.Key, owner).Scan(&status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.response(req, status, body)
}

// response is a stored answer, opened.
func (s *Store) response(req Request, status sql.NullInt64, body sql.NullString) (*Response, error) {
	b, err := s.open(req, body.String)
	if err != nil {
		return nil, err
	}
	return &Response{Status: int(status.Int64), Body: b}, nil
}

// Release forgets the key, so a later request with it runs afresh. Used when
// the request was refused before it changed anything (bad input), as Stripe
// does not store validation failures, or could not be done for now (busy).
// A key whose answer the work committed is kept.
func (c *Claim) Release(ctx context.Context) error {
	_, err := c.store.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE platform_id = $1 AND idempotency_key = $2 AND owner = $3 AND state = 'in_progress'`,
		c.req.PlatformID, c.req.Key, c.owner)
	return err
}

// Unlock lets the key go without an answer, for a request that could not
// be done for now (Tender or Stripe busy or unreachable) and is to be sent
// again: the next request with the key takes it at once and runs as the
// same request, with the same first use, so it derives the same ids and
// Stripe keys as this one did (id.For). A key whose answer the work
// committed is kept.
func (c *Claim) Unlock(ctx context.Context) error {
	_, err := c.store.db.ExecContext(ctx, `UPDATE idempotency_keys SET locked_until = $4, owner = NULL
		WHERE platform_id = $1 AND idempotency_key = $2 AND owner = $3 AND state = 'in_progress'`,
		c.req.PlatformID, c.req.Key, c.owner, store.TimeOf(c.store.now()))
	return err
}

// Pending returns the answer the request's work committed through Commit,
// or nil.
func (c *Claim) Pending() *Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending
}

type claimKey struct{}

// NewContext returns ctx carrying the claim, for Commit, and the claim's
// seed, so that id.For derives the same ids on every run of the request.
func NewContext(ctx context.Context, c *Claim) context.Context {
	ctx = context.WithValue(ctx, claimKey{}, c)
	return id.WithSeed(ctx, c.seed, c.first)
}

// FromContext returns the claim of the request ctx belongs to, or nil.
func FromContext(ctx context.Context) *Claim {
	c, _ := ctx.Value(claimKey{}).(*Claim)
	return c
}

// Commit stores v, as the JSON a 200 answer carries, as the answer to the
// request's Idempotency-Key, in tx: the transaction that commits the
// request's work. A crash at any instant then leaves either neither (a
// retry runs afresh) or both (a retry replays the answer); no rerun can
// repeat work whose answer was lost. Call it in the transaction whose
// outcome is the request's answer, and nowhere earlier. Without a claim
// (no Idempotency-Key) it does nothing. Returns errs.Conflict if another
// request took the key over, so the work rolls back.
func Commit(ctx context.Context, tx *sql.Tx, v any) error {
	c := FromContext(ctx)
	if c == nil {
		return nil
	}
	body, err := Encode(v)
	if err != nil {
		return err
	}
	resp := Response{Status: 200, Body: body}
	ok, err := c.complete(ctx, tx, resp)
	if err != nil {
		return err
	}
	if !ok {
		return lost()
	}
	c.mu.Lock()
	c.pending = &resp
	c.mu.Unlock()
	return nil
}

// Encode is how the API writes a JSON answer: compact, with a newline.
func Encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Fingerprint summarises a request's parameters. JSON bodies are
// canonicalised first (object keys sorted, numbers kept exact) so that the
// same parameters sent with other whitespace or key order still match.
// A body with data after its first value is hashed as it is: it is
// another request than that value alone (decodeJSON refuses it).
func Fingerprint(query string, body []byte) string {
	canon := body
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if len(bytes.TrimSpace(body)) == 0 {
		canon = []byte("{}")
	} else if err := dec.Decode(&v); err == nil && len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) == 0 {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	h := sha256.New()
	h.Write([]byte(query))
	h.Write([]byte{0})
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil))
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
