package wallet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/text"
)

// ScopeOffSession lets a merchant charge the card when the customer is not
// there (standing orders, subscriptions).
const ScopeOffSession = "off_session"

// DefaultCard in a consent means whichever card is the customer's default
// when the merchant charges.
const DefaultCard = "default"

// Consent events, each with the consent's view as data.
const (
	// EventConsentGranted: GrantConsent recorded a new consent (from the
	// API, the hosted wallet, or a checkout that saved the card).
	EventConsentGranted event.Type = "consent.granted"
	// EventConsentWithdrawn: an active consent was revoked, once; its
	// revoked_reason says why: customer_revoked (RevokeConsent),
	// payment_method_detached (Detach removed its card, or
	// ObserveDetached found it detached at Stripe),
	// customer_archived (ArchiveCustomer), or superseded (GrantConsent
	// for the same merchant and card replaced it). A superseded consent's
	// withdrawal commits with, and is recorded just before, the granting
	// of the one that replaces it, so a platform that tracks consents by
	// id sees the old one end rather than two active at once.
	EventConsentWithdrawn event.Type = "consent.withdrawn"
)

// Consent is a customer's permission for one merchant to charge a card
// off-session, with the evidence of how it was given.
type Consent struct {
	ID              string
	PlatformID      string
	CustomerID      string
	MerchantID      string
	PaymentMethodID string // empty: the customer's default card
	Scope           string
	Evidence        Evidence
	Granted         time.Time
	Revoked         time.Time
	RevokedReason   string // customer_revoked, payment_method_detached, customer_archived, superseded
}

// Evidence is what shows the customer agreed: what they were shown, and
// from where.
type Evidence struct {
	// Text is the wording shown, in paragraphs as shown: multi-line.
	Text        string `json:"text" text:"5000,multiline"`
	TextVersion string `json:"text_version" text:"255"`
	IPAddress   string `json:"ip_address" text:"45"` // the longest textual IPv6 address
	UserAgent   string `json:"user_agent" text:"1000"`
}

// ConsentParams grant a consent.
type ConsentParams struct {
	Merchant      string   `json:"merchant" text:"255"`
	PaymentMethod string   `json:"payment_method" text:"255"` // a pmt_… id, or "default" (the default when empty)
	Scope         string   `json:"scope" text:"32"`           // off_session (the default)
	Evidence      Evidence `json:"evidence"`
}

func (p *ConsentParams) validate() error {
	if err := text.Validate(p); err != nil {
		return err
	}
	if p.Merchant == "" {
		return errs.Missing("merchant")
	}
	if p.PaymentMethod == "" {
		p.PaymentMethod = DefaultCard
	}
	if p.Scope == "" {
		p.Scope = ScopeOffSession
	}
	if p.Scope != ScopeOffSession {
		return errs.Invalidf("scope", "scope must be off_session, not %q", p.Scope)
	}
	e := &p.Evidence
	switch {
	case strings.TrimSpace(e.Text) == "":
		return errs.Missing("evidence[text]")
	case strings.TrimSpace(e.TextVersion) == "":
		return errs.Missing("evidence[text_version]")
	case e.IPAddress != "" && net.ParseIP(e.IPAddress) == nil:
		return errs.Invalidf("evidence[ip_address]", "%q is not an IP address", e.IPAddress)
	}
	return nil
}

// GrantConsent records the customer's consent for the merchant. A consent
// already given for the same merchant and card is superseded: revoked,
// with the new one, and its evidence, taking its place; the new one's
// consent.granted (after the old one's consent.withdrawn) and, with an
// Idempotency-Key, the request's answer commit with it. Returns
// errs.Invalid naming the field, errs.NotFound, or errs.Conflict for an
// archived customer or merchant or a removed card.
func (s *Service) GrantConsent(ctx context.Context, platformID, customerID string, p ConsentParams) (*Consent, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	m, err := s.connect.Merchant(ctx, platformID, p.Merchant)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Invalidf("merchant", "No such merchant: %q.", p.Merchant)
	}
	if err != nil {
		return nil, err
	}
	if !m.Archived.IsZero() {
		return nil, errs.E(errs.Conflict, "Merchant %s is archived.", m.ID).WithReason("merchant_archived")
	}
	now := store.TimeOf(s.now())
	c := &Consent{ID: id.For(ctx, ConsentPrefix), PlatformID: platformID, CustomerID: customerID, MerchantID: m.ID,
		Scope: p.Scope, Evidence: p.Evidence, Granted: now.Time}
	if p.PaymentMethod != DefaultCard {
		c.PaymentMethodID = p.PaymentMethod
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := activeCustomer(ctx, tx, platformID, customerID); err != nil {
			return err
		}
		if c.PaymentMethodID != "" {
			pm, err := getPaymentMethod(ctx, tx, platformID, customerID, c.PaymentMethodID)
			if errs.Is(err, errs.NotFound) {
				return errs.Invalidf("payment_method", "No such payment method of this customer: %q.", c.PaymentMethodID)
			}
			if err != nil {
				return err
			}
			if pm.Status != "active" {
				return errs.E(errs.Conflict, "Payment method %s was removed.", pm.ID).WithReason("payment_method_detached")
			}
		}
		if err := s.supersede(ctx, tx, c, now.Time); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO consents (platform_id, id, customer_id, merchant_id, payment_method_id, scope, text_shown,
			text_version, ip, user_agent, granted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			platformID, c.ID, customerID, m.ID, nullString(c.PaymentMethodID), c.Scope, c.Evidence.Text, c.Evidence.TextVersion,
			c.Evidence.IPAddress, c.Evidence.UserAgent, now)
		if err != nil {
			return err
		}
		if _, err := event.Record(ctx, tx, now.Time, platformID, EventConsentGranted, c.ID, c.View()); err != nil {
			return err
		}
		return idempotency.Commit(ctx, tx, c.View())
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// supersede revokes the consent c replaces: the same merchant and card.
func (s *Service) supersede(ctx context.Context, tx *sql.Tx, c *Consent, now time.Time) error {
	if c.PaymentMethodID == "" {
		return revokeConsents(ctx, tx, c.PlatformID, `customer_id = $2 AND merchant_id = $3 AND payment_method_id IS NULL`,
			c.CustomerID, "superseded", now, c.MerchantID)
	}
	return revokeConsents(ctx, tx, c.PlatformID, `customer_id = $2 AND merchant_id = $3 AND payment_method_id = $4`,
		c.CustomerID, "superseded", now, c.MerchantID, c.PaymentMethodID)
}

// RevokeConsent revokes one of the customer's consents, with its
// consent.withdrawn, and drops the clones it allowed. Revoking twice is
// harmless and records nothing the second time. Returns errs.NotFound.
func (s *Service) RevokeConsent(ctx context.Context, platformID, customerID, consentID string) (*Consent, error) {
	c, err := s.consent(ctx, platformID, customerID, consentID)
	if err != nil || !c.Revoked.IsZero() {
		return c, err
	}
	now := s.now()
	if err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		return revokeConsents(ctx, tx, platformID, `customer_id = $2 AND id = $3`, customerID, "customer_revoked", now, consentID)
	}); err != nil {
		return nil, err
	}
	// The merchant may no longer charge these cards off-session: its copies
	// of them go too.
	if err := s.dropClones(ctx, platformID, `merchant_id = $2 AND payment_method_id IN
		(SELECT id FROM payment_methods WHERE platform_id = $1 AND customer_id = $3)`, c.MerchantID, customerID); err != nil {
		return nil, err
	}
	return s.consent(ctx, platformID, customerID, consentID)
}

// revokeConsents revokes the platform's active consents matching cond
// ($1 is the platform; $2, $3, … are args, after which reason and time are
// added) and records consent.withdrawn for each. The consents are those
// the UPDATE itself returns, so a consent another transaction revoked
// meanwhile gets no second event.
func revokeConsents(ctx context.Context, tx *sql.Tx, platformID, cond string, arg any, reason string, now time.Time, more ...any) error {
	args := append([]any{platformID, arg}, more...)
	n := len(args)
	args = append(args, reason, store.TimeOf(now))
	revoked, err := store.All(ctx, tx, scanConsent, fmt.Sprintf(`UPDATE consents SET revoked_at = $%d, revoked_reason = $%d
		WHERE platform_id = $1 AND revoked_at IS NULL AND %s RETURNING `+consentCols, n+2, n+1, cond), args...)
	if err != nil {
		return err
	}
	for _, c := range revoked {
		if _, err := event.Record(ctx, tx, now, platformID, EventConsentWithdrawn, c.ID, c.View()); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) consent(ctx context.Context, platformID, customerID, consentID string) (*Consent, error) {
	c, err := scanConsent(s.db.QueryRowContext(ctx, `SELECT `+consentCols+` FROM consents WHERE platform_id = $1 AND customer_id = $2 AND id = $3`,
		platformID, customerID, consentID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("consent", "No such consent: '%s'.", consentID)
	}
	return c, err
}

// Consents lists the customer's consents, newest first, revoked ones too.
func (s *Service) Consents(ctx context.Context, platformID, customerID string) ([]*Consent, error) {
	if _, err := getCustomer(ctx, s.db, platformID, customerID); err != nil {
		return nil, err
	}
	return store.All(ctx, s.db, scanConsent, `SELECT `+consentCols+` FROM consents WHERE platform_id = $1 AND customer_id = $2 ORDER BY id DESC`,
		platformID, customerID)
}

// ActiveConsent returns the consent that lets the merchant charge the card
// off-session: one given for that card, or for the customer's default card
// while it is the default. Returns errs.Forbidden (reason consent_missing)
// if there is none: the payment must not be made.
func (s *Service) ActiveConsent(ctx context.Context, platformID, customerID, merchantID, pmID string) (*Consent, error) {
	// One statement on the way that matters (a payment's request and its
	// job both ask): a consent for whichever card is the default is read
	// with the customer's default.
	c, err := scanConsent(s.db.QueryRowContext(ctx, `SELECT `+consentCols+` FROM consents
		WHERE platform_id = $1 AND customer_id = $2 AND merchant_id = $3 AND revoked_at IS NULL AND scope = 'off_session'
		AND (payment_method_id = $4 OR (payment_method_id IS NULL AND $4 = (SELECT default_payment_method_id FROM customers
			WHERE platform_id = $1 AND id = $2)))
		ORDER BY id DESC LIMIT 1`, platformID, customerID, merchantID, pmID))
	if !errors.Is(err, sql.ErrNoRows) {
		return c, err
	}
	if _, err := getCustomer(ctx, s.db, platformID, customerID); err != nil {
		return nil, err // no such customer, as before any consent
	}
	return nil, errs.E(errs.Forbidden, "Customer %s has not allowed merchant %s to charge this card off-session.", customerID, merchantID).WithReason("consent_missing")
}

// ConsentedCards lists the cards the customer's active off-session
// consents let the merchant charge, newest consent first: a card's pmt_…
// id, or DefaultCard for a consent given for whichever card is the
// default. It explains a refusal of ActiveConsent; it does not decide one.
func (s *Service) ConsentedCards(ctx context.Context, platformID, customerID, merchantID string) ([]string, error) {
	cs, err := store.All(ctx, s.db, scanConsent, `SELECT `+consentCols+` FROM consents
		WHERE platform_id = $1 AND customer_id = $2 AND merchant_id = $3 AND revoked_at IS NULL AND scope = 'off_session'
		ORDER BY id DESC`, platformID, customerID, merchantID)
	if err != nil {
		return nil, err
	}
	cards := make([]string, len(cs))
	for i, c := range cs {
		if cards[i] = c.PaymentMethodID; cards[i] == "" {
			cards[i] = DefaultCard
		}
	}
	return cards, nil
}

const consentCols = `platform_id, id, customer_id, merchant_id, payment_method_id, scope, text_shown, text_version, ip, user_agent,
	granted_at, revoked_at, revoked_reason`

func scanConsent(row store.Scanner) (*Consent, error) {
	var c Consent
	var pm sql.NullString
	var granted, revoked store.Time
	if err := row.Scan(&c.PlatformID, &c.ID, &c.CustomerID, &c.MerchantID, &pm, &c.Scope, &c.Evidence.Text, &c.Evidence.TextVersion,
		&c.Evidence.IPAddress, &c.Evidence.UserAgent, &granted, &revoked, &c.RevokedReason); err != nil {
		return nil, err
	}
	c.PaymentMethodID, c.Granted, c.Revoked = pm.String, granted.Time, revoked.Time
	return &c, nil
}
