package apitest

import (
	"context"
	"net/http"
	"net/url"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/wallet"
)

// Customer creates a customer and returns its id.
func (e *Env) Customer(email string) string {
	e.tb.Helper()
	var c wallet.CustomerView
	e.Post("/v1/customers", map[string]string{"email": email}, 200, &c)
	return c.ID
}

// SaveCard saves a card as a front end would: a SetupIntent from Tender,
// confirmed at the emulator with a test token (standing in for Stripe.js;
// a card that asks for authentication is authenticated there), then
// recorded. It returns the card's id in the wallet.
func (e *Env) SaveCard(customerID, token string) string {
	e.tb.Helper()
	var si wallet.SetupIntentView
	e.Post("/v1/customers/"+customerID+"/setup_intents", `{}`, 200, &si)
	ctx, sc := context.Background(), e.StripeClient()
	got, err := sc.V1SetupIntents.Confirm(ctx, si.ID, &stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String(token)})
	if err != nil {
		e.tb.Fatalf("confirm %s with %s: %v", si.ID, token, err)
	}
	if got.Status == stripe.SetupIntentStatusRequiresAction {
		e.Authenticate(si.ID, "complete")
	}
	var pm wallet.PaymentMethodView
	e.Post("/v1/customers/"+customerID+"/payment_methods", map[string]string{"setup_intent": si.ID}, 200, &pm)
	return pm.ID
}

// Authenticate completes (outcome "complete") or fails ("fail") the 3-D
// Secure challenge of an intent at the emulator, as the customer would.
func (e *Env) Authenticate(intentID, outcome string) {
	e.tb.Helper()
	resp, err := http.PostForm(e.EmulatorServer.URL+"/_emulator/authenticate/"+intentID, url.Values{"outcome": {outcome}})
	if err != nil || resp.StatusCode != 200 {
		e.tb.Fatalf("authenticate %s: %v %v", intentID, resp, err)
	}
	resp.Body.Close()
}

// Consent records the customer's off-session consent for the merchant on
// their default card.
func (e *Env) Consent(customerID, merchantID string) {
	e.tb.Helper()
	e.Post("/v1/customers/"+customerID+"/consents", map[string]any{"merchant": merchantID,
		"evidence": map[string]string{"text": "I allow " + merchantID + " to charge my card.", "text_version": "1"}}, 200, nil)
}
