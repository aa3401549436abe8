package wallet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/metadata"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/text"
)

// Customer is someone who pays the platform's merchants.
type Customer struct {
	ID         string
	PlatformID string
	ExternalID string
	Email      string
	Name       string
	Metadata   map[string]string
	// StripeCustomerID is the Customer on the platform's Stripe account that
	// holds the saved cards; empty once erased.
	StripeCustomerID       string
	DefaultPaymentMethodID string
	Archived               time.Time
	Erased                 time.Time
	Created                time.Time
	Updated                time.Time
}

// Customer events, each with the customer's view as data.
const (
	// EventCustomerCreated: CreateCustomer recorded a new customer.
	EventCustomerCreated event.Type = "customer.created"
	// EventCustomerUpdated: UpdateCustomer changed at least one of
	// external_id, email, name or metadata; an update that changes none
	// records nothing.
	EventCustomerUpdated event.Type = "customer.updated"
	// EventCustomerArchived: ArchiveCustomer archived the customer, once;
	// archiving again records nothing. The removal of its cards and the
	// withdrawal of its consents come first, each with its own events.
	EventCustomerArchived event.Type = "customer.archived"
	// EventCustomerDefaultCardChanged: the customer's default card
	// (default_payment_method) became another card or none. It fires when
	// the customer's first card is saved (RecordSetup, RecordPaymentCard),
	// when SetDefault picks a card that was not already the default, and
	// when Detach (or ObserveDetached) removes the default card, which
	// moves the default to the customer's newest other card, or to none
	// if it was the last.
	EventCustomerDefaultCardChanged event.Type = "customer.default_card_changed"
)

// CustomerParams are the fields of a create or update; nil fields are left
// alone.
type CustomerParams struct {
	ExternalID *string            `json:"external_id" text:"255"`
	Email      *string            `json:"email" text:"254"`
	Name       *string            `json:"name" text:"255"`
	Metadata   map[string]*string `json:"metadata" text:"500,multiline,keys=40"`
}

func (p CustomerParams) apply(c *Customer) error {
	if err := text.Validate(p); err != nil {
		return err
	}
	if p.ExternalID != nil {
		c.ExternalID = strings.TrimSpace(*p.ExternalID)
	}
	if p.Email != nil {
		e := strings.TrimSpace(*p.Email)
		if e != "" && (!strings.Contains(e, "@") || len(e) > 254 || strings.ContainsAny(e, " \t\r\n")) {
			return errs.Invalidf("email", "%q is not an email address", e)
		}
		c.Email = e
	}
	if p.Name != nil {
		c.Name = strings.TrimSpace(*p.Name)
	}
	md, err := metadata.Apply(c.Metadata, p.Metadata)
	if err != nil {
		return err
	}
	c.Metadata = md
	return nil
}

// CreateCustomer validates and stores a customer, and creates its Stripe
// Customer on the platform's account. The Stripe call comes first, with an
// idempotency key derived from Tender's new id, and the row is written only
// once it succeeded, with the request's answer: a failure leaves nothing
// behind in Tender. With an Idempotency-Key the id derives from it
// (id.For), so a retry after a crash between the two asks Stripe with the
// same key and records the Customer the first try made. Returns
// errs.Invalid naming the field, errs.Conflict (external_id_taken), or
// Stripe's failure classified.
func (s *Service) CreateCustomer(ctx context.Context, platformID string, p CustomerParams) (*Customer, error) {
	now := store.TimeOf(s.now()).Time
	c := &Customer{ID: id.For(ctx, CustomerPrefix), PlatformID: platformID, Metadata: map[string]string{}, Created: now, Updated: now}
	if err := p.apply(c); err != nil {
		return nil, err
	}
	if c.ExternalID != "" {
		if _, err := s.customerByExternalID(ctx, platformID, c.ExternalID); err == nil {
			return nil, externalIDTaken(c.ExternalID)
		}
	}
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	params := &stripe.CustomerCreateParams{Email: optional(c.Email), Name: optional(c.Name)}
	params.AddMetadata("tender_customer", c.ID)
	params.SetIdempotencyKey(stripeapi.IdempotencyKey("customer", c.ID))
	sc2, err := sc.V1Customers.Create(ctx, params)
	if err != nil {
		return nil, stripeapi.AsError(err)
	}
	c.StripeCustomerID = sc2.ID
	md, _ := json.Marshal(c.Metadata)
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO customers (platform_id, id, external_id, email, name, metadata, stripe_customer_id,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			platformID, c.ID, nullString(c.ExternalID), c.Email, c.Name, string(md), c.StripeCustomerID, store.TimeOf(now))
		if err != nil {
			return err
		}
		if _, err := event.Record(ctx, tx, now, platformID, EventCustomerCreated, c.ID, c.View()); err != nil {
			return err
		}
		return idempotency.Commit(ctx, tx, c.View())
	})
	switch {
	case err == nil:
		return c, nil
	case store.IsUniqueViolation(err):
		// The answer, a 409, is the key's for good: nothing will record
		// this Stripe Customer.
		s.dropStripeCustomer(ctx, c.StripeCustomerID, platformID)
		return nil, externalIDTaken(c.ExternalID)
	case idempotency.FromContext(ctx) != nil:
		// The Stripe Customer is kept for the retry, which finds it under
		// the same key: tell the client to retry (a 503 leaves the key to
		// it) rather than store a 500 that would orphan it.
		return nil, &errs.Error{Code: errs.Unavailable, Reason: "database_unavailable",
			Message: "The customer could not be recorded; retry with the same Idempotency-Key.", Err: err}
	default:
		// No key, so no retry of this request will come for it.
		s.dropStripeCustomer(ctx, c.StripeCustomerID, platformID)
		return nil, fmt.Errorf("insert customer: %w", err)
	}
}

// dropStripeCustomer deletes the Stripe Customer of a customer that will
// not be recorded, so none is left at Stripe with no customer in Tender.
func (s *Service) dropStripeCustomer(ctx context.Context, stripeCustomerID, platformID string) {
	if err := s.deleteStripeCustomer(context.WithoutCancel(ctx), platformID, stripeCustomerID); err != nil {
		s.logger.ErrorContext(ctx, "Stripe Customer of an unrecorded customer left at Stripe", "stripe_customer", stripeCustomerID, "err", err)
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func externalIDTaken(ext string) *errs.Error {
	e := errs.E(errs.Conflict, "Another customer of this platform has external_id %q.", ext).WithReason("external_id_taken")
	e.Param = "external_id"
	return e
}

func (s *Service) customerByExternalID(ctx context.Context, platformID, ext string) (*Customer, error) {
	return scanCustomer(s.db.QueryRowContext(ctx, `SELECT `+customerCols+` FROM customers WHERE platform_id = $1 AND external_id = $2`, platformID, ext))
}

// Customer returns one of the platform's customers. Returns errs.NotFound
// if the platform has no such customer.
func (s *Service) Customer(ctx context.Context, platformID, customerID string) (*Customer, error) {
	return getCustomer(ctx, s.db, platformID, customerID)
}

func getCustomer(ctx context.Context, q store.Querier, platformID, customerID string) (*Customer, error) {
	c, err := scanCustomer(q.QueryRowContext(ctx, `SELECT `+customerCols+` FROM customers WHERE platform_id = $1 AND id = $2`, platformID, customerID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("customer", "No such customer: '%s'.", customerID)
	}
	return c, err
}

// activeCustomer returns the customer, refusing an archived one.
func activeCustomer(ctx context.Context, q store.Querier, platformID, customerID string) (*Customer, error) {
	c, err := getCustomer(ctx, q, platformID, customerID)
	if err == nil && !c.Archived.IsZero() {
		return nil, errs.E(errs.Conflict, "Customer %s is archived.", c.ID).WithReason("customer_archived")
	}
	return c, err
}

// UpdateCustomer validates and applies p, in Tender and on the Stripe
// Customer (email and name), with the request's answer when it has an
// Idempotency-Key, and customer.updated if a field changed. Returns
// errs.Invalid, errs.NotFound or errs.Conflict (archived, or external_id
// taken).
func (s *Service) UpdateCustomer(ctx context.Context, platformID, customerID string, p CustomerParams) (*Customer, error) {
	c, err := activeCustomer(ctx, s.db, platformID, customerID)
	if err != nil {
		return nil, err
	}
	before := *c
	if err := p.apply(c); err != nil {
		return nil, err
	}
	if c.Email != before.Email || c.Name != before.Name {
		sc, err := s.client(ctx, platformID)
		if err != nil {
			return nil, err
		}
		_, err = sc.V1Customers.Update(ctx, c.StripeCustomerID, &stripe.CustomerUpdateParams{Email: stripe.String(c.Email), Name: stripe.String(c.Name)})
		if err != nil {
			return nil, stripeapi.AsError(err)
		}
	}
	md, _ := json.Marshal(c.Metadata)
	c.Updated = store.TimeOf(s.now()).Time
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE customers SET external_id = $3, email = $4, name = $5, metadata = $6, updated_at = $7
			WHERE platform_id = $1 AND id = $2`, platformID, c.ID, nullString(c.ExternalID), c.Email, c.Name, string(md), store.TimeOf(c.Updated))
		if err != nil {
			return err
		}
		if changed(&before, c) {
			if _, err := event.Record(ctx, tx, c.Updated, platformID, EventCustomerUpdated, c.ID, c.View()); err != nil {
				return err
			}
		}
		return idempotency.Commit(ctx, tx, c.View())
	})
	if store.IsUniqueViolation(err) {
		return nil, externalIDTaken(c.ExternalID)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// changed reports whether an update changed a field the platform set.
func changed(before, after *Customer) bool {
	return before.ExternalID != after.ExternalID || before.Email != after.Email || before.Name != after.Name ||
		!maps.Equal(before.Metadata, after.Metadata)
}

// CustomerFilter narrows a list of customers.
type CustomerFilter struct {
	ExternalID string
	Email      string
	Archived   bool // include archived customers
}

// Customers lists the platform's customers, newest first.
func (s *Service) Customers(ctx context.Context, platformID string, f CustomerFilter, page store.Page) ([]*Customer, bool, error) {
	return store.List(ctx, s.db, page, scanCustomer, `SELECT `+customerCols+` FROM customers WHERE platform_id = $1
		AND ($2 = '' OR external_id = $2) AND ($3 = '' OR email = $3) AND ($4 OR archived_at IS NULL)`,
		platformID, f.ExternalID, f.Email, f.Archived)
}

// ArchiveCustomer deletes the customer's Stripe Customer (which removes its
// saved cards at Stripe), detaches its cards and their clones, revokes its
// consents, and hides it from lists. Its Stripe ids are erased from Tender
// after the retention period by EraseExpired. Archiving twice is harmless:
// customer.archived is recorded once.
func (s *Service) ArchiveCustomer(ctx context.Context, platformID, customerID string) (*Customer, error) {
	c, err := getCustomer(ctx, s.db, platformID, customerID)
	if err != nil || !c.Archived.IsZero() {
		return c, err
	}
	pms, err := s.PaymentMethods(ctx, platformID, customerID)
	if err != nil {
		return nil, err
	}
	for _, pm := range pms {
		if _, err := s.Detach(ctx, platformID, customerID, pm.ID); err != nil {
			return nil, err
		}
	}
	if err := s.deleteStripeCustomer(ctx, platformID, c.StripeCustomerID); err != nil {
		return nil, err
	}
	now := store.TimeOf(s.now())
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := revokeConsents(ctx, tx, platformID, `customer_id = $2`, customerID, "customer_archived", now.Time); err != nil {
			return err
		}
		// Conditional, so that of two archives racing one records the
		// event.
		res, err := tx.ExecContext(ctx, `UPDATE customers SET archived_at = $3, erase_after = $4, default_payment_method_id = NULL,
			updated_at = $3 WHERE platform_id = $1 AND id = $2 AND archived_at IS NULL`, platformID, customerID, now, store.TimeOf(now.Add(s.retention)))
		if err != nil {
			return err
		}
		if c, err = getCustomer(ctx, tx, platformID, customerID); err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = event.Record(ctx, tx, now.Time, platformID, EventCustomerArchived, c.ID, c.View())
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// deleteStripeCustomer deletes a Customer at Stripe; one already gone
// counts as deleted.
func (s *Service) deleteStripeCustomer(ctx context.Context, platformID, stripeCustomerID string) error {
	if stripeCustomerID == "" {
		return nil
	}
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return err
	}
	_, err = sc.V1Customers.Delete(ctx, stripeCustomerID, nil)
	if err != nil && stripeapi.Classify(err).Kind != stripeapi.KindNotFound {
		return stripeapi.AsError(err)
	}
	return nil
}

// EraseExpired removes the Stripe ids of customers archived longer than the
// retention period, as Tryton does for its Stripe customers: after that,
// Tender cannot tie the person to anything at Stripe. It returns how many
// customers it erased.
func (s *Service) EraseExpired(ctx context.Context) (int, error) {
	now := store.TimeOf(s.now())
	res, err := s.db.ExecContext(ctx, `UPDATE customers SET stripe_customer_id = NULL, erase_after = NULL, erased_at = $1, updated_at = $1
		WHERE erase_after IS NOT NULL AND erase_after <= $1`, now)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE payment_methods SET stripe_payment_method_id = 'erased_' || id, fingerprint = ''
		WHERE status = 'detached' AND EXISTS (SELECT 1 FROM customers c WHERE c.platform_id = payment_methods.platform_id
			AND c.id = payment_methods.customer_id AND c.erased_at IS NOT NULL)`); err != nil {
		return 0, err
	}
	return int(n), nil
}

const customerCols = `platform_id, id, external_id, email, name, metadata, stripe_customer_id, default_payment_method_id,
	archived_at, erased_at, created_at, updated_at`

func scanCustomer(row store.Scanner) (*Customer, error) {
	var c Customer
	var ext, scus, def sql.NullString
	var md string
	var archived, erased, created, updated store.Time
	if err := row.Scan(&c.PlatformID, &c.ID, &ext, &c.Email, &c.Name, &md, &scus, &def, &archived, &erased, &created, &updated); err != nil {
		return nil, err
	}
	c.ExternalID, c.StripeCustomerID, c.DefaultPaymentMethodID = ext.String, scus.String, def.String
	if err := json.Unmarshal([]byte(md), &c.Metadata); err != nil {
		return nil, fmt.Errorf("customer %s metadata: %w", c.ID, err)
	}
	c.Archived, c.Erased, c.Created, c.Updated = archived.Time, erased.Time, created.Time, updated.Time
	return &c, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
