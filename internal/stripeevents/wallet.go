package stripeevents

import (
	"context"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
)

// The wallet keeps customers' cards on the platform's own Stripe account,
// so their events come to the platform's endpoint and name no account. A
// connected account's PaymentMethods are the wallet's clones, which it
// keeps in its registry by itself, or the merchant's own.

// applyDetached re-reads a detached PaymentMethod and has the wallet
// remove its card if Stripe no longer has it on the card's customer: one
// detached in the platform's Dashboard leaves the wallet as one removed
// through Tender does. Tender's own removal comes back here too, and
// finds the card removed already.
func applyDetached(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (result, error) {
	if ev.Account != "" {
		return ignored("A connected account's PaymentMethod is not in the wallet."), nil
	}
	pm, err := retrievePaymentMethod(ctx, s, platformID, ev)
	if err != nil {
		return result{}, err
	}
	card, err := s.wallet.ObserveDetached(ctx, platformID, pm)
	switch {
	case errs.Is(err, errs.NotFound):
		return ignored("PaymentMethod %s is no card in the wallet.", pm.ID), nil
	case err != nil:
		return result{}, err
	case card.Status == "active":
		return applied("Card %s stays: Stripe has it attached to its customer.", card.ID), nil
	}
	return applied("Card %s is removed.", card.ID), nil
}

// applyCardUpdated re-reads an updated PaymentMethod (its expiry changed in
// the Dashboard, or the card renewed by its network) and has the wallet
// take the details Stripe shows of it.
func applyCardUpdated(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (result, error) {
	if ev.Account != "" {
		return ignored("A connected account's PaymentMethod is not in the wallet."), nil
	}
	pm, err := retrievePaymentMethod(ctx, s, platformID, ev)
	if err != nil {
		return result{}, err
	}
	card, err := s.wallet.ObserveCard(ctx, platformID, pm)
	switch {
	case errs.Is(err, errs.NotFound):
		return ignored("PaymentMethod %s is no card in the wallet.", pm.ID), nil
	case err != nil:
		return result{}, err
	case card.Status != "active":
		return ignored("Card %s was removed: it keeps the details it had.", card.ID), nil
	}
	return applied("Card %s is %s ending %s, expiring %02d/%d.", card.ID, card.Brand, card.Last4, card.ExpMonth, card.ExpYear), nil
}

// applySetupSucceeded re-reads a succeeded SetupIntent and, when it is for
// a customer of the wallet, has the wallet record its card as the API's
// POST /v1/customers/{id}/payment_methods does: a card saved by a page of
// the platform's own that never tells Tender is saved, and one the
// platform also records is saved once.
func applySetupSucceeded(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (result, error) {
	if ev.Account != "" {
		return ignored("A connected account's SetupIntent saves no card to the wallet."), nil
	}
	siID, err := objectID(ev)
	if err != nil {
		return result{}, err
	}
	c, err := s.stripe.Client(ctx, platformID)
	if err != nil {
		return result{}, err
	}
	params := &stripe.SetupIntentRetrieveParams{}
	params.AddExpand("payment_method")
	si, err := c.Stripe().V1SetupIntents.Retrieve(ctx, siID, params)
	if err != nil {
		return result{}, err
	}
	card, err := s.wallet.ObserveSetup(ctx, platformID, si)
	if e := errs.As(err); e != nil && (e.Param == "customer" || e.Reason == "customer_archived" || e.Param == "setup_intent") {
		// For no customer of the wallet (or one archived), or no card to
		// save: ObserveSetup's refusals.
		return ignored("SetupIntent %s saves no card to the wallet: %s", siID, e.Message), nil
	}
	if err != nil {
		return result{}, err
	}
	return applied("Card %s is saved for customer %s.", card.ID, card.CustomerID), nil
}

// retrievePaymentMethod reads the PaymentMethod of a payment_method.*
// event again from the platform's account.
func retrievePaymentMethod(ctx context.Context, s *Service, platformID string, ev *stripe.Event) (*stripe.PaymentMethod, error) {
	pmID, err := objectID(ev)
	if err != nil {
		return nil, err
	}
	c, err := s.stripe.Client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	return c.Stripe().V1PaymentMethods.Retrieve(ctx, pmID, &stripe.PaymentMethodRetrieveParams{})
}
