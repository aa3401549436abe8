package webhooks

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/store"
)

// Redeliver sends one event again to endpointID, or, when it is empty, to
// every enabled endpoint that subscribes to its type, even where it was
// delivered already: with a fresh set of retries, in its object's order.
// It returns the endpoints it will go to. Returns errs.NotFound for an
// unknown event, errs.Invalid naming endpoint for an unknown endpoint or
// one that does not subscribe to the event's type.
func (s *Service) Redeliver(ctx context.Context, platformID, eventID, endpointID string) ([]string, error) {
	ev, err := s.events.Get(ctx, platformID, eventID)
	if err != nil {
		return nil, err
	}
	var targets []*Endpoint
	if endpointID != "" {
		e, err := s.Endpoint(ctx, platformID, endpointID)
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Invalidf("endpoint", "No such webhook endpoint: %q.", endpointID)
		}
		if err != nil {
			return nil, err
		}
		if !e.subscribes(ev.Type) {
			return nil, errs.Invalidf("endpoint", "Webhook endpoint %s does not subscribe to %s.", e.ID, ev.Type)
		}
		targets = []*Endpoint{e}
	} else {
		all, _, err := s.Endpoints(ctx, platformID, store.Page{Limit: MaxEndpoints})
		if err != nil {
			return nil, err
		}
		for _, e := range all {
			if e.Status == StatusEnabled && e.subscribes(ev.Type) {
				targets = append(targets, e)
			}
		}
	}
	ids := []string{}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, e := range targets {
			if _, err := s.owe(ctx, tx, e, []newEvent{{id: ev.ID, objectID: ev.ObjectID, typ: ev.Type, seq: ev.Sequence}}, true); err != nil {
				return err
			}
			ids = append(ids, e.ID)
		}
		return nil
	})
	return ids, err
}

// owe makes each event a pending delivery to e, due now with a fresh set of
// retries: new, or made pending again when it exists (a failed one always;
// a succeeded one only when resend says so), starts a drain, and returns
// how many it made pending.
func (s *Service) owe(ctx context.Context, tx *sql.Tx, e *Endpoint, owed []newEvent, resend bool) (int, error) {
	now := store.TimeOf(s.now())
	again := `state = 'failed'`
	if resend {
		again = `state <> 'pending'`
	}
	var made []newEvent
	for _, ev := range owed {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $4,
			lease_owner = NULL, lease_until = NULL, updated_at = $4
			WHERE platform_id = $1 AND endpoint_id = $2 AND event_id = $3 AND `+again, e.PlatformID, e.ID, ev.id, now)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		if n == 0 {
			inserted, err := s.insertDeliveries(ctx, tx, e, []newEvent{ev}, now.Time)
			if err != nil {
				return 0, err
			}
			n = int64(inserted)
		}
		if n > 0 {
			made = append(made, ev)
		}
	}
	if len(made) == 0 {
		return 0, nil
	}
	return len(made), s.enqueueDrain(ctx, tx, DrainArgs{e.PlatformID, e.ID}, false)
}

// MaxRecover bounds the events one recovery sends again; a platform that
// needs more recovers the rest with a later since.
const MaxRecover = 10000

// Recovery is what a recovery queued.
type Recovery struct {
	EndpointID string
	Since      time.Time
	Until      time.Time
	Events     int
	// Last is the creation time of the last event queued, when the range
	// held more than MaxRecover: recover again from it.
	Last time.Time
}

// Recover sends e again every event created in [since, until) (until
// zero: up to now) that it
// subscribes to and that was not delivered to it: those that failed, and
// those from before it existed or fanned out while it subscribed to other
// types. Returns errs.NotFound, or errs.Invalid naming since or until.
func (s *Service) Recover(ctx context.Context, platformID, endpointID string, since, until time.Time) (*Recovery, error) {
	if since.IsZero() {
		return nil, errs.Missing("since")
	}
	if !until.IsZero() && !until.After(since) {
		return nil, errs.Invalidf("until", "until must be after since.")
	}
	e, err := s.Endpoint(ctx, platformID, endpointID)
	if err != nil {
		return nil, err
	}
	rec := &Recovery{EndpointID: e.ID, Since: since, Until: until}
	if until.IsZero() {
		rec.Until = s.now() // nothing later is recovered: fan-out sends it
	}
	after := int64(0)
	for rec.Events < MaxRecover {
		events, more, err := s.events.List(ctx, platformID, event.Query{CreatedFrom: since, CreatedUntil: until, After: &after,
			Page: store.Page{Limit: 100}})
		if err != nil {
			return nil, err
		}
		var owed []newEvent
		for _, ev := range events {
			// Past the cursor, fan-out will deliver it.
			if ev.Sequence <= e.Cursor && e.subscribes(ev.Type) {
				owed = append(owed, newEvent{id: ev.ID, objectID: ev.ObjectID, typ: ev.Type, seq: ev.Sequence})
			}
			after = ev.Sequence
		}
		err = s.db.InTx(ctx, func(tx *sql.Tx) error {
			n, err := s.owe(ctx, tx, e, owed, false)
			rec.Events += n
			return err
		})
		if err != nil {
			return nil, err
		}
		if !more {
			return rec, nil
		}
		if rec.Events >= MaxRecover {
			rec.Last = events[len(events)-1].Created
		}
	}
	return rec, nil
}

// Attempt is one try at delivering an event to an endpoint.
type Attempt struct {
	ID         string
	EndpointID string
	EventID    string
	EventType  event.Type
	Attempt    int
	Status     int
	Latency    time.Duration
	Error      string
	Response   string
	Succeeded  bool
	Created    time.Time
}

// AttemptView is an attempt as the API shows it.
type AttemptView struct {
	ID        string     `json:"id"`
	Object    string     `json:"object"`
	Endpoint  string     `json:"webhook_endpoint"`
	Event     string     `json:"event"`
	EventType event.Type `json:"event_type"`
	Attempt   int        `json:"attempt"`
	Succeeded bool       `json:"succeeded"`
	Status    *int       `json:"status"`
	LatencyMS int64      `json:"latency_ms"`
	Error     *string    `json:"error"`
	Response  *string    `json:"response"`
	CreatedAt time.Time  `json:"created_at"`
}

// View returns a as the API shows it.
func (a *Attempt) View() AttemptView {
	v := AttemptView{ID: a.ID, Object: "webhook_attempt", Endpoint: a.EndpointID, Event: a.EventID, EventType: a.EventType,
		Attempt: a.Attempt, Succeeded: a.Succeeded, LatencyMS: a.Latency.Milliseconds(), CreatedAt: a.Created}
	if a.Status != 0 {
		v.Status = &a.Status
	}
	if a.Error != "" {
		v.Error = &a.Error
	}
	if a.Response != "" {
		v.Response = &a.Response
	}
	return v
}

// Attempts lists an endpoint's delivery attempts, newest first, of one
// event when eventID is set. Returns errs.NotFound for an unknown endpoint.
func (s *Service) Attempts(ctx context.Context, platformID, endpointID, eventID string, page store.Page) ([]*Attempt, bool, error) {
	if _, err := s.Endpoint(ctx, platformID, endpointID); err != nil {
		return nil, false, err
	}
	return store.List(ctx, s.db, page, scanAttempt, `SELECT endpoint_id, id, event_id, event_type, attempt, status, latency_us, error,
		response, succeeded, created_at FROM webhook_attempts WHERE platform_id = $1 AND endpoint_id = $2 AND ($3 = '' OR event_id = $3)`,
		platformID, endpointID, eventID)
}

func scanAttempt(row store.Scanner) (*Attempt, error) {
	var a Attempt
	var status sql.NullInt64
	var errMsg, response sql.NullString
	var latency int64
	var typ string
	var created store.Time
	if err := row.Scan(&a.EndpointID, &a.ID, &a.EventID, &typ, &a.Attempt, &status, &latency, &errMsg, &response, &a.Succeeded, &created); err != nil {
		return nil, err
	}
	a.EventType, a.Status, a.Latency = event.Type(typ), int(status.Int64), time.Duration(latency)*time.Microsecond
	a.Error, a.Response, a.Created = errMsg.String, response.String, created.Time
	return &a, nil
}

// Prune deletes attempts, and deliveries that are done, older than before:
// they are kept as long as the events they were about.
func (s *Service) Prune(ctx context.Context, before time.Time) error {
	at := store.TimeOf(before)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM webhook_attempts WHERE created_at < $1`, at); err != nil {
		return fmt.Errorf("prune webhook attempts: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < $1`, at); err != nil {
		return fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return nil
}

// PruneArgs is the periodic job that prunes attempts and done deliveries
// past the events' retention.
type PruneArgs struct{}

// Kind implements river.JobArgs.
func (PruneArgs) Kind() string { return "webhooks.prune" }

// PruneWorker runs PruneArgs jobs. Pruning twice is harmless.
type PruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	Webhooks  *Service
	Retention time.Duration
}

// Work implements river.Worker.
func (w *PruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	return w.Webhooks.Prune(ctx, w.Webhooks.now().Add(-w.Retention))
}
