package payment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// Observe applies what Stripe says now of the payment's PaymentIntent, when
// a Stripe event says it changed: the PaymentIntent is read again (never
// taken from the event, which may be late or repeated) and the payment
// moved through the transitions its job and its capture and cancel use. So
// a payment whose customer authenticated elsewhere succeeds, and one
// captured or canceled in Stripe's Dashboard is captured or canceled here.
// A payment still waiting for its job is left to it, and one already
// settled is left as it is; either way observing it again changes nothing.
// It returns the payment as it is after.
func (s *Service) Observe(ctx context.Context, platformID, paymentID string) (*Payment, error) {
	p, err := getPayment(ctx, s.db, platformID, paymentID)
	if err != nil {
		return nil, err
	}
	switch p.Status {
	case StatusProcessing:
		err = s.Process(ctx, platformID, paymentID)
	case StatusRequiresAction, StatusRequiresCapture:
		err = s.observeWaiting(ctx, p)
	default: // pending: its job charges it; settled: nothing can change it
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	return getPayment(ctx, s.db, platformID, paymentID)
}

// observeWaiting reads the PaymentIntent of a payment waiting for its
// customer or its capture and records where it went.
func (s *Service) observeWaiting(ctx context.Context, p *Payment) error {
	if p.StripePaymentIntentID == "" {
		return nil // nothing at Stripe yet
	}
	sc, err := s.client(ctx, p.PlatformID)
	if err != nil {
		return err
	}
	params := stripeapi.OnAccount(&stripe.PaymentIntentRetrieveParams{}, p.intentAccount())
	params.AddExpand(chargeFunds)
	pi, err := sc.V1PaymentIntents.Retrieve(ctx, p.StripePaymentIntentID, params)
	if err != nil {
		return err
	}
	switch {
	case pi.Status == stripe.PaymentIntentStatusCanceled,
		p.Status == StatusRequiresCapture && pi.Status == stripe.PaymentIntentStatusSucceeded:
		_, err = s.recordOp(ctx, p, pi)
		if errs.Is(err, errs.Conflict) { // another call recorded it first
			err = nil
		}
		return err
	case p.Status == StatusRequiresAction && pi.Status != stripe.PaymentIntentStatusRequiresAction:
		return s.settle(ctx, p, pi)
	}
	return nil // still waiting, as recorded
}

// ObserveRefund applies what Stripe says of one of its refunds, re (read
// from Stripe, on account, with its transfer_reversal expanded), when a
// Stripe event tells of it:
//
//   - Tender's own (its metadata names a Tender refund) is left to its
//     job, which is run: it reads Stripe and records what it finds.
//   - One made at Stripe without Tender, of a payment Tender made, becomes
//     a Tender refund (source stripe) once it has succeeded: it is recorded
//     processing and moved to succeeded through the refund's transitions,
//     with its ledger entries and refund.created and refund.succeeded, in
//     one transaction. It took no part of the platform's fee back (an
//     application fee refunded at Stripe is its own event), and what a
//     destination charge's refund reversed is what Stripe reversed.
//
// It returns the Tender refund, or nil when there is none to record (one
// still pending at Stripe, failed or canceled there, or of a
// PaymentIntent Tender did not make: errs.NotFound then). Observing it
// again changes nothing.
func (s *Service) ObserveRefund(ctx context.Context, platformID, account string, re *stripe.Refund) (*Refund, error) {
	if id := re.Metadata["tender_refund"]; id != "" {
		if err := s.ProcessRefund(ctx, platformID, id); err != nil {
			return nil, err
		}
		return getRefund(ctx, s.db, platformID, id)
	}
	if r, err := refundOfStripe(ctx, s.db, platformID, re.ID); r != nil || !errs.Is(err, errs.NotFound) {
		return r, err
	}
	if re.PaymentIntent == nil {
		return nil, errs.NotFoundf("", "Refund %s is of a charge without a PaymentIntent.", re.ID)
	}
	p, err := paymentOfIntent(ctx, s.db, platformID, re.PaymentIntent.ID)
	if err != nil {
		return nil, err
	}
	if p.Status != StatusSucceeded {
		return nil, fmt.Errorf("%w: payment %s is %s, refund %s at Stripe", ErrNotSettled, p.ID, p.Status, re.ID)
	}
	if p.intentAccount() != account {
		return nil, errs.NotFoundf("", "Refund %s is on %q, not where payment %s was charged.", re.ID, account, p.ID)
	}
	if re.Status != stripe.RefundStatusSucceeded {
		return nil, nil // recorded once it has succeeded; failed or canceled, nothing happened
	}
	return s.recordStripeRefund(ctx, p, re)
}

func (s *Service) recordStripeRefund(ctx context.Context, p *Payment, re *stripe.Refund) (*Refund, error) {
	now := store.TimeOf(s.now())
	r := &Refund{ID: id.New(RefundPrefix), PlatformID: p.PlatformID, PaymentID: p.ID, Amount: re.Amount, Currency: p.Currency,
		Reason: string(re.Reason), Metadata: re.Metadata, Status: RefundProcessing, FeeFixed: true, StripeRefundID: re.ID,
		Source: RefundAtStripe, Created: now.Time, Updated: now.Time}
	if p.ChargeType == ChargeDestination {
		var reversed int64
		if re.TransferReversal != nil {
			reversed = re.TransferReversal.Amount
		}
		r.TransferReversed = &reversed
	}
	md, err := json.Marshal(r.Metadata)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO refunds (platform_id, id, payment_id, amount, currency, reason, metadata, status,
			fee_refunded, stripe_refund_id, source, transfer_reversed, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12, $12) ON CONFLICT (platform_id, stripe_refund_id) DO NOTHING`,
			p.PlatformID, r.ID, p.ID, r.Amount, p.Currency.Lower(), r.Reason, string(md), string(r.Status), re.ID, string(r.Source),
			nullInt64(r.TransferReversed), now)
		if err != nil {
			return fmt.Errorf("insert refund made at Stripe: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, errRecorded)
		}
		// Stripe made it: it fits, whatever Tender had reserved for its
		// own refunds not made yet (one of which Stripe will now refuse).
		if _, err := tx.ExecContext(ctx, `UPDATE payments SET amount_refunded = amount_refunded + $3, updated_at = $4
			WHERE platform_id = $1 AND id = $2`, p.PlatformID, p.ID, r.Amount, now); err != nil {
			return err
		}
		if _, err := event.Record(ctx, tx, now.Time, p.PlatformID, EventRefundCreated, r.ID, r.View()); err != nil {
			return err
		}
		moved, err := s.moveRefund(ctx, tx, r, RefundSucceeded)
		if err != nil || !moved {
			return errors.Join(err, fmt.Errorf("refund %s: not moved to succeeded", r.ID))
		}
		if err := s.postRefund(ctx, tx, p, r); err != nil {
			return err
		}
		return s.refundEvent(ctx, tx, r, RefundSucceeded)
	})
	if errors.Is(err, errRecorded) { // another event of it got there first
		return refundOfStripe(ctx, s.db, p.PlatformID, re.ID)
	}
	if err != nil {
		return nil, err
	}
	return getRefund(ctx, s.db, p.PlatformID, r.ID)
}

var errRecorded = errors.New("refund made at Stripe recorded already")

// ErrNotSettled says that Stripe tells of a change to a payment Tender has
// not recorded settled yet: its job is still to record the charge.
var ErrNotSettled = errors.New("payment not settled in Tender yet")

func nullInt64(v *int64) sql.NullInt64 {
	if v == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *v, Valid: true}
}

func refundOfStripe(ctx context.Context, q store.Querier, platformID, stripeRefundID string) (*Refund, error) {
	r, err := scanRefund(q.QueryRowContext(ctx, `SELECT `+refundCols+` FROM refunds WHERE platform_id = $1 AND stripe_refund_id = $2`,
		platformID, stripeRefundID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("", "No refund of Stripe refund %s.", stripeRefundID)
	}
	if err != nil {
		return nil, err
	}
	return r, withReversals(ctx, q, r)
}

// paymentOfIntent finds the payment whose PaymentIntent is piID.
func paymentOfIntent(ctx context.Context, q store.Querier, platformID, piID string) (*Payment, error) {
	p, err := scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM payments WHERE platform_id = $1 AND stripe_payment_intent_id = $2`,
		platformID, piID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("", "No payment of PaymentIntent %s.", piID)
	}
	if err != nil {
		return nil, err
	}
	return p, withTransfers(ctx, q, p)
}

// OfIntent returns the payment whose current PaymentIntent is piID.
// Returns errs.NotFound.
func (s *Service) OfIntent(ctx context.Context, platformID, piID string) (*Payment, error) {
	return paymentOfIntent(ctx, s.db, platformID, piID)
}

// StripeAccount is the account the payment's PaymentIntent and charge are
// on: the merchant's for a direct charge, "" (the platform's) otherwise.
func (p *Payment) StripeAccount() string { return p.intentAccount() }

// RefundByStripeID returns the refund whose Stripe refund is stripeRefundID.
// Returns errs.NotFound.
func (s *Service) RefundByStripeID(ctx context.Context, platformID, stripeRefundID string) (*Refund, error) {
	return refundOfStripe(ctx, s.db, platformID, stripeRefundID)
}
