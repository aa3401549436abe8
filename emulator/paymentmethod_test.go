package emulator_test

import (
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"
)

func TestPaymentMethodLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String("pm@example.com")})
	mustf(t, err, "customer")

	// A test PaymentMethod id attaches directly, making a new PaymentMethod.
	pm, err := e.sc.V1PaymentMethods.Attach(ctx(), "pm_card_visa", &stripe.PaymentMethodAttachParams{Customer: stripe.String(cu.ID)})
	mustf(t, err, "attach pm_card_visa")
	if pm.ID == "pm_card_visa" || pm.Customer == nil || pm.Customer.ID != cu.ID || pm.Card.Last4 != "4242" {
		t.Fatalf("attached %+v", pm)
	}
	// card[token] makes one from a tok_ test token.
	tok, err := e.sc.V1PaymentMethods.Create(ctx(), &stripe.PaymentMethodCreateParams{Type: stripe.String("card"),
		Card:           &stripe.PaymentMethodCreateCardParams{Token: stripe.String("tok_mastercard")},
		BillingDetails: &stripe.PaymentMethodCreateBillingDetailsParams{Name: stripe.String("Ada")}})
	mustf(t, err, "create from token")
	if tok.Card.Brand != "mastercard" || tok.Customer != nil || tok.BillingDetails.Name != "Ada" {
		t.Fatalf("token pm %+v", tok)
	}
	tok, err = e.sc.V1PaymentMethods.Attach(ctx(), tok.ID, &stripe.PaymentMethodAttachParams{Customer: stripe.String(cu.ID)})
	mustf(t, err, "attach")
	up, err := e.sc.V1PaymentMethods.Update(ctx(), tok.ID, &stripe.PaymentMethodUpdateParams{Metadata: map[string]string{"k": "v"}})
	mustf(t, err, "update")
	if up.Metadata["k"] != "v" {
		t.Fatalf("metadata %v", up.Metadata)
	}

	listed := all(t, e.sc.V1PaymentMethods.List(ctx(), &stripe.PaymentMethodListParams{Customer: stripe.String(cu.ID)}).All(ctx()))
	if len(listed) != 2 || listed[0].ID != tok.ID || listed[1].ID != pm.ID {
		t.Fatalf("listed %d", len(listed))
	}
	listed = all(t, e.sc.V1Customers.ListPaymentMethods(ctx(), &stripe.CustomerListPaymentMethodsParams{Customer: stripe.String(cu.ID)}).All(ctx()))
	if len(listed) != 2 {
		t.Fatalf("customer's list has %d", len(listed))
	}
	got, err := e.sc.V1Customers.RetrievePaymentMethod(ctx(), pm.ID, &stripe.CustomerRetrievePaymentMethodParams{Customer: stripe.String(cu.ID)})
	mustf(t, err, "customer's payment method")
	if got.ID != pm.ID {
		t.Fatalf("got %s", got.ID)
	}

	det, err := e.sc.V1PaymentMethods.Detach(ctx(), pm.ID, nil)
	mustf(t, err, "detach")
	if det.Customer != nil {
		t.Fatal("still attached")
	}
	_, err = e.sc.V1PaymentMethods.Detach(ctx(), pm.ID, nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 {
		t.Fatalf("second detach: %+v", se)
	}
	listed = all(t, e.sc.V1PaymentMethods.List(ctx(), &stripe.PaymentMethodListParams{Customer: stripe.String(cu.ID)}).All(ctx()))
	if len(listed) != 1 {
		t.Fatalf("after detach: %d", len(listed))
	}
	_, err = e.sc.V1PaymentMethods.Retrieve(ctx(), "pm_nope", nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 || se.Code != stripe.ErrorCodeResourceMissing {
		t.Fatalf("unknown: %+v", se)
	}
}

// TestDecliningCardsCannotBeAttached follows Stripe's testing page: the
// declining cards cannot be attached to a customer; 4000000000000341 can,
// and its charges fail.
func TestDecliningCardsCannotBeAttached(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	for _, tc := range []struct{ token, code, decline string }{
		{"pm_card_visa_chargeDeclined", "card_declined", "generic_decline"},
		{"pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"},
		{"pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"},
		{"pm_card_visa_chargeDeclinedStolenCard", "card_declined", "stolen_card"},
		{"pm_card_chargeDeclinedExpiredCard", "expired_card", ""},
	} {
		_, err := e.sc.V1PaymentMethods.Attach(ctx(), tc.token, &stripe.PaymentMethodAttachParams{Customer: stripe.String(cu.ID)})
		se := stripeErr(t, err)
		if se.HTTPStatusCode != 402 || string(se.Code) != tc.code || string(se.DeclineCode) != tc.decline {
			t.Fatalf("%s: %+v", tc.token, se)
		}
	}
	pm, err := e.sc.V1PaymentMethods.Attach(ctx(), "pm_card_chargeCustomerFail", &stripe.PaymentMethodAttachParams{Customer: stripe.String(cu.ID)})
	mustf(t, err, "0341 attaches")
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		Customer: stripe.String(cu.ID), PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true), OffSession: stripe.Bool(true)})
	checkDecline(t, err, "card_declined", "generic_decline")
}

func TestCardNumberChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	create := func(number string) error {
		_, err := e.sc.V1PaymentMethods.Create(ctx(), &stripe.PaymentMethodCreateParams{Type: stripe.String("card"),
			Card: &stripe.PaymentMethodCreateCardParams{Number: stripe.String(number), ExpMonth: stripe.Int64(1), ExpYear: stripe.Int64(2035)}})
		return err
	}
	if se := stripeErr(t, create("4242424242424241")); se.HTTPStatusCode != 402 || se.Code != stripe.ErrorCodeIncorrectNumber {
		t.Fatalf("Luhn failure: %+v", se)
	}
	if se := stripeErr(t, create("4111111111111111")); se.DeclineCode != "test_mode_live_card" {
		t.Fatalf("live card: %+v", se)
	}
	_, err := e.sc.V1PaymentMethods.Create(ctx(), &stripe.PaymentMethodCreateParams{Type: stripe.String("card"),
		Card: &stripe.PaymentMethodCreateCardParams{Token: stripe.String("tok_nope")}})
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("unknown token: %+v", se)
	}
}

// TestRetrieveTestPaymentMethod: GET /v1/payment_methods/pm_card_… answers
// a PaymentMethod for the test card, as Stripe does: a new, unattached one
// with its own id each time, on the calling account, which can then be
// retrieved by that id and attached. An unknown pm_card_ id is a 404.
func TestRetrieveTestPaymentMethod(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first, err := e.sc.V1PaymentMethods.Retrieve(ctx(), "pm_card_visa", nil)
	mustf(t, err, "retrieve pm_card_visa")
	if !strings.HasPrefix(first.ID, "pm_") || first.ID == "pm_card_visa" || first.Type != "card" ||
		first.Card.Last4 != "4242" || first.Card.Brand != "visa" || first.Customer != nil {
		t.Fatalf("pm_card_visa: %+v", first)
	}
	second, err := e.sc.V1PaymentMethods.Retrieve(ctx(), "pm_card_visa", nil)
	mustf(t, err, "retrieve pm_card_visa again")
	if second.ID == first.ID {
		t.Fatal("two retrievals of pm_card_visa gave the same PaymentMethod")
	}
	again, err := e.sc.V1PaymentMethods.Retrieve(ctx(), first.ID, nil)
	mustf(t, err, "retrieve by its own id")
	if again.ID != first.ID || again.Card.Fingerprint != first.Card.Fingerprint {
		t.Fatalf("by id: %+v", again)
	}
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	att, err := e.sc.V1PaymentMethods.Attach(ctx(), first.ID, &stripe.PaymentMethodAttachParams{Customer: stripe.String(cu.ID)})
	mustf(t, err, "attach the retrieved PaymentMethod")
	if att.Customer == nil || att.Customer.ID != cu.ID {
		t.Fatalf("attached %+v", att)
	}
	// A declining card's PaymentMethod can be looked at; it declines when used.
	declined, err := e.sc.V1PaymentMethods.Retrieve(ctx(), "pm_card_chargeDeclined", nil)
	mustf(t, err, "retrieve pm_card_chargeDeclined")
	if declined.Card.Last4 != "0002" {
		t.Fatalf("pm_card_chargeDeclined: last4 %s", declined.Card.Last4)
	}
	_, err = e.sc.V1PaymentMethods.Retrieve(ctx(), "pm_card_teleport", nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 || se.Code != stripe.ErrorCodeResourceMissing || se.Param != "payment_method" {
		t.Fatalf("unknown test id: %+v", se)
	}
	// On a connected account the PaymentMethod is that account's.
	acct := e.connected()
	onConnected, err := e.sc.V1PaymentMethods.Retrieve(ctx(), "pm_card_mastercard", &stripe.PaymentMethodRetrieveParams{Params: onAccount(acct)})
	mustf(t, err, "retrieve on a connected account")
	if onConnected.Card.Brand != "mastercard" {
		t.Fatalf("connected: %+v", onConnected)
	}
	_, err = e.sc.V1PaymentMethods.Retrieve(ctx(), onConnected.ID, nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("the platform saw a connected account's PaymentMethod: %+v", se)
	}
	// The customer-scoped route takes only what is attached to the customer.
	_, err = e.sc.V1Customers.RetrievePaymentMethod(ctx(), "pm_card_visa", &stripe.CustomerRetrievePaymentMethodParams{Customer: stripe.String(cu.ID)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("customer's pm_card_visa: %+v", se)
	}
}
