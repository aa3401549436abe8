package payment_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/wallet"
)

type fixture struct {
	*apitest.Env
	t     *testing.T
	clock *apitest.Clock
	sc    *stripe.Client // the platform's key at the emulator
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	return newFixtureWith(t, db, emulator.Options{})
}

func newFixtureWith(t *testing.T, db *store.DB, opts emulator.Options) *fixture {
	t.Helper()
	c := apitest.NewClock(time.Now())
	env := apitest.NewWithEmulator(t, db, app.Config{Now: c.Now}, opts)
	return &fixture{Env: env, t: t, clock: c, sc: env.StripeClient()}
}

func (f *fixture) customer() wallet.CustomerView {
	f.t.Helper()
	var c wallet.CustomerView
	f.Post("/v1/customers", `{"email":"ann@example.com"}`, 200, &c)
	return c
}

// saveCard saves a card as a front end would: a SetupIntent from Tender,
// confirmed at Stripe with a test token (standing in for Stripe.js; a card
// that asks for authentication is authenticated at the emulator), then
// recorded.
func (f *fixture) saveCard(customerID, token string) wallet.PaymentMethodView {
	f.t.Helper()
	var si wallet.SetupIntentView
	f.Post("/v1/customers/"+customerID+"/setup_intents", `{}`, 200, &si)
	f.confirmSetup(si.ID, token)
	var pm wallet.PaymentMethodView
	f.Post("/v1/customers/"+customerID+"/payment_methods", map[string]string{"setup_intent": si.ID}, 200, &pm)
	return pm
}

// confirmSetup confirms a SetupIntent at the emulator with a test token,
// authenticating it if the card asks, as Stripe.js would.
func (f *fixture) confirmSetup(siID, token string) {
	f.t.Helper()
	ctx := context.Background()
	got, err := f.sc.V1SetupIntents.Confirm(ctx, siID, &stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String(token)})
	if err != nil {
		f.t.Fatalf("confirm %s with %s: %v", siID, token, err)
	}
	if got.Status == stripe.SetupIntentStatusRequiresAction {
		resp, err := http.PostForm(f.EmulatorServer.URL+"/_emulator/authenticate/"+siID, url.Values{"outcome": {"complete"}})
		if err != nil || resp.StatusCode != 200 {
			f.t.Fatalf("authenticate %s: %v %v", siID, resp, err)
		}
		resp.Body.Close()
		got, _ = f.sc.V1SetupIntents.Retrieve(ctx, siID, nil)
	}
	if got.Status != stripe.SetupIntentStatusSucceeded {
		f.t.Fatalf("setup intent with %s: %s", token, got.Status)
	}
}

// merchant connects a merchant (see apitest.Env.ConnectedMerchant).
func (f *fixture) merchant(name string) connect.MerchantView {
	f.t.Helper()
	return f.ConnectedMerchant(name)
}

func (f *fixture) unconnectedMerchant(name string) connect.MerchantView {
	f.t.Helper()
	var m connect.MerchantView
	f.Post("/v1/merchants", map[string]string{"name": name}, 200, &m)
	return m
}

// consent records the customer's off-session consent for the merchant on
// their default card.
func (f *fixture) consent(customerID, merchantID string) {
	f.t.Helper()
	f.Post("/v1/customers/"+customerID+"/consents", map[string]any{"merchant": merchantID,
		"evidence": map[string]string{"text": "I allow " + merchantID + " to charge my card.", "text_version": "1"}}, 200, nil)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
