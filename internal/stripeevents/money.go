package stripeevents

import (
	"context"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/payment"
)

// applyFeeRefunded re-reads an application fee and every refund of it, and
// has payments book those made at Stripe without Tender.
func applyFeeRefunded(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (result, error) {
	sc, objID, err := s.stripeFor(ctx, platformID, ev)
	if err != nil {
		return result{}, err
	}
	params := &stripe.ApplicationFeeRetrieveParams{}
	params.AddExpand("charge")
	fee, err := sc.V1ApplicationFees.Retrieve(ctx, objID, params)
	if err != nil {
		return result{}, err
	}
	var refunds []*stripe.FeeRefund
	for fr, err := range sc.V1FeeRefunds.List(ctx, &stripe.FeeRefundListParams{ID: stripe.String(fee.ID)}).All(ctx) {
		if err != nil {
			return result{}, err
		}
		refunds = append(refunds, fr)
	}
	mv, err := s.payments.ObserveFeeRefunds(ctx, platformID, fee, refunds)
	return moved(mv, err, "application fee refund", objID)
}

// applyTransfer re-reads a transfer to a merchant, with every reversal of
// it, and has payments book the reversals made at Stripe without Tender.
func applyTransfer(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (result, error) {
	sc, objID, err := s.stripeFor(ctx, platformID, ev)
	if err != nil {
		return result{}, err
	}
	params := &stripe.TransferRetrieveParams{}
	params.AddExpand("source_transaction")
	tr, err := sc.V1Transfers.Retrieve(ctx, objID, params)
	if err != nil {
		return result{}, err
	}
	all := &stripe.TransferReversalList{}
	for rv, err := range sc.V1TransferReversals.List(ctx, &stripe.TransferReversalListParams{ID: stripe.String(tr.ID)}).All(ctx) {
		if err != nil {
			return result{}, err
		}
		all.Data = append(all.Data, rv)
	}
	tr.Reversals = all
	mv, err := s.payments.ObserveReversals(ctx, platformID, tr)
	return moved(mv, err, "transfer reversal", objID)
}

// moved is the result of booking money Stripe moved.
func moved(mv *payment.Moved, err error, what, objID string) (result, error) {
	switch {
	case errs.Is(err, errs.NotFound):
		return ignored("%s is not of a merchant of this platform.", objID), nil
	case err != nil:
		return result{}, err
	case mv.Posted == 0:
		return ignored("No %s of %s made at Stripe is left to book.", what, objID), nil
	}
	return applied("Booked %d %s(s) of %s made at Stripe, merchant %s.", mv.Posted, what, objID, mv.MerchantID), nil
}

// stripeFor is the platform's Stripe client and the id of the event's
// object, which every handler reads again.
func (s *Service) stripeFor(ctx context.Context, platformID string, ev *stripe.Event) (*stripe.Client, string, error) {
	objID, err := objectID(ev)
	if err != nil {
		return nil, "", err
	}
	c, err := s.stripe.Client(ctx, platformID)
	if err != nil {
		return nil, "", err
	}
	return c.Stripe(), objID, nil
}
