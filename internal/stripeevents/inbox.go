package stripeevents

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/store"
)

// Event is one event of the inbox: what Stripe sent, as it came, and what
// Tender did with it.
type Event struct {
	PlatformID string
	ID         string
	// Account is the connected account the event is about; empty for the
	// platform account's own.
	Account           string
	StripeID          string
	Type              string
	ObjectID          string
	Livemode          bool
	APIVersion        string
	StripeCreated     time.Time
	Source            string // webhook or backfill, whichever came first
	WebhookDeliveries int
	RemoteAddr        string
	Headers           http.Header
	State             State
	Attempts          int
	Outcome           string
	LastError         string
	Received          time.Time
	Applied           *time.Time
	body              []byte
}

// Body is the event as Stripe sent it.
func (e *Event) Body() json.RawMessage { return e.body }

const eventCols = `platform_id, id, account, stripe_id, type, object_id, livemode, api_version, stripe_created, source,
	webhook_deliveries, remote_addr, headers, body, state, attempts, outcome, last_error, received_at, applied_at`

func scanEvent(sc store.Scanner) (*Event, error) {
	e := &Event{}
	var created, received, applied store.Time
	var headers, body string
	err := sc.Scan(&e.PlatformID, &e.ID, &e.Account, &e.StripeID, &e.Type, &e.ObjectID, &e.Livemode, &e.APIVersion, &created,
		&e.Source, &e.WebhookDeliveries, &e.RemoteAddr, &headers, &body, &e.State, &e.Attempts, &e.Outcome, &e.LastError,
		&received, &applied)
	if err != nil {
		return nil, err
	}
	e.StripeCreated, e.Received, e.Applied, e.body = created.Time, received.Time, applied.Ptr(), []byte(body)
	if err := json.Unmarshal([]byte(headers), &e.Headers); err != nil {
		return nil, err
	}
	return e, nil
}

func (s *Service) inboxEvent(ctx context.Context, q store.Querier, platformID, eventID string) (*Event, error) {
	e, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventCols+` FROM stripe_events WHERE platform_id = $1 AND id = $2`,
		platformID, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("id", "No such Stripe event: '%s'.", eventID)
	}
	return e, err
}

// Get returns an event of the inbox. Returns errs.NotFound.
func (s *Service) Get(ctx context.Context, platformID, eventID string) (*Event, error) {
	return s.inboxEvent(ctx, s.db, platformID, eventID)
}

// Filter narrows a list of the inbox's events; empty fields match all.
type Filter struct {
	Type    string
	Account string
	State   State
}

// List returns a page of the inbox, newest first.
func (s *Service) List(ctx context.Context, platformID string, f Filter, page store.Page) ([]*Event, bool, error) {
	q, args := `SELECT `+eventCols+` FROM stripe_events WHERE platform_id = $1`, []any{platformID}
	for _, c := range []struct{ col, v string }{{"type", f.Type}, {"account", f.Account}, {"state", string(f.State)}} {
		if c.v != "" {
			args = append(args, c.v)
			q += " AND " + c.col + " = $" + strconv.Itoa(len(args))
		}
	}
	return store.List(ctx, s.db, page, scanEvent, q, args...)
}

// Replay applies an event again, whatever its state: its handler reads
// the object from Stripe once more, so replaying an applied event changes
// nothing that is right. Returns errs.NotFound.
func (s *Service) Replay(ctx context.Context, platformID, eventID string) (*Event, error) {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		e, err := s.inboxEvent(ctx, tx, platformID, eventID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE stripe_events SET state = $3, attempts = 0, updated_at = $4 WHERE platform_id = $1 AND id = $2`,
			platformID, eventID, string(StateReceived), store.TimeOf(s.now()))
		if err != nil {
			return err
		}
		_, err = s.jobs().InsertTx(ctx, tx, ApplyArgs{PlatformID: platformID, EventID: e.ID, Replay: int(s.now().UnixMilli())},
			&river.InsertOpts{MaxAttempts: ApplyMaxAttempts})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, platformID, eventID)
}

// DefaultRetention is how long the inbox keeps an event: as long as
// Stripe keeps it (30 days), so a backfill never feeds in an event the
// inbox has forgotten.
const DefaultRetention = 30 * 24 * time.Hour

const pruneBatch = 1000

// Prune deletes the events received before before, in batches, except
// those not processed yet, which the inbox still owes work.
func (s *Service) Prune(ctx context.Context, before time.Time) (int64, error) {
	return store.DeleteInBatches(ctx, s.db, pruneBatch, `DELETE FROM stripe_events WHERE (platform_id, id) IN
		(SELECT platform_id, id FROM stripe_events WHERE received_at < $1 AND state <> $2 LIMIT $3)`,
		store.TimeOf(before), string(StateReceived))
}

// MaintainArgs is the periodic job that prunes the inbox and retires the
// endpoints whose roll has ended.
type MaintainArgs struct{}

// Kind implements river.JobArgs.
func (MaintainArgs) Kind() string { return "stripeevents.maintain" }

// MaintainWorker runs MaintainArgs jobs; running it twice is harmless.
type MaintainWorker struct {
	river.WorkerDefaults[MaintainArgs]
	Events    *Service
	Retention time.Duration
}

// Work implements river.Worker.
func (w *MaintainWorker) Work(ctx context.Context, _ *river.Job[MaintainArgs]) error {
	_, errPrune := w.Events.Prune(ctx, w.Events.now().Add(-w.Retention))
	_, errRetire := w.Events.RetireExpired(ctx)
	return errors.Join(errPrune, errRetire)
}
