package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeop"
)

// CaptureParams ask to capture an authorized payment.
type CaptureParams struct {
	// AmountToCapture is at most the authorized amount; nil captures all
	// of it. The rest of the authorization is released.
	AmountToCapture *int64 `json:"amount_to_capture"`
}

// Capture captures a payment authorized with capture manual, in full or
// in part, at Stripe, with the platform's fee recomputed on the amount
// captured (captureFee). It is safe to call again: a payment already
// captured for the same amount is returned as it is; for another amount it
// is errs.Conflict (payment_already_captured). Returns errs.NotFound; errs.Invalid
// naming amount_to_capture; errs.Conflict when the payment is not
// waiting for a capture; errs.Unavailable when Stripe's answer is not
// known yet (call again).
func (s *Service) Capture(ctx context.Context, platformID, paymentID string, cp CaptureParams) (*Payment, error) {
	p, err := getPayment(ctx, s.db, platformID, paymentID)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Status == StatusSucceeded && p.Capture == CaptureManual:
		return p, recapture(p, cp)
	case p.Status == StatusCanceled:
		return nil, errs.E(errs.Conflict, "Payment %s was canceled; it cannot be captured.", p.ID).WithReason("payment_canceled")
	case p.Status != StatusRequiresCapture:
		return nil, errs.E(errs.Conflict, "Payment %s is %s; only a payment in requires_capture can be captured.", p.ID, p.Status).
			WithReason("payment_unexpected_state")
	}
	amount := p.Amount
	if cp.AmountToCapture != nil {
		if amount = *cp.AmountToCapture; amount < 1 || amount > p.Amount {
			return nil, errs.Invalidf("amount_to_capture", "amount_to_capture must be between 1 and the authorized amount (%d), not %d.", p.Amount, amount)
		}
	}
	fee, err := s.captureFee(ctx, p, amount)
	if err != nil {
		return nil, err
	}
	pi, err := s.capture(ctx, p, amount, fee)
	if err != nil {
		return nil, err
	}
	done, err := s.recordOp(ctx, p, pi)
	if err == nil && done.Status == StatusCanceled {
		return nil, errs.E(errs.Conflict, "Payment %s was canceled (its authorization expired or it was canceled at Stripe); it cannot be captured.", p.ID).
			WithReason("payment_canceled")
	}
	return done, err
}

// recapture answers a capture of a payment already captured: the same
// amount again (nil meaning the whole authorization, as on the first call)
// is a retry and succeeds; another amount asks for what did not happen,
// which a 200 would hide.
func recapture(p *Payment, cp CaptureParams) error {
	want := p.Amount
	if cp.AmountToCapture != nil {
		want = *cp.AmountToCapture
	}
	if want != p.AmountCaptured {
		return errs.E(errs.Conflict, "Payment %s was already captured for %d; it cannot be captured again for %d.", p.ID, p.AmountCaptured, want).
			WithReason("payment_already_captured")
	}
	return nil
}

// captureFee is the platform's fee on a captured amount. A fee priced by
// a policy is recomputed with the same version's rule for the currency
// on the amount captured (the charge, already grossed up when the
// customer covers the fees, so it is not grossed up again). A fee given
// explicitly is the platform's word and kept, capped at the amount
// captured as Stripe caps it; a payment priced by no policy has none.
func (s *Service) captureFee(ctx context.Context, p *Payment, amount int64) (int64, error) {
	if p.FeePolicyID == "" {
		return min(p.ApplicationFee, amount), nil
	}
	policy, err := scanFeePolicy(s.db.QueryRowContext(ctx, `SELECT `+feeCols+` FROM fee_policies WHERE platform_id = $1 AND id = $2 AND version = $3`,
		p.PlatformID, p.FeePolicyID, p.FeePolicyVersion))
	if err != nil {
		return 0, fmt.Errorf("payment %s: its fee policy %s v%d: %w", p.ID, p.FeePolicyID, p.FeePolicyVersion, err)
	}
	r, ok := policy.Rules[p.Currency.Lower()]
	if !ok { // it priced this payment, so it had one
		return 0, fmt.Errorf("payment %s: fee policy %s v%d has no rule for %s", p.ID, p.FeePolicyID, p.FeePolicyVersion, p.Currency.Lower())
	}
	return r.money().Fee(amount)
}

// Cancel cancels a payment: one not captured (authorized and waiting for
// a capture, or waiting for the customer to authenticate) is canceled and
// its authorization released; one captured is refunded, all that is left
// of it, by a refund (see CreateRefund) the payment's amount_refunded
// shows at once. It is safe to call again: a payment already canceled, or
// refunded in full, is returned as it is. Returns errs.NotFound;
// errs.Conflict when the payment failed or is still being processed;
// errs.Unavailable when Stripe's answer is not known yet (call again).
func (s *Service) Cancel(ctx context.Context, platformID, paymentID string) (*Payment, error) {
	p, err := getPayment(ctx, s.db, platformID, paymentID)
	if err != nil {
		return nil, err
	}
	switch p.Status {
	case StatusCanceled:
		return p, nil
	case StatusSucceeded:
		return s.refundRest(ctx, p)
	case StatusFailed:
		return nil, errs.E(errs.Conflict, "Payment %s failed; nothing was taken, so there is nothing to cancel.", p.ID).WithReason("payment_failed")
	case StatusPending, StatusProcessing:
		return nil, errs.E(errs.Conflict, "Payment %s is being processed; cancel it once it is requires_capture or requires_action.", p.ID).
			WithReason("payment_processing")
	}
	if p.StripePaymentIntentID == "" {
		return s.recordOp(ctx, p, &stripe.PaymentIntent{Status: stripe.PaymentIntentStatusCanceled})
	}
	pi, err := s.cancel(ctx, p)
	if err != nil {
		return nil, err
	}
	done, err := s.recordOp(ctx, p, pi)
	if errs.Is(err, errs.Conflict) { // another call recorded something first
		done, err = getPayment(ctx, s.db, platformID, paymentID)
	}
	if err != nil {
		return nil, err
	}
	if done.Status == StatusSucceeded { // a capture got there first
		return s.refundRest(ctx, done)
	}
	return done, nil
}

// refundRest refunds what is left of a captured payment being canceled,
// and returns the payment with the refund reserved.
func (s *Service) refundRest(ctx context.Context, p *Payment) (*Payment, error) {
	if p.AmountCaptured-p.AmountRefunded == 0 {
		return p, nil
	}
	if _, err := s.createRefund(ctx, p.PlatformID, p.ID, RefundParams{Reason: "requested_by_customer"}, nil); err != nil && !errs.Is(err, errs.Conflict) {
		return nil, err
	}
	return getPayment(ctx, s.db, p.PlatformID, p.ID)
}

// capture captures amount of the payment's PaymentIntent at Stripe, with
// the platform's fee, as an operation (stripeop) that a job finishes if
// the caller does not (see CaptureArgs), and returns the PaymentIntent
// where it left it.
func (s *Service) capture(ctx context.Context, p *Payment, amount, fee int64) (*stripe.PaymentIntent, error) {
	if err := s.lookAfter(ctx, CaptureArgs{PlatformID: p.PlatformID, PaymentID: p.ID, Attempt: p.Attempt, Amount: amount}); err != nil {
		return nil, err
	}
	return s.captureIntent(ctx, p, amount, fee)
}

func (s *Service) captureIntent(ctx context.Context, p *Payment, amount, fee int64) (*stripe.PaymentIntent, error) {
	a := strconv.FormatInt(amount, 10)
	return s.intentOp(ctx, p, stripeop.Op{Kind: stripeop.CapturePaymentIntent, Object: p.attemptObject() + ":" + a, Step: "capture",
		Key: []string{"payment", p.ID, "attempt", strconv.FormatInt(p.Attempt, 10), "capture", a}},
		stripe.PaymentIntentStatusSucceeded, func(ctx context.Context, sc *stripe.Client, key string) (*stripe.PaymentIntent, error) {
			params := &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(amount)}
			// A separate charge's fee is what the platform keeps by
			// transferring less; Stripe refuses an application fee on a
			// charge that is the platform's own.
			if p.ChargeType != ChargeSeparate && (fee > 0 || p.ApplicationFee > 0) {
				params.ApplicationFeeAmount = stripe.Int64(fee)
			}
			params.AddExpand(chargeFunds)
			stripeapi.OnAccount(params, p.intentAccount())
			params.SetIdempotencyKey(key)
			return sc.V1PaymentIntents.Capture(ctx, p.StripePaymentIntentID, params)
		})
}

// cancel cancels the payment's PaymentIntent at Stripe as an operation
// that a job finishes if the caller does not (see CancelArgs), and
// returns the PaymentIntent where it left it.
func (s *Service) cancel(ctx context.Context, p *Payment) (*stripe.PaymentIntent, error) {
	if err := s.lookAfter(ctx, CancelArgs{PlatformID: p.PlatformID, PaymentID: p.ID, Attempt: p.Attempt}); err != nil {
		return nil, err
	}
	return s.cancelAtStripe(ctx, p)
}

func (s *Service) cancelAtStripe(ctx context.Context, p *Payment) (*stripe.PaymentIntent, error) {
	return s.intentOp(ctx, p, stripeop.Op{Kind: stripeop.CancelPaymentIntent, Object: p.attemptObject(), Step: "cancel",
		Key: []string{"payment", p.ID, "attempt", strconv.FormatInt(p.Attempt, 10), "cancel"}},
		stripe.PaymentIntentStatusCanceled, func(ctx context.Context, sc *stripe.Client, key string) (*stripe.PaymentIntent, error) {
			params := &stripe.PaymentIntentCancelParams{}
			stripeapi.OnAccount(params, p.intentAccount())
			params.SetIdempotencyKey(key)
			return sc.V1PaymentIntents.Cancel(ctx, p.StripePaymentIntentID, params)
		})
}

// intentOp runs a capture or cancel of the payment's PaymentIntent (op,
// by call) and returns the PaymentIntent as it is after it. A
// PaymentIntent is captured or canceled once at most, whatever the key,
// so an earlier run that reached Stripe is found by the PaymentIntent
// being in the status done. A refusal may mean the PaymentIntent moved on
// already (an earlier call whose answer was lost, a capture racing a
// cancel, an authorization that expired), so it is read back and returned
// when it did; one still where it was is a real refusal. With the outcome
// unknown the caller is told to call again (errs.Unavailable).
func (s *Service) intentOp(ctx context.Context, p *Payment, op stripeop.Op, done stripe.PaymentIntentStatus,
	call func(ctx context.Context, sc *stripe.Client, key string) (*stripe.PaymentIntent, error)) (*stripe.PaymentIntent, error) {
	sc, err := s.client(ctx, p.PlatformID)
	if err != nil {
		return nil, err
	}
	name := "capture"
	if op.Kind == stripeop.CancelPaymentIntent {
		name = "cancel"
	}
	var got *stripe.PaymentIntent
	retrieve := func(ctx context.Context) (*stripe.PaymentIntent, error) {
		params := stripeapi.OnAccount(&stripe.PaymentIntentRetrieveParams{}, p.intentAccount())
		params.AddExpand(chargeFunds)
		return sc.V1PaymentIntents.Retrieve(ctx, p.StripePaymentIntentID, params)
	}
	op.PlatformID = p.PlatformID
	op.Find = func(ctx context.Context) (string, error) {
		pi, err := retrieve(ctx)
		if err != nil || pi.Status != done {
			return "", err
		}
		got = pi
		return pi.ID, nil
	}
	op.Call = func(ctx context.Context, key string) (string, error) {
		pi, err := call(ctx, sc, key)
		if err != nil {
			return "", err
		}
		got = pi
		return pi.ID, nil
	}
	_, err = s.ops.Run(ctx, op)
	var lf *stripeop.LookupFailed
	f := stripeop.AsFailed(err)
	switch {
	case got != nil:
		return got, nil
	case err == nil: // made by an earlier call: read it back
		if got, err = retrieve(ctx); err == nil {
			return got, nil
		}
		lf = &stripeop.LookupFailed{Err: err}
	case f != nil:
		return s.opRefused(ctx, p, name, f, retrieve)
	case !errors.As(err, &lf):
		return nil, err
	}
	return nil, &errs.Error{Code: errs.Unavailable, Reason: "stripe_unavailable",
		Message: fmt.Sprintf("Stripe's state of the %s of payment %s could not be read; call again (with a new Idempotency-Key if one was sent): it is safe.", name, p.ID), Err: lf.Err}
}

// opRefused handles a capture or cancel Stripe did not carry out.
func (s *Service) opRefused(ctx context.Context, p *Payment, name string, f *stripeop.Failed,
	retrieve func(context.Context) (*stripe.PaymentIntent, error)) (*stripe.PaymentIntent, error) {
	o := f.Outcome
	if o.Pending() {
		return nil, &errs.Error{Code: errs.Unavailable, Reason: "stripe_unavailable",
			Message: fmt.Sprintf("Stripe did not confirm the %s of payment %s; call again (with a new Idempotency-Key, as this answer is stored under the one sent): it is safe.", name, p.ID), Err: errors.Join(o.Cause, o.Err())}
	}
	pi, rerr := retrieve(ctx)
	if rerr != nil {
		return nil, &errs.Error{Code: errs.Unavailable, Reason: "stripe_unavailable",
			Message: fmt.Sprintf("Stripe refused the %s of payment %s and its state could not be read; call again (with a new Idempotency-Key if one was sent).", name, p.ID), Err: errors.Join(f, rerr)}
	}
	if pi.Status == stripe.PaymentIntentStatusSucceeded || pi.Status == stripe.PaymentIntentStatusCanceled {
		return pi, nil
	}
	s.logger.ErrorContext(ctx, "Stripe refused a "+name, "payment", p.ID, "payment_intent", pi.ID, "status", pi.Status, "code", o.Code, "detail", o.Message)
	return nil, &errs.Error{Code: errs.Conflict, Reason: name + "_refused",
		Message: fmt.Sprintf("Stripe refused the %s of payment %s.", name, p.ID), Err: o.Err()}
}

// recordOp records where a capture or cancel left the PaymentIntent, and
// its event, in one transaction: succeeded (captured, with what Stripe
// took and the fee it kept) or canceled. A payment another call recorded
// first is returned as that call left it.
func (s *Service) recordOp(ctx context.Context, p *Payment, pi *stripe.PaymentIntent) (*Payment, error) {
	c := paymentChange{cause: CauseCancel, to: StatusCanceled}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		captured, fee := pi.AmountReceived, pi.ApplicationFeeAmount
		if p.ChargeType == ChargeSeparate { // Tender's own fee, not Stripe's (see Capture)
			var err error
			if fee, err = s.captureFee(ctx, p, captured); err != nil {
				return nil, err
			}
		}
		f, err := s.chargeFunds(ctx, p, pi)
		if err != nil {
			return nil, err
		}
		c = paymentChange{cause: CauseCapture, to: StatusSucceeded, captured: &captured, fee: &fee, funds: f}
	case stripe.PaymentIntentStatusCanceled:
	default:
		return nil, fmt.Errorf("payment %s: PaymentIntent %s is %s after a capture or cancel", p.ID, pi.ID, pi.Status)
	}
	status := c.to
	var done *Payment
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		moved, err := s.movePayment(ctx, tx, p, c)
		if done = moved; err != nil || moved != nil {
			return err
		}
		done, err = getPayment(ctx, tx, p.PlatformID, p.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if done.Status != status { // another call recorded something else first
		return nil, errs.E(errs.Conflict, "Payment %s is %s now.", p.ID, done.Status).WithReason("payment_unexpected_state")
	}
	return done, nil
}
