package connect

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// StatusOf derives a connection's status from the account as Stripe shows
// it. The order matters: an account that has not finished onboarding is
// pending even though its charges are disabled, because the merchant has
// something to do, not Stripe; once submitted, disabled charges or payouts
// mean restricted; and an enabled account with requirements due is pending
// until they are met.
func StatusOf(a *stripe.Account) Status {
	r := requirementsOf(a)
	switch {
	case !a.DetailsSubmitted:
		return StatusPending
	case !a.ChargesEnabled || !a.PayoutsEnabled:
		return StatusRestricted
	case len(r.CurrentlyDue) > 0 || len(r.PastDue) > 0:
		return StatusPending
	default:
		return StatusEnabled
	}
}

func requirementsOf(a *stripe.Account) Requirements {
	r := Requirements{CurrentlyDue: []string{}, EventuallyDue: []string{}, PastDue: []string{}}
	if a.Requirements != nil {
		r.CurrentlyDue = nonNil(a.Requirements.CurrentlyDue)
		r.EventuallyDue = nonNil(a.Requirements.EventuallyDue)
		r.PastDue = nonNil(a.Requirements.PastDue)
		r.DisabledReason = string(a.Requirements.DisabledReason)
	}
	return r
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// connectionOf is the connection an account gives a merchant.
func connectionOf(a *stripe.Account, typ AccountType) Connection {
	return Connection{
		Status: StatusOf(a), AccountID: a.ID, AccountType: typ,
		ChargesEnabled: a.ChargesEnabled, PayoutsEnabled: a.PayoutsEnabled, DetailsSubmitted: a.DetailsSubmitted,
		Requirements: requirementsOf(a),
	}
}

// saveConnection writes c as m's connection in tx and records the events
// the change means: merchant.connected when the account is new to the
// merchant, merchant.status_changed when the status moved,
// merchant.deauthorized when it became deauthorized.
func (s *Service) saveConnection(ctx context.Context, tx *sql.Tx, m *Merchant, c Connection) error {
	before := m.Connection
	now := store.TimeOf(s.now())
	c.CheckedAt = now.Time
	c.ConnectedAt = before.ConnectedAt
	newAccount := c.AccountID != "" && c.AccountID != before.AccountID
	if newAccount {
		c.ConnectedAt = now.Time
	}
	reqs, err := json.Marshal(c.Requirements)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE merchants SET account_id = $3, account_type = $4, status = $5, charges_enabled = $6,
		payouts_enabled = $7, details_submitted = $8, requirements = $9, connected_at = $10, status_checked_at = $11, updated_at = $11
		WHERE platform_id = $1 AND id = $2`,
		m.PlatformID, m.ID, nullString(c.AccountID), string(c.AccountType), string(c.Status), c.ChargesEnabled, c.PayoutsEnabled,
		c.DetailsSubmitted, string(reqs), store.TimeOf(c.ConnectedAt), now)
	if err != nil {
		return fmt.Errorf("save connection of %s: %w", m.ID, err)
	}
	m.Connection, m.Updated = c, now.Time
	lost := before.AccountID != "" && before.Status != StatusDeauthorized &&
		(c.AccountID != before.AccountID || c.Status == StatusDeauthorized)
	if lost && s.connectionLost != nil {
		if err := s.connectionLost(ctx, tx, m.PlatformID, m.ID); err != nil {
			return err
		}
	}
	var types []event.Type
	switch {
	case newAccount:
		types = append(types, EventMerchantConnected)
	case c.Status != before.Status && c.Status == StatusDeauthorized:
		types = append(types, EventMerchantDeauthorized)
	}
	if c.Status != before.Status && c.Status != StatusDeauthorized {
		types = append(types, EventMerchantStatusChanged)
	}
	for _, t := range types {
		if _, err := event.Record(ctx, tx, now.Time, m.PlatformID, t, m.ID, m.View()); err != nil {
			return err
		}
	}
	return nil
}

// Refresh reads the merchant's account from Stripe and brings its status up
// to date. An account Stripe says the platform can no longer reach (access
// revoked) becomes deauthorized. Returns errs.NotFound, or errs.Conflict
// (reason merchant_not_connected) if the merchant has no account; Stripe's
// own failures come back classified (stripeapi.AsError).
func (s *Service) Refresh(ctx context.Context, platformID, merchantID string) (*Merchant, error) {
	m, err := s.Merchant(ctx, platformID, merchantID)
	if err != nil {
		return nil, err
	}
	if m.Connection.AccountID == "" {
		return nil, errs.E(errs.Conflict, "Merchant %s has no connected account to refresh.", m.ID).WithReason("merchant_not_connected")
	}
	if m.Connection.Status == StatusDeauthorized {
		return m, nil // nothing Stripe says can bring it back: reconnecting takes a new link
	}
	acct, err := s.readAccount(ctx, platformID, m.Connection.AccountID)
	if errors.Is(err, errAccountGone) {
		return s.markDeauthorized(ctx, platformID, m.Connection.AccountID, merchantID)
	}
	if err != nil {
		return nil, err
	}
	return s.applyAccount(ctx, platformID, merchantID, acct)
}

// errAccountGone means Stripe no longer lets the platform reach the
// account: it was disconnected, or deleted.
var errAccountGone = errors.New("connect: the account is no longer connected to the platform")

func (s *Service) readAccount(ctx context.Context, platformID, accountID string) (*stripe.Account, error) {
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	acct, err := sc.V1Accounts.GetByID(ctx, accountID, nil)
	if err != nil {
		switch stripeapi.Classify(err).Kind {
		case stripeapi.KindAccountInvalid, stripeapi.KindNotFound:
			return nil, fmt.Errorf("%w: %v", errAccountGone, err)
		}
		return nil, stripeapi.AsError(err)
	}
	return acct, nil
}

// applyAccount saves what acct says of the merchant's connection, if the
// merchant is still connected to it.
func (s *Service) applyAccount(ctx context.Context, platformID, merchantID string, acct *stripe.Account) (*Merchant, error) {
	var out *Merchant
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		m, err := getMerchant(ctx, tx, platformID, merchantID)
		if err != nil {
			return err
		}
		out = m
		if m.Connection.AccountID != acct.ID || m.Connection.Status == StatusDeauthorized {
			return nil // disconnected meanwhile; the account's news is no longer the merchant's
		}
		return s.saveConnection(ctx, tx, m, connectionOf(acct, m.Connection.AccountType))
	})
	return out, err
}

// HandleAccountUpdated applies Stripe's account.updated event for
// accountID to every merchant of the platform connected to it. Events
// arrive out of order and more than once, so the event's payload is not
// trusted: the account is read again and its current state applied.
func (s *Service) HandleAccountUpdated(ctx context.Context, platformID, accountID string) error {
	merchants, err := s.merchantsOfAccount(ctx, platformID, accountID)
	if err != nil || len(merchants) == 0 {
		return err
	}
	acct, err := s.readAccount(ctx, platformID, accountID)
	if errors.Is(err, errAccountGone) {
		return s.HandleAccountDeauthorized(ctx, platformID, accountID)
	}
	if err != nil {
		return err
	}
	for _, m := range merchants {
		if _, err := s.applyAccount(ctx, platformID, m.ID, acct); err != nil {
			return err
		}
	}
	return nil
}

// HandleAccountDeauthorized applies Stripe's
// account.application.deauthorized event: every merchant of the platform
// connected to accountID becomes deauthorized. Applying it twice is
// harmless.
func (s *Service) HandleAccountDeauthorized(ctx context.Context, platformID, accountID string) error {
	merchants, err := s.merchantsOfAccount(ctx, platformID, accountID)
	if err != nil {
		return err
	}
	for _, m := range merchants {
		if _, err := s.markDeauthorized(ctx, platformID, accountID, m.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) markDeauthorized(ctx context.Context, platformID, accountID, merchantID string) (*Merchant, error) {
	var out *Merchant
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		m, err := getMerchant(ctx, tx, platformID, merchantID)
		if err != nil {
			return err
		}
		out = m
		if m.Connection.AccountID != accountID || m.Connection.Status == StatusDeauthorized {
			return nil
		}
		c := m.Connection
		c.Status, c.ChargesEnabled, c.PayoutsEnabled = StatusDeauthorized, false, false
		return s.saveConnection(ctx, tx, m, c)
	})
	return out, err
}

func (s *Service) merchantsOfAccount(ctx context.Context, platformID, accountID string) ([]*Merchant, error) {
	ms, _, err := s.Merchants(ctx, platformID, MerchantFilter{AccountID: accountID, Archived: true}, store.Page{Limit: 1000})
	return ms, err
}

// Disconnect detaches the merchant from its account, so that it can connect
// another. Tender deauthorizes the platform at Stripe only when no other
// merchant of the platform still uses the account (two shops of one
// organisation may share it), and only for accounts connected through
// OAuth: an Express account the platform created stays the platform's.
// Returns errs.NotFound or errs.Conflict (reason merchant_not_connected).
func (s *Service) Disconnect(ctx context.Context, platformID, merchantID string) (m *Merchant, deauthorized bool, err error) {
	m, err = s.Merchant(ctx, platformID, merchantID)
	if err != nil {
		return nil, false, err
	}
	acctID := m.Connection.AccountID
	if acctID == "" {
		return nil, false, errs.E(errs.Conflict, "Merchant %s is not connected.", m.ID).WithReason("merchant_not_connected")
	}
	others, err := s.merchantsOfAccount(ctx, platformID, acctID)
	if err != nil {
		return nil, false, err
	}
	shared := slices.ContainsFunc(others, func(o *Merchant) bool { return o.ID != m.ID && o.Archived.IsZero() })
	if !shared && m.Connection.AccountType == AccountStandard && m.Connection.Status != StatusDeauthorized {
		if err := s.deauthorize(ctx, platformID, acctID); err != nil {
			return nil, false, err
		}
		deauthorized = true
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := getMerchant(ctx, tx, platformID, merchantID)
		if err != nil {
			return err
		}
		if cur.Connection.AccountID != acctID {
			m = cur
			return nil // someone else disconnected it meanwhile
		}
		if err := s.saveConnection(ctx, tx, cur, Connection{Status: StatusNotConnected}); err != nil {
			return err
		}
		m = cur
		_, err = event.Record(ctx, tx, s.now(), platformID, EventMerchantDisconnected, cur.ID, cur.View())
		return err
	})
	return m, deauthorized, err
}

// deauthorize revokes the platform's access to a Standard account. An
// account already disconnected at Stripe counts as done.
func (s *Service) deauthorize(ctx context.Context, platformID, accountID string) error {
	st, err := s.platforms.Stripe(ctx, platformID)
	if err != nil {
		return err
	}
	if st.ClientID == "" {
		return errs.E(errs.Conflict, "The platform has no Connect client id, which deauthorizing an account needs.").WithReason("client_id_missing")
	}
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return err
	}
	_, err = sc.OAuth.Delete(ctx, &stripe.DeauthorizeParams{ClientID: &st.ClientID, StripeUserID: &accountID})
	if err != nil && !isAlreadyDisconnected(err) {
		return stripeapi.AsError(err)
	}
	return nil
}

// isAlreadyDisconnected reports Stripe's answer to deauthorizing an
// account that is no longer connected to the application (invalid_client:
// "… is not connected to …").
func isAlreadyDisconnected(err error) bool {
	var se *stripe.Error
	if !errors.As(err, &se) || se.OAuthError != "invalid_client" {
		return false
	}
	msg := se.OAuthErrorDescription + " " + se.Msg
	return strings.Contains(msg, "not connected")
}
