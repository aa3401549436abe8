package wallet

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
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
	var cloned *stripe.PaymentMethod
	err = withKey(stripeapi.IdempotencyKey("clone", pm.StripeID, acct), func(key string) (err error) {
		p := &stripe.PaymentMethodCreateParams{Customer: stripe.String(cu.StripeCustomerID), PaymentMethod: stripe.String(pm.StripeID)}
		p.SetStripeAccount(acct)
		p.SetIdempotencyKey(key)
		cloned, err = sc.V1PaymentMethods.Create(ctx, p)
		return err
	})
	if err != nil {
		return nil, stripeapi.AsError(err)
	}
	connectedCustomer, err := s.connectedCustomer(ctx, sc, cu, acct, cloned.ID)
	if err != nil {
		return nil, err
	}
	now := store.TimeOf(s.now())
	_, err = s.db.ExecContext(ctx, `INSERT INTO clones (platform_id, payment_method_id, account_id, merchant_id, connected_customer_id,
		connected_payment_method_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		pm.PlatformID, pm.ID, acct, merchantID, connectedCustomer, cloned.ID, now)
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
		err := withKey(stripeapi.IdempotencyKey("clone-attach", clonedPM, acct), func(key string) error {
			attach := &stripe.PaymentMethodAttachParams{Customer: stripe.String(existing)}
			attach.SetStripeAccount(acct)
			attach.SetIdempotencyKey(key)
			_, err := sc.V1PaymentMethods.Attach(ctx, clonedPM, attach)
			return err
		})
		if err != nil {
			return "", stripeapi.AsError(err)
		}
		return existing, nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", err
	}
	var created *stripe.Customer
	err = withKey(stripeapi.IdempotencyKey("clone-customer", clonedPM, acct), func(key string) (err error) {
		params := &stripe.CustomerCreateParams{Email: optional(cu.Email), Name: optional(cu.Name), PaymentMethod: stripe.String(clonedPM)}
		params.AddMetadata("tender_customer", cu.ID)
		params.SetStripeAccount(acct)
		params.SetIdempotencyKey(key)
		created, err = sc.V1Customers.Create(ctx, params)
		return err
	})
	if err != nil {
		return "", stripeapi.AsError(err)
	}
	return created.ID, nil
}

// withKey calls do with the deterministic key, so a retry after a crash or
// a lost response reuses what the first attempt made. Stripe keeps the
// result of a request it answered with a 5xx and replays it to that key for
// 24 hours, so after one the call is made once more with a fresh key: a
// clone made twice is only a spare copy on the merchant's account, while a
// replayed failure would block the card there for a day.
func withKey(key string, do func(key string) error) error {
	err := do(key)
	if o := stripeapi.Classify(err); err != nil && o.Status >= 500 {
		err = do(key + ":after-5xx:" + randomSuffix())
	}
	return err
}

func randomSuffix() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// dropClones removes the platform's clones matching cond ($1 is the
// platform, then args): each cloned card is detached on its account, then
// its row deleted. An account Tender can no longer reach (deauthorized)
// keeps nothing Tender could remove, so its rows simply go.
func (s *Service) dropClones(ctx context.Context, platformID, cond string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, `SELECT payment_method_id, account_id, connected_payment_method_id FROM clones
		WHERE platform_id = $1 AND `+cond, append([]any{platformID}, args...)...)
	if err != nil {
		return err
	}
	type clone struct{ pm, acct, connectedPM string }
	var clones []clone
	for rows.Next() {
		var c clone
		if err := rows.Scan(&c.pm, &c.acct, &c.connectedPM); err != nil {
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
		if _, err := s.db.ExecContext(ctx, `DELETE FROM clones WHERE platform_id = $1 AND payment_method_id = $2 AND account_id = $3`,
			platformID, c.pm, c.acct); err != nil {
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
	_, err := tx.ExecContext(ctx, `DELETE FROM clones WHERE platform_id = $1 AND merchant_id = $2`, platformID, merchantID)
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
