package checkout

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeop"
	"github.com/tenderpay/tender/internal/wallet"
)

// The payment side of checkout links. A link's payment is a Tender
// payment (source checkout) made when the payer first presses Pay, priced
// as the link was. Tender creates its PaymentIntent, unconfirmed, and the
// payer's browser confirms it with Stripe.js (3-D Secure included), so the
// card goes from Stripe's iframe to Stripe and never through Tender. Then
// the page tells Tender, which reads the PaymentIntent back from Stripe:
// the browser's word settles nothing.
//
//   - Without saving the card it is a direct charge on the merchant's
//     account (Stripe-Account), with the platform's fee as
//     application_fee_amount.
//   - Saving the card needs a customer on the link and the payer's consent:
//     then it is a destination charge on the platform's account, with the
//     platform's Customer and setup_future_usage off_session, so the card
//     lives on the platform and can pay every merchant; after it succeeds
//     the card goes in the wallet with the consent and its evidence.
//   - A declined card leaves the PaymentIntent in requires_payment_method,
//     which Stripe lets the payer confirm again with another card: the
//     same PaymentIntent serves every try, so however many tries, one
//     PaymentIntent at most succeeds. The decline is recorded on the
//     payment, which stays processing. Only changing between saving and
//     not (another account, other parameters) moves to a new attempt and
//     PaymentIntent, after the old one is canceled at Stripe.
//   - The payment succeeds once Stripe says so, and the link is paid right
//     after, idempotently; a link that expires or is canceled unpaid
//     cancels its PaymentIntent and the payment becomes canceled.

// Page is what a checkout link's page shows.
type Page struct {
	Link     *Link
	Merchant *connect.Merchant
	Customer *wallet.Customer // nil when the link names none
	Payment  *payment.Payment // nil until the payer first pressed Pay
	// Status is the link's, now.
	Status Status
	// PublishableKey is the platform's, for Stripe.js; APIBase its API's
	// base URL when it is not Stripe's (the emulator).
	PublishableKey, APIBase string
	// Card is the card that paid, for the receipt, when Stripe shows it.
	CardBrand, CardLast4 string
}

// CanSaveCard reports whether the page may offer to save the card: the
// link names a customer who still has a wallet.
func (cp *Page) CanSaveCard() bool {
	return cp.Customer != nil && cp.Customer.Archived.IsZero() && cp.Customer.StripeCustomerID != ""
}

// Open returns what a checkout link's page shows. It changes
// nothing but, for a paid link whose saved card is not in the wallet yet,
// records it. Returns errs.NotFound (reason link_invalid) for a token
// Tender never gave.
func (s *Service) Open(ctx context.Context, token string) (*Page, error) {
	l, err := s.checkoutByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return s.checkoutPage(ctx, l)
}

func (s *Service) checkoutPage(ctx context.Context, l *Link) (*Page, error) {
	cp := &Page{Link: l, Status: l.StatusAt(s.now())}
	var err error
	if cp.Merchant, err = s.connect.Merchant(ctx, l.PlatformID, l.MerchantID); err != nil {
		return nil, err
	}
	if l.CustomerID != "" {
		if cp.Customer, err = s.wallet.Customer(ctx, l.PlatformID, l.CustomerID); err != nil {
			return nil, err
		}
	}
	if l.PaymentID != "" {
		if cp.Payment, err = s.payments.Payment(ctx, l.PlatformID, l.PaymentID); err != nil {
			return nil, err
		}
	}
	if s.platforms != nil {
		st, err := s.platforms.Stripe(ctx, l.PlatformID)
		if err != nil {
			return nil, err
		}
		cp.PublishableKey, cp.APIBase = st.PublishableKey, st.APIBase
	}
	if cp.Status == StatusPaid && cp.Payment != nil {
		if l.SaveCard && l.PaymentMethodID == "" && cp.Payment.ChargeType == payment.ChargeDestination {
			s.saveCheckoutCard(ctx, l, cp.Payment, nil)
		}
		cp.CardBrand, cp.CardLast4 = s.cardOf(ctx, cp.Payment)
	}
	return cp, nil
}

// cardOf is the brand and last four digits of the card that paid p, as
// Stripe shows them, or nothing if Stripe cannot be asked now: a receipt
// does without.
func (s *Service) cardOf(ctx context.Context, p *payment.Payment) (brand, last4 string) {
	if p.StripePaymentIntentID == "" {
		return "", ""
	}
	sc, err := s.client(ctx, p.PlatformID)
	if err != nil {
		return "", ""
	}
	params := &stripe.PaymentIntentRetrieveParams{}
	params.AddExpand("payment_method")
	pi, err := sc.V1PaymentIntents.Retrieve(ctx, p.StripePaymentIntentID, stripeapi.OnAccount(params, p.IntentAccount()))
	if err != nil || pi.PaymentMethod == nil || pi.PaymentMethod.Card == nil {
		return "", ""
	}
	return string(pi.PaymentMethod.Card.Brand), pi.PaymentMethod.Card.Last4
}

// IntentParams are the payer's choice on the page.
type IntentParams struct {
	// SaveCard saves the card for the link's customer and allows the
	// merchant to charge it off-session; Consent is the evidence.
	SaveCard bool
	Consent  Consent
}

// Intent is what the page's Stripe.js needs to confirm the
// payment: confirmCardPayment(ClientSecret) with Stripe(PublishableKey,
// {stripeAccount: Account}) (Account is "" for a charge on the
// platform's account).
type Intent struct {
	ClientSecret   string
	Account        string
	PublishableKey string
}

// Page errors of checkout links, by reason.
var (
	errCheckoutPaid     = errs.E(errs.Conflict, "This payment has already been made.").WithReason("link_paid")
	errCheckoutExpired  = errs.E(errs.Gone, "This payment link has expired.").WithReason("link_expired")
	errCheckoutCanceled = errs.E(errs.Gone, "This payment link was canceled.").WithReason("link_canceled")
	errCheckoutBusy     = errs.E(errs.Conflict, "Your bank is still processing the payment. Wait a moment and reload the page.").WithReason("payment_processing")
)

// usable refuses a link that can no longer be paid.
func (l *Link) usable(now time.Time) error {
	switch l.StatusAt(now) {
	case StatusPaid:
		return errCheckoutPaid
	case StatusExpired:
		return errCheckoutExpired
	case StatusCanceled:
		return errCheckoutCanceled
	}
	return nil
}

// Intent returns the PaymentIntent the payer's browser confirms,
// making the link's payment and its PaymentIntent on the first call, and
// reusing them after a decline. Saving the card needs the link's
// customer; a change between saving and not moves the payment to a new
// attempt. Returns errs.NotFound (link_invalid), errs.Gone
// (link_expired, link_canceled), errs.Conflict (link_paid,
// payment_processing, merchant_not_enabled), errs.Invalid (save_card,
// consent), errs.RateLimited (too many tries), errs.Unavailable (Stripe
// could not be reached: try again).
func (s *Service) Intent(ctx context.Context, token string, ip IntentParams) (*Intent, error) {
	l, err := s.checkoutByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := l.usable(s.now()); err != nil {
		return nil, err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE checkout_links SET intent_count = intent_count + 1
		WHERE platform_id = $1 AND id = $2 AND intent_count < $3`, l.PlatformID, l.ID, MaxIntents)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, errs.E(errs.RateLimited, "Too many attempts to pay with this link. Ask the seller for a new one.").WithReason("too_many_attempts")
	}
	m, err := s.connect.Merchant(ctx, l.PlatformID, l.MerchantID)
	if err != nil {
		return nil, err
	}
	if !m.Archived.IsZero() || m.Connection.Status != connect.StatusEnabled || m.Connection.AccountID == "" {
		return nil, errs.E(errs.Conflict, "The seller cannot take payments at the moment. Please try again later.").WithReason("merchant_not_enabled")
	}
	st, err := s.platforms.Stripe(ctx, l.PlatformID)
	if err != nil {
		return nil, err
	}
	if st.PublishableKey == "" {
		return nil, errs.E(errs.Conflict, "Card payments are not set up here yet.").WithReason("publishable_key_missing")
	}
	want := payment.ChargeDirect
	var cu *wallet.Customer
	if ip.SaveCard {
		if l.CustomerID == "" {
			return nil, errs.Invalidf("save_card", "This payment cannot save a card.")
		}
		if cu, err = s.wallet.Customer(ctx, l.PlatformID, l.CustomerID); err != nil {
			return nil, err
		}
		if !cu.Archived.IsZero() || cu.StripeCustomerID == "" {
			return nil, errs.Invalidf("save_card", "This payment cannot save a card.")
		}
		if ip.Consent.Text == "" || ip.Consent.Version == "" {
			return nil, errs.Missing("consent")
		}
		want = payment.ChargeDestination
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE checkout_links SET save_card = $3, consent_text = $4, consent_version = $5, consent_ip = $6,
		consent_user_agent = $7, updated_at = $8 WHERE platform_id = $1 AND id = $2 AND status = $9`, l.PlatformID, l.ID, ip.SaveCard,
		ip.Consent.Text, ip.Consent.Version, ip.Consent.IPAddress, ip.Consent.UserAgent, store.TimeOf(s.now()), string(StatusOpen)); err != nil {
		return nil, err
	}
	p, err := s.checkoutPayment(ctx, l, m)
	if err != nil {
		return nil, err
	}
	sc, err := s.client(ctx, l.PlatformID)
	if err != nil {
		return nil, err
	}
	var pi *stripe.PaymentIntent
	if p.StripePaymentIntentID != "" {
		if pi, err = s.readIntent(ctx, sc, p); err != nil {
			return nil, err
		}
		if p.ChargeType != want && isConfirmable(pi) {
			if pi, err = s.nextCheckoutAttempt(ctx, sc, l, p, pi, want); err != nil {
				return nil, err
			}
		}
	} else if p.ChargeType != want {
		if p, err = s.payments.SetChargeType(ctx, p, want); err != nil {
			return nil, err
		}
	}
	if pi == nil {
		if p.StripePaymentIntentID != "" { // another request made it meanwhile
			if pi, err = s.readIntent(ctx, sc, p); err != nil {
				return nil, err
			}
		} else if pi, err = s.createCheckoutIntent(ctx, sc, l, p, cu); err != nil {
			return nil, err
		}
	}
	if !isConfirmable(pi) {
		return nil, s.settledIntent(ctx, l, p, pi)
	}
	// A cancel or expiry that ran while the PaymentIntent was being made
	// found no PaymentIntent to cancel: this one must not be confirmed.
	if now, err := getCheckoutLink(ctx, s.db, l.PlatformID, l.ID); err != nil {
		return nil, err
	} else if err := now.usable(s.now()); err != nil {
		if cerr := s.closeCheckout(ctx, now, now.StatusAt(s.now())); cerr != nil {
			s.logger.WarnContext(ctx, "canceling the PaymentIntent of a link closed while it was made", "checkout_link", l.ID, "err", cerr)
		}
		return nil, err
	}
	return &Intent{ClientSecret: pi.ClientSecret, Account: p.IntentAccount(), PublishableKey: st.PublishableKey}, nil
}

// isConfirmable reports whether the payer may still confirm pi.
func isConfirmable(pi *stripe.PaymentIntent) bool {
	switch pi.Status {
	case stripe.PaymentIntentStatusRequiresPaymentMethod, stripe.PaymentIntentStatusRequiresConfirmation,
		stripe.PaymentIntentStatusRequiresAction:
		return true
	}
	return false
}

// settledIntent answers a request for a PaymentIntent that can no longer
// be confirmed: it records where it is and says why.
func (s *Service) settledIntent(ctx context.Context, l *Link, p *payment.Payment, pi *stripe.PaymentIntent) error {
	if err := s.applyCheckoutIntent(ctx, l, p, pi); err != nil {
		return err
	}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded, stripe.PaymentIntentStatusRequiresCapture:
		return errCheckoutPaid
	case stripe.PaymentIntentStatusProcessing:
		return errCheckoutBusy
	}
	return errCheckoutCanceled
}

// checkoutPayment returns the link's payment, making it on the first
// call. The link names its payment in one conditional UPDATE, in the
// transaction that inserts it, so two tabs pressing Pay at once make one.
func (s *Service) checkoutPayment(ctx context.Context, l *Link, m *connect.Merchant) (*payment.Payment, error) {
	if l.PaymentID != "" {
		return s.payments.Payment(ctx, l.PlatformID, l.PaymentID)
	}
	now := store.TimeOf(s.now())
	pay := &payment.Payment{ID: id.For(ctx, payment.PaymentPrefix), PlatformID: l.PlatformID, MerchantID: m.ID, CustomerID: l.CustomerID,
		Amount: l.Amount, AmountRequested: l.AmountRequested, Currency: l.Currency, ApplicationFee: l.ApplicationFee,
		FeePolicyID: l.FeePolicyID, FeePolicyVersion: l.FeePolicyVersion, ChargeType: payment.ChargeDirect, Capture: payment.CaptureAutomatic,
		Description: l.Description, Reference: l.Reference, Metadata: l.Metadata, Status: payment.StatusPending, Attempt: 1,
		AccountID: m.Connection.AccountID, Source: payment.SourceCheckout, Created: now.Time, Updated: now.Time}
	payer, err := s.payments.StripeFeePayerOf(ctx, l.PlatformID, l.FeePolicyID)
	if err != nil {
		return nil, err
	}
	pay.StripeFeePayer = payer
	won := false
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE checkout_links SET payment_id = $3, updated_at = $4
			WHERE platform_id = $1 AND id = $2 AND payment_id IS NULL AND status = $5`, l.PlatformID, l.ID, pay.ID, now, string(StatusOpen))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // another request made it first
		}
		won = true
		// The job never charges a checkout payment: at the link's end it
		// settles what the payer left (see ProcessCheckout).
		return s.payments.InsertCheckoutPayment(ctx, tx, pay, l.Expires.Add(time.Minute))
	})
	if err != nil {
		return nil, err
	}
	if !won {
		fresh, err := getCheckoutLink(ctx, s.db, l.PlatformID, l.ID)
		if err != nil {
			return nil, err
		}
		if fresh.PaymentID == "" {
			return nil, fresh.usable(s.now())
		}
		return s.payments.Payment(ctx, l.PlatformID, fresh.PaymentID)
	}
	return pay, nil
}

// readIntent reads the payment's PaymentIntent back from Stripe.
func (s *Service) readIntent(ctx context.Context, sc *stripe.Client, p *payment.Payment) (*stripe.PaymentIntent, error) {
	params := &stripe.PaymentIntentRetrieveParams{}
	params.AddExpand("payment_method")
	params.AddExpand("latest_charge.balance_transaction") // Stripe's fee and available_on, for the books
	pi, err := sc.V1PaymentIntents.Retrieve(ctx, p.StripePaymentIntentID, stripeapi.OnAccount(params, p.IntentAccount()))
	if err != nil {
		return nil, checkoutStripeError(err)
	}
	return pi, nil
}

// checkoutStripeError is what a page is told when Stripe could not be
// asked: to try again, as nothing was decided.
func checkoutStripeError(err error) error {
	return &errs.Error{Code: errs.Unavailable, Reason: "stripe_unavailable",
		Message: "The payment service could not be reached. Please try again in a moment.", Err: err}
}

// createCheckoutIntent creates the attempt's PaymentIntent, unconfirmed,
// and saves its id: on the merchant's account for a direct charge, or on
// the platform's with the customer's Stripe Customer, setup_future_usage
// and a transfer to the merchant when the card is to be saved.
func (s *Service) createCheckoutIntent(ctx context.Context, sc *stripe.Client, l *Link, p *payment.Payment, cu *wallet.Customer) (*stripe.PaymentIntent, error) {
	md := make(map[string]string, len(p.Metadata)+3)
	for k, v := range p.Metadata {
		md[k] = v
	}
	md["tender_payment"], md["tender_attempt"], md["tender_checkout"] = p.ID, strconv.FormatInt(p.Attempt, 10), l.ID
	params := &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(p.Amount), Currency: stripe.String(p.Currency.Lower()),
		PaymentMethodTypes: []*string{stripe.String("card")}, CaptureMethod: stripe.String(string(payment.CaptureAutomatic)), Metadata: md,
	}
	if p.ApplicationFee > 0 {
		params.ApplicationFeeAmount = stripe.Int64(p.ApplicationFee)
	}
	if p.Description != "" {
		params.Description = stripe.String(p.Description)
	}
	if p.ChargeType == payment.ChargeDestination {
		if cu == nil {
			var err error
			if cu, err = s.wallet.Customer(ctx, p.PlatformID, p.CustomerID); err != nil {
				return nil, err
			}
		}
		params.Customer = stripe.String(cu.StripeCustomerID)
		params.SetupFutureUsage = stripe.String("off_session")
		params.TransferData = &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(p.AccountID)}
		params.OnBehalfOf = stripe.String(p.AccountID)
	}
	stripeapi.OnAccount(params, p.IntentAccount())
	made, err := s.payments.CreateHostedIntent(ctx, p, func(ctx context.Context, key string) (*stripe.PaymentIntent, error) {
		params.SetIdempotencyKey(key)
		return createIntentCall(ctx, sc, params)
	})
	if f := stripeop.AsFailed(err); f != nil {
		o := f.Outcome
		switch {
		case o.Pending():
			return nil, checkoutStripeError(err)
		case o.Kind == stripeapi.KindAccountInvalid:
			if _, rerr := s.connect.Refresh(ctx, p.PlatformID, p.MerchantID); rerr != nil {
				s.logger.WarnContext(ctx, "refreshing a merchant whose account was refused", "merchant", p.MerchantID, "err", rerr)
			}
			return nil, errs.E(errs.Conflict, "The seller cannot take payments at the moment. Please try again later.").WithReason("merchant_not_enabled")
		}
		s.logger.ErrorContext(ctx, "Stripe refused a checkout PaymentIntent", "payment", p.ID, "checkout_link", l.ID,
			"kind", o.Kind, "code", o.Code, "detail", o.Message)
		return nil, errs.E(errs.Conflict, "This payment cannot be taken. Please contact the seller.").WithReason("payment_refused")
	}
	if err != nil {
		return nil, err
	}
	// Whichever request saved its PaymentIntent first (the same one, made
	// with the same key, unless the payment moved on), carry on from what
	// is saved.
	fresh, err := s.payments.Payment(ctx, p.PlatformID, p.ID)
	if err != nil {
		return nil, err
	}
	if fresh.StripePaymentIntentID == "" || fresh.Status.Final() {
		return nil, errCheckoutCanceled
	}
	*p = *fresh
	if made != nil && made.ID == p.StripePaymentIntentID {
		return made, nil
	}
	return s.readIntent(ctx, sc, p)
}

// createIntentCall creates a checkout's PaymentIntent. Another tab's
// request with the same key may be in flight: its answer, the same
// PaymentIntent, is replayed once it is done, so a conflict on the key is
// tried again a few times.
func createIntentCall(ctx context.Context, sc *stripe.Client, params *stripe.PaymentIntentCreateParams) (*stripe.PaymentIntent, error) {
	pi, err := sc.V1PaymentIntents.Create(ctx, params)
	for try := 1; err != nil && try <= 3 && stripeapi.Classify(err).Kind == stripeapi.KindIdempotency; try++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(try) * 100 * time.Millisecond):
		}
		pi, err = sc.V1PaymentIntents.Create(ctx, params)
	}
	return pi, err
}

// nextCheckoutAttempt cancels the attempt's PaymentIntent at Stripe and
// moves the payment to a new attempt of charge type want, when the payer
// changed their mind about saving the card. A PaymentIntent that
// succeeded meanwhile is recorded instead.
func (s *Service) nextCheckoutAttempt(ctx context.Context, sc *stripe.Client, l *Link, p *payment.Payment, pi *stripe.PaymentIntent,
	want payment.ChargeType) (*stripe.PaymentIntent, error) {
	canceled, err := s.cancelIntent(ctx, sc, p)
	if err != nil {
		return nil, err
	}
	if canceled.Status != stripe.PaymentIntentStatusCanceled {
		return canceled, nil // it moved on: the caller records it
	}
	// Whether this call moved it or another did, carry on from what is
	// saved.
	fresh, err := s.payments.NextAttempt(ctx, p, pi.ID, want)
	if err != nil {
		return nil, err
	}
	*p = *fresh
	if p.Status.Final() {
		return nil, errCheckoutCanceled
	}
	if p.StripePaymentIntentID != "" {
		return s.readIntent(ctx, sc, p)
	}
	return nil, nil
}

// cancelIntent cancels the payment's PaymentIntent at Stripe and returns
// it as it is then: canceled, or whatever it moved to first (succeeded,
// processing) when Stripe refused.
func (s *Service) cancelIntent(ctx context.Context, sc *stripe.Client, p *payment.Payment) (*stripe.PaymentIntent, error) {
	canceled, err := s.payments.CancelHostedIntent(ctx, p, func(ctx context.Context, key string) (*stripe.PaymentIntent, error) {
		params := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")}
		stripeapi.OnAccount(params, p.IntentAccount())
		params.SetIdempotencyKey(key)
		return sc.V1PaymentIntents.Cancel(ctx, p.StripePaymentIntentID, params)
	})
	if canceled != nil {
		return canceled, nil
	}
	if f := stripeop.AsFailed(err); f != nil && f.Outcome.Pending() {
		return nil, checkoutStripeError(err)
	} else if f == nil && err != nil {
		return nil, err
	}
	// Refused (most likely it is no longer cancelable), or canceled by an
	// earlier call: see where it is.
	return s.readIntent(ctx, sc, p)
}

// Outcome is where the payer's last confirmation left the link.
type Outcome struct {
	Status Status
	// Message says why the payment did not go through, for the payer:
	// the decline's reason when it helps them act.
	Message string
}

// Complete is what the page calls after Stripe.js confirmed, or
// failed to confirm, the payment. Tender reads the PaymentIntent back from
// Stripe and records what it says: succeeded (the payment succeeds and
// the link is paid, and a card the payer chose to save goes in the
// wallet), declined (recorded on the payment; the link stays open for
// another card), or still in the payer's hands. Returns errs.NotFound
// (link_invalid), errs.Unavailable when Stripe could not be asked.
func (s *Service) Complete(ctx context.Context, token string) (*Outcome, error) {
	l, err := s.checkoutByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if l.PaymentID == "" {
		return &Outcome{Status: l.StatusAt(s.now())}, nil
	}
	p, err := s.payments.Payment(ctx, l.PlatformID, l.PaymentID)
	if err != nil {
		return nil, err
	}
	out := &Outcome{}
	if p.StripePaymentIntentID != "" && !p.Status.Final() {
		sc, err := s.client(ctx, l.PlatformID)
		if err != nil {
			return nil, err
		}
		pi, err := s.readIntent(ctx, sc, p)
		if err != nil {
			return nil, err
		}
		if err := s.applyCheckoutIntent(ctx, l, p, pi); err != nil {
			return nil, err
		}
		if pi.Status == stripe.PaymentIntentStatusRequiresPaymentMethod && pi.LastPaymentError != nil {
			out.Message = checkoutDeclineMessage(pi.LastPaymentError)
		}
	}
	if l, err = getCheckoutLink(ctx, s.db, l.PlatformID, l.ID); err != nil {
		return nil, err
	}
	out.Status = l.StatusAt(s.now())
	return out, nil
}

func checkoutDeclineMessage(e *stripe.Error) string {
	switch {
	case e.Code == stripe.ErrorCodePaymentIntentAuthenticationFailure:
		return "Your bank could not confirm it was you. Try again, or use another card."
	case e.DeclineCode != "":
		return payment.DeclineMessage(string(e.DeclineCode))
	}
	return payment.DeclineMessage(string(e.Code))
}

// applyCheckoutIntent records where the payment's PaymentIntent stands:
// succeeded (the payment through settle and finish, then the link paid
// and the card saved), canceled (the payment canceled), declined (the
// decline noted on the payment, which stays processing). An intent still
// in the payer's hands changes nothing.
func (s *Service) applyCheckoutIntent(ctx context.Context, l *Link, p *payment.Payment, pi *stripe.PaymentIntent) error {
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded, stripe.PaymentIntentStatusRequiresCapture:
		if !p.Status.Final() {
			if err := s.payments.Settle(ctx, p, pi); err != nil {
				return err
			}
		}
		if err := s.markPaid(ctx, l); err != nil {
			return err
		}
		if p.ChargeType == payment.ChargeDestination {
			fresh, err := getCheckoutLink(ctx, s.db, l.PlatformID, l.ID)
			if err != nil {
				return err
			}
			if fresh.SaveCard && fresh.PaymentMethodID == "" {
				s.saveCheckoutCard(ctx, fresh, p, pi)
			}
		}
		return nil
	case stripe.PaymentIntentStatusCanceled:
		if p.Status.Final() {
			return nil
		}
		_, err := s.payments.RecordCancel(ctx, p)
		if errs.Is(err, errs.Conflict) {
			return nil // another call recorded it first
		}
		return err
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		e := pi.LastPaymentError
		if e == nil {
			return nil
		}
		return s.payments.RecordDecline(ctx, p, pi.ID, payment.Decline{Code: string(e.Code), DeclineCode: string(e.DeclineCode),
			Message: checkoutDeclineMessage(e), Detail: e.Msg})
	}
	return nil
}

// saveCheckoutCard records the card a saving checkout paid with in the
// customer's wallet, with the consent the payer gave on the page and its
// evidence. It runs after the payment succeeded, from the page or the
// job, and again on the receipt page until it is done; a failure is
// logged, never the payer's problem: they paid.
func (s *Service) saveCheckoutCard(ctx context.Context, l *Link, p *payment.Payment, pi *stripe.PaymentIntent) {
	if err := s.saveCheckoutCardErr(ctx, l, p, pi); err != nil {
		s.logger.ErrorContext(ctx, "saving a checkout's card in the wallet", "checkout_link", l.ID, "payment", p.ID, "err", err)
	}
}

func (s *Service) saveCheckoutCardErr(ctx context.Context, l *Link, p *payment.Payment, pi *stripe.PaymentIntent) error {
	if pi == nil || pi.PaymentMethod == nil || pi.PaymentMethod.Card == nil {
		sc, err := s.client(ctx, p.PlatformID)
		if err != nil {
			return err
		}
		if pi, err = s.readIntent(ctx, sc, p); err != nil {
			return err
		}
	}
	if pi.PaymentMethod == nil || pi.PaymentMethod.Card == nil {
		return fmt.Errorf("PaymentIntent %s has no card", pi.ID)
	}
	pm, err := s.wallet.RecordPaymentCard(ctx, l.PlatformID, l.CustomerID, pi.PaymentMethod)
	if err != nil {
		return err
	}
	if _, err := s.wallet.GrantConsent(ctx, l.PlatformID, l.CustomerID, wallet.ConsentParams{
		Merchant: l.MerchantID, PaymentMethod: pm.ID, Scope: wallet.ScopeOffSession,
		Evidence: wallet.Evidence{Text: l.Consent.Text, TextVersion: l.Consent.Version, IPAddress: l.Consent.IPAddress,
			UserAgent: l.Consent.UserAgent},
	}); err != nil {
		return err
	}
	now := store.TimeOf(s.now())
	if _, err := s.db.ExecContext(ctx, `UPDATE checkout_links SET payment_method_id = $3, updated_at = $4
		WHERE platform_id = $1 AND id = $2 AND payment_method_id IS NULL`, l.PlatformID, l.ID, pm.ID, now); err != nil {
		return err
	}
	return s.payments.SetPaymentMethod(ctx, p, pm.ID)
}

// closeCheckout ends an open link unpaid, as expired or canceled: the
// link first (so the page makes no new PaymentIntent), then its
// PaymentIntent is canceled at Stripe and its payment with it. A
// PaymentIntent that succeeded first makes the link paid instead.
func (s *Service) closeCheckout(ctx context.Context, l *Link, to Status) error {
	if _, err := s.markClosed(ctx, l, to); err != nil {
		return err
	}
	if l.PaymentID == "" {
		fresh, err := getCheckoutLink(ctx, s.db, l.PlatformID, l.ID)
		if err != nil {
			return err
		}
		if l = fresh; l.PaymentID == "" {
			return nil
		}
	}
	p, err := s.payments.Payment(ctx, l.PlatformID, l.PaymentID)
	if err != nil || p.Status.Final() {
		return err
	}
	if p.StripePaymentIntentID == "" {
		_, err := s.payments.RecordCancel(ctx, p)
		if errs.Is(err, errs.Conflict) {
			return nil
		}
		return err
	}
	sc, err := s.client(ctx, l.PlatformID)
	if err != nil {
		return err
	}
	pi, err := s.readIntent(ctx, sc, p)
	if err != nil {
		return err
	}
	if isConfirmable(pi) {
		if pi, err = s.cancelIntent(ctx, sc, p); err != nil {
			return err
		}
	}
	if pi.Status == stripe.PaymentIntentStatusProcessing {
		return errCheckoutBusy
	}
	return s.applyCheckoutIntent(ctx, l, p, pi)
}

// ProcessCheckout is payments' Process for a checkout payment
// (payment.Hosted), which their job never charges: the payer's browser
// confirms it. The job (scheduled at the link's end, and requeued by the
// janitor) reads the PaymentIntent back and records it; once the link has
// ended, it cancels an intent the payer left unconfirmed, and the payment
// is canceled with it.
func (s *Service) ProcessCheckout(ctx context.Context, p *payment.Payment) error {
	l, err := scanCheckoutLink(s.db.QueryRowContext(ctx, `SELECT `+checkoutCols+` FROM checkout_links WHERE platform_id = $1 AND payment_id = $2`,
		p.PlatformID, p.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return river.JobCancel(fmt.Errorf("checkout payment %s has no checkout link", p.ID))
	}
	if err != nil {
		return err
	}
	switch st := l.StatusAt(s.now()); st {
	case StatusExpired, StatusCanceled:
		err = s.closeCheckout(ctx, l, st)
	default:
		if p.StripePaymentIntentID == "" {
			break
		}
		var sc *stripe.Client
		if sc, err = s.client(ctx, p.PlatformID); err != nil {
			return err
		}
		var pi *stripe.PaymentIntent
		if pi, err = s.readIntent(ctx, sc, p); err == nil {
			err = s.applyCheckoutIntent(ctx, l, p, pi)
		}
	}
	if errors.Is(err, errCheckoutBusy) {
		return river.JobSnooze(time.Minute)
	}
	if err != nil {
		return err
	}
	if fresh, err := s.payments.Payment(ctx, p.PlatformID, p.ID); err != nil || fresh.Status.Final() {
		return err
	}
	// The payer may still pay: look again when the link ends, unless the
	// page records the outcome first.
	return river.JobSnooze(max(l.Expires.Sub(s.now())+time.Minute, time.Minute))
}
