package stripeevents

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// BackfillOverlap is how far before its mark a sweep reads again: Stripe
// may list an event a moment after its creation time, and what a sweep
// reads twice the inbox keeps once.
const BackfillOverlap = 10 * time.Minute

// BackfillEvery is how often the backfill sweeps each platform.
const BackfillEvery = 5 * time.Minute

// Swept is what one sweep of the backfill found.
type Swept struct {
	Accounts int // accounts read: the platform's and each connected one
	Read     int // events listed at Stripe of the types Tender handles
	Added    int // events the inbox did not have: deliveries missed
}

// Backfill reads the events Stripe kept of the platform's account and,
// with Stripe-Account, of each connected account, from where the last
// sweep stopped (or from when the endpoints were set up), and feeds every
// event of a type Tender handles that the inbox does not have into it, to
// be applied like a delivered one. A platform without endpoints at Stripe
// has nothing to sweep. Safe to run twice, or on two nodes at once.
func (s *Service) Backfill(ctx context.Context, platformID string) (Swept, error) {
	var sw Swept
	since, err := s.setUpAt(ctx, platformID)
	if err != nil || since.IsZero() {
		return sw, err
	}
	c, err := s.stripe.Client(ctx, platformID)
	if err != nil {
		return sw, err
	}
	accounts, err := s.connect.ConnectedAccounts(ctx, platformID)
	if err != nil {
		return sw, err
	}
	var failed []error
	for _, acct := range append([]string{""}, accounts...) {
		sw.Accounts++
		if err := s.sweep(ctx, c.Stripe(), platformID, acct, since, &sw); err != nil {
			failed = append(failed, fmt.Errorf("account %q: %w", acct, err))
		}
	}
	if sw.Added > 0 {
		s.log.Warn("stripe events recovered by the backfill: webhook deliveries are being missed", "platform", platformID,
			"added", sw.Added, "read", sw.Read)
	}
	return sw, errors.Join(failed...)
}

// setUpAt is when the platform's first endpoint still in use was made;
// zero if it has none.
func (s *Service) setUpAt(ctx context.Context, platformID string) (time.Time, error) {
	var at store.Time
	err := s.db.QueryRowContext(ctx, `SELECT MIN(created_at) FROM stripe_webhook_endpoints WHERE platform_id = $1 AND status <> $2`,
		platformID, endpointRetired).Scan(&at)
	return at.Time, err
}

// sweep reads one account's events newer than its mark, newest first as
// Stripe lists them, stores those the inbox lacks, and moves the mark.
func (s *Service) sweep(ctx context.Context, sc *stripe.Client, platformID, acct string, since time.Time, sw *Swept) error {
	from, err := s.mark(ctx, platformID, acct, since)
	if err != nil {
		return err
	}
	params := stripeapi.OnAccount(&stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{
		GreaterThanOrEqual: from.Add(-BackfillOverlap).Unix()}}, acct)
	params.Limit = stripe.Int64(100)
	handled := HandledTypes()
	newest := from
	for ev, err := range sc.V1Events.List(ctx, params).All(ctx) {
		if err != nil {
			return err
		}
		if _, ok := slices.BinarySearch(handled, string(ev.Type)); !ok {
			continue
		}
		sw.Read++
		if t := time.Unix(ev.Created, 0); t.After(newest) {
			newest = t
		}
		added, err := s.feed(ctx, platformID, acct, ev)
		if err != nil {
			return err
		}
		if added {
			sw.Added++
		}
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO stripe_event_marks (platform_id, account, seen_through, swept_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (platform_id, account) DO UPDATE SET seen_through = CASE WHEN excluded.seen_through > stripe_event_marks.seen_through
		THEN excluded.seen_through ELSE stripe_event_marks.seen_through END, swept_at = excluded.swept_at`,
		platformID, acct, store.TimeOf(newest), store.TimeOf(s.now()))
	return err
}

func (s *Service) mark(ctx context.Context, platformID, acct string, since time.Time) (time.Time, error) {
	var at store.Time
	err := s.db.QueryRowContext(ctx, `SELECT seen_through FROM stripe_event_marks WHERE platform_id = $1 AND account = $2`,
		platformID, acct).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return since, nil
	}
	return at.Time, err
}

// feed stores an event read from Stripe's list in the inbox, as if it had
// come to the endpoint of its scope; false if the inbox had it.
func (s *Service) feed(ctx context.Context, platformID, acct string, ev *stripe.Event) (bool, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return false, err
	}
	env := &envelope{ID: ev.ID, Object: "event", Type: string(ev.Type), Account: acct, Livemode: ev.Livemode,
		APIVersion: ev.APIVersion, Created: ev.Created}
	if ev.Data != nil {
		env.Data.Object.ID, _ = ev.Data.Object["id"].(string)
	}
	scope := ScopeAccount
	if acct != "" {
		scope = ScopeConnect
	}
	rc, err := s.store(ctx, Delivery{PlatformID: platformID, Scope: scope, Header: http.Header{}, Body: body}, env, sourceBackfill, s.now())
	if err != nil {
		return false, err
	}
	return !rc.Duplicate, nil
}

// Coverage is how Stripe's events reached the platform's inbox.
type Coverage struct {
	Object string `json:"object"`
	// ByWebhook events came by webhook (the backfill may have read them
	// too); OnlyByBackfill were found only by the backfill: a nonzero
	// figure means deliveries are being missed.
	ByWebhook      int64 `json:"by_webhook"`
	OnlyByBackfill int64 `json:"only_by_backfill"`
	// Unprocessed events are received and not applied yet; the oldest was
	// received at OldestUnprocessed.
	Unprocessed       int64      `json:"unprocessed"`
	OldestUnprocessed *time.Time `json:"oldest_unprocessed_at"`
	Failed            int64      `json:"failed"`
	// LastSwept is when the backfill last finished a sweep of an account.
	LastSwept *time.Time `json:"last_swept_at"`
	// Refused counts the deliveries this process refused, by reason.
	Refused Refusals `json:"refused"`
}

// CoverageOf returns the platform's coverage, over the events the inbox
// keeps.
func (s *Service) CoverageOf(ctx context.Context, platformID string) (*Coverage, error) {
	c := &Coverage{Object: "stripe_event_coverage"}
	var oldest, swept store.Time
	err := s.db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN webhook_deliveries > 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN webhook_deliveries = 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = $2 THEN 1 ELSE 0 END), 0),
		MIN(CASE WHEN state = $2 THEN received_at END),
		COALESCE(SUM(CASE WHEN state = $3 THEN 1 ELSE 0 END), 0)
		FROM stripe_events WHERE platform_id = $1`, platformID, string(StateReceived), string(StateFailed)).
		Scan(&c.ByWebhook, &c.OnlyByBackfill, &c.Unprocessed, &oldest, &c.Failed)
	if err != nil {
		return nil, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(swept_at) FROM stripe_event_marks WHERE platform_id = $1`, platformID).Scan(&swept); err != nil {
		return nil, err
	}
	c.OldestUnprocessed, c.LastSwept, c.Refused = oldest.Ptr(), swept.Ptr(), s.Refused(platformID)
	return c, nil
}

// BackfillArgs is the periodic job that sweeps every platform with
// endpoints at Stripe.
type BackfillArgs struct{}

// Kind implements river.JobArgs.
func (BackfillArgs) Kind() string { return "stripeevents.backfill" }

// BackfillWorker runs BackfillArgs jobs.
type BackfillWorker struct {
	river.WorkerDefaults[BackfillArgs]
	Events *Service
}

// Work implements river.Worker.
func (w *BackfillWorker) Work(ctx context.Context, _ *river.Job[BackfillArgs]) error {
	platforms, err := store.All(ctx, w.Events.db, func(sc store.Scanner) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, `SELECT DISTINCT platform_id FROM stripe_webhook_endpoints WHERE status <> $1 ORDER BY platform_id`, endpointRetired)
	if err != nil {
		return err
	}
	var failed []error
	for _, p := range platforms {
		if _, err := w.Events.Backfill(ctx, p); err != nil {
			failed = append(failed, fmt.Errorf("platform %s: %w", p, err))
		}
	}
	return errors.Join(failed...)
}
