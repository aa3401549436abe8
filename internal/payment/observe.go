package payment

import (
	"context"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
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
