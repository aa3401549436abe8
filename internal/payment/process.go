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
	"github.com/tenderpay/tender/internal/stripeop"
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
//   - The status moves to processing, committed with the operation's
//     count of runs (stripeop), before Stripe is called, so a run that
//     finds processing knows an earlier one may have reached Stripe.
//   - A saved PaymentIntent id is re-read rather than created again.
//   - With none saved and an earlier run possibly at Stripe, the
//     PaymentIntent is looked up by Tender's metadata (tender_payment,
//     tender_attempt) on its account (the merchant's, or the platform's
//     for a destination charge) before anything is created; that holds
//     after Stripe's 24-hour idempotency window too.
//   - The creation carries a key derived from the payment and attempt, so
//     two runs racing within the window get the same PaymentIntent.
//   - Its id is saved as soon as Stripe returns it, in one transaction
//     with the outcome when Stripe's answer settles the payment.
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
	var pi *stripe.PaymentIntent
	if p.StripePaymentIntentID == "" {
		res, made, err := s.charge(ctx, sc, p)
		switch {
		case errors.Is(err, errSettled), errors.Is(err, errMovedOn):
			return nil
		case err != nil:
			return err
		}
		if res.settled {
			return s.crashPoint("after_save", p.ID)
		}
		if pi = made; res.Resumed {
			pi = nil
		}
		p.StripePaymentIntentID = res.StripeID
	}
	if pi == nil {
		params := stripeapi.OnAccount(&stripe.PaymentIntentRetrieveParams{}, p.intentAccount())
		params.AddExpand(chargeFunds)
		if pi, err = sc.V1PaymentIntents.Retrieve(ctx, p.StripePaymentIntentID, params); err != nil {
			return s.lookupFailed(ctx, p, err)
		}
	}
	if err := s.crashPoint("after_save", p.ID); err != nil {
		return err
	}
	return s.settle(ctx, p, pi)
}

// errMovedOn is returned by a charge whose payment another run moved on
// before this one could mark it processing: that run charges it.
var errMovedOn = errors.New("payment moved on by another run")

// errSettled is returned by the checks before a charge when they settled
// the payment themselves (failed: the card or the merchant can no longer
// be used), so there is nothing to send.
var errSettled = errors.New("payment settled before its charge")

// charge makes the attempt's PaymentIntent at Stripe, once (see
// stripeop): it returns the operation's result and, when this run made
// it, the PaymentIntent. A decline, a refusal or a lost account settles
// the payment and returns errSettled; an outcome not known yet is an
// error for River to retry.
//
// A payment still pending moves to processing in the transaction that
// counts the operation's run, before Stripe is called, so that the API
// shows it is being charged and a later run knows this one may have
// reached Stripe. When Stripe's answer settles the payment (it is final,
// or waits for the customer, with its charge's funds in hand) the
// outcome is recorded in the transaction that saves the PaymentIntent's
// id (chargeResult.settled): the two commit together or not at all, and
// a run that dies before they commit leaves the operation to be found by
// its metadata or replayed under its key.
func (s *Service) charge(ctx context.Context, sc *stripe.Client, p *Payment) (chargeResult, *stripe.PaymentIntent, error) {
	var card chargeCard
	var made *stripe.PaymentIntent
	var res chargeResult
	op := stripeop.Op{
		PlatformID: p.PlatformID, Kind: stripeop.CreatePaymentIntent, Object: p.attemptObject(),
		Key: p.attemptKeyParts(), Step: "create", FindLag: SearchLag,
		// A payment still pending has begun no run: its operation's row is
		// written with its move to processing.
		First: p.Status == StatusPending,
		Find: func(ctx context.Context) (string, error) {
			pi, err := s.findIntent(ctx, sc, p)
			if pi == nil {
				return "", err
			}
			return pi.ID, nil
		},
		Prepare: func(ctx context.Context) (err error) {
			card, err = s.chargeCard(ctx, p)
			return err
		},
		Call: func(ctx context.Context, key string) (string, error) {
			params := s.intentParams(p, card)
			params.SetIdempotencyKey(key)
			pi, err := sc.V1PaymentIntents.Create(ctx, params)
			if err != nil {
				return stripeapi.Classify(err).PaymentIntentID, err
			}
			made = pi
			return pi.ID, nil
		},
		OnSave: func(ctx context.Context, tx *sql.Tx, piID string) error {
			if c, ok := s.answerChange(ctx, p, made); ok {
				moved, err := s.movePayment(ctx, tx, p, c)
				if moved != nil || err != nil {
					res.settled = moved != nil
					return err
				}
			}
			return saveIntent(ctx, tx, p, piID, s.now())
		},
	}
	if op.First {
		op.Begin = func(ctx context.Context, tx *sql.Tx) error {
			moved, err := s.movePayment(ctx, tx, p, paymentChange{to: StatusProcessing, cause: CauseCharge})
			if err != nil {
				return err
			}
			if moved == nil {
				return errMovedOn
			}
			*p = *moved
			return nil
		}
	}
	r, err := s.ops.Run(ctx, op)
	res.Result = r
	var lf *stripeop.LookupFailed
	if errors.As(err, &lf) {
		return res, nil, s.lookupFailed(ctx, p, lf.Err)
	}
	if f := stripeop.AsFailed(err); f != nil {
		if err := s.settleError(ctx, p, f.Outcome); err != nil {
			return res, nil, err
		}
		return res, nil, errSettled
	}
	return res, made, err
}

// chargeResult is where a charge's operation ended, and whether its
// answer settled the payment in the transaction that saved it.
type chargeResult struct {
	stripeop.Result
	settled bool
}

// answerChange is the move that Stripe's answer to this run's creation
// settles the payment with, when it can be recorded with the answer's id:
// the PaymentIntent is final or waits for the customer, and a success
// came with its charge's balance transaction. Otherwise the id is saved
// alone and the outcome recorded after (settle).
func (s *Service) answerChange(ctx context.Context, p *Payment, pi *stripe.PaymentIntent) (paymentChange, bool) {
	if pi == nil {
		return paymentChange{}, false
	}
	o, ok := outcomeOf(pi)
	if !ok {
		return paymentChange{}, false
	}
	var f *funds
	if o.status == StatusSucceeded {
		got, ok := fundsOf(pi.LatestCharge)
		if !ok {
			return paymentChange{}, false
		}
		f = &got
	}
	return s.changeOf(ctx, p, pi, o, f), true
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

// attemptObject names the attempt's creation among operations.
func (p *Payment) attemptObject() string { return p.ID + ":" + strconv.FormatInt(p.Attempt, 10) }

// attemptKeyParts are what the idempotency key of the attempt's creation
// derives from (stripeop appends its try).
func (p *Payment) attemptKeyParts() []string {
	return []string{"payment", p.ID, "attempt", strconv.FormatInt(p.Attempt, 10), "create"}
}

// SearchLag is how long after a failed creation Tender trusts that a
// search by metadata would show the PaymentIntent if it had been made.
// Stripe's search is not read-after-write ("data is typically searchable
// within a minute"), so an empty answer sooner proves nothing.
const SearchLag = 2 * time.Minute

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

// chargeCard is the customer and card a PaymentIntent is made with.
type chargeCard struct{ customerID, paymentMethodID string }

// chargeCard checks, just before the attempt's PaymentIntent is made,
// that the card can still be charged, and returns it: for a direct charge
// its clone on the merchant's account, for destination and separate
// charges the platform's own. A card or merchant no longer usable settles
// the payment failed (errSettled).
func (s *Service) chargeCard(ctx context.Context, p *Payment) (chargeCard, error) {
	if p.OffSession {
		// The customer may have withdrawn consent since the payment was
		// accepted; withdrawing also removed the card's clone, which
		// CloneFor would otherwise make again.
		if _, err := s.wallet.ActiveConsent(ctx, p.PlatformID, p.CustomerID, p.MerchantID, p.PaymentMethodID); errs.Is(err, errs.Forbidden) {
			return chargeCard{}, s.settled(s.finish(ctx, p, nil, outcome{status: StatusFailed, code: "consent_missing",
				message: "You have not allowed this merchant to charge your card.", detail: errs.As(err).Message}))
		} else if err != nil {
			return chargeCard{}, err
		}
	}
	if p.ChargeType != ChargeDirect {
		customerID, pmID, settled, err := s.platformCard(ctx, p)
		if settled {
			return chargeCard{}, s.settled(err)
		}
		return chargeCard{customerID, pmID}, err
	}
	clone, err := s.wallet.CloneFor(ctx, p.PlatformID, p.PaymentMethodID, p.MerchantID)
	switch {
	case errs.Is(err, errs.Conflict) || errs.Is(err, errs.NotFound):
		e := errs.As(err)
		return chargeCard{}, s.settled(s.finish(ctx, p, nil, outcome{status: StatusFailed, code: orDefault(e.Reason, "payment_method_unavailable"),
			message: "This card can no longer be used for this payment.", detail: e.Message}))
	case errs.Is(err, errs.Forbidden):
		return chargeCard{}, s.settled(s.settleError(ctx, p, stripeapi.Outcome{Kind: stripeapi.KindAccountInvalid, Message: errs.As(err).Message}))
	case err != nil:
		return chargeCard{}, err
	}
	if clone.AccountID != p.AccountID {
		return chargeCard{}, s.settled(s.finish(ctx, p, nil, outcome{status: StatusFailed, code: "merchant_account_changed",
			message: "The merchant cannot take this payment.", detail: "the merchant's account changed from " + p.AccountID + " to " + clone.AccountID}))
	}
	return chargeCard{clone.ConnectedCustomerID, clone.ConnectedPaymentMethodID}, nil
}

// settled is errSettled once a check's settlement has been recorded.
func (s *Service) settled(err error) error {
	if err != nil {
		return err
	}
	return errSettled
}

// intentParams are the attempt's PaymentIntent, created and confirmed:
// for a direct charge on the merchant's account with the card's clone
// there, for destination and separate charges on the platform's account
// with the card itself, a destination charge transferring to the
// merchant.
func (s *Service) intentParams(p *Payment, card chargeCard) *stripe.PaymentIntentCreateParams {
	md := make(map[string]string, len(p.Metadata)+2)
	for k, v := range p.Metadata {
		md[k] = v
	}
	md["tender_payment"], md["tender_attempt"] = p.ID, strconv.FormatInt(p.Attempt, 10)
	params := &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(p.Amount), Currency: stripe.String(p.Currency.Lower()),
		Customer: stripe.String(card.customerID), PaymentMethod: stripe.String(card.paymentMethodID),
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
	// The charge's balance transaction comes back with it: Stripe's fee
	// and when the funds become available, for the books.
	params.AddExpand(chargeFunds)
	stripeapi.OnAccount(params, p.intentAccount())
	return params
}

// chargeFunds is the expansion that shows a PaymentIntent's charge with
// its balance transaction.
const chargeFunds = "latest_charge.balance_transaction"

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

// saveIntent records the attempt's PaymentIntent id on the payment, in
// the transaction that saves it on the operation.
func saveIntent(ctx context.Context, tx *sql.Tx, p *Payment, piID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE payments SET stripe_payment_intent_id = $3, updated_at = $4
		WHERE platform_id = $1 AND id = $2 AND stripe_payment_intent_id IS NULL AND attempt = $5`, p.PlatformID, p.ID, piID, store.TimeOf(now), p.Attempt)
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
	o, ok := outcomeOf(pi)
	if !ok {
		return river.JobSnooze(time.Minute) // the card network has not answered; look again
	}
	return s.finish(ctx, p, pi, o)
}

// outcomeOf is how a PaymentIntent's status settles its payment; false
// while the card network has not answered (processing).
func outcomeOf(pi *stripe.PaymentIntent) (outcome, bool) {
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		return outcome{status: StatusSucceeded}, true
	case stripe.PaymentIntentStatusRequiresCapture:
		return outcome{status: StatusRequiresCapture}, true
	case stripe.PaymentIntentStatusRequiresAction:
		return outcome{status: StatusRequiresAction, code: "authentication_required", message: "Your bank asks you to confirm this payment."}, true
	case stripe.PaymentIntentStatusProcessing:
		return outcome{}, false
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		o := outcome{status: StatusFailed, code: "card_declined", message: declineMessage("")}
		if e := pi.LastPaymentError; e != nil {
			o.code, o.declineCode, o.message = orDefault(string(e.Code), "card_declined"), string(e.DeclineCode), declineMessage(string(e.DeclineCode))
			if e.Code == stripe.ErrorCodeAuthenticationRequired || e.DeclineCode == "authentication_required" {
				o.status, o.code, o.declineCode, o.message = StatusRequiresAction, "authentication_required", "", "Your bank asks you to confirm this payment."
			}
		}
		return o, true
	default: // canceled, or a state a confirmed PaymentIntent should not be in
		return outcome{status: StatusFailed, code: "payment_intent_" + string(pi.Status),
			message: "The payment could not be made.", detail: "PaymentIntent " + pi.ID + " is " + string(pi.Status)}, true
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
	var f *funds
	if o.status == StatusSucceeded {
		var err error
		if f, err = s.chargeFunds(ctx, p, pi); err != nil {
			return err
		}
	}
	c := s.changeOf(ctx, p, pi, o, f)
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := s.movePayment(ctx, tx, p, c)
		return err
	})
}

// changeOf is the move that records o on p, with the PaymentIntent it
// was settled by (pi, or nil) and, for a success, its charge's funds.
func (s *Service) changeOf(ctx context.Context, p *Payment, pi *stripe.PaymentIntent, o outcome, f *funds) paymentChange {
	c := paymentChange{to: o.status, cause: CauseCharge, intentID: p.StripePaymentIntentID, failure: &o, funds: f}
	switch {
	case p.Status == StatusRequiresAction:
		c.cause = CauseAuthenticated
	case p.Source == SourceCheckout:
		c.cause = CausePayer
	}
	if c.intentID == "" && pi != nil {
		c.intentID = pi.ID
	}
	if o.status == StatusSucceeded {
		c.captured = &p.Amount
	}
	if o.detail != "" {
		s.logger.InfoContext(ctx, "payment settled with Stripe's detail", "payment", p.ID, "status", o.status, "code", o.code, "detail", o.detail)
	}
	return c
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
