package checkout

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
)

// An authentication link is the page where a customer authenticates a
// payment their bank held for it (an off-session charge answered with
// authentication_required, or one left in requires_action). Each time a
// payment moves to requires_action, Tender issues one in the same
// transaction and shows it in the payment's view as next_action, and so
// in the payment.requires_action event, for the platform to send on.
//
// The link's token is its id and an HMAC of it under the master key
// (secret.Keyring.Sign): nothing stored opens it, the API can show the
// same URL on every read, and rotating the master key keeps it working
// while the previous key is kept. The link expires after AuthLinkTTL; the
// payment stays requires_action until the platform cancels it.
//
// The page runs Stripe.js: handleNextAction for an intent in
// requires_action, or, for one an off-session decline left in
// requires_payment_method, confirmCardPayment with the intent's own card,
// on-session this time, so the bank can challenge the customer. Then
// Tender reads the intent back and settles the payment from
// requires_action, as payments' Process would have. A link whose payment is settled
// shows its outcome and charges nothing.

// AuthLinkPrefix is the id prefix of authentication links.
const AuthLinkPrefix = "pal"

// AuthenticatePath + token is an authentication link's page.
const AuthenticatePath = "/authenticate/"

// AuthLinkTTL is how long an authentication link works: a week, for a
// customer who reads their mail once in a while.
const AuthLinkTTL = 7 * 24 * time.Hour

const authLinkPurpose = "tender/payment-authentication-link"

// IssueAuthLink makes an authentication link for p, in tx, the
// transaction that moves it to requires_action, and returns it as p's
// next action (payment.Hosted). Without keys to sign it there is none, and
// the payment waits for the platform.
func (s *Service) IssueAuthLink(ctx context.Context, tx *sql.Tx, p *payment.Payment, now time.Time) (*payment.NextActionView, error) {
	if s.keys == nil {
		s.logger.WarnContext(ctx, "no master key to sign an authentication link with", "payment", p.ID)
		return nil, nil
	}
	linkID := id.New(AuthLinkPrefix)
	expires := store.TimeOf(now.Add(AuthLinkTTL))
	if _, err := tx.ExecContext(ctx, `INSERT INTO payment_auth_links (platform_id, id, payment_id, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5)`, p.PlatformID, linkID, p.ID, expires, store.TimeOf(now)); err != nil {
		return nil, err
	}
	return &payment.NextActionView{Type: "authenticate", URL: s.authURL(linkID), ExpiresAt: expires.Time}, nil
}

func (s *Service) authURL(linkID string) string {
	return s.publicURL + AuthenticatePath + linkID + "." + s.keys.Sign(authLinkPurpose, []byte(linkID))
}

// NextAction returns p's next action, read with q: its newest
// authentication link, while p waits in requires_action and the link has
// not expired (payment.Hosted).
func (s *Service) NextAction(ctx context.Context, q store.Querier, p *payment.Payment) (*payment.NextActionView, error) {
	if p.Status != payment.StatusRequiresAction || s.keys == nil {
		return nil, nil
	}
	var linkID string
	var expires store.Time
	err := q.QueryRowContext(ctx, `SELECT id, expires_at FROM payment_auth_links WHERE platform_id = $1 AND payment_id = $2
		ORDER BY created_at DESC, id DESC LIMIT 1`, p.PlatformID, p.ID).Scan(&linkID, &expires)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !s.now().Before(expires.Time) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &payment.NextActionView{Type: "authenticate", URL: s.authURL(linkID), ExpiresAt: expires.Time}, nil
}

// AuthPage is what an authentication link's page shows.
type AuthPage struct {
	Payment  *payment.Payment
	Merchant *connect.Merchant
	Expires  time.Time
	// PublishableKey is the platform's, for Stripe.js; APIBase its API's
	// base URL when it is not Stripe's (the emulator).
	PublishableKey, APIBase string
}

// Page errors of authentication links.
var (
	errAuthLinkInvalid = errs.NotFoundf("", "This link is not valid.").WithReason("link_invalid")
	errAuthLinkExpired = errs.E(errs.Gone, "This link has expired.").WithReason("link_expired")
)

// authLink finds the link behind a page's token and its payment.
func (s *Service) authLink(ctx context.Context, token string) (*payment.Payment, time.Time, error) {
	linkID, sig, ok := strings.Cut(token, ".")
	if !ok || s.keys == nil || !strings.HasPrefix(linkID, AuthLinkPrefix+"_") || !s.keys.Verify(authLinkPurpose, []byte(linkID), sig) {
		return nil, time.Time{}, errAuthLinkInvalid
	}
	var platformID, paymentID string
	var expires store.Time
	err := s.db.QueryRowContext(ctx, `SELECT platform_id, payment_id, expires_at FROM payment_auth_links WHERE id = $1`, linkID).
		Scan(&platformID, &paymentID, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, errAuthLinkInvalid
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	p, err := s.payments.Payment(ctx, platformID, paymentID)
	return p, expires.Time, err
}

// OpenAuthentication returns what an authentication link's page shows.
// It changes nothing. Returns errs.NotFound (link_invalid) for a token
// Tender never signed.
func (s *Service) OpenAuthentication(ctx context.Context, token string) (*AuthPage, error) {
	p, expires, err := s.authLink(ctx, token)
	if err != nil {
		return nil, err
	}
	ap := &AuthPage{Payment: p, Expires: expires}
	if ap.Merchant, err = s.connect.Merchant(ctx, p.PlatformID, p.MerchantID); err != nil {
		return nil, err
	}
	if s.platforms != nil {
		st, err := s.platforms.Stripe(ctx, p.PlatformID)
		if err != nil {
			return nil, err
		}
		ap.PublishableKey, ap.APIBase = st.PublishableKey, st.APIBase
	}
	return ap, nil
}

// AuthIntent is what the page's Stripe.js needs: with Stripe(
// PublishableKey, {stripeAccount: Account}), handleNextAction({
// clientSecret}) when Action is "handle", or confirmCardPayment(
// ClientSecret, {payment_method: PaymentMethod}) when it is "confirm".
type AuthIntent struct {
	ClientSecret   string
	Account        string
	PublishableKey string
	Action         string
	PaymentMethod  string
}

// errAuthSettled refuses to start authenticating a payment that no longer
// waits for it; the page then shows the outcome.
var errAuthSettled = errs.E(errs.Conflict, "This payment no longer needs you to confirm it.").WithReason("payment_settled")

// AuthenticationIntent returns what the page needs to have the customer
// authenticate. Returns errs.NotFound (link_invalid), errs.Gone
// (link_expired), errs.Conflict (payment_settled) when the payment is no
// longer waiting, errs.Unavailable when Stripe could not be asked.
func (s *Service) AuthenticationIntent(ctx context.Context, token string) (*AuthIntent, error) {
	p, expires, err := s.authLink(ctx, token)
	if err != nil {
		return nil, err
	}
	if p.Status != payment.StatusRequiresAction || p.StripePaymentIntentID == "" {
		return nil, errAuthSettled
	}
	if !s.now().Before(expires) {
		return nil, errAuthLinkExpired
	}
	st, err := s.platforms.Stripe(ctx, p.PlatformID)
	if err != nil {
		return nil, err
	}
	sc, err := s.client(ctx, p.PlatformID)
	if err != nil {
		return nil, err
	}
	pi, err := s.readIntent(ctx, sc, p)
	if err != nil {
		return nil, err
	}
	ai := &AuthIntent{ClientSecret: pi.ClientSecret, Account: p.IntentAccount(), PublishableKey: st.PublishableKey}
	switch pi.Status {
	case stripe.PaymentIntentStatusRequiresAction:
		ai.Action = "handle"
	case stripe.PaymentIntentStatusRequiresPaymentMethod, stripe.PaymentIntentStatusRequiresConfirmation:
		ai.Action = "confirm"
		switch {
		case pi.PaymentMethod != nil:
			ai.PaymentMethod = pi.PaymentMethod.ID
		case pi.LastPaymentError != nil && pi.LastPaymentError.PaymentMethod != nil:
			ai.PaymentMethod = pi.LastPaymentError.PaymentMethod.ID
		default:
			return nil, errs.E(errs.Conflict, "This payment can no longer be confirmed here. Please contact the seller.").WithReason("payment_method_missing")
		}
	default:
		// Settled at Stripe already (an earlier visit whose answer was
		// lost): record it.
		if err := s.settleAuthentication(ctx, p, pi); err != nil {
			return nil, err
		}
		return nil, errAuthSettled
	}
	return ai, nil
}

// CompleteAuthentication is what the page calls after Stripe.js is done:
// Tender reads the PaymentIntent back and settles the payment from
// requires_action (succeeded, requires_capture, failed), with the usual
// events. An intent still waiting for the customer changes nothing. It
// returns the payment as it is then. Returns errs.NotFound
// (link_invalid), errs.Unavailable when Stripe could not be asked.
func (s *Service) CompleteAuthentication(ctx context.Context, token string) (*payment.Payment, error) {
	p, _, err := s.authLink(ctx, token)
	if err != nil {
		return nil, err
	}
	if p.Status != payment.StatusRequiresAction || p.StripePaymentIntentID == "" {
		return p, nil
	}
	sc, err := s.client(ctx, p.PlatformID)
	if err != nil {
		return nil, err
	}
	pi, err := s.readIntent(ctx, sc, p)
	if err != nil {
		return nil, err
	}
	if err := s.settleAuthentication(ctx, p, pi); err != nil {
		return nil, err
	}
	return s.payments.Payment(ctx, p.PlatformID, p.ID)
}

// settleAuthentication settles a payment in requires_action from its
// PaymentIntent, unless the intent still waits for the customer: in
// requires_action, or back in requires_payment_method for the same
// reason it first was (the customer has not confirmed on-session yet).
func (s *Service) settleAuthentication(ctx context.Context, p *payment.Payment, pi *stripe.PaymentIntent) error {
	switch pi.Status {
	case stripe.PaymentIntentStatusRequiresAction, stripe.PaymentIntentStatusRequiresConfirmation, stripe.PaymentIntentStatusProcessing:
		return nil
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		if e := pi.LastPaymentError; e == nil || e.Code == stripe.ErrorCodeAuthenticationRequired || e.DeclineCode == "authentication_required" {
			return nil
		}
	case stripe.PaymentIntentStatusCanceled:
		_, err := s.payments.RecordCancel(ctx, p)
		if errs.Is(err, errs.Conflict) {
			return nil
		}
		return err
	}
	return s.payments.Settle(ctx, p, pi)
}
