package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/stripeapi"
)

// first returns the first item of a Stripe list that matches, or nil.
// Jobs use it to find what an earlier run made, by Tender's metadata,
// before making it again: Stripe's lists, unlike its search, show what
// was just written.
func first[T any](items stripe.Seq2[*T, error], match func(*T) bool) (*T, error) {
	for it, err := range items {
		if err != nil {
			return nil, err
		}
		if match(it) {
			return it, nil
		}
	}
	return nil, nil
}

// chargedIntent reads the payment's PaymentIntent with its charge, and the
// charge's balance transaction when withFee (for Stripe's fee). A
// PaymentIntent with no charge cannot be transferred from, refunded or
// have its fee read: that is for the operator, not for River to retry.
func (s *Service) chargedIntent(ctx context.Context, sc *stripe.Client, p *Payment, withFee bool) (*stripe.PaymentIntent, error) {
	params := stripeapi.OnAccount(&stripe.PaymentIntentRetrieveParams{}, p.intentAccount())
	if withFee {
		params.AddExpand("latest_charge.balance_transaction")
	}
	pi, err := sc.V1PaymentIntents.Retrieve(ctx, p.StripePaymentIntentID, params)
	if err != nil {
		return nil, fmt.Errorf("payment %s: reading its PaymentIntent: %w", p.ID, err)
	}
	if pi.LatestCharge == nil {
		return nil, river.JobCancel(fmt.Errorf("payment %s: PaymentIntent %s has no charge", p.ID, pi.ID))
	}
	return pi, nil
}

// applicationFeeOn returns the platform's application fee on a charge, or
// nil if it took none.
func applicationFeeOn(ctx context.Context, sc *stripe.Client, chargeID string) (*stripe.ApplicationFee, error) {
	fee, err := first(sc.V1ApplicationFees.List(ctx, &stripe.ApplicationFeeListParams{Charge: stripe.String(chargeID)}).All(ctx),
		func(*stripe.ApplicationFee) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("finding the application fee on charge %s: %w", chargeID, err)
	}
	return fee, nil
}

// LastAskedToAuthenticate reports whether the latest payment of card pmID
// is waiting for, or ended without, the customer authenticating it: the
// next off-session charge of the card will likely be asked the same. A
// payment authenticated and paid does not count.
func (s *Service) LastAskedToAuthenticate(ctx context.Context, platformID, pmID string) (bool, error) {
	var code string
	err := s.db.QueryRowContext(ctx, `SELECT failure_code FROM payments WHERE platform_id = $1 AND payment_method_id = $2
		ORDER BY created_at DESC, id DESC LIMIT 1`, platformID, pmID).Scan(&code)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return code == "authentication_required", err
}
