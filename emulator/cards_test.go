package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"
)

// authenticate completes or fails an intent's 3-D Secure challenge through
// the emulator's control endpoint.
func (e *env) authenticate(id, outcome string) {
	e.tb.Helper()
	resp, err := http.Post(e.ts.URL+"/_emulator/authenticate/"+id+"?json=1", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"outcome": {outcome}}.Encode()))
	if err != nil {
		e.tb.Fatalf("authenticate: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		e.tb.Fatalf("authenticate %s: %d", id, resp.StatusCode)
	}
	// The control endpoint answers with the intent: it too must be Stripe's.
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		e.tb.Fatalf("authenticate %s: %v", id, err)
	}
	name, _ := doc["object"].(string)
	if ref := specDoc.Components.Schemas[name]; ref == nil {
		e.tb.Fatalf("authenticate answered a %q", name)
	} else if msg := visit(ref.Value, doc); msg != "" {
		e.tb.Errorf("authenticated %s does not match Stripe's OpenAPI spec: %s", name, msg)
	}
}

type cardCase struct {
	token, number string
	// setup is the SetupIntent status after confirming (off_session usage),
	// "" when it declines with declineCode.
	setup stripe.SetupIntentStatus
	// onSession is the PaymentIntent status after an on-session confirm, ""
	// for a decline.
	onSession stripe.PaymentIntentStatus
	// offSession is the outcome of an off-session payment after the setup
	// (completed when it asked for authentication): a status, or "" with
	// offCode/offDecline.
	offSession          stripe.PaymentIntentStatus
	code, declineCode   string
	offCode, offDecline string
	afterAuth           stripe.PaymentIntentStatus // on-session status after completing 3DS
}

var cardCases = []cardCase{
	{token: "pm_card_visa", number: "4242424242424242", setup: "succeeded", onSession: "succeeded", offSession: "succeeded"},
	{token: "pm_card_chargeDeclined", number: "4000000000000002", code: "card_declined", declineCode: "generic_decline"},
	{token: "pm_card_chargeDeclinedInsufficientFunds", number: "4000000000009995", code: "card_declined", declineCode: "insufficient_funds"},
	{token: "pm_card_chargeDeclinedLostCard", number: "4000000000009987", code: "card_declined", declineCode: "lost_card"},
	{token: "pm_card_chargeDeclinedStolenCard", number: "4000000000009979", code: "card_declined", declineCode: "stolen_card"},
	{token: "pm_card_chargeDeclinedExpiredCard", number: "4000000000000069", code: "expired_card"},
	{token: "pm_card_chargeDeclinedIncorrectCvc", number: "4000000000000127", code: "incorrect_cvc"},
	{token: "pm_card_chargeDeclinedProcessingError", number: "4000000000000119", code: "processing_error"},
	{token: "pm_card_chargeCustomerFail", number: "4000000000000341", setup: "succeeded",
		code: "card_declined", declineCode: "generic_decline", offCode: "card_declined", offDecline: "generic_decline"},
	{token: "pm_card_authenticationRequiredOnSetup", number: "4000002500003155", setup: "requires_action",
		onSession: "requires_action", afterAuth: "succeeded", offSession: "succeeded"},
	{token: "pm_card_authenticationRequired", number: "4000002760003184", setup: "requires_action",
		onSession: "requires_action", afterAuth: "succeeded", offCode: "authentication_required", offDecline: "authentication_required"},
	{token: "pm_card_authenticationRequiredSetupForOffSession", number: "4000003800000446", setup: "succeeded",
		onSession: "requires_action", afterAuth: "succeeded", offSession: "succeeded"},
	{token: "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds", number: "4000008260003178", setup: "requires_action",
		onSession: "requires_action", afterAuth: "requires_payment_method", offCode: "card_declined", offDecline: "insufficient_funds"},
	{token: "pm_card_threeDSecure2Required", number: "4000000000003220", setup: "requires_action",
		onSession: "requires_action", afterAuth: "succeeded", offCode: "authentication_required", offDecline: "authentication_required"},
	{token: "pm_card_bypassPending", number: "4000000000000077", setup: "succeeded", onSession: "succeeded", offSession: "succeeded"},
	{token: "pm_card_createDispute", number: "4000000000000259", setup: "succeeded", onSession: "succeeded", offSession: "succeeded"},
}

// TestTestCards runs every test card through a setup, an on-session payment
// and an off-session payment, by token and by card number.
func TestTestCards(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, cc := range cardCases {
		for _, byNumber := range []bool{false, true} {
			name := cc.token
			if byNumber {
				name = cc.number
			}
			t.Run(name, func(t *testing.T) {
				e := &env{tb: t, srv: e.srv, ts: e.ts, sc: e.client("sk_test_emulator_platform", 0)}
				pmFor := func() string {
					if !byNumber {
						return cc.token
					}
					pm, err := e.sc.V1PaymentMethods.Create(ctx(), &stripe.PaymentMethodCreateParams{
						Type: stripe.String("card"),
						Card: &stripe.PaymentMethodCreateCardParams{Number: stripe.String(cc.number),
							ExpMonth: stripe.Int64(12), ExpYear: stripe.Int64(2034), CVC: stripe.String("123")}})
					mustf(t, err, "create pm")
					if pm.Card.Last4 != cc.number[len(cc.number)-4:] {
						t.Fatalf("last4 %s", pm.Card.Last4)
					}
					return pm.ID
				}
				checkCardCase(t, e, cc, pmFor)
			})
		}
	}
}

func checkCardCase(t *testing.T, e *env, cc cardCase, pmFor func() string) {
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")

	// Setup for off-session use.
	si, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{
		Customer: stripe.String(cu.ID), PaymentMethod: stripe.String(pmFor()), Confirm: stripe.Bool(true),
		Usage: stripe.String("off_session")})
	if cc.setup == "" {
		se := stripeErr(t, err)
		if se.HTTPStatusCode != 402 || se.Type != stripe.ErrorTypeCard || string(se.Code) != cc.code || string(se.DeclineCode) != cc.declineCode || se.SetupIntent == nil {
			t.Fatalf("setup decline: %+v", se)
		}
	} else {
		mustf(t, err, "setup")
		if si.Status != cc.setup {
			t.Fatalf("setup status %s, want %s", si.Status, cc.setup)
		}
		if si.Status == stripe.SetupIntentStatusRequiresAction {
			if si.NextAction == nil {
				t.Fatal("requires_action without next_action")
			}
			e.authenticate(si.ID, "complete")
			si, err = e.sc.V1SetupIntents.Retrieve(ctx(), si.ID, nil)
			mustf(t, err, "retrieve setup")
			if si.Status != stripe.SetupIntentStatusSucceeded {
				t.Fatalf("after authentication: %s", si.Status)
			}
		}
		pm, err := e.sc.V1PaymentMethods.Retrieve(ctx(), si.PaymentMethod.ID, nil)
		mustf(t, err, "pm")
		if pm.Customer == nil || pm.Customer.ID != cu.ID {
			t.Fatalf("setup did not attach: %+v", pm.Customer)
		}
	}

	// On-session payment.
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(1500), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String(pmFor()), Confirm: stripe.Bool(true)})
	if cc.onSession == "" {
		checkDecline(t, err, cc.code, cc.declineCode)
	} else {
		mustf(t, err, "on-session")
		if pi.Status != cc.onSession {
			t.Fatalf("on-session status %s, want %s", pi.Status, cc.onSession)
		}
		if pi.Status == stripe.PaymentIntentStatusRequiresAction {
			if pi.NextAction == nil || pi.NextAction.Type != "use_stripe_sdk" {
				t.Fatalf("next_action %+v", pi.NextAction)
			}
			e.authenticate(pi.ID, "complete")
			pi, err = e.sc.V1PaymentIntents.Retrieve(ctx(), pi.ID, nil)
			mustf(t, err, "retrieve")
			if pi.Status != cc.afterAuth {
				t.Fatalf("after authentication: %s, want %s", pi.Status, cc.afterAuth)
			}
			if pi.Status == stripe.PaymentIntentStatusRequiresPaymentMethod && (pi.LastPaymentError == nil || pi.LastPaymentError.DeclineCode != "insufficient_funds") {
				t.Fatalf("last_payment_error %+v", pi.LastPaymentError)
			}
		}
	}

	// Off-session payment with the set-up card.
	if cc.setup == "" {
		return
	}
	pi, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(1500), Currency: stripe.String("usd"), Customer: stripe.String(cu.ID),
		PaymentMethod: stripe.String(si.PaymentMethod.ID), Confirm: stripe.Bool(true), OffSession: stripe.Bool(true)})
	if cc.offSession == "" {
		se := checkDecline(t, err, cc.offCode, cc.offDecline)
		if se.PaymentIntent.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || se.PaymentIntent.LastPaymentError == nil {
			t.Fatalf("declined intent %+v", se.PaymentIntent)
		}
		return
	}
	mustf(t, err, "off-session")
	if pi.Status != cc.offSession {
		t.Fatalf("off-session status %s, want %s", pi.Status, cc.offSession)
	}
}

func checkDecline(t *testing.T, err error, code, decline string) *stripe.Error {
	t.Helper()
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 402 || se.Type != stripe.ErrorTypeCard || string(se.Code) != code || string(se.DeclineCode) != decline {
		t.Fatalf("decline: status %d type %s code %s decline %s", se.HTTPStatusCode, se.Type, se.Code, se.DeclineCode)
	}
	if se.PaymentIntent == nil || se.PaymentIntent.ID == "" || se.PaymentIntent.LatestCharge == nil {
		t.Fatalf("decline without payment_intent: %+v", se)
	}
	return se
}

func TestAuthenticationFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(1500), Currency: stripe.String("eur"), ReturnURL: stripe.String("https://shop.example/back"),
		PaymentMethod: stripe.String("pm_card_authenticationRequired"), Confirm: stripe.Bool(true)})
	mustf(t, err, "create")
	if pi.NextAction == nil || pi.NextAction.RedirectToURL == nil || !strings.Contains(pi.NextAction.RedirectToURL.URL, pi.ID) {
		t.Fatalf("redirect next_action %+v", pi.NextAction)
	}
	e.authenticate(pi.ID, "fail")
	pi, err = e.sc.V1PaymentIntents.Retrieve(ctx(), pi.ID, nil)
	mustf(t, err, "retrieve")
	if pi.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || pi.LastPaymentError == nil ||
		pi.LastPaymentError.Code != "payment_intent_authentication_failure" {
		t.Fatalf("after failed authentication %+v", pi)
	}
	// A browser posting the challenge form is sent back to return_url.
	pi, err = e.sc.V1PaymentIntents.Confirm(ctx(), pi.ID, nil)
	mustf(t, err, "confirm again")
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.PostForm(e.ts.URL+"/_emulator/authenticate/"+pi.ID, url.Values{"outcome": {"complete"}})
	mustf(t, err, "post form")
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "https://shop.example/back?") || !strings.Contains(loc, "redirect_status=succeeded") {
		t.Fatalf("redirect %d %s", resp.StatusCode, loc)
	}
}
