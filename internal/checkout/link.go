package checkout

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/metadata"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/nullable"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/text"
)

// A checkout link is a single-use, expiring URL to a Tender page where a
// payer who is present (at a shop counter, on the phone) pays an amount
// the platform fixed, with a card typed into Stripe.js. Tender keeps only
// the SHA-256 of its random token, so the URL is shown once, when the link
// is made. Opening the page changes nothing (a mail scanner that fetches
// the link does not use it up); the link is used up when it is paid. Its
// one payment is made when the payer first presses Pay (pay.go).

// LinkPrefix is the id prefix of checkout links.
const LinkPrefix = "chk"

// LinkPath + token is a checkout link's page, under the public URL.
const LinkPath = "/checkout/"

// Checkout link lifetimes: the default, and the bounds a platform may ask
// for. A week covers a phone order paid the next working day; a link that
// lives longer is a standing invoice, which it is not.
const (
	DefaultTTL = time.Hour
	MinTTL     = time.Minute
	MaxTTL     = 7 * 24 * time.Hour
)

// MaxIntents bounds how often one link's page may ask for its
// PaymentIntent: enough for a payer who tries a few cards, too few for a
// card tester to use the page as an oracle.
const MaxIntents = 20

// Status is where a checkout link stands.
type Status string

// Checkout link statuses.
const (
	// StatusOpen: waiting for the payer; a declined card leaves it open.
	StatusOpen Status = "open"
	// StatusPaid: its payment succeeded. Final.
	StatusPaid Status = "paid"
	// StatusExpired: it was not paid in time. Final, unless a payment
	// confirmed just before the end succeeds: money taken makes it paid.
	StatusExpired Status = "expired"
	// StatusCanceled: the platform canceled it. Final, with the same
	// exception as expired.
	StatusCanceled Status = "canceled"
)

// Event types of checkout links.
const (
	EventLinkCreated  event.Type = "checkout_link.created"
	EventLinkPaid     event.Type = "checkout_link.paid"
	EventLinkExpired  event.Type = "checkout_link.expired"
	EventLinkCanceled event.Type = "checkout_link.canceled"
)

// Link is a payer's way to one payment on a hosted page.
type Link struct {
	ID         string
	PlatformID string
	MerchantID string
	CustomerID string // "" for a payer who is not a customer of the platform
	// Amount is what the payer is charged, AmountRequested what the
	// platform asked for; they differ when the customer covers the fees.
	Amount           int64
	AmountRequested  int64
	Currency         money.Currency
	ApplicationFee   int64
	FeePolicyID      string
	FeePolicyVersion int64
	Description      string
	Reference        string
	Metadata         map[string]string
	Status           Status
	PaymentID        string
	// SaveCard and Consent are what the payer last chose on the page: to
	// save the card and allow the merchant to charge it off-session, with
	// the evidence of it.
	SaveCard        bool
	Consent         Consent
	PaymentMethodID string // the wallet card the payment saved, once recorded
	Expires         time.Time
	Paid            time.Time
	Closed          time.Time
	Created         time.Time
	Updated         time.Time
	// URL is the link itself, known only when it is made.
	URL string
}

// Consent is the evidence of a payer's consent to save their card
// for the merchant's off-session use.
type Consent struct {
	Text, Version, IPAddress, UserAgent string
}

// StatusAt is the link's status at now: an open link past its end is
// expired even before the job that records it has run.
func (l *Link) StatusAt(now time.Time) Status {
	if l.Status == StatusOpen && !now.Before(l.Expires) {
		return StatusExpired
	}
	return l.Status
}

// LinkParams ask for a checkout link.
type LinkParams struct {
	Merchant    string            `json:"merchant" text:"255"`
	Customer    string            `json:"customer" text:"255"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency" text:"32"`
	Description string            `json:"description" text:"1000,multiline"`
	Reference   string            `json:"reference" text:"255"`
	Metadata    map[string]string `json:"metadata" text:"500,multiline,keys=40"`
	// ExpiresAt ends the link; nil means DefaultTTL from now.
	ExpiresAt *time.Time `json:"expires_at"`
}

// checkoutMetadata are the metadata keys Tender puts on a checkout
// payment's PaymentIntent.
var checkoutMetadata = append([]string{"tender_checkout"}, payment.MetadataKeys()...)

// validate checks what needs no database, in the order a form is read,
// and returns the currency and the link's end.
func (p *LinkParams) validate(now time.Time) (money.Currency, time.Time, error) {
	var cur money.Currency
	if err := text.Validate(p); err != nil {
		return cur, time.Time{}, err
	}
	switch {
	case p.Merchant == "":
		return cur, time.Time{}, errs.Missing("merchant")
	case p.Amount <= 0:
		return cur, time.Time{}, errs.Invalidf("amount", "amount must be a positive number of minor units, not %d.", p.Amount)
	case p.Amount > payment.MaxAmount:
		return cur, time.Time{}, errs.Invalidf("amount", "amount must be at most %d minor units.", payment.MaxAmount)
	case p.Currency == "":
		return cur, time.Time{}, errs.Missing("currency")
	}
	cur, err := money.ParseChargeCurrency(p.Currency)
	if err != nil {
		return cur, time.Time{}, errs.Invalidf("currency", "%q is not a currency Tender can charge in.", p.Currency)
	}
	updates := make(map[string]*string, len(p.Metadata))
	for k, v := range p.Metadata {
		for _, reserved := range checkoutMetadata {
			if k == reserved {
				return cur, time.Time{}, errs.Invalidf("metadata", "metadata key %q is Tender's own.", k)
			}
		}
		updates[k] = &v
	}
	md, err := metadata.Apply(nil, updates)
	if err != nil {
		return cur, time.Time{}, err
	}
	if len(md) > metadata.MaxKeys-len(checkoutMetadata) {
		return cur, time.Time{}, errs.Invalidf("metadata", "metadata may have at most %d keys.", metadata.MaxKeys-len(checkoutMetadata))
	}
	p.Metadata = md
	expires := now.Add(DefaultTTL)
	if p.ExpiresAt != nil {
		expires = *p.ExpiresAt
		switch {
		case expires.Before(now.Add(MinTTL)):
			return cur, time.Time{}, errs.Invalidf("expires_at", "expires_at must be at least %d seconds from now.", int64(MinTTL/time.Second))
		case expires.After(now.Add(MaxTTL)):
			return cur, time.Time{}, errs.Invalidf("expires_at", "expires_at must be at most %d days from now.", int64(MaxTTL/(24*time.Hour)))
		}
	}
	return cur, store.TimeOf(expires).Time, nil
}

// CreateLink validates and prices a checkout link and writes it,
// with its checkout_link.created event and the job that closes it when it
// expires, in one transaction, with the request's answer (the link's view,
// URL included) when it has an Idempotency-Key. The fee is the merchant's fee policy's, as
// for a payment, fixed now: the page charges exactly what the link says.
// Returns errs.Invalid naming the field: merchant unknown, archived, not
// connected or not enabled; customer unknown or archived; amount,
// currency, expires_at and the rest as for payments.
func (s *Service) CreateLink(ctx context.Context, platformID string, p LinkParams) (*Link, error) {
	now := store.TimeOf(s.now())
	cur, expires, err := p.validate(now.Time)
	if err != nil {
		return nil, err
	}
	m, err := s.payments.UsableMerchant(ctx, platformID, p.Merchant, "merchant")
	if err != nil {
		return nil, err
	}
	if p.Customer != "" {
		cu, err := s.wallet.Customer(ctx, platformID, p.Customer)
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Invalidf("customer", "No such customer: %q.", p.Customer)
		}
		if err != nil {
			return nil, err
		}
		if !cu.Archived.IsZero() {
			return nil, errs.Invalidf("customer", "Customer %s is archived.", cu.ID).WithReason("customer_archived")
		}
	}
	policy, err := s.payments.EffectiveFeePolicy(ctx, platformID, m.ID)
	if err != nil {
		return nil, err
	}
	fee, err := policy.FeeFor(p.Amount, cur)
	if err != nil {
		return nil, err
	}
	if fee.Amount > payment.MaxAmount {
		return nil, errs.Invalidf("amount", "With the fees covered the charge would be %d, above Stripe's maximum.", fee.Amount)
	}
	token := newToken()
	l := &Link{ID: id.For(ctx, LinkPrefix), PlatformID: platformID, MerchantID: m.ID, CustomerID: p.Customer,
		Amount: fee.Amount, AmountRequested: p.Amount, Currency: cur, ApplicationFee: fee.Fee, FeePolicyID: policy.ID,
		FeePolicyVersion: policy.Version, Description: p.Description, Reference: p.Reference, Metadata: p.Metadata,
		Status: StatusOpen, Expires: expires, Created: now.Time, Updated: now.Time, URL: s.publicURL + LinkPath + token}
	md, err := json.Marshal(l.Metadata)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO checkout_links (platform_id, id, merchant_id, customer_id, amount, amount_requested,
			currency, application_fee, fee_policy_id, fee_policy_version, description, reference, metadata, token_hash, status,
			expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)`,
			platformID, l.ID, l.MerchantID, nullString(l.CustomerID), l.Amount, l.AmountRequested, cur.Lower(), l.ApplicationFee,
			nullString(l.FeePolicyID), nullInt(l.FeePolicyID, l.FeePolicyVersion), l.Description, l.Reference, string(md),
			tokenHash(token), string(l.Status), store.TimeOf(l.Expires), now)
		if err != nil {
			return fmt.Errorf("insert checkout link: %w", err)
		}
		if _, err := s.jobs().InsertTx(ctx, tx, ExpireArgs{PlatformID: platformID, LinkID: l.ID},
			&river.InsertOpts{ScheduledAt: l.Expires, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true}}); err != nil {
			return fmt.Errorf("enqueue checkout link expiry: %w", err)
		}
		if _, err := event.Record(ctx, tx, now.Time, platformID, EventLinkCreated, l.ID, l.viewAt(now.Time)); err != nil {
			return err
		}
		return idempotency.Commit(ctx, tx, l.ViewAt(now.Time))
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

const checkoutCols = `platform_id, id, merchant_id, customer_id, amount, amount_requested, currency, application_fee, fee_policy_id,
	fee_policy_version, description, reference, metadata, status, payment_id, save_card, consent_text, consent_version, consent_ip,
	consent_user_agent, payment_method_id, expires_at, paid_at, closed_at, created_at, updated_at`

func scanCheckoutLink(row store.Scanner) (*Link, error) {
	var l Link
	var cur, md, status string
	var customerID, policyID, paymentID, pmID sql.NullString
	var policyVersion sql.NullInt64
	var expires, paid, closed, created, updated store.Time
	if err := row.Scan(&l.PlatformID, &l.ID, &l.MerchantID, &customerID, &l.Amount, &l.AmountRequested, &cur, &l.ApplicationFee,
		&policyID, &policyVersion, &l.Description, &l.Reference, &md, &status, &paymentID, &l.SaveCard, &l.Consent.Text,
		&l.Consent.Version, &l.Consent.IPAddress, &l.Consent.UserAgent, &pmID, &expires, &paid, &closed, &created, &updated); err != nil {
		return nil, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return nil, fmt.Errorf("checkout link %s: %w", l.ID, err)
	}
	if err := json.Unmarshal([]byte(md), &l.Metadata); err != nil {
		return nil, fmt.Errorf("checkout link %s metadata: %w", l.ID, err)
	}
	l.Currency, l.Status, l.CustomerID, l.FeePolicyID, l.FeePolicyVersion = c, Status(status), customerID.String, policyID.String, policyVersion.Int64
	l.PaymentID, l.PaymentMethodID = paymentID.String, pmID.String
	l.Expires, l.Paid, l.Closed, l.Created, l.Updated = expires.Time, paid.Time, closed.Time, created.Time, updated.Time
	return &l, nil
}

func getCheckoutLink(ctx context.Context, q store.Querier, platformID, linkID string) (*Link, error) {
	l, err := scanCheckoutLink(q.QueryRowContext(ctx, `SELECT `+checkoutCols+` FROM checkout_links WHERE platform_id = $1 AND id = $2`,
		platformID, linkID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("id", "No such checkout link: '%s'.", linkID)
	}
	return l, err
}

// Link returns one of the platform's checkout links. Returns
// errs.NotFound.
func (s *Service) Link(ctx context.Context, platformID, linkID string) (*Link, error) {
	return getCheckoutLink(ctx, s.db, platformID, linkID)
}

// errLinkInvalid is the answer for a token Tender never gave.
var errLinkInvalid = errs.NotFoundf("", "This payment link is not valid.").WithReason("link_invalid")

// checkoutByToken finds the link behind a page's token.
func (s *Service) checkoutByToken(ctx context.Context, token string) (*Link, error) {
	l, err := scanCheckoutLink(s.db.QueryRowContext(ctx, `SELECT `+checkoutCols+` FROM checkout_links WHERE token_hash = $1`, tokenHash(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errLinkInvalid
	}
	return l, err
}

// CancelLink cancels an open link: its PaymentIntent, if the
// payer got that far, is canceled at Stripe and its payment with it. A
// link already canceled is returned as it is. Returns errs.NotFound;
// errs.Conflict when the link was paid (refund its payment instead), has
// expired, or its payment is being processed by the card network;
// errs.Unavailable when Stripe could not be reached (call again).
func (s *Service) CancelLink(ctx context.Context, platformID, linkID string) (*Link, error) {
	l, err := getCheckoutLink(ctx, s.db, platformID, linkID)
	if err != nil {
		return nil, err
	}
	switch l.StatusAt(s.now()) {
	case StatusCanceled:
		return l, nil
	case StatusPaid:
		return nil, errs.E(errs.Conflict, "Checkout link %s was paid (payment %s); refund the payment instead.", l.ID, l.PaymentID).WithReason("checkout_link_paid")
	case StatusExpired:
		return nil, errs.E(errs.Conflict, "Checkout link %s has expired; it can no longer be paid.", l.ID).WithReason("checkout_link_expired")
	}
	if err := s.closeCheckout(ctx, l, StatusCanceled); err != nil {
		return nil, err
	}
	l, err = getCheckoutLink(ctx, s.db, platformID, linkID)
	if err == nil && l.Status == StatusPaid {
		return nil, errs.E(errs.Conflict, "Checkout link %s was paid (payment %s) as it was being canceled; refund the payment instead.", l.ID, l.PaymentID).WithReason("checkout_link_paid")
	}
	return l, err
}

// ExpireArgs is the job that closes a checkout link when it
// expires, scheduled at its end when it is made.
type ExpireArgs struct {
	PlatformID string `json:"platform_id"`
	LinkID     string `json:"link_id"`
}

// Kind implements river.JobArgs.
func (ExpireArgs) Kind() string { return "checkout_link.expire" }

// ExpireWorker runs ExpireArgs jobs. Running one twice is
// harmless.
type ExpireWorker struct {
	river.WorkerDefaults[ExpireArgs]
	Checkout *Service
}

// Work implements river.Worker.
func (w *ExpireWorker) Work(ctx context.Context, job *river.Job[ExpireArgs]) error {
	return w.Checkout.ExpireLink(ctx, job.Args.PlatformID, job.Args.LinkID)
}

// ExpireLink records that an open link has expired, with its
// event, and settles its payment: paid if the payer's last confirmation
// succeeded after all, else canceled with its PaymentIntent. It snoozes
// a job that runs before the link's end.
func (s *Service) ExpireLink(ctx context.Context, platformID, linkID string) error {
	l, err := getCheckoutLink(ctx, s.db, platformID, linkID)
	if err != nil {
		return err
	}
	if l.Status != StatusOpen {
		return nil
	}
	if wait := l.Expires.Sub(s.now()); wait > 0 {
		return river.JobSnooze(wait)
	}
	return s.closeCheckout(ctx, l, StatusExpired)
}

// markClosed moves an open link to expired or canceled, with its event,
// in one transaction; it reports whether this call did it.
func (s *Service) markClosed(ctx context.Context, l *Link, to Status) (bool, error) {
	typ := EventLinkExpired
	if to == StatusCanceled {
		typ = EventLinkCanceled
	}
	var did bool
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		now := store.TimeOf(s.now())
		res, err := tx.ExecContext(ctx, `UPDATE checkout_links SET status = $3, closed_at = $4, updated_at = $4
			WHERE platform_id = $1 AND id = $2 AND status = $5`, l.PlatformID, l.ID, string(to), now, string(StatusOpen))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		did = true
		done, err := getCheckoutLink(ctx, tx, l.PlatformID, l.ID)
		if err != nil {
			return err
		}
		_, err = event.Record(ctx, tx, now.Time, l.PlatformID, typ, l.ID, done.viewAt(now.Time))
		return err
	})
	return did, err
}

// markPaid records that the link's payment succeeded, with the
// checkout_link.paid event, once: money taken makes a link paid whatever
// it was (an expiry or a cancel that lost the race with the payer's
// confirmation is overruled).
func (s *Service) markPaid(ctx context.Context, l *Link) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		now := store.TimeOf(s.now())
		res, err := tx.ExecContext(ctx, `UPDATE checkout_links SET status = $3, paid_at = $4, updated_at = $4
			WHERE platform_id = $1 AND id = $2 AND status <> $3`, l.PlatformID, l.ID, string(StatusPaid), now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		done, err := getCheckoutLink(ctx, tx, l.PlatformID, l.ID)
		if err != nil {
			return err
		}
		_, err = event.Record(ctx, tx, now.Time, l.PlatformID, EventLinkPaid, l.ID, done.viewAt(now.Time))
		return err
	})
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullInt(cond string, v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: cond != ""} }

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is how a checkout link's token is stored: a database leak
// reveals no usable link.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// LinkView is a checkout link as the API shows it. The URL is
// shown only in the response that creates the link.
type LinkView struct {
	ID              string                `json:"id"`
	Object          string                `json:"object"`
	Merchant        string                `json:"merchant"`
	Customer        *string               `json:"customer"`
	Amount          int64                 `json:"amount"`
	AmountRequested int64                 `json:"amount_requested"`
	Currency        string                `json:"currency"`
	ApplicationFee  int64                 `json:"application_fee"`
	FeePolicy       *payment.FeePolicyRef `json:"fee_policy"`
	Description     *string               `json:"description"`
	Reference       *string               `json:"reference"`
	Metadata        map[string]string     `json:"metadata"`
	Status          Status                `json:"status"`
	Payment         *string               `json:"payment"`
	URL             *string               `json:"url"`
	ExpiresAt       time.Time             `json:"expires_at"`
	PaidAt          *time.Time            `json:"paid_at"`
	CreatedAt       time.Time             `json:"created_at"`
	UpdatedAt       time.Time             `json:"updated_at"`
}

// ViewAt returns l as the API shows it at now.
func (l *Link) ViewAt(now time.Time) LinkView {
	v := l.viewAt(now)
	v.URL = nullable.String(l.URL)
	return v
}

// viewAt is l's view without its URL, for events and reads.
func (l *Link) viewAt(now time.Time) LinkView {
	md := l.Metadata
	if md == nil {
		md = map[string]string{}
	}
	v := LinkView{ID: l.ID, Object: "checkout_link", Merchant: l.MerchantID, Customer: nullable.String(l.CustomerID),
		Amount: l.Amount, AmountRequested: l.AmountRequested, Currency: l.Currency.Lower(), ApplicationFee: l.ApplicationFee,
		Description: nullable.String(l.Description), Reference: nullable.String(l.Reference), Metadata: md,
		Status: l.StatusAt(now), Payment: nullable.String(l.PaymentID), ExpiresAt: l.Expires, CreatedAt: l.Created, UpdatedAt: l.Updated}
	if l.FeePolicyID != "" {
		v.FeePolicy = &payment.FeePolicyRef{ID: l.FeePolicyID, Version: l.FeePolicyVersion}
	}
	if !l.Paid.IsZero() {
		v.PaidAt = &l.Paid
	}
	return v
}
