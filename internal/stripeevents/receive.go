package stripeevents

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/store"
)

// Receipt is what Receive did with a delivery.
type Receipt struct {
	ID        string // the inbox's id of the event
	Duplicate bool   // the event was in the inbox already; nothing was enqueued
}

// envelope is what Receive reads of an event before storing it: enough to
// key it, check it and find what it is about. The rest is read when it is
// applied, from Stripe rather than from the payload.
type envelope struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	Type       string `json:"type"`
	Account    string `json:"account"`
	Livemode   bool   `json:"livemode"`
	APIVersion string `json:"api_version"`
	Created    int64  `json:"created"`
	Data       struct {
		Object struct {
			ID string `json:"id"`
		} `json:"object"`
	} `json:"data"`
}

// errRefused is the one answer to a delivery that does not verify: the
// sender learns nothing of why (the reason is counted and logged).
var errRefused = errs.E(errs.Invalid, "The Stripe-Signature header does not verify for this endpoint.").WithReason("signature_invalid")

// Receive verifies a delivery and, when it is Stripe's, stores it in the
// inbox with its processing enqueued, in one transaction. An event already
// in the inbox (the same platform, account and Stripe id, by webhook or by
// backfill) is acknowledged and counted, not enqueued again.
//
// A delivery that does not verify stores nothing: it is counted by reason
// and logged without its body, and refused with errs.Invalid
// (signature_invalid). A verified delivery that is not an event for this
// endpoint — unreadable, of the other mode, or naming an account on the
// platform's endpoint (or none on the Connect one) — is refused with
// errs.Invalid too, naming why: it is Stripe's, and a misconfiguration an
// operator should see in Stripe's delivery log.
func (s *Service) Receive(ctx context.Context, d Delivery) (*Receipt, error) {
	now := s.now()
	secrets, err := s.verify(ctx, d, now)
	if err != nil {
		return nil, err
	}
	env, err := s.check(d, secrets.livemode)
	if err != nil {
		return nil, err
	}
	return s.commit(ctx, d, env, now)
}

// verify checks the delivery's signature against the endpoint's secrets,
// reading them again once when the cached ones fail, so that a secret made
// on another node (a roll) is found at its first use.
func (s *Service) verify(ctx context.Context, d Delivery, now time.Time) (*endpointSecrets, error) {
	header := d.Header.Get("Stripe-Signature")
	for fresh := false; ; fresh = true {
		es, err := s.secretsFor(ctx, d.PlatformID, d.Scope, fresh)
		if err != nil {
			return nil, err
		}
		_, err = Verify(d.Body, header, es.valid(now), now)
		if err == nil {
			return es, nil
		}
		if fresh || !(errors.Is(err, ErrBadSignature) || errors.Is(err, ErrNoSecret)) {
			s.refuse(d, err)
			return nil, errRefused
		}
	}
}

func (s *Service) refuse(d Delivery, why error) {
	r := s.refusalsOf(d.PlatformID)
	switch why {
	case ErrNotSigned:
		r.notSigned.Add(1)
	case ErrBadHeader:
		r.badHeader.Add(1)
	case ErrStale:
		r.stale.Add(1)
	case ErrNoSecret:
		r.noSecret.Add(1)
	case ErrBadSignature:
		r.badSignature.Add(1)
	}
	// Never the body: a forged one is an attacker's text, a real one may be
	// a customer's data.
	s.log.Warn("stripe webhook refused", "platform", d.PlatformID, "scope", d.Scope, "reason", why.Error(),
		"remote_addr", d.RemoteAddr, "bytes", len(d.Body))
}

// check reads the verified event and refuses one that is not for this
// endpoint.
func (s *Service) check(d Delivery, livemode bool) (*envelope, error) {
	var env envelope
	if !utf8.Valid(d.Body) || json.Unmarshal(d.Body, &env) != nil || env.Object != "event" || env.ID == "" || env.Type == "" {
		s.refusalsOf(d.PlatformID).malformed.Add(1)
		return nil, errs.E(errs.Invalid, "The body is not a Stripe event.").WithReason("event_malformed")
	}
	if env.Livemode != livemode {
		s.refusalsOf(d.PlatformID).livemode.Add(1)
		s.log.Warn("stripe webhook of the other mode", "platform", d.PlatformID, "event", env.ID, "livemode", env.Livemode)
		return nil, errs.E(errs.Invalid, "The event's livemode (%t) is not the mode of this platform's Stripe key.", env.Livemode).WithReason("livemode_mismatch")
	}
	if (d.Scope == ScopeConnect) != (env.Account != "") {
		s.refusalsOf(d.PlatformID).wrongEndpoint.Add(1)
		s.log.Warn("stripe webhook at the wrong endpoint", "platform", d.PlatformID, "scope", d.Scope, "event", env.ID, "account", env.Account)
		if d.Scope == ScopeConnect {
			return nil, errs.E(errs.Invalid, "This endpoint takes connected accounts' events; this event names no account.").WithReason("wrong_endpoint")
		}
		return nil, errs.E(errs.Invalid, "This endpoint takes the platform account's own events; this event is connected account %s's.", env.Account).WithReason("wrong_endpoint")
	}
	return &env, nil
}

// Sources of an event in the inbox.
const (
	sourceWebhook  = "webhook"
	sourceBackfill = "backfill"
)

// store adds the event to the inbox with its processing enqueued, or, if
// it is there already, counts a webhook delivery of it, in a transaction
// of its own.
func (s *Service) store(ctx context.Context, d Delivery, env *envelope, source string, now time.Time) (*Receipt, error) {
	var rc *Receipt
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var jobs []river.InsertManyParams
		var err error
		rc, err = s.storeTx(ctx, tx, d, env, source, now, &jobs)
		if err != nil || len(jobs) == 0 {
			return err
		}
		_, err = s.jobs().InsertManyTx(ctx, tx, jobs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// storeTx writes the event in tx and adds its job to jobs, for the caller
// to insert in tx, if it is new.
func (s *Service) storeTx(ctx context.Context, tx *sql.Tx, d Delivery, env *envelope, source string, now time.Time,
	jobs *[]river.InsertManyParams) (*Receipt, error) {
	headers, err := json.Marshal(d.Header)
	if err != nil {
		return nil, err
	}
	deliveries := 0
	if source == sourceWebhook {
		deliveries = 1
	}
	rc := &Receipt{ID: id.New(EventPrefix)}
	res, err := tx.ExecContext(ctx, `INSERT INTO stripe_events (platform_id, id, account, stripe_id, type, object_id, livemode,
		api_version, stripe_created, source, webhook_deliveries, remote_addr, headers, body, state, attempts, outcome, last_error,
		received_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, '', '', $16, $16)
		ON CONFLICT (platform_id, account, stripe_id) DO NOTHING`,
		d.PlatformID, rc.ID, env.Account, env.ID, env.Type, env.Data.Object.ID, env.Livemode, env.APIVersion,
		store.TimeOf(time.Unix(env.Created, 0)), source, deliveries, d.RemoteAddr, string(headers), string(d.Body),
		string(StateReceived), store.TimeOf(now))
	if err != nil {
		return nil, fmt.Errorf("store stripe event: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	if n == 1 {
		*jobs = append(*jobs, river.InsertManyParams{Args: ApplyArgs{PlatformID: d.PlatformID, EventID: rc.ID}, InsertOpts: applyOpts})
		return rc, nil
	}
	rc.Duplicate = true
	if deliveries == 0 { // the backfill read one the inbox has
		return rc, tx.QueryRowContext(ctx, `SELECT id FROM stripe_events WHERE platform_id = $1 AND account = $2 AND stripe_id = $3`,
			d.PlatformID, env.Account, env.ID).Scan(&rc.ID)
	}
	return rc, tx.QueryRowContext(ctx, `UPDATE stripe_events SET webhook_deliveries = webhook_deliveries + 1
		WHERE platform_id = $1 AND account = $2 AND stripe_id = $3 RETURNING id`,
		d.PlatformID, env.Account, env.ID).Scan(&rc.ID)
}

// The deliveries being answered are committed together: a delivery waits
// while the transaction before it commits, and every delivery that came
// meanwhile goes into the next one, up to maxBatch. A commit, not the
// statements, is most of what a delivery costs, so under load many share
// one; alone, a delivery commits at once. A batch that fails is committed
// again one delivery at a time, so that one bad delivery fails alone.
const maxBatch = 128

// batching is the queue of deliveries waiting for a commit, and whether a
// goroutine is committing them (only while there are some).
type batching struct {
	mu      sync.Mutex
	pending []*waiting
	running bool
}

type waiting struct {
	d    Delivery
	env  *envelope
	now  time.Time
	done chan stored
}

type stored struct {
	rc  *Receipt
	err error
}

// commit stores a verified delivery in the next batch and waits for it.
func (s *Service) commit(ctx context.Context, d Delivery, env *envelope, now time.Time) (*Receipt, error) {
	w := &waiting{d: d, env: env, now: now, done: make(chan stored, 1)}
	s.batch.mu.Lock()
	s.batch.pending = append(s.batch.pending, w)
	start := !s.batch.running
	s.batch.running = true
	s.batch.mu.Unlock()
	if start {
		go s.commitBatches()
	}
	select {
	case r := <-w.done:
		return r.rc, r.err
	case <-ctx.Done():
		// Stripe is gone; whether the event committed or not, its retry is
		// acknowledged once.
		return nil, ctx.Err()
	}
}

// commitBatches commits batches until none is waiting.
func (s *Service) commitBatches() {
	for {
		s.batch.mu.Lock()
		batch := s.batch.pending
		if len(batch) > maxBatch {
			batch = batch[:maxBatch:maxBatch]
		}
		s.batch.pending = s.batch.pending[len(batch):]
		if len(batch) == 0 {
			s.batch.running = false
			s.batch.pending = nil
			s.batch.mu.Unlock()
			return
		}
		s.batch.mu.Unlock()
		s.commitBatch(batch)
	}
}

func (s *Service) commitBatch(batch []*waiting) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rcs := make([]*Receipt, len(batch))
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var jobs []river.InsertManyParams
		for i, w := range batch {
			rc, err := s.storeTx(ctx, tx, w.d, w.env, sourceWebhook, w.now, &jobs)
			if err != nil {
				return err
			}
			rcs[i] = rc
		}
		if len(jobs) == 0 {
			return nil
		}
		_, err := s.jobs().InsertManyTx(ctx, tx, jobs)
		return err
	})
	for i, w := range batch {
		if err == nil {
			w.done <- stored{rc: rcs[i]}
			continue
		}
		rc, err := s.store(ctx, w.d, w.env, sourceWebhook, w.now)
		w.done <- stored{rc: rc, err: err}
	}
}

// applyOpts are an event's job's. No uniqueness: the job is inserted only
// with the event's row, which is unique.
var applyOpts = &river.InsertOpts{MaxAttempts: ApplyMaxAttempts}
