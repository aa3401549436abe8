package wallet

import (
	"context"
	"database/sql"
	"errors"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/store"
)

// The Observe methods take Stripe's word on the platform's cards: what was
// done at Stripe without Tender (in the platform's Dashboard, by a card
// network, by a page of the platform's own), read back from Stripe by the
// handlers of Stripe's events, reaches the wallet by the paths Tender's own
// changes take, so that each change is made, and recorded, once.

// ObserveDetached removes the card that is pm, as read from Stripe, if
// Stripe no longer has it attached to the card's customer (detached in the
// platform's Dashboard, or attached to another customer). The removal is
// Detach's, with the same events: its clones detached, its consents
// withdrawn, the customer's default moved on; only the card itself is not
// detached at Stripe again. A card Stripe still has on its customer (the
// event late, the card attached again) or one removed already is returned
// as it is. Returns errs.NotFound if no card of the platform is pm.
func (s *Service) ObserveDetached(ctx context.Context, platformID string, pm *stripe.PaymentMethod) (*PaymentMethod, error) {
	card, err := s.cardOf(ctx, platformID, pm)
	if err != nil || card.Status != "active" {
		return card, err
	}
	c, err := getCustomer(ctx, s.db, platformID, card.CustomerID)
	if err != nil {
		return nil, err
	}
	if pm.Customer != nil && pm.Customer.ID == c.StripeCustomerID {
		return card, nil
	}
	if err := s.dropClones(ctx, platformID, `payment_method_id = $2`, card.ID); err != nil {
		return nil, err
	}
	return s.removed(ctx, card)
}

// ObserveCard gives the card that is pm the details Stripe shows of it
// (brand, last four digits, expiry, fingerprint, wallet) when they
// changed, with card.updated; one with the same details, or removed, is
// returned as it is. A fingerprint that another of the customer's cards
// has is not taken, since the wallet keeps one card per fingerprint: the
// card keeps its own and takes the rest. Returns errs.NotFound if no card
// of the platform is pm.
func (s *Service) ObserveCard(ctx context.Context, platformID string, pm *stripe.PaymentMethod) (*PaymentMethod, error) {
	card, err := s.cardOf(ctx, platformID, pm)
	if err != nil || card.Status != "active" || pm.Card == nil {
		return card, err
	}
	next := detailsOf(pm.Card)
	now := store.TimeOf(s.now())
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if next.fingerprint != card.Fingerprint && next.fingerprint != "" {
			var other string
			err := tx.QueryRowContext(ctx, `SELECT id FROM payment_methods WHERE platform_id = $1 AND customer_id = $2
				AND fingerprint = $3 AND status = 'active' AND id <> $4`, platformID, card.CustomerID, next.fingerprint, card.ID).Scan(&other)
			switch {
			case err == nil:
				s.logger.WarnContext(ctx, "a card's new fingerprint is another card's: keeping its own", "payment_method", card.ID, "other", other)
				next.fingerprint = card.Fingerprint
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		// Conditional on a change, so that of two events applied at once
		// one records it.
		res, err := tx.ExecContext(ctx, `UPDATE payment_methods SET brand = $3, last4 = $4, exp_month = $5, exp_year = $6,
				fingerprint = $7, wallet = $8, updated_at = $9
			WHERE platform_id = $1 AND id = $2 AND status = 'active' AND (brand <> $3 OR last4 <> $4 OR exp_month <> $5
				OR exp_year <> $6 OR fingerprint <> $7 OR wallet <> $8)`,
			platformID, card.ID, next.brand, next.last4, next.expMonth, next.expYear, next.fingerprint, next.wallet, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if card, err = getPaymentMethod(ctx, tx, platformID, card.CustomerID, card.ID); err != nil {
			return err
		}
		_, err = event.Record(ctx, tx, now.Time, platformID, EventCardUpdated, card.ID, card.View())
		return err
	})
	if err != nil {
		return nil, err
	}
	return getPaymentMethod(ctx, s.db, platformID, card.CustomerID, card.ID)
}

// ObserveSetup records the card of a SetupIntent read from Stripe, with
// its payment_method expanded, for the customer whose Stripe Customer it
// is, exactly as RecordSetup does: one confirmed at Stripe without
// Tender's pages is saved, and one the platform also records is saved
// once. Returns errs.NotFound if it is for no customer of the platform,
// and otherwise RecordSetup's errors: errs.Conflict (archived) and
// errs.Invalid (param setup_intent).
func (s *Service) ObserveSetup(ctx context.Context, platformID string, si *stripe.SetupIntent) (*PaymentMethod, error) {
	if si.Customer == nil || si.Customer.ID == "" {
		return nil, errs.NotFoundf("customer", "SetupIntent %s is for no customer.", si.ID)
	}
	// One Tender opened names its customer (CreateSetupIntent); another is
	// found by its Stripe Customer alone.
	var customerID string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM customers WHERE platform_id = $1 AND id = $2 AND stripe_customer_id = $3`,
		platformID, si.Metadata["tender_customer"], si.Customer.ID).Scan(&customerID)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.db.QueryRowContext(ctx, `SELECT id FROM customers WHERE platform_id = $1 AND stripe_customer_id = $2`,
			platformID, si.Customer.ID).Scan(&customerID)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("customer", "No customer of this platform has Stripe Customer %s.", si.Customer.ID)
	}
	if err != nil {
		return nil, err
	}
	c, err := activeCustomer(ctx, s.db, platformID, customerID)
	if err != nil {
		return nil, err
	}
	return s.recordSetup(ctx, c, si)
}

// cardOf returns the platform's card that is pm.
func (s *Service) cardOf(ctx context.Context, platformID string, pm *stripe.PaymentMethod) (*PaymentMethod, error) {
	card, err := s.byStripeID(ctx, s.db, platformID, pm.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("payment_method", "No card of this platform is %s.", pm.ID)
	}
	return card, err
}

// cardDetails are what the wallet keeps of a card from Stripe.
type cardDetails struct {
	brand, last4        string
	expMonth, expYear   int64
	fingerprint, wallet string
}

func detailsOf(card *stripe.PaymentMethodCard) cardDetails {
	d := cardDetails{brand: string(card.Brand), last4: card.Last4, expMonth: card.ExpMonth, expYear: card.ExpYear,
		fingerprint: card.Fingerprint}
	if card.Wallet != nil {
		d.wallet = string(card.Wallet.Type)
	}
	return d
}
