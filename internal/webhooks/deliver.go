package webhooks

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/store"
)

// Delivery states.
const (
	statePending   = "pending"
	stateSucceeded = "succeeded"
	stateFailed    = "failed"
)

// delivery is one event owed to one endpoint.
type delivery struct {
	PlatformID, EndpointID, EventID, ObjectID string
	EventSeq                                  int64
	Attempts                                  int
	owner                                     string
}

// DrainArgs is the job that sends one endpoint's due deliveries: each
// object's oldest pending one (its head), several objects at once. Several
// may run for the same endpoint (fan-out, the sweep, a continuation); each
// head's lease lets one send it at a time.
type DrainArgs struct {
	PlatformID string `json:"platform_id"`
	EndpointID string `json:"endpoint_id"`
}

// Kind implements river.JobArgs.
func (DrainArgs) Kind() string { return "webhooks.drain" }

// DrainWorker runs DrainArgs jobs on the webhooks queue, apart from the
// payment jobs, so that slow endpoints never hold up charges.
type DrainWorker struct {
	river.WorkerDefaults[DrainArgs]
	Webhooks *Service
}

// Work implements river.Worker.
func (w *DrainWorker) Work(ctx context.Context, job *river.Job[DrainArgs]) error {
	return w.Webhooks.Drain(ctx, job.Args)
}

// drainBudget is how long one drain job starts new sends for: with a send
// taking at most the timeout (15 s), a run ends well inside its job
// timeout (jobs.DefaultTimeout), and a long backlog continues in a new job.
const drainBudget = 10 * time.Second

// enqueueDrain starts a drain of a's endpoint. unique skips it when one is
// already waiting or running (the sweep's, which would otherwise pile up
// behind a slow one); fan-out's are never skipped, since a running drain
// may be about to stop before the deliveries just written are visible.
func (s *Service) enqueueDrain(ctx context.Context, tx *sql.Tx, a DrainArgs, unique bool) error {
	opts := &river.InsertOpts{Queue: jobs.QueueWebhooks, MaxAttempts: 25}
	if unique {
		// Not completed ones, which River counts by default: the next
		// sweep must be able to start another.
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
			rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}
	}
	var err error
	if tx == nil {
		_, err = s.jobs().Insert(ctx, a, opts)
	} else {
		_, err = s.jobs().InsertTx(ctx, tx, a, opts)
	}
	if err != nil {
		return fmt.Errorf("enqueue webhook drain: %w", err)
	}
	return nil
}

// Drain sends a's endpoint's due heads, up to MaxInFlight at once on this
// node, each sender taking the next due head when it is done, until none
// is due or the budget is spent (then a new job goes on).
func (s *Service) Drain(ctx context.Context, a DrainArgs) error {
	start := time.Now()
	var wg sync.WaitGroup
	var unfinished atomic.Bool
	failed := make(chan error, s.maxInFlight)
	for range s.maxInFlight {
		release, ok := s.acquire(a.EndpointID)
		if !ok {
			break // this node already sends MaxInFlight to the endpoint
		}
		wg.Go(func() {
			defer release()
			for time.Since(start) < drainBudget {
				e, d, err := s.claimHead(ctx, a)
				if err != nil {
					failed <- err
					return
				}
				if d == nil {
					return
				}
				if err := s.deliver(ctx, e, d); err != nil {
					failed <- err
					return
				}
			}
			unfinished.Store(true)
		})
	}
	wg.Wait()
	close(failed)
	var all []error
	for err := range failed {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		return err
	}
	if unfinished.Load() {
		return s.enqueueDrain(ctx, nil, a, false)
	}
	return nil
}

func (s *Service) acquire(endpointID string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[endpointID] >= s.maxInFlight {
		return nil, false
	}
	s.inFlight[endpointID]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.inFlight[endpointID]--; s.inFlight[endpointID] == 0 {
			delete(s.inFlight, endpointID)
		}
	}, true
}

// leaseFor is how long a sender holds a head: longer than a send can take,
// short enough that a dead sender's head is sent again soon after. Leases
// are in wall-clock time (time.Now), not the service's clock: they say
// whether a process is still at work, which a clock moved on in tests
// does not change.
func (s *Service) leaseFor() time.Duration { return s.timeout + 15*time.Second }

// headCond selects, among deliveries d, the heads that can be sent: due by
// the time in placeholder now, not leased at the wall-clock time in
// placeholder wall, and the oldest pending of their endpoint and object, so
// that no event overtakes an older one of its object.
func headCond(now, wall string) string {
	return strings.NewReplacer("$now", now, "$wall", wall).Replace(`d.state = 'pending' AND d.next_attempt_at <= $now
		AND (d.lease_until IS NULL OR d.lease_until <= $wall)
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o WHERE o.platform_id = d.platform_id AND o.endpoint_id = d.endpoint_id
			AND o.object_id = d.object_id AND o.state = 'pending' AND o.event_seq < d.event_seq)`)
}

// claimRetries bounds how often a sender looks again after another took
// the head it chose.
const claimRetries = 5

// claimHead leases the oldest due head of a's endpoint. It returns nil when
// there is nothing to send now: the endpoint is gone or disabled, or no
// head is due (they wait for their retry time, which the sweep watches) or
// free (other senders hold them).
func (s *Service) claimHead(ctx context.Context, a DrainArgs) (*Endpoint, *delivery, error) {
	for range claimRetries {
		e, d, taken, err := s.tryClaim(ctx, a)
		if err != nil || !taken {
			return e, d, err
		}
	}
	return nil, nil, nil
}

// tryClaim picks a head and leases it; taken means another sender leased
// it in between.
func (s *Service) tryClaim(ctx context.Context, a DrainArgs) (e *Endpoint, d *delivery, taken bool, err error) {
	now, wall := store.TimeOf(s.now()), store.TimeOf(time.Now())
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = getEndpoint(ctx, tx, a.PlatformID, a.EndpointID)
		if errs.Is(err, errs.NotFound) || (err == nil && e.Status != StatusEnabled) {
			return nil
		}
		if err != nil {
			return err
		}
		head := delivery{PlatformID: a.PlatformID, EndpointID: a.EndpointID}
		err = tx.QueryRowContext(ctx, `SELECT d.event_id, d.event_seq, d.object_id, d.attempts FROM webhook_deliveries d
			WHERE d.platform_id = $1 AND d.endpoint_id = $2 AND `+headCond("$3", "$4")+` ORDER BY d.event_seq LIMIT 1`,
			a.PlatformID, a.EndpointID, now, wall).Scan(&head.EventID, &head.EventSeq, &head.ObjectID, &head.Attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		head.owner = newOwner()
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = $4, lease_until = $5
			WHERE platform_id = $1 AND endpoint_id = $2 AND event_id = $3 AND state = 'pending'
			AND (lease_until IS NULL OR lease_until <= $6)`,
			a.PlatformID, a.EndpointID, head.EventID, head.owner, store.TimeOf(wall.Time.Add(s.leaseFor())), wall)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if taken = n == 0; !taken {
			d = &head
		}
		return nil
	})
	if d == nil {
		return nil, nil, taken, err
	}
	return e, d, false, err
}

func newOwner() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// body is a delivery's payload, as Standard Webhooks lays it out: the
// event's type, when it happened, and the event as the feed shows it.
type body struct {
	Type      event.Type `json:"type"`
	Timestamp time.Time  `json:"timestamp"`
	Data      event.View `json:"data"`
}

// deliver sends d once and records what happened.
func (s *Service) deliver(ctx context.Context, e *Endpoint, d *delivery) error {
	ev, err := event.Get(ctx, s.db, d.PlatformID, d.EventID)
	if errs.Is(err, errs.NotFound) {
		// Pruned before it could be delivered (the endpoint was down for
		// longer than events are kept): nothing left to send.
		return s.settle(ctx, e, d, &event.Event{ID: d.EventID}, Result{Err: errors.New("the event is no longer kept")}, true)
	}
	if err != nil {
		return err
	}
	secrets, err := s.signingSecrets(e, s.now())
	if err != nil {
		return err
	}
	raw, err := json.Marshal(body{Type: ev.Type, Timestamp: ev.Created, Data: ev.View()})
	if err != nil {
		return err
	}
	ts := s.now()
	sig, err := SignWith(ev.ID, ts, raw, secrets...)
	if err != nil {
		return fmt.Errorf("sign for %s: %w", e.ID, err)
	}
	res := s.sender.Send(ctx, e.URL, Message{ID: ev.ID, Timestamp: ts, Body: raw, Signature: sig})
	if ctx.Err() != nil {
		// Stopping: what the receiver saw is unknown, and the lease runs
		// out for the rescued job to send again.
		return ctx.Err()
	}
	return s.settle(ctx, e, d, ev, res, false)
}

// settle records an attempt and moves the delivery on: succeeded; failed
// for good when its retries are spent (or its event is gone); else pending
// with its next attempt's time, when the sweep will start a drain for it.
// A 410 disables the endpoint and keeps the delivery for when it is
// enabled again; so does failing everything for disableAfter. Only the
// lease holder moves the delivery: a run whose lease was taken over
// records its attempt and nothing else.
func (s *Service) settle(ctx context.Context, e *Endpoint, d *delivery, ev *event.Event, res Result, final bool) error {
	now := store.TimeOf(s.now())
	n := d.Attempts + 1
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.recordAttempt(ctx, tx, d, ev, n, res, now.Time); err != nil {
			return err
		}
		state, next := statePending, now.Time
		switch {
		case res.OK():
			state = stateSucceeded
		case res.Gone():
		case final || n > len(s.schedule):
			state = stateFailed
		default:
			next = now.Time.Add(s.wait(n, res.RetryAfter))
		}
		if res.Gone() {
			n = 0
		}
		ok, err := s.moveDelivery(ctx, tx, d, state, n, next)
		if err != nil || !ok || final {
			return err // final: the event's fault, not the endpoint's
		}
		return s.noteOutcome(ctx, tx, e, ev, res, now.Time)
	})
}

func (s *Service) moveDelivery(ctx context.Context, tx *sql.Tx, d *delivery, state string, attempts int, next time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $5, attempts = $6, next_attempt_at = $7,
		lease_owner = NULL, lease_until = NULL, updated_at = $8
		WHERE platform_id = $1 AND endpoint_id = $2 AND event_id = $3 AND lease_owner = $4 AND state = 'pending'`,
		d.PlatformID, d.EndpointID, d.EventID, d.owner, state, attempts, store.TimeOf(next), store.TimeOf(s.now()))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// wait is how long to wait after the nth failed attempt: the schedule's
// step with ±10 % jitter, or the receiver's Retry-After if that is longer.
func (s *Service) wait(n int, retryAfter time.Duration) time.Duration {
	step := s.schedule[n-1]
	if j := int64(step) / 5; j > 0 {
		step += time.Duration(mrand.Int64N(j) - j/2)
	}
	return max(step, retryAfter)
}

// noteOutcome keeps the endpoint's health: a success ends its failing
// streak; a failure starts one or, past disableAfter, disables it, as a
// 410 does at once.
func (s *Service) noteOutcome(ctx context.Context, tx *sql.Tx, e *Endpoint, ev *event.Event, res Result, now time.Time) error {
	if res.OK() {
		if e.FailingSince.IsZero() {
			return nil
		}
		e.FailingSince = time.Time{}
		_, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE platform_id = $1 AND id = $2`, e.PlatformID, e.ID)
		return err
	}
	f := &Failure{Event: ev.ID, EventType: ev.Type, At: now}
	if res.Status != 0 {
		f.Status = &res.Status
	}
	if res.Err != nil {
		msg := errText(res.Err)
		f.Error = &msg
	}
	e.LastFailure = f
	// The streak's start as the row has it, not as this sender read it:
	// another sender may have ended it with a success since.
	raw, _ := json.Marshal(f)
	var since store.Time
	err := tx.QueryRowContext(ctx, `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $3), last_failure = $4
		WHERE platform_id = $1 AND id = $2 RETURNING failing_since`, e.PlatformID, e.ID, store.TimeOf(now), string(raw)).Scan(&since)
	if err != nil {
		return err
	}
	e.FailingSince = since.Time
	var reason DisabledReason
	switch {
	case res.Gone():
		reason = DisabledGone
	case now.Sub(e.FailingSince) >= s.disableAfter:
		reason = DisabledFailing
	default:
		return nil
	}
	return s.disable(ctx, tx, e, reason, now)
}

// disable stops deliveries to e for reason, tells the platform with
// webhook_endpoint.disabled, and logs it. Its deliveries and its cursor
// stay where they are.
func (s *Service) disable(ctx context.Context, tx *sql.Tx, e *Endpoint, reason DisabledReason, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $3, disabled_at = $4, updated_at = $4
		WHERE platform_id = $1 AND id = $2 AND status = 'enabled'`, e.PlatformID, e.ID, string(reason), store.TimeOf(now))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	e.Status, e.DisabledReason, e.Disabled, e.Updated = StatusDisabled, reason, now, now
	s.log.Warn("webhook endpoint disabled", "platform", e.PlatformID, "endpoint", e.ID, "reason", string(reason),
		"failing_since", e.FailingSince, "last_event", e.LastFailure.Event)
	_, err = event.Record(ctx, tx, now, e.PlatformID, EventEndpointDisabled, e.ID, e.View())
	return err
}

// maxResponse bounds what an attempt keeps of the receiver's answer.
const maxResponse = 1024

func (s *Service) recordAttempt(ctx context.Context, tx *sql.Tx, d *delivery, ev *event.Event, n int, res Result, now time.Time) error {
	var status, errMsg, response any
	if res.Status != 0 {
		status = res.Status
	}
	if res.Err != nil {
		errMsg = errText(res.Err)
	}
	if len(res.Body) > 0 {
		response = printable(string(res.Body[:min(len(res.Body), maxResponse)]))
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (platform_id, endpoint_id, id, event_id, event_type, attempt, status,
		latency_us, error, response, succeeded, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		d.PlatformID, d.EndpointID, id.New(AttemptPrefix), d.EventID, string(ev.Type), n, status, res.Latency.Microseconds(),
		errMsg, response, res.OK(), store.TimeOf(now))
	return err
}
