package wallet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeop"
)

// Clone is a copy of a platform card on a merchant's connected account,
// attached there to a Customer of that account: what a direct charge on
// the merchant's account uses.
type Clone struct {
	PaymentMethodID          string // Tender's pmt_…
	MerchantID               string
	AccountID                string // the merchant's acct_…
	ConnectedCustomerID      string // cus_… on the connected account
	ConnectedPaymentMethodID string // pm_… on the connected account
	Created                  time.Time
}

// CloneFor returns the card's clone on the merchant's account, making it on
// first use: Stripe copies the card onto the account, and a Customer of
// that account (one per customer and account, shared by their cards) holds
// it. Later calls find it in the registry with no Stripe request. The
// Stripe calls carry idempotency keys derived from the card's Stripe copy
// (new when the card is renewed) and the account, so a retry after a crash
// reuses what the first attempt made.
// Returns errs.NotFound, or errs.Conflict when the card was removed or the
// merchant cannot take charges (reason merchant_not_connected).
func (s *Service) CloneFor(ctx context.Context, platformID, pmID, merchantID string) (*Clone, error) {
	pm, err := scanPaymentMethod(s.db.QueryRowContext(ctx, `SELECT `+pmCols+` FROM payment_methods WHERE platform_id = $1 AND id = $2`, platformID, pmID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("payment_method", "No such payment method: '%s'.", pmID)
	}
	if err != nil {
		return nil, err
	}
	if pm.Status != "active" {
		return nil, errs.E(errs.Conflict, "Payment method %s was removed.", pm.ID).WithReason("payment_method_detached")
	}
	m, err := s.connect.Merchant(ctx, platformID, merchantID)
	if err != nil {
		return nil, err
	}
	acct := m.Connection.AccountID
	if acct == "" || m.Connection.Status == connect.StatusDeauthorized {
		return nil, errs.E(errs.Conflict, "Merchant %s has no connected account to clone the card onto.", m.ID).WithReason("merchant_not_connected")
	}
	if c, err := s.registered(ctx, platformID, pm.ID, acct); err == nil {
		return c, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return s.makeClone(ctx, pm, m.ID, acct)
}

func (s *Service) registered(ctx context.Context, platformID, pmID, acct string) (*Clone, error) {
	return scanClone(s.db.QueryRowContext(ctx, `SELECT `+cloneCols+` FROM clones
		WHERE platform_id = $1 AND payment_method_id = $2 AND account_id = $3`, platformID, pmID, acct))
}

func (s *Service) makeClone(ctx context.Context, pm *PaymentMethod, merchantID, acct string) (*Clone, error) {
	cu, err := getCustomer(ctx, s.db, pm.PlatformID, pm.CustomerID)
	if err != nil {
		return nil, err
	}
	sc, err := s.client(ctx, pm.PlatformID)
	if err != nil {
		return nil, err
	}
	clonedID, err := s.once(ctx, stripeop.Op{PlatformID: pm.PlatformID, Kind: stripeop.ClonePaymentMethod, Object: cloneObject(pm.StripeID, acct),
		Key: []string{"clone", pm.StripeID, acct},
		Call: func(ctx context.Context, key string) (string, error) {
			p := &stripe.PaymentMethodCreateParams{Customer: stripe.String(cu.StripeCustomerID), PaymentMethod: stripe.String(pm.StripeID)}
			p.SetStripeAccount(acct)
			p.SetIdempotencyKey(key)
			cloned, err := sc.V1PaymentMethods.Create(ctx, p)
			if err != nil {
				return "", err
			}
			return cloned.ID, nil
		}})
	if err != nil {
		return nil, err
	}
	connectedCustomer, err := s.connectedCustomer(ctx, sc, cu, acct, clonedID)
	if err != nil {
		return nil, err
	}
	now := store.TimeOf(s.now())
	_, err = s.db.ExecContext(ctx, `INSERT INTO clones (platform_id, payment_method_id, account_id, merchant_id, connected_customer_id,
		connected_payment_method_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		pm.PlatformID, pm.ID, acct, merchantID, connectedCustomer, clonedID, now)
	if err != nil {
		return nil, fmt.Errorf("register clone: %w", err)
	}
	// Two callers racing make the same clone (same idempotency keys); the
	// row that won is the clone.
	return s.registered(ctx, pm.PlatformID, pm.ID, acct)
}

// connectedCustomer returns the customer's Customer on the connected
// account, with the cloned card attached: the one their other clones on
// that account use, or a new one.
func (s *Service) connectedCustomer(ctx context.Context, sc *stripe.Client, cu *Customer, acct, clonedPM string) (string, error) {
	var existing string
	err := s.db.QueryRowContext(ctx, `SELECT c.connected_customer_id FROM clones c JOIN payment_methods p
		ON p.platform_id = c.platform_id AND p.id = c.payment_method_id
		WHERE c.platform_id = $1 AND c.account_id = $2 AND p.customer_id = $3 LIMIT 1`, cu.PlatformID, acct, cu.ID).Scan(&existing)
	switch {
	case err == nil:
		_, err := s.once(ctx, stripeop.Op{PlatformID: cu.PlatformID, Kind: stripeop.AttachPaymentMethod, Object: clonedPM + ":" + acct,
			Key: []string{"clone-attach", clonedPM, acct},
			Call: func(ctx context.Context, key string) (string, error) {
				attach := &stripe.PaymentMethodAttachParams{Customer: stripe.String(existing)}
				attach.SetStripeAccount(acct)
				attach.SetIdempotencyKey(key)
				if _, err := sc.V1PaymentMethods.Attach(ctx, clonedPM, attach); err != nil {
					return "", err
				}
				return clonedPM, nil
			}})
		return existing, err
	case !errors.Is(err, sql.ErrNoRows):
		return "", err
	}
	return s.once(ctx, stripeop.Op{PlatformID: cu.PlatformID, Kind: stripeop.CreateCustomer, Object: "clone:" + clonedPM + ":" + acct,
		Key: []string{"clone-customer", clonedPM, acct},
		Call: func(ctx context.Context, key string) (string, error) {
			params := &stripe.CustomerCreateParams{Email: optional(cu.Email), Name: optional(cu.Name), PaymentMethod: stripe.String(clonedPM)}
			params.AddMetadata("tender_customer", cu.ID)
			params.SetStripeAccount(acct)
			params.SetIdempotencyKey(key)
			created, err := sc.V1Customers.Create(ctx, params)
			if err != nil {
				return "", err
			}
			return created.ID, nil
		}})
}

// cloneObject names the operation that clones a card (its Stripe copy)
// onto an account.
func cloneObject(stripePM, acct string) string { return stripePM + ":" + acct }

// once carries out one of a clone's Stripe writes exactly once
// (stripeop), without a lookup: a clone or Customer made twice is only a
// spare on the merchant's account. Stripe replays a 5xx it stored under
// the key for 24 hours, which would block the card there for a day, so
// after one the write is made once more under the next key.
func (s *Service) once(ctx context.Context, op stripeop.Op) (string, error) {
	res, err := s.ops.Run(ctx, op)
	if f := stripeop.AsFailed(err); f != nil && f.Outcome.Kind == stripeapi.KindUnavailable && f.Outcome.Status >= 500 {
		res, err = s.ops.Run(ctx, op)
	}
	if f := stripeop.AsFailed(err); f != nil {
		return "", stripeapi.AsError(f.Unwrap())
	}
	return res.StripeID, err
}

// dropClones removes the platform's clones matching cond ($1 is the
// platform, then args): each cloned card is detached on its account, then
// its row deleted. An account Tender can no longer reach (deauthorized)
// keeps nothing Tender could remove, so its rows simply go.
func (s *Service) dropClones(ctx context.Context, platformID, cond string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, `SELECT c.payment_method_id, c.account_id, c.connected_payment_method_id, p.stripe_payment_method_id FROM clones c
		JOIN payment_methods p ON p.platform_id = c.platform_id AND p.id = c.payment_method_id
		WHERE c.platform_id = $1 AND `+cond, append([]any{platformID}, args...)...)
	if err != nil {
		return err
	}
	type clone struct{ pm, acct, connectedPM, stripePM string }
	var clones []clone
	for rows.Next() {
		var c clone
		if err := rows.Scan(&c.pm, &c.acct, &c.connectedPM, &c.stripePM); err != nil {
			rows.Close()
			return err
		}
		clones = append(clones, c)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	if len(clones) == 0 {
		return nil
	}
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return err
	}
	for _, c := range clones {
		p := &stripe.PaymentMethodDetachParams{}
		p.SetStripeAccount(c.acct)
		if _, err := sc.V1PaymentMethods.Detach(ctx, c.connectedPM, p); err != nil && !alreadyGone(err) &&
			stripeapi.Classify(err).Kind != stripeapi.KindAccountInvalid {
			return stripeapi.AsError(err)
		}
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM clones WHERE platform_id = $1 AND payment_method_id = $2 AND account_id = $3`,
				platformID, c.pm, c.acct); err != nil {
				return err
			}
			// Cloned again later, it is a new clone, not this one.
			return stripeop.Renew(ctx, tx, platformID, stripeop.ClonePaymentMethod, cloneObject(c.stripePM, c.acct))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ForgetMerchantClones drops the registry's clones on a merchant's account
// without calling Stripe, in the caller's transaction: connect calls it
// when the merchant loses its account (deauthorized or disconnected), when
// the clones are out of Tender's reach and must never be used again.
func ForgetMerchantClones(ctx context.Context, tx *sql.Tx, platformID, merchantID string) error {
	type clone struct{ stripePM, acct string }
	clones, err := store.All(ctx, tx, func(row store.Scanner) (clone, error) {
		var c clone
		return c, row.Scan(&c.stripePM, &c.acct)
	}, `SELECT p.stripe_payment_method_id, c.account_id FROM clones c JOIN payment_methods p ON p.platform_id = c.platform_id AND p.id = c.payment_method_id
		WHERE c.platform_id = $1 AND c.merchant_id = $2`, platformID, merchantID)
	if err != nil {
		return err
	}
	for _, c := range clones {
		// Should the merchant connect the same account again, its cards
		// are cloned afresh.
		if err := stripeop.Renew(ctx, tx, platformID, stripeop.ClonePaymentMethod, cloneObject(c.stripePM, c.acct)); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM clones WHERE platform_id = $1 AND merchant_id = $2`, platformID, merchantID)
	return err
}

// Clones lists the registry's clones of a card, for tests and the console.
func (s *Service) Clones(ctx context.Context, platformID, pmID string) ([]*Clone, error) {
	return store.All(ctx, s.db, scanClone, `SELECT `+cloneCols+` FROM clones WHERE platform_id = $1 AND payment_method_id = $2
		ORDER BY account_id`, platformID, pmID)
}

const cloneCols = `payment_method_id, merchant_id, account_id, connected_customer_id, connected_payment_method_id, created_at`

func scanClone(row store.Scanner) (*Clone, error) {
	var c Clone
	var created store.Time
	err := row.Scan(&c.PaymentMethodID, &c.MerchantID, &c.AccountID, &c.ConnectedCustomerID, &c.ConnectedPaymentMethodID, &created)
	c.Created = created.Time
	return &c, err
}
