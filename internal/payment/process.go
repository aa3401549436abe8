package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// ProcessArgs is the job that charges a payment at Stripe.
type ProcessArgs struct {
	PlatformID string `json:"platform_id"`
	PaymentID  string `json:"payment_id"`
}

// Kind implements river.JobArgs.
func (ProcessArgs) Kind() string { return "payment.process" }

// ProcessWorker runs ProcessArgs jobs. Running one twice, or again after
// a crash at any point, charges once (see Service.Process).
type ProcessWorker struct {
	river.WorkerDefaults[ProcessArgs]
	Payments *Service
}

// Work implements river.Worker.
func (w *ProcessWorker) Work(ctx context.Context, job *river.Job[ProcessArgs]) error {
	return w.Payments.Process(ctx, job.Args.PlatformID, job.Args.PaymentID)
}

// Process charges the payment at Stripe and records the outcome. It is
// safe to run any number of times, concurrently included:
//
//   - A payment already settled is left alone.
//   - The status moves to processing, committed, before Stripe is called,
//     so a run that finds processing knows an earlier one may have
//     reached Stripe.
//   - A saved PaymentIntent id is re-read rather than created again.
//   - With none saved and an earlier run possibly at Stripe, the
//     PaymentIntent is looked up by Tender's metadata (tender_payment,
//     tender_attempt) on its account (the merchant's, or the platform's
//     for a destination charge) before anything is created; that holds
//     after Stripe's 24-hour idempotency window too.
//   - The creation carries a key derived from the payment and attempt, so
//     two runs racing within the window get the same PaymentIntent.
//   - Its id is saved as soon as Stripe returns it, before the outcome.
//
// It returns an error, for River to retry with backoff, only when the
// outcome is not known yet: Stripe rate-limited, failed or was
// unreachable.
func (s *Service) Process(ctx context.Context, platformID, paymentID string) error {
	p, err := getPayment(ctx, s.db, platformID, paymentID)
	if err != nil {
		return err
	}
	if p.Status.final() {
		return nil
	}
	if p.Source == SourceCheckout {
		return s.processCheckout(ctx, p) // never charged here: the payer confirms it
	}
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return err
	}
	maybeAtStripe := p.Status == StatusProcessing
	if p.Status == StatusPending {
		if _, err := s.db.ExecContext(ctx, `UPDATE payments SET status = $3, updated_at = $4 WHERE platform_id = $1 AND id = $2 AND status = $5`,
			platformID, p.ID, string(StatusProcessing), store.TimeOf(s.now()), string(StatusPending)); err != nil {
			return err
		}
	}

	var pi *stripe.PaymentIntent
	switch {
	case p.StripePaymentIntentID != "":
		params := stripeapi.OnAccount(&stripe.PaymentIntentRetrieveParams{}, p.intentAccount())
		if pi, err = sc.V1PaymentIntents.Retrieve(ctx, p.StripePaymentIntentID, params); err != nil {
			return s.lookupFailed(ctx, p, err)
		}
	case maybeAtStripe:
		if pi, err = s.findIntent(ctx, sc, p); err != nil {
			return s.lookupFailed(ctx, p, err)
		}
		if pi != nil {
			if err := s.saveIntent(ctx, p, pi.ID); err != nil {
				return err
			}
		}
	}
	if pi == nil && !p.CreateFailed.IsZero() {
		if err := s.nextKey(ctx, p); err != nil {
			return err
		}
	}
	if pi == nil {
		if err := s.crashPoint("before_create", p.ID); err != nil {
			return err
		}
		if pi, err = s.createIntent(ctx, sc, p); err != nil {
			return err
		}
		if pi == nil {
			return nil // settled by createIntent (a decline, a refusal)
		}
	}
	if err := s.crashPoint("after_save", p.ID); err != nil {
		return err
	}
	return s.settle(ctx, p, pi)
}

// lookupFailed handles a failure to read back a PaymentIntent that may
// exist. Unlike a failed creation, it settles nothing: the charge may have
// gone through, and calling it failed is how payments that succeeded at
// Stripe come to show as failed. A merchant whose account is out of reach
// is refreshed and the job cancelled, leaving the payment processing for
// the operator (and the janitor, which will look again); anything else is
// retried.
func (s *Service) lookupFailed(ctx context.Context, p *Payment, err error) error {
	o := stripeapi.Classify(err)
	if o.Kind != stripeapi.KindAccountInvalid {
		return fmt.Errorf("payment %s: reading back its PaymentIntent: %s, will retry: %w", p.ID, o.Kind, errors.Join(o.Cause, o.Err()))
	}
	if _, err := s.connect.Refresh(ctx, p.PlatformID, p.MerchantID); err != nil {
		s.logger.WarnContext(ctx, "refreshing a merchant whose account was refused", "merchant", p.MerchantID, "err", err)
	}
	s.logger.ErrorContext(ctx, "payment's outcome unknown: the merchant's account is out of reach", "payment", p.ID, "merchant", p.MerchantID,
		"payment_intent", p.StripePaymentIntentID)
	return river.JobCancel(fmt.Errorf("payment %s: the merchant's account is out of reach; outcome unknown", p.ID))
}

// intentAccount is the account the PaymentIntent lives on, for the
// Stripe-Account header: the merchant's for a direct charge, "" (the
// platform's own) for destination and separate charges.
func (p *Payment) intentAccount() string {
	if p.ChargeType == ChargeDirect {
		return p.AccountID
	}
	return ""
}

// attemptKey is the idempotency key of the attempt's creation.
func (p *Payment) attemptKey() string {
	parts := []string{"payment", p.ID, "attempt", strconv.FormatInt(p.Attempt, 10), "create"}
	if p.KeyTry > 0 {
		parts = append(parts, "try", strconv.FormatInt(p.KeyTry, 10))
	}
	return stripeapi.IdempotencyKey(parts...)
}

// SearchLag is how long after a failed creation Tender trusts that a
// search by metadata would show the PaymentIntent if it had been made.
// Stripe's search is not read-after-write ("data is typically searchable
// within a minute"), so an empty answer sooner proves nothing.
const SearchLag = 2 * time.Minute

// nextKey moves to a new idempotency key for the attempt's creation,
// after Stripe stored a 5xx under the current one (it would replay it)
// and the search found no PaymentIntent: once the search has had
// SearchLag to catch up, or else the job is snoozed until it has.
func (s *Service) nextKey(ctx context.Context, p *Payment) error {
	if wait := SearchLag - s.now().Sub(p.CreateFailed); wait > 0 {
		return river.JobSnooze(wait)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE payments SET key_try = key_try + 1, create_failed_at = NULL, updated_at = $3
		WHERE platform_id = $1 AND id = $2 AND key_try = $4`, p.PlatformID, p.ID, store.TimeOf(s.now()), p.KeyTry)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(err, fmt.Errorf("payment %s: another run moved to a new key; retrying", p.ID))
	}
	p.KeyTry, p.CreateFailed = p.KeyTry+1, time.Time{}
	return nil
}

// findIntent returns the attempt's PaymentIntent on the account it is
// made on (the merchant's, or the platform's for a destination charge),
// found by Tender's metadata, or nil if there is none.
func (s *Service) findIntent(ctx context.Context, sc *stripe.Client, p *Payment) (*stripe.PaymentIntent, error) {
	params := &stripe.PaymentIntentSearchParams{SearchParams: stripe.SearchParams{Single: true,
		Query: fmt.Sprintf("metadata['tender_payment']:'%s' AND metadata['tender_attempt']:'%d'", p.ID, p.Attempt)}}
	stripeapi.OnAccount(params, p.intentAccount())
	for pi, err := range sc.V1PaymentIntents.Search(ctx, params).All(ctx) {
		if err != nil {
			return nil, err
		}
		return pi, nil
	}
	return nil, nil
}

// createIntent creates and confirms the attempt's PaymentIntent: for a
// direct charge on the merchant's account with the card's clone there,
// for a destination charge on the platform's account with the card
// itself, transferring to the merchant. It returns the PaymentIntent, or
// nil once the payment is settled (a decline, a request Stripe refused, a
// card or merchant no longer usable), or an error for River to retry.
func (s *Service) createIntent(ctx context.Context, sc *stripe.Client, p *Payment) (*stripe.PaymentIntent, error) {
	if p.OffSession {
		// The customer may have withdrawn consent since the payment was
		// accepted; withdrawing also removed the card's clone, which
		// CloneFor would otherwise make again.
		if _, err := s.wallet.ActiveConsent(ctx, p.PlatformID, p.CustomerID, p.MerchantID, p.PaymentMethodID); errs.Is(err, errs.Forbidden) {
			return nil, s.finish(ctx, p, nil, outcome{status: StatusFailed, code: "consent_missing",
				message: "You have not allowed this merchant to charge your card.", detail: errs.As(err).Message})
		} else if err != nil {
			return nil, err
		}
	}
	var customerID, pmID string
	if p.ChargeType != ChargeDirect {
		var settled bool
		var err error
		if customerID, pmID, settled, err = s.platformCard(ctx, p); err != nil || settled {
			return nil, err
		}
	} else {
		clone, err := s.wallet.CloneFor(ctx, p.PlatformID, p.PaymentMethodID, p.MerchantID)
		switch {
		case errs.Is(err, errs.Conflict) || errs.Is(err, errs.NotFound):
			e := errs.As(err)
			return nil, s.finish(ctx, p, nil, outcome{status: StatusFailed, code: orDefault(e.Reason, "payment_method_unavailable"),
				message: "This card can no longer be used for this payment.", detail: e.Message})
		case errs.Is(err, errs.Forbidden):
			return nil, s.settleError(ctx, p, stripeapi.Outcome{Kind: stripeapi.KindAccountInvalid, Message: errs.As(err).Message})
		case err != nil:
			return nil, err
		}
		if clone.AccountID != p.AccountID {
			return nil, s.finish(ctx, p, nil, outcome{status: StatusFailed, code: "merchant_account_changed",
				message: "The merchant cannot take this payment.", detail: "the merchant's account changed from " + p.AccountID + " to " + clone.AccountID})
		}
		customerID, pmID = clone.ConnectedCustomerID, clone.ConnectedPaymentMethodID
	}
	md := make(map[string]string, len(p.Metadata)+2)
	for k, v := range p.Metadata {
		md[k] = v
	}
	md["tender_payment"], md["tender_attempt"] = p.ID, strconv.FormatInt(p.Attempt, 10)
	params := &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(p.Amount), Currency: stripe.String(p.Currency.Lower()),
		Customer: stripe.String(customerID), PaymentMethod: stripe.String(pmID),
		PaymentMethodTypes: []*string{stripe.String("card")},
		Confirm:            stripe.Bool(true), OffSession: stripe.Bool(p.OffSession),
		CaptureMethod: stripe.String(string(p.Capture)), Metadata: md,
	}
	if p.ApplicationFee > 0 && p.ChargeType != ChargeSeparate {
		// A separate charge's fee is what its transfers leave on the
		// platform's account; Stripe refuses an application fee on a
		// charge that is the platform's own.
		params.ApplicationFeeAmount = stripe.Int64(p.ApplicationFee)
	}
	if p.Description != "" {
		params.Description = stripe.String(p.Description)
	}
	if p.StatementDescriptorSuffix != "" {
		params.StatementDescriptorSuffix = stripe.String(p.StatementDescriptorSuffix)
	}
	if p.ChargeType == ChargeDestination {
		// On behalf of the merchant: it is the settlement merchant, its
		// statement descriptor shows and its country's fees apply, as for
		// a sale it makes; Stripe requires the same account as the
		// destination for cards.
		params.TransferData = &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(p.AccountID)}
		params.OnBehalfOf = stripe.String(p.AccountID)
	}
	if p.ChargeType == ChargeSeparate {
		// Groups the charge with its transfers at Stripe, and lets a rerun
		// find transfers already made (see Transfer).
		params.TransferGroup = stripe.String(p.ID)
	}
	stripeapi.OnAccount(params, p.intentAccount())
	params.SetIdempotencyKey(p.attemptKey())
	pi, err := sc.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		o := stripeapi.Classify(err)
		if o.Kind == stripeapi.KindUnavailable && o.Status >= 500 {
			// Stored under the key and replayed to any retry with it.
			if _, err := s.db.ExecContext(ctx, `UPDATE payments SET create_failed_at = $3 WHERE platform_id = $1 AND id = $2`,
				p.PlatformID, p.ID, store.TimeOf(s.now())); err != nil {
				return nil, err
			}
		}
		if o.PaymentIntentID != "" {
			if err := s.crashPoint("after_create", p.ID); err != nil {
				return nil, err
			}
		}
		return nil, s.settleError(ctx, p, o)
	}
	if err := s.crashPoint("after_create", p.ID); err != nil {
		return nil, err
	}
	if err := s.saveIntent(ctx, p, pi.ID); err != nil {
		return nil, err
	}
	return pi, nil
}

// platformCard returns the platform's Customer and PaymentMethod for a
// destination charge, or settles the payment failed when the card or
// customer can no longer be charged.
func (s *Service) platformCard(ctx context.Context, p *Payment) (customerID, pmID string, settled bool, err error) {
	unusable := func(code, detail string) (string, string, bool, error) {
		return "", "", true, s.finish(ctx, p, nil, outcome{status: StatusFailed, code: code,
			message: "This card can no longer be used for this payment.", detail: detail})
	}
	cu, err := s.wallet.Customer(ctx, p.PlatformID, p.CustomerID)
	if errs.Is(err, errs.NotFound) {
		return unusable("payment_method_unavailable", "customer "+p.CustomerID+" is gone")
	} else if err != nil {
		return "", "", false, err
	}
	if cu.StripeCustomerID == "" {
		return unusable("payment_method_unavailable", "customer "+p.CustomerID+" was erased")
	}
	pm, err := s.wallet.PaymentMethod(ctx, p.PlatformID, p.CustomerID, p.PaymentMethodID)
	if errs.Is(err, errs.NotFound) {
		return unusable("payment_method_unavailable", "card "+p.PaymentMethodID+" is gone")
	} else if err != nil {
		return "", "", false, err
	}
	if pm.Status != "active" {
		return unusable("payment_method_detached", "card "+p.PaymentMethodID+" was removed")
	}
	return cu.StripeCustomerID, pm.StripeID, false, nil
}

func (s *Service) crashPoint(step, paymentID string) error {
	if s.crashFunc == nil {
		return nil
	}
	return s.crashFunc(step, paymentID)
}

// saveIntent records the attempt's PaymentIntent id, the first thing done
// with Stripe's answer.
func (s *Service) saveIntent(ctx context.Context, p *Payment, piID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE payments SET stripe_payment_intent_id = $3, updated_at = $4
		WHERE platform_id = $1 AND id = $2 AND stripe_payment_intent_id IS NULL`, p.PlatformID, p.ID, piID, store.TimeOf(s.now()))
	if err == nil {
		p.StripePaymentIntentID = piID
	}
	return err
}

// outcome is how a payment settles.
type outcome struct {
	status      Status
	code        string
	declineCode string
	message     string
	detail      string
}

// settle maps a PaymentIntent's status to the payment's.
func (s *Service) settle(ctx context.Context, p *Payment, pi *stripe.PaymentIntent) error {
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		return s.finish(ctx, p, pi, outcome{status: StatusSucceeded})
	case stripe.PaymentIntentStatusRequiresCapture:
		return s.finish(ctx, p, pi, outcome{status: StatusRequiresCapture})
	case stripe.PaymentIntentStatusRequiresAction:
		return s.finish(ctx, p, pi, outcome{status: StatusRequiresAction, code: "authentication_required",
			message: "Your bank asks you to confirm this payment."})
	case stripe.PaymentIntentStatusProcessing:
		return river.JobSnooze(time.Minute) // the card network has not answered; look again
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		o := outcome{status: StatusFailed, code: "card_declined", message: declineMessage("")}
		if e := pi.LastPaymentError; e != nil {
			o.code, o.declineCode, o.message = orDefault(string(e.Code), "card_declined"), string(e.DeclineCode), declineMessage(string(e.DeclineCode))
			if e.Code == stripe.ErrorCodeAuthenticationRequired || e.DeclineCode == "authentication_required" {
				o.status, o.code, o.declineCode, o.message = StatusRequiresAction, "authentication_required", "", "Your bank asks you to confirm this payment."
			}
		}
		return s.finish(ctx, p, pi, o)
	default: // canceled, or a state a confirmed PaymentIntent should not be in
		return s.finish(ctx, p, pi, outcome{status: StatusFailed, code: "payment_intent_" + string(pi.Status),
			message: "The payment could not be made.", detail: "PaymentIntent " + pi.ID + " is " + string(pi.Status)})
	}
}

// settleError acts on a failed Stripe call, as documented in
// docs/ARCHITECTURE.md ("Payments"): declines fail the payment, the bank's
// demand for authentication waits for the customer, a refused request
// fails it with Stripe's detail kept for the operator, a lost account
// fails it and refreshes the merchant, and anything whose outcome is not
// known yet goes back to River to retry with backoff.
func (s *Service) settleError(ctx context.Context, p *Payment, o stripeapi.Outcome) error {
	if p.ChargeType == ChargeDestination && (o.Code == "insufficient_capabilities_for_transfer" ||
		o.Param == "transfer_data[destination]" || o.Param == "on_behalf_of") {
		// The merchant's account cannot receive it (restricted, or gone):
		// Stripe answers 403 or 404 about the destination, which would
		// otherwise read as Tender's own key refused or a missing object,
		// retried for nothing.
		o.Kind = stripeapi.KindAccountInvalid
	}
	var pi *stripe.PaymentIntent
	if o.PaymentIntentID != "" {
		pi = &stripe.PaymentIntent{ID: o.PaymentIntentID}
	}
	switch {
	case o.Kind == stripeapi.KindDeclined:
		return s.finish(ctx, p, pi, outcome{status: StatusFailed, code: orDefault(o.Code, "card_declined"), declineCode: o.DeclineCode,
			message: declineMessage(o.DeclineCode), detail: o.Message})
	case o.Kind == stripeapi.KindAuthenticationRequired:
		return s.finish(ctx, p, pi, outcome{status: StatusRequiresAction, code: "authentication_required",
			message: "Your bank asks you to confirm this payment.", detail: o.Message})
	case o.Kind == stripeapi.KindInvalidRequest, o.Kind == stripeapi.KindIdempotency && !o.Retryable:
		return s.finish(ctx, p, pi, outcome{status: StatusFailed, code: "invalid_request",
			message: "The payment could not be made.", detail: orDefault(o.Code, string(o.Kind)) + ": " + o.Message})
	case o.Kind == stripeapi.KindAccountInvalid:
		if err := s.finish(ctx, p, pi, outcome{status: StatusFailed, code: "account_invalid",
			message: "The merchant cannot take payments at the moment.", detail: o.Message}); err != nil {
			return err
		}
		if _, err := s.connect.Refresh(ctx, p.PlatformID, p.MerchantID); err != nil {
			s.logger.WarnContext(ctx, "refreshing a merchant whose account was refused", "merchant", p.MerchantID, "err", err)
		}
		return nil
	}
	return fmt.Errorf("payment %s: %s at Stripe, will retry: %w", p.ID, o.Kind, errors.Join(o.Cause, o.Err()))
}

// finish records the payment's outcome and its event in one transaction.
// A payment another run settled first is left as it is, and so is one
// that moved to another attempt since p was read (a checkout whose payer
// changed between saving the card and not): a stale run changes nothing.
// It settles a payment from pending or processing, or, for a payment read
// in requires_action (which only its authentication link settles: Process
// leaves it alone), from requires_action. A payment moving to
// requires_action gets an authentication link, in its event as
// next_action.
func (s *Service) finish(ctx context.Context, p *Payment, pi *stripe.PaymentIntent, o outcome) error {
	now := store.TimeOf(s.now())
	from1, from2 := StatusPending, StatusProcessing
	if p.Status == StatusRequiresAction {
		from1, from2 = StatusRequiresAction, StatusRequiresAction
	}
	piID := p.StripePaymentIntentID
	if piID == "" && pi != nil {
		piID = pi.ID
	}
	if o.detail != "" {
		s.logger.InfoContext(ctx, "payment settled with Stripe's detail", "payment", p.ID, "status", o.status, "code", o.code, "detail", o.detail)
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var captured int64
		if o.status == StatusSucceeded {
			captured = p.Amount
		}
		res, err := tx.ExecContext(ctx, `UPDATE payments SET status = $3, stripe_payment_intent_id = COALESCE(stripe_payment_intent_id, $4),
			failure_code = $5, decline_code = $6, failure_message = $7, failure_detail = $8, updated_at = $9, amount_captured = $12
			WHERE platform_id = $1 AND id = $2 AND status IN ($10, $11) AND attempt = $13`,
			p.PlatformID, p.ID, string(o.status), nullString(piID), o.code, o.declineCode, o.message, o.detail, now,
			string(from1), string(from2), captured, p.Attempt)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if err := s.afterSettled(ctx, tx, p, o.status); err != nil {
			return err
		}
		done, err := getPayment(ctx, tx, p.PlatformID, p.ID)
		if err != nil {
			return err
		}
		data := done.View()
		if o.status == StatusRequiresAction {
			na, err := s.issueAuthLink(ctx, tx, done, now.Time)
			if err != nil {
				return err
			}
			data.NextAction = na
		}
		_, err = event.Record(ctx, tx, now.Time, p.PlatformID, eventFor[o.status], p.ID, data)
		return err
	})
}

var eventFor = map[Status]event.Type{
	StatusSucceeded:       EventPaymentSucceeded,
	StatusRequiresCapture: EventPaymentRequiresCapture,
	StatusRequiresAction:  EventPaymentRequiresAction,
	StatusFailed:          EventPaymentFailed,
}

// declineMessage is what to tell a customer whose card was declined: the
// reason when it helps them act, never one that helps a fraudster (lost
// or stolen cards read as a generic decline, as Stripe advises).
func declineMessage(declineCode string) string {
	switch declineCode {
	case "insufficient_funds":
		return "Your card has insufficient funds."
	case "expired_card":
		return "Your card has expired."
	case "incorrect_cvc":
		return "Your card's security code is incorrect."
	case "processing_error":
		return "An error occurred while processing your card. Try again."
	case "authentication_required":
		return "Your bank asks you to confirm this payment."
	}
	return "Your card was declined."
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
