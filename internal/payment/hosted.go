package payment

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeop"
)

// What the hosted pages, where a payer takes part in a payment (checkout
// links, authentication links: package checkout, which imports this one),
// use of payments, and what payments use of them. The pages make and read
// PaymentIntents the payer's browser confirms; every change of a payment
// they need is one of these methods, so the rules and the SQL of the
// payments table stay in this package. Payments reach the pages only
// through Hosted.

// Hosted is what payments need of the hosted pages: the authentication
// link a payment waiting for its customer shows as its next action, and
// the settling of a payment taken on a checkout link, which the payments'
// job never charges.
type Hosted interface {
	// IssueAuthLink makes an authentication link for p in tx, the
	// transaction that moves p to requires_action, and returns it as p's
	// next action; nil when none can be made (no key to sign it with).
	IssueAuthLink(ctx context.Context, tx *sql.Tx, p *Payment, now time.Time) (*NextActionView, error)
	// NextAction returns p's next action, read with q: its newest
	// authentication link while p waits in requires_action and the link
	// has not expired; nil otherwise.
	NextAction(ctx context.Context, q store.Querier, p *Payment) (*NextActionView, error)
	// ProcessCheckout is Process for a payment of source checkout, whose
	// payer confirms it in the browser: it records where its PaymentIntent
	// stands, or closes it once its link has ended. Like Process, it is
	// safe to run any number of times, and returns an error (or a River
	// snooze or cancel) for River to act on.
	ProcessCheckout(ctx context.Context, p *Payment) error
}

// SetHosted gives s the hosted pages, once both are made (they are made
// over s). Call it before s is used: without it no payment gets an
// authentication link, and a checkout payment's job fails.
func (s *Service) SetHosted(h Hosted) { s.hosted = h }

// issueAuthLink is where finish gets the next action of a payment it
// moves to requires_action.
func (s *Service) issueAuthLink(ctx context.Context, tx *sql.Tx, p *Payment, now time.Time) (*NextActionView, error) {
	if s.hosted == nil {
		s.logger.WarnContext(ctx, "no hosted pages to issue an authentication link", "payment", p.ID)
		return nil, nil
	}
	return s.hosted.IssueAuthLink(ctx, tx, p, now)
}

// processCheckout is where Process hands a checkout payment, which it
// never charges: the payer confirms it.
func (s *Service) processCheckout(ctx context.Context, p *Payment) error {
	if s.hosted == nil {
		return fmt.Errorf("payment %s: a checkout payment, and no hosted pages to settle it", p.ID)
	}
	return s.hosted.ProcessCheckout(ctx, p)
}

// Final reports whether a payment in status st is settled: its job has
// nothing more to do.
func (st Status) Final() bool { return st.final() }

// IntentAccount is the account p's PaymentIntent lives on, for the
// Stripe-Account header: the merchant's for a direct charge, "" (the
// platform's own) for destination and separate charges.
func (p *Payment) IntentAccount() string { return p.intentAccount() }

// MetadataKeys are the metadata keys Tender puts on a payment's
// PaymentIntent: a platform's metadata may not use them.
func MetadataKeys() []string { return slices.Clone(tenderMetadata) }

// DeclineMessage is what to tell a customer whose card was declined for
// declineCode (the issuer's reason, "" if none): the reason when it helps
// them act, never one that helps a fraudster.
func DeclineMessage(declineCode string) string { return declineMessage(declineCode) }

// UsableMerchant returns the merchant named in field if it can be paid:
// not archived, connected and enabled. Returns errs.Invalid naming field
// otherwise (reasons merchant_archived, merchant_not_connected,
// merchant_not_enabled).
func (s *Service) UsableMerchant(ctx context.Context, platformID, merchantID, field string) (*connect.Merchant, error) {
	return s.usableMerchant(ctx, platformID, merchantID, field)
}

// StripeFeePayerOf returns who bears Stripe's fee under the fee policy
// version policyID: the merchant when there is none ("").
func (s *Service) StripeFeePayerOf(ctx context.Context, platformID, policyID string) (StripeFeePayer, error) {
	return s.stripeFeePayerOf(ctx, platformID, policyID)
}

// InsertCheckoutPayment writes p, the payment of a checkout link (source
// checkout, on session, with no card yet), in tx, the transaction that
// names it on its link, with its payment.created event and its job. The
// job never charges it: scheduled at processAt, the link's end, it
// settles what the payer left (Hosted.ProcessCheckout).
func (s *Service) InsertCheckoutPayment(ctx context.Context, tx *sql.Tx, p *Payment, processAt time.Time) error {
	p.Source = SourceCheckout
	md, err := json.Marshal(p.Metadata)
	if err != nil {
		return err
	}
	now := store.TimeOf(p.Created)
	_, err = tx.ExecContext(ctx, `INSERT INTO payments (platform_id, id, merchant_id, customer_id, payment_method_id, amount, amount_requested,
		currency, application_fee, fee_policy_id, fee_policy_version, charge_type, capture, off_session, description,
		statement_descriptor_suffix, reference, metadata, status, attempt, account_id, created_at, updated_at, source, stripe_fee_payer)
		VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8, $9, $10, $11, $12, FALSE, $13, '', $14, $15, $16, $17, $18, $19, $19, $20, $21)`,
		p.PlatformID, p.ID, p.MerchantID, nullString(p.CustomerID), p.Amount, p.AmountRequested, p.Currency.Lower(),
		p.ApplicationFee, nullString(p.FeePolicyID), nullInt(p.FeePolicyID, p.FeePolicyVersion), string(p.ChargeType),
		string(p.Capture), p.Description, p.Reference, string(md), string(p.Status), p.Attempt, p.AccountID, now,
		string(SourceCheckout), string(p.StripeFeePayer))
	if err != nil {
		return fmt.Errorf("insert checkout payment: %w", err)
	}
	if _, err := s.jobs().InsertTx(ctx, tx, ProcessArgs{PlatformID: p.PlatformID, PaymentID: p.ID},
		&river.InsertOpts{MaxAttempts: processOpts.MaxAttempts, UniqueOpts: processOpts.UniqueOpts, ScheduledAt: processAt}); err != nil {
		return fmt.Errorf("enqueue checkout payment: %w", err)
	}
	_, err = event.Record(ctx, tx, now.Time, p.PlatformID, EventPaymentCreated, p.ID, p.View())
	return err
}

// SetChargeType changes the charge type of p while its attempt has no
// PaymentIntent yet (a checkout's payer chose between saving the card and
// not before the first one was made), and returns the payment as it is
// then. Once a PaymentIntent is saved it changes nothing: see NextAttempt.
func (s *Service) SetChargeType(ctx context.Context, p *Payment, ct ChargeType) (*Payment, error) {
	if _, err := s.db.ExecContext(ctx, `UPDATE payments SET charge_type = $3, updated_at = $4
		WHERE platform_id = $1 AND id = $2 AND stripe_payment_intent_id IS NULL`,
		p.PlatformID, p.ID, string(ct), store.TimeOf(s.now())); err != nil {
		return nil, err
	}
	return getPayment(ctx, s.db, p.PlatformID, p.ID)
}

// CreateHostedIntent makes the attempt's PaymentIntent for a hosted page
// (unconfirmed: the payer's browser confirms it) as an operation
// (stripeop) under the attempt's key; create sends it with the key it is
// given. Its id is saved on the payment, which moves to processing, in
// the transaction that saves it on the operation. No earlier request is
// looked for: an unconfirmed PaymentIntent one made and lost takes no
// money, at worst it is left unused; after a stored 5xx the next request
// moves to a new key at once. It returns the PaymentIntent this call made,
// or nil when an earlier request made the attempt's (re-read the payment
// and read it back); Stripe's refusal is a *stripeop.Failed.
func (s *Service) CreateHostedIntent(ctx context.Context, p *Payment, create func(ctx context.Context, key string) (*stripe.PaymentIntent, error)) (*stripe.PaymentIntent, error) {
	var made *stripe.PaymentIntent
	_, err := s.ops.Run(ctx, stripeop.Op{
		PlatformID: p.PlatformID, Kind: stripeop.CreatePaymentIntent, Object: p.attemptObject(), Key: p.attemptKeyParts(),
		Call: func(ctx context.Context, key string) (string, error) {
			pi, err := create(ctx, key)
			if err != nil {
				return "", err
			}
			made = pi
			return pi.ID, nil
		},
		OnSave: func(ctx context.Context, tx *sql.Tx, piID string) error {
			if p.Status != StatusPending { // a later attempt, already processing
				return saveIntent(ctx, tx, p, piID, s.now())
			}
			_, err := s.movePayment(ctx, tx, p, paymentChange{to: StatusProcessing, cause: CausePayer, intentID: piID})
			return err
		},
	})
	return made, err
}

// CancelHostedIntent cancels the attempt's PaymentIntent, made for a
// hosted page, as an operation; cancel sends it with the key it is given.
// It returns the PaymentIntent as this call left it, or nil when an
// earlier call canceled it (read it back); Stripe's refusal is a
// *stripeop.Failed.
func (s *Service) CancelHostedIntent(ctx context.Context, p *Payment, cancel func(ctx context.Context, key string) (*stripe.PaymentIntent, error)) (*stripe.PaymentIntent, error) {
	var canceled *stripe.PaymentIntent
	_, err := s.ops.Run(ctx, stripeop.Op{
		PlatformID: p.PlatformID, Kind: stripeop.CancelPaymentIntent, Object: p.attemptObject() + ":checkout",
		Key: []string{"payment", p.ID, "attempt", strconv.FormatInt(p.Attempt, 10), "checkout-cancel"},
		Call: func(ctx context.Context, key string) (string, error) {
			pi, err := cancel(ctx, key)
			if err != nil {
				return "", err
			}
			canceled = pi
			return pi.ID, nil
		},
	})
	return canceled, err
}

// NextAttempt moves p, unsettled, from the attempt whose PaymentIntent
// intentID was canceled at Stripe to a new attempt of charge type ct, with
// no PaymentIntent, its own operations (so fresh keys) and no failure (a checkout's payer changed
// between saving the card and not: another account, other parameters).
// It returns the payment as it is then, whether this call moved it or
// another did.
func (s *Service) NextAttempt(ctx context.Context, p *Payment, intentID string, ct ChargeType) (*Payment, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE payments SET attempt = attempt + 1, charge_type = $3, stripe_payment_intent_id = NULL,
		failure_code = '', decline_code = '', failure_message = '', failure_detail = '', updated_at = $4
		WHERE platform_id = $1 AND id = $2 AND attempt = $5 AND stripe_payment_intent_id = $6 AND status IN ($7, $8)`,
		p.PlatformID, p.ID, string(ct), store.TimeOf(s.now()), p.Attempt, intentID, string(StatusPending), string(StatusProcessing))
	if err != nil {
		return nil, err
	}
	if _, err := res.RowsAffected(); err != nil {
		return nil, err
	}
	return getPayment(ctx, s.db, p.PlatformID, p.ID)
}

// Decline is a card's refusal of a PaymentIntent that the payer may
// confirm again with another card.
type Decline struct {
	Code        string // Stripe's error code; card_declined if ""
	DeclineCode string // the issuer's reason, if it gave one
	Message     string // fit to show the payer
	Detail      string // Stripe's words, for the operator
}

// RecordDecline notes d on p while it is processing with the PaymentIntent
// intentID. The payment stays processing, since the payer may try another
// card on the same PaymentIntent, and no event is recorded: it has not
// failed.
func (s *Service) RecordDecline(ctx context.Context, p *Payment, intentID string, d Decline) error {
	_, err := s.db.ExecContext(ctx, `UPDATE payments SET failure_code = $3, decline_code = $4, failure_message = $5, failure_detail = $6,
		updated_at = $7 WHERE platform_id = $1 AND id = $2 AND status = $8 AND stripe_payment_intent_id = $9`,
		p.PlatformID, p.ID, orDefault(d.Code, "card_declined"), d.DeclineCode, d.Message, d.Detail,
		store.TimeOf(s.now()), string(StatusProcessing), intentID)
	return err
}

// Settle records the outcome of p's PaymentIntent pi, read back from
// Stripe, with its event, as Process does: succeeded, requires_capture,
// requires_action (with an authentication link), failed. A payment read in
// requires_action is settled from there. A payment another call settled
// first, or that moved to another attempt since p was read, is left as it
// is. Returns a river.JobSnooze for a PaymentIntent still processing.
func (s *Service) Settle(ctx context.Context, p *Payment, pi *stripe.PaymentIntent) error {
	return s.settle(ctx, p, pi)
}

// RecordCancel records that p's PaymentIntent was canceled (or that p,
// having none, never will have one), with payment.canceled, in one
// transaction, and returns the payment canceled. Returns errs.Conflict
// when another call recorded something else first.
func (s *Service) RecordCancel(ctx context.Context, p *Payment) (*Payment, error) {
	return s.recordOp(ctx, p, &stripe.PaymentIntent{Status: stripe.PaymentIntentStatusCanceled})
}

// SetPaymentMethod names the wallet card pmID as the one p was paid with,
// once it is in the wallet (a checkout that saved the payer's card). A
// payment that names a card already keeps it.
func (s *Service) SetPaymentMethod(ctx context.Context, p *Payment, pmID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE payments SET payment_method_id = $3, updated_at = $4
		WHERE platform_id = $1 AND id = $2 AND payment_method_id = ''`, p.PlatformID, p.ID, pmID, store.TimeOf(s.now()))
	return err
}
