package wallet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// PaymentMethod is a card a customer saved, as Stripe shows it. The card
// itself is on the platform's Stripe account (StripeID).
type PaymentMethod struct {
	ID          string
	PlatformID  string
	CustomerID  string
	StripeID    string // pm_… on the platform's account
	Brand       string
	Last4       string
	ExpMonth    int64
	ExpYear     int64
	Fingerprint string
	Wallet      string // apple_pay, google_pay, …; empty for a card typed in
	Status      string // active or detached
	Created     time.Time
	Detached    time.Time
}

// Card events, each with the card's view as data. A card's changes of the
// customer's default are customer.default_card_changed.
const (
	// EventCardSaved: a card new to the customer was recorded, by
	// RecordSetup (the API's POST /v1/customers/{id}/payment_methods and
	// the hosted wallet), ObserveSetup (a SetupIntent confirmed at Stripe)
	// or RecordPaymentCard (a checkout that saved the card). A card
	// recorded again (the same SetupIntent, or a card whose fingerprint
	// the customer already has, merged into the one on file) records
	// nothing.
	EventCardSaved event.Type = "card.saved"
	// EventCardRemoved: Detach removed the card (directly, or while
	// ArchiveCustomer removes the customer's cards), or ObserveDetached
	// found it detached at Stripe, once; removing it again records
	// nothing.
	EventCardRemoved event.Type = "card.removed"
	// EventCardUpdated: ObserveCard found that Stripe shows the card with
	// other details (brand, last four digits, expiry, fingerprint, wallet):
	// renewed by its network, or its expiry changed in the Dashboard. A
	// card saved again and merged into the one on file takes the new
	// copy's details with no event.
	EventCardUpdated event.Type = "card.updated"
)

// SetupIntent is what a platform's own page needs to save a card with
// Stripe.js: confirmCardSetup(ClientSecret, …) with PublishableKey.
type SetupIntent struct {
	ID             string // seti_…
	ClientSecret   string
	PublishableKey string
	Status         string
	Usage          string
}

// setupRequestPrefix names the request that opens a SetupIntent, for its
// Stripe idempotency key; no Tender object has it.
const setupRequestPrefix = "sireq"

// SetupIntentParams ask for a SetupIntent.
type SetupIntentParams struct {
	// Usage is off_session (the default: the card will be charged when the
	// customer is not there) or on_session.
	Usage string `json:"usage" text:"32"`
}

// CreateSetupIntent opens a SetupIntent on the platform's account for the
// customer, for a front end that collects the card with Stripe.js. Returns
// errs.Invalid, errs.NotFound, errs.Conflict (archived), or Stripe's
// failure classified.
func (s *Service) CreateSetupIntent(ctx context.Context, platformID, customerID string, p SetupIntentParams) (*SetupIntent, error) {
	usage := p.Usage
	if usage == "" {
		usage = "off_session"
	}
	if usage != "off_session" && usage != "on_session" {
		return nil, errs.Invalidf("usage", "usage must be off_session or on_session, not %q", p.Usage)
	}
	c, err := activeCustomer(ctx, s.db, platformID, customerID)
	if err != nil {
		return nil, err
	}
	st, err := s.platforms.Stripe(ctx, platformID)
	if err != nil {
		return nil, err
	}
	if st.PublishableKey == "" {
		return nil, errs.E(errs.Conflict, "The platform has no publishable key for Stripe.js: set publishable_key with POST /v1/platform/stripe.").WithReason("publishable_key_missing")
	}
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	params := &stripe.SetupIntentCreateParams{Customer: stripe.String(c.StripeCustomerID), Usage: stripe.String(usage),
		PaymentMethodTypes: []*string{stripe.String("card")}}
	params.AddMetadata("tender_customer", c.ID)
	// Tender keeps no SetupIntent row: a retry of the same request finds
	// the one the first try made by asking Stripe with the same key.
	params.SetIdempotencyKey(stripeapi.IdempotencyKey("setup_intent", id.For(ctx, setupRequestPrefix)))
	si, err := sc.V1SetupIntents.Create(ctx, params)
	if err != nil {
		return nil, stripeapi.AsError(err)
	}
	return &SetupIntent{ID: si.ID, ClientSecret: si.ClientSecret, PublishableKey: st.PublishableKey, Status: string(si.Status), Usage: usage}, nil
}

// RecordSetup records the card a succeeded SetupIntent saved for the
// customer. The SetupIntent is read from Stripe, never taken from the
// browser's word, and must belong to the customer. A card whose
// fingerprint the customer already has is merged into the one on file: it
// keeps its id and takes the new copy's details (a renewed card's expiry),
// and the old copy and its clones are removed at Stripe. Recording the same SetupIntent
// twice returns the same card. Returns errs.Invalid (param setup_intent)
// for an intent that is not the customer's or has not succeeded.
func (s *Service) RecordSetup(ctx context.Context, platformID, customerID, setupIntentID string) (*PaymentMethod, error) {
	c, err := activeCustomer(ctx, s.db, platformID, customerID)
	if err != nil {
		return nil, err
	}
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	si, err := sc.V1SetupIntents.Retrieve(ctx, setupIntentID, &stripe.SetupIntentRetrieveParams{Expand: []*string{stripe.String("payment_method")}})
	if err != nil {
		if stripeapi.Classify(err).Kind == stripeapi.KindNotFound {
			return nil, errs.Invalidf("setup_intent", "No such SetupIntent: %q.", setupIntentID)
		}
		return nil, stripeapi.AsError(err)
	}
	return s.recordSetup(ctx, c, si)
}

// recordSetup records the card of si, read from Stripe with its
// payment_method expanded, once it is c's and has succeeded.
func (s *Service) recordSetup(ctx context.Context, c *Customer, si *stripe.SetupIntent) (*PaymentMethod, error) {
	switch {
	case si.Customer == nil || si.Customer.ID != c.StripeCustomerID:
		return nil, errs.Invalidf("setup_intent", "SetupIntent %s does not belong to customer %s.", si.ID, c.ID)
	case si.Status != stripe.SetupIntentStatusSucceeded:
		return nil, errs.Invalidf("setup_intent", "SetupIntent %s has not succeeded (status %s): the card is not saved yet.", si.ID, si.Status).WithReason("setup_intent_unexpected_state")
	case si.PaymentMethod == nil || si.PaymentMethod.Card == nil:
		return nil, errs.Invalidf("setup_intent", "SetupIntent %s saved no card.", si.ID)
	}
	return s.record(ctx, c, si.PaymentMethod)
}

// record stores pm for c, merging it into a card of the same fingerprint.
// Two callers may record the same card at once (the platform's POST and
// Stripe's setup_intent.succeeded): the one that loses the race finds the
// winner's card, in its transaction or, when its insert collided with the
// winner's, by recording again.
func (s *Service) record(ctx context.Context, c *Customer, pm *stripe.PaymentMethod) (*PaymentMethod, error) {
	out, err := s.recordOnce(ctx, c, pm)
	if store.IsUniqueViolation(err) {
		out, err = s.recordOnce(ctx, c, pm)
	}
	return out, err
}

func (s *Service) recordOnce(ctx context.Context, c *Customer, pm *stripe.PaymentMethod) (*PaymentMethod, error) {
	if got, err := s.byStripeID(ctx, s.db, c.PlatformID, pm.ID); err == nil {
		return got, nil // recorded already (the same SetupIntent reported twice)
	}
	card := pm.Card
	now := store.TimeOf(s.now())
	out := &PaymentMethod{ID: id.For(ctx, PaymentMethodPrefix), PlatformID: c.PlatformID, CustomerID: c.ID, StripeID: pm.ID,
		Brand: string(card.Brand), Last4: card.Last4, ExpMonth: card.ExpMonth, ExpYear: card.ExpYear,
		Fingerprint: card.Fingerprint, Status: "active", Created: now.Time}
	if card.Wallet != nil {
		out.Wallet = string(card.Wallet.Type)
	}
	var duplicate, already *PaymentMethod
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if out.Fingerprint != "" {
			dup, err := scanPaymentMethod(tx.QueryRowContext(ctx, `SELECT `+pmCols+` FROM payment_methods
				WHERE platform_id = $1 AND customer_id = $2 AND fingerprint = $3 AND status = 'active'`, c.PlatformID, c.ID, out.Fingerprint))
			if err == nil && dup.StripeID == out.StripeID {
				// This very copy, recorded since it was looked up: merging
				// it into itself would detach it at Stripe.
				already = dup
				return nil
			}
			if err == nil {
				// The same card saved again, perhaps renewed: the card on file
				// keeps its id (consents name it) and takes the new copy's
				// details.
				duplicate = dup
				_, err = tx.ExecContext(ctx, `UPDATE payment_methods SET stripe_payment_method_id = $3, brand = $4, last4 = $5,
					exp_month = $6, exp_year = $7, wallet = $8, updated_at = $9 WHERE platform_id = $1 AND id = $2`,
					c.PlatformID, dup.ID, out.StripeID, out.Brand, out.Last4, out.ExpMonth, out.ExpYear, out.Wallet, now)
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO payment_methods (platform_id, id, customer_id, stripe_payment_method_id, brand, last4,
			exp_month, exp_year, fingerprint, wallet, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11, $11)`,
			out.PlatformID, out.ID, out.CustomerID, out.StripeID, out.Brand, out.Last4, out.ExpMonth, out.ExpYear, out.Fingerprint, out.Wallet, now)
		if err != nil {
			return fmt.Errorf("insert payment method: %w", err)
		}
		if _, err := event.Record(ctx, tx, now.Time, c.PlatformID, EventCardSaved, out.ID, out.View()); err != nil {
			return err
		}
		// The first card becomes the default.
		res, err := tx.ExecContext(ctx, `UPDATE customers SET default_payment_method_id = $3, updated_at = $4
			WHERE platform_id = $1 AND id = $2 AND default_payment_method_id IS NULL`, c.PlatformID, c.ID, out.ID, now)
		if err != nil {
			return err
		}
		return defaultChanged(ctx, tx, res, c.PlatformID, c.ID, now.Time)
	})
	switch {
	case err != nil:
		return nil, err
	case already != nil:
		return already, nil
	case duplicate != nil:
		return s.replaced(ctx, c, duplicate)
	}
	return out, nil
}

// replaced finishes merging a card saved again into the one on file: the
// old copy's clones are out of date (they copy the old card), so they go,
// and the old copy is detached at Stripe, leaving one copy there too.
func (s *Service) replaced(ctx context.Context, c *Customer, old *PaymentMethod) (*PaymentMethod, error) {
	if err := s.dropClones(ctx, c.PlatformID, `payment_method_id = $2`, old.ID); err != nil {
		return nil, err
	}
	if err := s.detachAtStripe(ctx, c.PlatformID, old.StripeID); err != nil {
		s.logger.WarnContext(ctx, "detaching the replaced copy of a card at Stripe", "payment_method", old.StripeID, "err", err)
	}
	return getPaymentMethod(ctx, s.db, c.PlatformID, c.ID, old.ID)
}

// defaultChanged records customer.default_card_changed if res, the
// conditional UPDATE of the customer's default, changed it.
func defaultChanged(ctx context.Context, tx *sql.Tx, res sql.Result, platformID, customerID string, now time.Time) error {
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	c, err := getCustomer(ctx, tx, platformID, customerID)
	if err != nil {
		return err
	}
	_, err = event.Record(ctx, tx, now, platformID, EventCustomerDefaultCardChanged, c.ID, c.View())
	return err
}

func (s *Service) byStripeID(ctx context.Context, q store.Querier, platformID, stripeID string) (*PaymentMethod, error) {
	return scanPaymentMethod(q.QueryRowContext(ctx, `SELECT `+pmCols+` FROM payment_methods WHERE platform_id = $1 AND stripe_payment_method_id = $2`,
		platformID, stripeID))
}

// PaymentMethods lists the customer's active cards, newest first.
func (s *Service) PaymentMethods(ctx context.Context, platformID, customerID string) ([]*PaymentMethod, error) {
	if _, err := getCustomer(ctx, s.db, platformID, customerID); err != nil {
		return nil, err
	}
	return store.All(ctx, s.db, scanPaymentMethod, `SELECT `+pmCols+` FROM payment_methods
		WHERE platform_id = $1 AND customer_id = $2 AND status = 'active' ORDER BY id DESC`, platformID, customerID)
}

// PaymentMethod returns one of the customer's cards, detached ones
// included. Returns errs.NotFound.
func (s *Service) PaymentMethod(ctx context.Context, platformID, customerID, pmID string) (*PaymentMethod, error) {
	return getPaymentMethod(ctx, s.db, platformID, customerID, pmID)
}

func getPaymentMethod(ctx context.Context, q store.Querier, platformID, customerID, pmID string) (*PaymentMethod, error) {
	if !id.Valid(pmID, PaymentMethodPrefix) { // from a page's path: it may hold any bytes
		return nil, errs.NotFoundf("payment_method", "No such payment method: '%s'.", pmID)
	}
	pm, err := scanPaymentMethod(q.QueryRowContext(ctx, `SELECT `+pmCols+` FROM payment_methods WHERE platform_id = $1 AND customer_id = $2 AND id = $3`,
		platformID, customerID, pmID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("payment_method", "No such payment method: '%s'.", pmID)
	}
	return pm, err
}

// SetDefault makes the card the customer's default, with the request's
// answer when it has an Idempotency-Key (a retry must not undo a later
// choice), and customer.default_card_changed unless it was the default
// already (then nothing changes). Returns errs.NotFound,
// or errs.Conflict for a detached card or an archived customer.
func (s *Service) SetDefault(ctx context.Context, platformID, customerID, pmID string) (*Customer, error) {
	var out *Customer
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := activeCustomer(ctx, tx, platformID, customerID); err != nil {
			return err
		}
		pm, err := getPaymentMethod(ctx, tx, platformID, customerID, pmID)
		if err != nil {
			return err
		}
		if pm.Status != "active" {
			return errs.E(errs.Conflict, "Payment method %s was removed.", pm.ID).WithReason("payment_method_detached")
		}
		// Conditional, so that of two calls racing to the same card one
		// records the change.
		now := store.TimeOf(s.now())
		res, err := tx.ExecContext(ctx, `UPDATE customers SET default_payment_method_id = $3, updated_at = $4
			WHERE platform_id = $1 AND id = $2 AND (default_payment_method_id IS NULL OR default_payment_method_id <> $3)`,
			platformID, customerID, pm.ID, now)
		if err != nil {
			return err
		}
		if err := defaultChanged(ctx, tx, res, platformID, customerID, now.Time); err != nil {
			return err
		}
		if out, err = getCustomer(ctx, tx, platformID, customerID); err != nil {
			return err
		}
		return idempotency.Commit(ctx, tx, out.View())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Detach removes the card: at Stripe on the platform's account, every clone
// of it on merchants' accounts, and every consent given for it; the
// customer's default moves to their newest other card. The card's
// card.removed, its consents' consent.withdrawn and any
// customer.default_card_changed commit with the removal. A Stripe failure
// leaves the card as it was, so the call can be retried. Detaching twice is
// harmless and records nothing the second time.
func (s *Service) Detach(ctx context.Context, platformID, customerID, pmID string) (*PaymentMethod, error) {
	pm, err := getPaymentMethod(ctx, s.db, platformID, customerID, pmID)
	if err != nil || pm.Status != "active" {
		return pm, err
	}
	if err := s.dropClones(ctx, platformID, `payment_method_id = $2`, pm.ID); err != nil {
		return nil, err
	}
	if err := s.detachAtStripe(ctx, platformID, pm.StripeID); err != nil {
		return nil, err
	}
	return s.removed(ctx, pm)
}

// removed records the removal of an active card that is no longer on its
// customer at Stripe (its clones gone already): the card detached, its
// consents withdrawn and the customer's default moved on, with their
// events, in one transaction.
func (s *Service) removed(ctx context.Context, pm *PaymentMethod) (*PaymentMethod, error) {
	platformID, customerID, pmID := pm.PlatformID, pm.CustomerID, pm.ID
	now := store.TimeOf(s.now())
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		// Conditional: a Detach or ObserveDetached racing this one
		// removed the card and recorded its events.
		res, err := tx.ExecContext(ctx, `UPDATE payment_methods SET status = 'detached', detached_at = $3, updated_at = $3
			WHERE platform_id = $1 AND id = $2 AND status = 'active'`, platformID, pm.ID, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if pm, err = getPaymentMethod(ctx, tx, platformID, customerID, pmID); err != nil {
			return err
		}
		if _, err := event.Record(ctx, tx, now.Time, platformID, EventCardRemoved, pm.ID, pm.View()); err != nil {
			return err
		}
		if err := revokeConsents(ctx, tx, platformID, `payment_method_id = $2`, pm.ID, "payment_method_detached", now.Time); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE customers SET default_payment_method_id = (SELECT id FROM payment_methods
				WHERE platform_id = $1 AND customer_id = $2 AND status = 'active' ORDER BY id DESC LIMIT 1), updated_at = $4
			WHERE platform_id = $1 AND id = $2 AND default_payment_method_id = $3`, platformID, customerID, pm.ID, now)
		if err != nil {
			return err
		}
		return defaultChanged(ctx, tx, res, platformID, customerID, now.Time)
	})
	if err != nil {
		return nil, err
	}
	return getPaymentMethod(ctx, s.db, platformID, customerID, pmID)
}

// detachAtStripe detaches a card from its Customer on the platform's
// account; one already detached or gone counts as done.
func (s *Service) detachAtStripe(ctx context.Context, platformID, stripeID string) error {
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return err
	}
	_, err = sc.V1PaymentMethods.Detach(ctx, stripeID, nil)
	if err != nil && !alreadyGone(err) {
		return stripeapi.AsError(err)
	}
	return nil
}

// alreadyGone reports Stripe's answers for an object that no longer exists
// or is no longer attached.
func alreadyGone(err error) bool {
	o := stripeapi.Classify(err)
	if o.Kind == stripeapi.KindNotFound {
		return true
	}
	var se *stripe.Error
	return errors.As(err, &se) && se.Code == "payment_method_unexpected_state"
}

const pmCols = `platform_id, id, customer_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, fingerprint, wallet, status,
	created_at, detached_at`

func scanPaymentMethod(row store.Scanner) (*PaymentMethod, error) {
	var pm PaymentMethod
	var created, detached store.Time
	if err := row.Scan(&pm.PlatformID, &pm.ID, &pm.CustomerID, &pm.StripeID, &pm.Brand, &pm.Last4, &pm.ExpMonth, &pm.ExpYear,
		&pm.Fingerprint, &pm.Wallet, &pm.Status, &created, &detached); err != nil {
		return nil, err
	}
	pm.Created, pm.Detached = created.Time, detached.Time
	return &pm, nil
}
