package wallet

import (
	"context"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
)

// RecordPaymentCard records a card that a payment saved for the customer:
// a PaymentIntent confirmed with setup_future_usage on the platform's
// account, which attached its card to the customer's Stripe Customer (a
// checkout link's page does this when the payer asks to save their card).
// The caller read pm back from Stripe; it must be attached to the
// customer's Stripe Customer. As with RecordSetup, a card whose
// fingerprint the customer already has is merged into the one on file,
// and recording the same card twice returns the same card. Returns
// errs.NotFound, errs.Conflict for an archived customer, errs.Invalid
// (param payment_method) for a card that is not the customer's.
func (s *Service) RecordPaymentCard(ctx context.Context, platformID, customerID string, pm *stripe.PaymentMethod) (*PaymentMethod, error) {
	c, err := activeCustomer(ctx, s.db, platformID, customerID)
	if err != nil {
		return nil, err
	}
	switch {
	case pm == nil || pm.Card == nil:
		return nil, errs.Invalidf("payment_method", "The payment saved no card.")
	case pm.Customer == nil || pm.Customer.ID != c.StripeCustomerID:
		return nil, errs.Invalidf("payment_method", "PaymentMethod %s does not belong to customer %s.", pm.ID, c.ID)
	}
	return s.record(ctx, c, pm)
}
