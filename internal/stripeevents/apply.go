package stripeevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// ApplyArgs is the job that applies one event of the inbox.
type ApplyArgs struct {
	PlatformID string `json:"platform_id"`
	EventID    string `json:"event_id"`
	// Replay is set by a replay, so that its job is not taken for the
	// first one's (River's uniqueness is by arguments).
	Replay int `json:"replay,omitempty"`
}

// Kind implements river.JobArgs.
func (ApplyArgs) Kind() string { return "stripeevents.apply" }

// ApplyMaxAttempts bounds the runs of an event's job that fail: Stripe or
// the database unavailable. An event about an object Tender has not
// committed yet is snoozed instead, NotYetTries times.
const ApplyMaxAttempts = 12

// NotYetTries and NotYetWait bound how long an event about an object
// Tender does not have yet waits for it: five seconds (a commit is
// usually that close), then doubling, about 40 minutes in all, before the
// event is failed (and can be replayed).
const (
	NotYetTries = 10
	NotYetWait  = 5 * time.Second
)

// ApplyWorker runs ApplyArgs jobs.
type ApplyWorker struct {
	river.WorkerDefaults[ApplyArgs]
	Events *Service
}

// Work implements river.Worker.
func (w *ApplyWorker) Work(ctx context.Context, job *river.Job[ApplyArgs]) error {
	last := job.Attempt >= job.MaxAttempts
	return w.Events.apply(ctx, job.Args.PlatformID, job.Args.EventID, last)
}

// State is where an event of the inbox is in its processing.
type State string

// States.
const (
	StateReceived State = "received" // stored; its job will apply it
	StateApplied  State = "applied"  // Tender acted on it
	StateFailed   State = "failed"   // applying it gave up; it can be replayed
	StateIgnored  State = "ignored"  // nothing in it is Tender's to act on
)

// errNotYet says that the event is about an object Tender has not
// committed yet (a connection whose OAuth callback is still running):
// it is tried again later, bounded.
var errNotYet = errors.New("stripeevents: the object is not in Tender yet")

// result is what a handler did with an event.
type result struct {
	state   State
	outcome string
}

func applied(format string, args ...any) result {
	return result{StateApplied, fmt.Sprintf(format, args...)}
}
func ignored(format string, args ...any) result {
	return result{StateIgnored, fmt.Sprintf(format, args...)}
}

// handler applies one type of event. It reads the object again from
// Stripe, on the event's account, and calls the transitions of the package
// that owns it, so a late or repeated event changes nothing.
type handler func(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (result, error)

// handlers lists every event type Tender handles; endpoints subscribe to
// exactly these (HandledTypes).
var handlers = map[string]handler{
	"account.updated":                  applyAccount,
	"account.application.deauthorized": applyAccount,
	"capability.updated":               applyAccount,

	"payment_intent.succeeded":                 applyPaymentIntent,
	"payment_intent.payment_failed":            applyPaymentIntent,
	"payment_intent.canceled":                  applyPaymentIntent,
	"payment_intent.requires_action":           applyPaymentIntent,
	"payment_intent.amount_capturable_updated": applyPaymentIntent,
	"payment_intent.processing":                applyPaymentIntent,

	"charge.refunded": applyRefunds,
	"refund.created":  applyRefunds,
	"refund.updated":  applyRefunds,
	"refund.failed":   applyRefunds,

	"charge.dispute.created":          applyDispute,
	"charge.dispute.updated":          applyDispute,
	"charge.dispute.closed":           applyDispute,
	"charge.dispute.funds_withdrawn":  applyDispute,
	"charge.dispute.funds_reinstated": applyDispute,

	"payout.created":  applyPayout,
	"payout.updated":  applyPayout,
	"payout.paid":     applyPayout,
	"payout.failed":   applyPayout,
	"payout.canceled": applyPayout,

	"transfer.created":         applyTransfer,
	"transfer.updated":         applyTransfer,
	"transfer.reversed":        applyTransfer,
	"application_fee.refunded": applyFeeRefunded,

	"payment_method.detached":              applyDetached,
	"payment_method.updated":               applyCardUpdated,
	"payment_method.automatically_updated": applyCardUpdated,
	"setup_intent.succeeded":               applySetupSucceeded,
}

// HandledTypes returns the event types Tender handles, sorted.
func HandledTypes() []string {
	return slices.Sorted(maps.Keys(handlers))
}

// apply applies an event of the inbox, once: an event applied or ignored
// is left alone. last says this is the job's last run: a failure then
// fails the event rather than leaving it to a retry that will not come.
func (s *Service) apply(ctx context.Context, platformID, eventID string, last bool) error {
	e, err := s.inboxEvent(ctx, s.db, platformID, eventID)
	if err != nil {
		return err
	}
	if e.State == StateApplied || e.State == StateIgnored {
		return nil
	}
	attempts, err := s.countAttempt(ctx, e)
	if err != nil {
		return err
	}
	var ev stripe.Event
	if err := json.Unmarshal(e.body, &ev); err != nil {
		return s.finishEvent(ctx, e, result{StateFailed, ""}, fmt.Errorf("unreadable event: %w", err))
	}
	h, ok := handlers[string(ev.Type)]
	if !ok {
		return s.finishEvent(ctx, e, ignored("Tender does not act on %s events.", ev.Type), nil)
	}
	res, err := h(ctx, s, platformID, &ev)
	var snooze *river.JobSnoozeError
	switch {
	case err == nil:
		return s.finishEvent(ctx, e, res, nil)
	case errors.Is(err, errNotYet) && attempts < NotYetTries:
		s.noteError(ctx, e, err) // so that the inbox says what it waits for
		return river.JobSnooze(NotYetWait << (attempts - 1))
	case errors.As(err, &snooze):
		return err
	case errors.Is(err, errNotYet), last, !retryable(err):
		return s.finishEvent(ctx, e, result{StateFailed, ""}, err)
	}
	s.noteError(ctx, e, err)
	return err
}

// retryable reports whether a handler's failure may pass: Stripe or the
// database unavailable, rather than an event Tender cannot apply.
func retryable(err error) bool {
	if e, ok := errors.AsType[*errs.Error](err); ok {
		return e.Code == errs.Unavailable || e.Code == errs.RateLimited
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		return stripeapi.Classify(err).Pending()
	}
	return true
}

// countAttempt counts a run of the event's processing, before it runs, so
// that a run that dies is counted too.
func (s *Service) countAttempt(ctx context.Context, e *Event) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `UPDATE stripe_events SET attempts = attempts + 1, updated_at = $3
		WHERE platform_id = $1 AND id = $2 RETURNING attempts`, e.PlatformID, e.ID, store.TimeOf(s.now())).Scan(&n)
	return n, err
}

func (s *Service) finishEvent(ctx context.Context, e *Event, r result, cause error) error {
	msg := ""
	if cause != nil {
		msg = errText(cause)
		s.log.Warn("stripe event failed", "platform", e.PlatformID, "event", e.ID, "stripe_id", e.StripeID, "type", e.Type, "err", cause)
	}
	now := store.TimeOf(s.now())
	var at *store.Time
	if r.state == StateApplied || r.state == StateIgnored {
		at = &now
	}
	_, err := s.db.ExecContext(ctx, `UPDATE stripe_events SET state = $3, outcome = $4, last_error = $5, applied_at = $6, updated_at = $7
		WHERE platform_id = $1 AND id = $2`, e.PlatformID, e.ID, string(r.state), r.outcome, msg, at, now)
	return err
}

func (s *Service) noteError(ctx context.Context, e *Event, cause error) {
	_, err := s.db.ExecContext(ctx, `UPDATE stripe_events SET last_error = $3, updated_at = $4 WHERE platform_id = $1 AND id = $2`,
		e.PlatformID, e.ID, errText(cause), store.TimeOf(s.now()))
	if err != nil {
		s.log.Warn("stripe event: noting an error", "event", e.ID, "err", err)
	}
}

// errText is what the inbox shows of a failure: an *errs.Error's message,
// Stripe's classified message, or the error (it holds no secret: keys are
// redacted by stripeapi).
func errText(err error) string {
	if e, ok := errors.AsType[*errs.Error](err); ok && e.Code != errs.Internal {
		return e.Message
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		o := stripeapi.Classify(err)
		return "Stripe: " + string(o.Kind) + ": " + o.Message
	}
	return err.Error()
}

// applyAccount re-reads a connected account and applies its state to the
// merchants connected to it; an account out of reach deauthorizes them
// (and drops the clones of cards on it), so a deauthorization is applied
// only if it is still true.
func applyAccount(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (result, error) {
	acct := ev.Account
	if acct == "" {
		return ignored("The platform account's own %s is not Tender's to act on.", ev.Type), nil
	}
	first, err := s.connect.FirstMerchantOf(ctx, platformID, acct)
	if errs.Is(err, errs.NotFound) {
		// An OAuth connection commits after Stripe connects the account.
		return result{}, fmt.Errorf("%w: no merchant is connected to %s", errNotYet, acct)
	}
	if err != nil {
		return result{}, err
	}
	if err := s.connect.HandleAccountUpdated(ctx, platformID, acct); err != nil {
		return result{}, err
	}
	m, err := s.connect.Merchant(ctx, platformID, first)
	if err != nil {
		return result{}, err
	}
	return applied("Merchant %s's connection is %s.", m.ID, m.Connection.Status), nil
}

// applyPaymentIntent re-reads a PaymentIntent and, when Tender made it (its
// metadata names a payment of this platform), observes its payment.
func applyPaymentIntent(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (result, error) {
	sc, piID, err := s.stripeFor(ctx, platformID, ev)
	if err != nil {
		return result{}, err
	}
	pi, err := sc.V1PaymentIntents.Retrieve(ctx, piID, stripeapi.OnAccount(&stripe.PaymentIntentRetrieveParams{}, ev.Account))
	if err != nil {
		return result{}, err
	}
	paymentID := pi.Metadata["tender_payment"]
	if paymentID == "" {
		return ignored("PaymentIntent %s was not made by Tender.", piID), nil
	}
	p, err := s.payments.Observe(ctx, platformID, paymentID)
	if errs.Is(err, errs.NotFound) {
		return ignored("PaymentIntent %s names payment %s, which this platform does not have.", piID, paymentID), nil
	}
	if err != nil {
		return result{}, err
	}
	return applied("Payment %s is %s.", p.ID, p.Status), nil
}

// applyRefunds re-reads the refund of a refund.* event, or every refund of
// the charge of charge.refunded, and has payments record each: one made at
// Stripe without Tender becomes a Tender refund with its ledger entries.
func applyRefunds(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (result, error) {
	sc, objID, err := s.stripeFor(ctx, platformID, ev)
	if err != nil {
		return result{}, err
	}
	var refunds []*stripe.Refund
	if ev.Data.Object["object"] == "charge" {
		list := stripeapi.OnAccount(&stripe.RefundListParams{Charge: stripe.String(objID)}, ev.Account)
		list.AddExpand("data.transfer_reversal")
		for re, err := range sc.V1Refunds.List(ctx, list).All(ctx) {
			if err != nil {
				return result{}, err
			}
			refunds = append(refunds, re)
		}
	} else {
		params := stripeapi.OnAccount(&stripe.RefundRetrieveParams{}, ev.Account)
		params.AddExpand("transfer_reversal")
		re, err := sc.V1Refunds.Retrieve(ctx, objID, params)
		if err != nil {
			return result{}, err
		}
		refunds = append(refunds, re)
	}
	var done []string
	for _, re := range refunds {
		r, err := s.payments.ObserveRefund(ctx, platformID, ev.Account, re)
		switch {
		case errs.Is(err, errs.NotFound):
			continue // not of a payment Tender made
		case errors.Is(err, payment.ErrNotSettled):
			return result{}, fmt.Errorf("%w: %v", errNotYet, err)
		case err != nil:
			return result{}, err
		case r != nil:
			done = append(done, fmt.Sprintf("refund %s is %s", r.ID, r.Status))
		}
	}
	if len(done) == 0 {
		return ignored("No refund of %s is Tender's to record (not of a Tender payment, or not succeeded at Stripe).", objID), nil
	}
	return applied("%s.", strings.Join(done, "; ")), nil
}

// applyDispute re-reads a dispute, with its balance transactions, and has
// disputes record it.
func applyDispute(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (result, error) {
	sc, objID, err := s.stripeFor(ctx, platformID, ev)
	if err != nil {
		return result{}, err
	}
	sd, err := sc.V1Disputes.Retrieve(ctx, objID, stripeapi.OnAccount(&stripe.DisputeRetrieveParams{}, ev.Account))
	if err != nil {
		return result{}, err
	}
	d, err := s.disputes.Observe(ctx, platformID, ev.Account, sd)
	switch {
	case errs.Is(err, errs.NotFound):
		return ignored("Dispute %s is not of a payment Tender made.", objID), nil
	case errors.Is(err, payment.ErrNotSettled):
		return result{}, fmt.Errorf("%w: %v", errNotYet, err)
	case err != nil:
		return result{}, err
	}
	return applied("Dispute %s is %s.", d.ID, d.Status), nil
}

// applyPayout re-reads a payout, with its balance transactions, and has
// payouts record it.
func applyPayout(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (result, error) {
	sc, objID, err := s.stripeFor(ctx, platformID, ev)
	if err != nil {
		return result{}, err
	}
	params := stripeapi.OnAccount(&stripe.PayoutRetrieveParams{}, ev.Account)
	params.AddExpand("balance_transaction")
	params.AddExpand("failure_balance_transaction")
	po, err := sc.V1Payouts.Retrieve(ctx, objID, params)
	if err != nil {
		return result{}, err
	}
	p, err := s.payouts.Observe(ctx, platformID, ev.Account, po)
	if errs.Is(err, errs.NotFound) {
		// An OAuth connection commits after Stripe connects the account.
		return result{}, fmt.Errorf("%w: %v", errNotYet, err)
	}
	if err != nil {
		return result{}, err
	}
	return applied("Payout %s is %s.", p.ID, p.Status), nil
}

// objectID is the id of the event's object, checked to be one.
func objectID(ev *stripe.Event) (string, error) {
	if ev.Data == nil || ev.Data.Object == nil {
		return "", errs.E(errs.Invalid, "The event has no object.")
	}
	v, _ := ev.Data.Object["id"].(string)
	if v == "" || strings.ContainsAny(v, "/?#") {
		return "", errs.E(errs.Invalid, "The event's object has no usable id.")
	}
	return v, nil
}

// Valid reports whether s is a state, or empty (any).
func (s State) Valid() bool {
	switch s {
	case "", StateReceived, StateApplied, StateFailed, StateIgnored:
		return true
	}
	return false
}
