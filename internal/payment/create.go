package payment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/metadata"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/text"
	"github.com/tenderpay/tender/internal/wallet"
)

// Status is where a payment stands.
type Status string

// Payment statuses.
const (
	// StatusPending: accepted; its job has not reached Stripe yet.
	StatusPending Status = "pending"
	// StatusProcessing: the job is charging at Stripe, or will resume.
	StatusProcessing Status = "processing"
	// StatusSucceeded: the money was taken.
	StatusSucceeded Status = "succeeded"
	// StatusRequiresCapture: authorized, to be captured (capture manual).
	StatusRequiresCapture Status = "requires_capture"
	// StatusRequiresAction: the customer's bank wants them to
	// authenticate.
	StatusRequiresAction Status = "requires_action"
	// StatusFailed: declined, refused by Stripe, or the merchant's account
	// is out of reach; FailureCode says which.
	StatusFailed Status = "failed"
	// StatusCanceled: canceled before it was captured; the authorization
	// is released.
	StatusCanceled Status = "canceled"
)

func (s Status) validate() error {
	switch s {
	case "", StatusPending, StatusProcessing, StatusSucceeded, StatusRequiresCapture, StatusRequiresAction, StatusFailed, StatusCanceled:
		return nil
	}
	return errs.Invalidf("status", "status must be one of pending, processing, succeeded, requires_capture, requires_action, failed, canceled, not %q.", string(s))
}

// final reports whether the job has nothing more to do.
func (s Status) final() bool { return s != StatusPending && s != StatusProcessing }

// ChargeType is how the money flows between the customer, the merchant and
// the platform.
type ChargeType string

// Charge types.
const (
	// ChargeDirect: on the merchant's account, the platform's fee taken as
	// an application fee.
	ChargeDirect ChargeType = "direct"
	// ChargeDestination: on the platform's account on behalf of the
	// merchant, the amount less the platform's fee transferred to it.
	ChargeDestination ChargeType = "destination"
	// ChargeSeparate: on the platform's account, then one transfer per
	// split to each merchant (the whole amount to the payment's merchant
	// when no splits are given), the platform keeping its fee.
	ChargeSeparate ChargeType = "separate"
)

// Source is how a payment came to be.
type Source string

// Payment sources.
const (
	// SourceAPI: asked for with POST /v1/payments and charged by Tender's
	// job with a saved card.
	SourceAPI Source = "api"
	// SourceCheckout: taken on a checkout link's page, confirmed by the
	// payer in the browser with Stripe.js.
	SourceCheckout Source = "checkout"
	// SourceStandingOrder: a cycle of a standing order, made by its
	// scheduler (package standing) and charged by Tender's job with a
	// saved card.
	SourceStandingOrder Source = "standing_order"
)

// Capture says when an authorized payment is captured.
type Capture string

// Capture methods.
const (
	CaptureAutomatic Capture = "automatic"
	CaptureManual    Capture = "manual"
)

// Event types recorded in the outbox.
const (
	EventPaymentCreated         event.Type = "payment.created"
	EventPaymentSucceeded       event.Type = "payment.succeeded"
	EventPaymentRequiresAction  event.Type = "payment.requires_action"
	EventPaymentRequiresCapture event.Type = "payment.requires_capture"
	EventPaymentFailed          event.Type = "payment.failed"
	EventPaymentCaptured        event.Type = "payment.captured"
	EventPaymentCanceled        event.Type = "payment.canceled"
)

// Payment is one order's charge of a customer's card for a merchant.
type Payment struct {
	ID         string
	PlatformID string
	MerchantID string
	// CustomerID is "" for a payment taken at a checkout link that named
	// no customer.
	CustomerID      string
	PaymentMethodID string
	// Amount is what the customer is charged; AmountRequested what the
	// platform asked for. They differ when the customer covers the fees.
	Amount          int64
	AmountRequested int64
	// AmountCaptured is what was taken: Amount once an automatic capture
	// succeeded, what the capture asked for after a manual one, 0 before.
	AmountCaptured int64
	// AmountRefunded is what refunds not failed have taken, reserved when
	// each is accepted.
	AmountRefunded int64
	Currency       money.Currency
	// ApplicationFee is the platform's fee: as priced when accepted, and
	// recomputed on the amount captured by a manual capture.
	ApplicationFee            int64
	FeePolicyID               string // "" when the fee was given explicitly or no policy was set
	FeePolicyVersion          int64
	ChargeType                ChargeType
	Capture                   Capture
	OffSession                bool
	Description               string
	StatementDescriptorSuffix string
	Reference                 string
	Metadata                  map[string]string
	Status                    Status
	// Attempt numbers the PaymentIntents tried for this payment, from 1;
	// each attempt's creation is its own operation (stripeop).
	Attempt int64
	Source  Source
	// StripeFeePayer is who bears Stripe's processing fee, from the fee
	// policy when the payment was accepted; always the platform for a
	// destination charge (see migration 00016). StripeFee is Stripe's fee
	// once read (StripeFeeKnown). StripeFeeCovered is what the platform
	// gave back of its application fee to cover it on a direct charge
	// (at most the fee), by the fee refund StripeFeeRefundID.
	StripeFeePayer    StripeFeePayer
	StripeFee         int64
	StripeFeeKnown    bool
	StripeFeeCovered  int64
	StripeFeeRefundID string
	// FundsAvailable is when the charge's funds become available on the
	// account it was made on (Stripe's available_on), once captured.
	FundsAvailable time.Time
	// Transfers are a separate charge's, one per split, in their order;
	// nil for other charge types.
	Transfers             []*Transfer
	AccountID             string // the merchant's acct_… the charge is made on
	StripePaymentIntentID string
	FailureCode           string // card_declined, authentication_required, invalid_request, account_invalid, …
	DeclineCode           string // the issuer's reason, for a decline
	FailureMessage        string // fit to show the customer
	FailureDetail         string // Stripe's words, for the operator; not shown by the API
	Created               time.Time
	Updated               time.Time
}

// Split is one merchant's part of a charge shared by several.
type Split struct {
	Merchant string `json:"merchant" text:"255"`
	Amount   int64  `json:"amount"`
}

// CreateParams ask for a payment.
type CreateParams struct {
	Merchant      string     `json:"merchant" text:"255"`
	Customer      string     `json:"customer" text:"255"`
	PaymentMethod string     `json:"payment_method" text:"255"` // the customer's default card when empty
	Amount        int64      `json:"amount"`
	Currency      string     `json:"currency" text:"32"`
	ChargeType    ChargeType `json:"charge_type" text:"32"`
	Splits        []Split    `json:"splits"`
	// ApplicationFee is the platform's fee, in minor units; nil means the
	// merchant's fee policy decides.
	ApplicationFee            *int64            `json:"application_fee"`
	Capture                   Capture           `json:"capture" text:"32"`
	OffSession                bool              `json:"off_session"`
	Description               string            `json:"description" text:"1000,multiline"`
	StatementDescriptorSuffix string            `json:"statement_descriptor_suffix" text:"22"`
	Reference                 string            `json:"reference" text:"255"`
	Metadata                  map[string]string `json:"metadata" text:"500,multiline,keys=40"`
}

// MaxAmount is the largest amount Stripe accepts on a charge: eight
// digits of minor units.
const MaxAmount = 99_999_999

// tenderMetadata are the keys Tender puts on the PaymentIntent; a
// platform's metadata may not use them, and leaves room for them under
// Stripe's 50 keys.
var tenderMetadata = []string{"tender_payment", "tender_attempt"}

// validate checks what needs no database, in the order a form is read.
func (p *CreateParams) validate() (money.Currency, error) {
	if err := text.Validate(p); err != nil {
		return money.Currency{}, err
	}
	switch {
	case p.Merchant == "":
		return money.Currency{}, errs.Missing("merchant")
	case p.Customer == "":
		return money.Currency{}, errs.Missing("customer")
	case p.Amount <= 0:
		return money.Currency{}, errs.Invalidf("amount", "amount must be a positive number of minor units, not %d.", p.Amount)
	case p.Amount > MaxAmount:
		return money.Currency{}, errs.Invalidf("amount", "amount must be at most %d minor units.", MaxAmount)
	case p.Currency == "":
		return money.Currency{}, errs.Missing("currency")
	}
	cur, err := money.ParseChargeCurrency(p.Currency)
	if err != nil {
		return money.Currency{}, errs.Invalidf("currency", "%q is not a currency Tender can charge in: %s.", p.Currency, reasonOf(err))
	}
	if len(p.Splits) > 0 {
		if err := validateSplits(p.Amount, p.Splits); err != nil {
			return money.Currency{}, err
		}
		if p.ChargeType == "" {
			p.ChargeType = ChargeSeparate
		}
		if p.ChargeType != ChargeSeparate {
			return money.Currency{}, errs.Invalidf("charge_type", "splits need charge_type separate, not %q.", string(p.ChargeType))
		}
	}
	switch p.ChargeType {
	case "":
		p.ChargeType = ChargeDirect
	case ChargeDirect, ChargeDestination, ChargeSeparate:
	default:
		return money.Currency{}, errs.Invalidf("charge_type", "charge_type must be direct, destination or separate, not %q.", string(p.ChargeType))
	}
	switch p.Capture {
	case "":
		p.Capture = CaptureAutomatic
	case CaptureAutomatic, CaptureManual:
	default:
		return money.Currency{}, errs.Invalidf("capture", "capture must be automatic or manual, not %q.", string(p.Capture))
	}
	if p.ApplicationFee != nil && (*p.ApplicationFee < 0 || *p.ApplicationFee > p.Amount) {
		return money.Currency{}, errs.Invalidf("application_fee", "application_fee must be between 0 and the amount (%d), not %d.", p.Amount, *p.ApplicationFee)
	}
	if err := validateSuffix(p.StatementDescriptorSuffix); err != nil {
		return money.Currency{}, err
	}
	updates := make(map[string]*string, len(p.Metadata))
	for k, v := range p.Metadata {
		for _, reserved := range tenderMetadata {
			if k == reserved {
				return money.Currency{}, errs.Invalidf("metadata", "metadata key %q is Tender's own.", k)
			}
		}
		updates[k] = &v
	}
	md, err := metadata.Apply(nil, updates)
	if err != nil {
		return money.Currency{}, err
	}
	if len(md) > metadata.MaxKeys-len(tenderMetadata) {
		return money.Currency{}, errs.Invalidf("metadata", "metadata may have at most %d keys.", metadata.MaxKeys-len(tenderMetadata))
	}
	p.Metadata = md
	return cur, nil
}

// reasonOf is why money refused a value, for a message that already
// names the field and the value.
func reasonOf(err error) string {
	var fe *money.FieldError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return err.Error()
}

// validateSplits checks that a shared charge's parts are positive, name
// distinct merchants and add up to the amount exactly: a part left over or
// missing would be money invented or lost.
func validateSplits(amount int64, splits []Split) error {
	seen := make(map[string]bool, len(splits))
	var sum int64
	for i, s := range splits {
		field := fmt.Sprintf("splits[%d]", i)
		switch {
		case s.Merchant == "":
			return errs.Missing(field + "[merchant]")
		case seen[s.Merchant]:
			return errs.Invalidf(field+"[merchant]", "Merchant %s has two splits; give it one.", s.Merchant)
		case s.Amount <= 0:
			return errs.Invalidf(field+"[amount]", "%s[amount] must be positive, not %d.", field, s.Amount)
		}
		seen[s.Merchant] = true
		sum += s.Amount // each <= amount after the check below, so no overflow
		if sum > amount {
			return errs.Invalidf("splits", "The splits add up to more than the amount (%d).", amount)
		}
	}
	if sum != amount {
		return errs.Invalidf("splits", "The splits add up to %d, not the amount (%d).", sum, amount)
	}
	return nil
}

// validateSuffix applies Stripe's rules for statement descriptors to the
// suffix: at least one letter, none of < > \ ' " *; its length of at most
// 22 characters is its text rule.
func validateSuffix(s string) error {
	if s == "" {
		return nil
	}
	switch {
	case strings.ContainsAny(s, `<>\'"*`):
		return errs.Invalidf("statement_descriptor_suffix", `statement_descriptor_suffix must not contain < > \ ' " or *.`)
	case !strings.ContainsFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }):
		return errs.Invalidf("statement_descriptor_suffix", "statement_descriptor_suffix must contain at least one letter.")
	}
	return nil
}

// Create validates the payment, prices it, and writes it with the job that
// charges it, in one transaction, with the request's answer (the payment's
// view) when it has an Idempotency-Key. Every refusal names its field and
// leaves nothing behind. Returns errs.Invalid: merchant unknown, not
// connected or not enabled; customer unknown or archived; card unknown,
// removed or missing; no off-session consent; currency the policy cannot
// price; fee above the amount.
func (s *Service) Create(ctx context.Context, platformID string, p CreateParams) (*Payment, error) {
	return s.CreateFrom(ctx, platformID, p, SourceAPI, func(tx *sql.Tx, pay *Payment) error {
		return idempotency.Commit(ctx, tx, pay.View())
	})
}

// CreateFrom makes a payment as Create does, from src, and runs also (when
// not nil) in the transaction that writes it: what the caller records
// with the payment (a standing order's cycle) commits with it or not at
// all, and an error from also leaves nothing.
func (s *Service) CreateFrom(ctx context.Context, platformID string, p CreateParams, src Source,
	also func(*sql.Tx, *Payment) error) (*Payment, error) {
	pay, splits, err := s.prepare(ctx, platformID, p, src)
	if err != nil {
		return nil, err
	}
	return pay, s.insert(ctx, pay, splits, also)
}

// Check answers whether a payment of p could be made now, as Create
// would, without making it, and returns the payment it would make (its
// currency and charge type resolved, its card chosen): a standing order
// is refused at once for what would refuse its cycles. Returns Create's
// errors.
func (s *Service) Check(ctx context.Context, platformID string, p CreateParams) (*Payment, error) {
	pay, _, err := s.prepare(ctx, platformID, p, SourceAPI)
	return pay, err
}

// prepare checks p and prices it: the payment to write, and its splits.
func (s *Service) prepare(ctx context.Context, platformID string, p CreateParams, src Source) (*Payment, []split, error) {
	if err := s.applyDefaults(ctx, platformID, &p); err != nil {
		return nil, nil, err
	}
	cur, err := p.validate()
	if err != nil {
		return nil, nil, err
	}
	m, err := s.usableMerchant(ctx, platformID, p.Merchant, "merchant")
	if err != nil {
		return nil, nil, err
	}
	splits, err := s.resolveSplits(ctx, platformID, p, m)
	if err != nil {
		return nil, nil, err
	}
	cu, err := s.wallet.Customer(ctx, platformID, p.Customer)
	if errs.Is(err, errs.NotFound) {
		return nil, nil, errs.Invalidf("customer", "No such customer: %q.", p.Customer)
	}
	if err != nil {
		return nil, nil, err
	}
	if !cu.Archived.IsZero() {
		return nil, nil, errs.Invalidf("customer", "Customer %s is archived.", cu.ID).WithReason("customer_archived")
	}
	pmID := p.PaymentMethod
	if pmID == "" {
		if pmID = cu.DefaultPaymentMethodID; pmID == "" {
			return nil, nil, errs.Invalidf("payment_method", "Customer %s has no saved card; give payment_method or save one.", cu.ID).WithReason("payment_method_missing")
		}
	}
	pm, err := s.wallet.PaymentMethod(ctx, platformID, cu.ID, pmID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil, errs.Invalidf("payment_method", "No such card of customer %s: %q.", cu.ID, pmID)
	}
	if err != nil {
		return nil, nil, err
	}
	if pm.Status != "active" {
		return nil, nil, errs.Invalidf("payment_method", "Card %s was removed.", pm.ID).WithReason("payment_method_detached")
	}
	if p.OffSession {
		if _, err := s.wallet.ActiveConsent(ctx, platformID, cu.ID, m.ID, pm.ID); errs.Is(err, errs.Forbidden) {
			return nil, nil, s.consentMissing(ctx, platformID, cu, m.ID, pm.ID)
		} else if err != nil {
			return nil, nil, err
		}
	}

	now := store.TimeOf(s.now())
	pay := &Payment{ID: id.For(ctx, PaymentPrefix), PlatformID: platformID, MerchantID: m.ID, CustomerID: cu.ID, PaymentMethodID: pm.ID,
		Amount: p.Amount, AmountRequested: p.Amount, Currency: cur, ChargeType: p.ChargeType, Capture: p.Capture, OffSession: p.OffSession,
		Description: p.Description, StatementDescriptorSuffix: p.StatementDescriptorSuffix, Reference: p.Reference, Metadata: p.Metadata,
		Status: StatusPending, Attempt: 1, AccountID: m.Connection.AccountID, Source: src, Created: now.Time, Updated: now.Time}
	policy, err := s.EffectiveFeePolicy(ctx, platformID, m.ID)
	if err != nil {
		return nil, nil, err
	}
	pay.StripeFeePayer = policy.StripeFeePayer
	if pay.ChargeType == ChargeDestination {
		pay.StripeFeePayer = StripeFeePlatform
	}
	if p.ApplicationFee != nil {
		pay.ApplicationFee = *p.ApplicationFee
	} else {
		fee, err := policy.FeeFor(p.Amount, cur)
		if err != nil {
			return nil, nil, err
		}
		if fee.Amount > MaxAmount {
			return nil, nil, errs.Invalidf("amount", "With the fees covered the charge would be %d, above Stripe's maximum.", fee.Amount)
		}
		pay.Amount, pay.ApplicationFee, pay.FeePolicyID, pay.FeePolicyVersion = fee.Amount, fee.Fee, policy.ID, policy.Version
	}
	return pay, splits, nil
}

// insert writes a prepared payment with its transfers, its job and its
// event, and runs also, in one transaction.
func (s *Service) insert(ctx context.Context, pay *Payment, splits []split, also func(*sql.Tx, *Payment) error) error {
	platformID, cur, now := pay.PlatformID, pay.Currency, store.TimeOf(pay.Created)
	md, err := json.Marshal(pay.Metadata)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO payments (platform_id, id, merchant_id, customer_id, payment_method_id, amount, amount_requested,
			currency, application_fee, fee_policy_id, fee_policy_version, charge_type, capture, off_session, description,
			statement_descriptor_suffix, reference, metadata, status, attempt, account_id, created_at, updated_at, stripe_fee_payer, source)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22, $23, $24)`,
			platformID, pay.ID, pay.MerchantID, nullString(pay.CustomerID), pay.PaymentMethodID, pay.Amount, pay.AmountRequested, cur.Lower(),
			pay.ApplicationFee, nullString(pay.FeePolicyID), nullInt(pay.FeePolicyID, pay.FeePolicyVersion), string(pay.ChargeType),
			string(pay.Capture), pay.OffSession, pay.Description, pay.StatementDescriptorSuffix, pay.Reference, string(md),
			string(pay.Status), pay.Attempt, pay.AccountID, now, string(pay.StripeFeePayer), string(pay.Source))
		if err != nil {
			return fmt.Errorf("insert payment: %w", err)
		}
		if err := insertTransfers(ctx, tx, pay, splits); err != nil {
			return err
		}
		if _, err := s.jobs().InsertTx(ctx, tx, ProcessArgs{PlatformID: platformID, PaymentID: pay.ID}, processOpts); err != nil {
			return fmt.Errorf("enqueue payment: %w", err)
		}
		if _, err := event.Record(ctx, tx, now.Time, platformID, EventPaymentCreated, pay.ID, pay.View()); err != nil {
			return err
		}
		if also == nil {
			return nil
		}
		return also(tx, pay)
	})
}

// consentMissing is the refusal of an off-session payment of card pmID
// that no consent of the customer for the merchant covers: it says which
// cards the consents there are cover (a consent for the default card does
// not cover another, nor one for a card the default), and how to get one
// for this card.
func (s *Service) consentMissing(ctx context.Context, platformID string, cu *wallet.Customer, merchantID, pmID string) error {
	cards, err := s.wallet.ConsentedCards(ctx, platformID, cu.ID, merchantID)
	if err != nil {
		return err
	}
	isDefault := pmID == cu.DefaultPaymentMethodID
	var covered []string
	coversDefault := false
	for _, c := range cards {
		switch {
		case c != wallet.DefaultCard:
			covered = append(covered, "card "+c)
		case cu.DefaultPaymentMethodID == "":
			covered, coversDefault = append(covered, "their default card (they have none now)"), true
		default:
			covered, coversDefault = append(covered, "their default card ("+cu.DefaultPaymentMethodID+")"), true
		}
	}
	this := "card " + pmID
	if isDefault {
		this += " (their default card)"
	}
	var b strings.Builder
	if len(covered) == 0 {
		fmt.Fprintf(&b, "Customer %s has not allowed merchant %s to charge any card off-session. ", cu.ID, merchantID)
	} else {
		fmt.Fprintf(&b, "Customer %s has allowed merchant %s to charge off-session only %s, not %s. ",
			cu.ID, merchantID, strings.Join(covered, " and "), this)
	}
	fmt.Fprintf(&b, "To charge %s, get the customer's consent for it: on the hosted wallet page (POST /v1/wallet_sessions), ", pmID)
	switch {
	case isDefault:
		b.WriteString("where they allow a merchant to charge their default card")
	case coversDefault:
		b.WriteString("by making it their default card, which their consent covers")
	default:
		b.WriteString("by making it their default card and allowing the merchant to charge it")
	}
	fmt.Fprintf(&b, "; or with POST /v1/customers/%s/consents giving merchant %s, payment_method %s and the evidence of what they agreed to.",
		cu.ID, merchantID, pmID)
	return errs.Invalidf("off_session", "%s", b.String()).WithReason("consent_missing")
}

// applyDefaults fills what the platform's settings decide when the
// request does not: the currency, and the charge type of a payment
// without splits (splits always make a separate charge).
func (s *Service) applyDefaults(ctx context.Context, platformID string, p *CreateParams) error {
	if (p.Currency != "" && (p.ChargeType != "" || len(p.Splits) > 0)) || s.platforms == nil {
		return nil
	}
	pl, err := s.platforms.Get(ctx, platformID)
	if err != nil {
		return err
	}
	if p.Currency == "" {
		p.Currency = pl.Settings.DefaultCurrency
	}
	if p.ChargeType == "" && len(p.Splits) == 0 {
		p.ChargeType = ChargeType(pl.Settings.ChargeType())
	}
	return nil
}

// usableMerchant returns the merchant named in field if it can be paid:
// not archived, connected and enabled.
func (s *Service) usableMerchant(ctx context.Context, platformID, merchantID, field string) (*connect.Merchant, error) {
	m, err := s.connect.Merchant(ctx, platformID, merchantID)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Invalidf(field, "No such merchant: %q.", merchantID)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case !m.Archived.IsZero():
		return nil, errs.Invalidf(field, "Merchant %s is archived.", m.ID).WithReason("merchant_archived")
	case m.Connection.AccountID == "" || m.Connection.Status == connect.StatusDeauthorized:
		return nil, errs.Invalidf(field, "Merchant %s has no connected Stripe account.", m.ID).WithReason("merchant_not_connected")
	case m.Connection.Status != connect.StatusEnabled:
		return nil, errs.Invalidf(field, "Merchant %s cannot take payments: its account is %s.", m.ID, m.Connection.Status).WithReason("merchant_not_enabled")
	}
	return m, nil
}

// resolveSplits returns a separate charge's splits with each merchant's
// account: those asked for, or the whole amount to the payment's merchant
// when none were. Other charge types have none.
func (s *Service) resolveSplits(ctx context.Context, platformID string, p CreateParams, m *connect.Merchant) ([]split, error) {
	if p.ChargeType != ChargeSeparate {
		return nil, nil
	}
	if len(p.Splits) == 0 {
		return []split{{merchantID: m.ID, accountID: m.Connection.AccountID, amount: p.Amount}}, nil
	}
	out := make([]split, len(p.Splits))
	for i, sp := range p.Splits {
		sm, err := s.usableMerchant(ctx, platformID, sp.Merchant, fmt.Sprintf("splits[%d][merchant]", i))
		if err != nil {
			return nil, err
		}
		out[i] = split{merchantID: sm.ID, accountID: sm.Connection.AccountID, amount: sp.Amount}
	}
	return out, nil
}

// processOpts bound the job's retries: River backs off exponentially with
// jitter between them (attempt⁴ seconds), so MaxAttempts tries span about
// four and a half hours; a payment still unsettled then is left processing
// for the janitor (StuckAfter) rather than retried forever.
var processOpts = &river.InsertOpts{MaxAttempts: MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullInt(cond string, v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: cond != ""} }

const paymentCols = `platform_id, id, merchant_id, customer_id, payment_method_id, amount, amount_requested, currency, application_fee,
	fee_policy_id, fee_policy_version, charge_type, capture, off_session, description, statement_descriptor_suffix, reference, metadata,
	status, attempt, account_id, stripe_payment_intent_id, failure_code, decline_code, failure_message, failure_detail, created_at, updated_at,
	amount_captured, source, amount_refunded, stripe_fee_payer, stripe_fee, stripe_fee_covered, stripe_fee_refund_id, funds_available_at`

func scanPayment(row store.Scanner) (*Payment, error) {
	var p Payment
	var cur, chargeType, capture, md, status, source, payer string
	var stripeFee sql.NullInt64
	var stripeFeeRefund sql.NullString
	var policyID, piID, customerID sql.NullString
	var policyVersion sql.NullInt64
	var created, updated, available store.Time
	if err := row.Scan(&p.PlatformID, &p.ID, &p.MerchantID, &customerID, &p.PaymentMethodID, &p.Amount, &p.AmountRequested, &cur,
		&p.ApplicationFee, &policyID, &policyVersion, &chargeType, &capture, &p.OffSession, &p.Description, &p.StatementDescriptorSuffix,
		&p.Reference, &md, &status, &p.Attempt, &p.AccountID, &piID, &p.FailureCode, &p.DeclineCode, &p.FailureMessage, &p.FailureDetail,
		&created, &updated, &p.AmountCaptured, &source, &p.AmountRefunded, &payer, &stripeFee, &p.StripeFeeCovered, &stripeFeeRefund, &available); err != nil {
		return nil, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return nil, fmt.Errorf("payment %s: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(md), &p.Metadata); err != nil {
		return nil, fmt.Errorf("payment %s metadata: %w", p.ID, err)
	}
	p.Currency, p.FeePolicyID, p.FeePolicyVersion = c, policyID.String, policyVersion.Int64
	p.ChargeType, p.Capture, p.Status, p.StripePaymentIntentID = ChargeType(chargeType), Capture(capture), Status(status), piID.String
	p.Created, p.Updated, p.FundsAvailable = created.Time, updated.Time, available.Time
	p.CustomerID, p.Source = customerID.String, Source(source)
	p.StripeFeePayer, p.StripeFee, p.StripeFeeKnown, p.StripeFeeRefundID = StripeFeePayer(payer), stripeFee.Int64, stripeFee.Valid, stripeFeeRefund.String
	return &p, nil
}

func getPayment(ctx context.Context, q store.Querier, platformID, paymentID string) (*Payment, error) {
	p, err := scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM payments WHERE platform_id = $1 AND id = $2`, platformID, paymentID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("id", "No such payment: '%s'.", paymentID)
	}
	if err != nil {
		return nil, err
	}
	return p, withTransfers(ctx, q, p)
}

// withTransfers reads a separate charge's transfers into it.
func withTransfers(ctx context.Context, q store.Querier, p *Payment) error {
	if p.ChargeType != ChargeSeparate {
		return nil
	}
	t, err := transfersOf(ctx, q, p.PlatformID, p.ID)
	p.Transfers = t
	return err
}

// Payment returns one of the platform's payments. Returns errs.NotFound.
func (s *Service) Payment(ctx context.Context, platformID, paymentID string) (*Payment, error) {
	return getPayment(ctx, s.db, platformID, paymentID)
}

// Filter narrows a list of payments; zero fields match everything.
type Filter struct {
	Merchant  string
	Customer  string
	Status    Status
	Reference string
}

// Payments returns a page of the platform's payments, newest first, and
// whether there are more. Returns errs.Invalid for an unknown status.
func (s *Service) Payments(ctx context.Context, platformID string, f Filter, page store.Page) ([]*Payment, bool, error) {
	if err := f.Status.validate(); err != nil {
		return nil, false, err
	}
	ps, more, err := store.List(ctx, s.db, page, scanPayment, `SELECT `+paymentCols+` FROM payments WHERE platform_id = $1
		AND ($2 = '' OR merchant_id = $2) AND ($3 = '' OR customer_id = $3) AND ($4 = '' OR status = $4) AND ($5 = '' OR reference = $5)`,
		platformID, f.Merchant, f.Customer, string(f.Status), f.Reference)
	if err != nil {
		return nil, false, err
	}
	for _, p := range ps {
		if err := withTransfers(ctx, s.db, p); err != nil {
			return nil, false, err
		}
	}
	return ps, more, nil
}
