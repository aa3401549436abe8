package wallet_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/wallet"
)

type fixture struct {
	*apitest.Env
	t     *testing.T
	clock *apitest.Clock
	sc    *stripe.Client // the platform's key at the emulator
}

func newFixture(t *testing.T, db *store.DB, opts ...apitest.EnvOption) *fixture {
	t.Helper()
	c := apitest.NewClock(time.Now())
	env := apitest.NewWithEmulator(t, db, app.Config{Now: c.Now}, emulator.Options{}, opts...)
	return &fixture{Env: env, t: t, clock: c, sc: env.StripeClient()}
}

func (f *fixture) customer(body string) wallet.CustomerView {
	f.t.Helper()
	var c wallet.CustomerView
	f.Post("/v1/customers", body, 200, &c)
	return c
}

// saveCard saves a card for the customer as a front end would: a
// SetupIntent from Tender, confirmed with the card at Stripe (here with a
// test token, standing in for Stripe.js), then recorded.
func (f *fixture) saveCard(customerID, token string) wallet.PaymentMethodView {
	f.t.Helper()
	seti := f.confirmedSetup(customerID, token)
	var pm wallet.PaymentMethodView
	f.Post("/v1/customers/"+customerID+"/payment_methods", map[string]string{"setup_intent": seti}, 200, &pm)
	return pm
}

func (f *fixture) confirmedSetup(customerID, token string) string {
	f.t.Helper()
	var si wallet.SetupIntentView
	f.Post("/v1/customers/"+customerID+"/setup_intents", `{}`, 200, &si)
	if si.Usage != "off_session" || si.PublishableKey != emulator.DefaultPublishableKey || !strings.Contains(si.ClientSecret, "_secret_") {
		f.t.Fatalf("setup intent %+v", si)
	}
	got, err := f.sc.V1SetupIntents.Confirm(context.Background(), si.ID, &stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String(token)})
	if err != nil || got.Status != stripe.SetupIntentStatusSucceeded {
		f.t.Fatalf("confirm %s with %s: %v %v", si.ID, token, got, err)
	}
	return si.ID
}

// merchant connects a merchant (see apitest.Env.ConnectedMerchant).
func (f *fixture) merchant(name string) connect.MerchantView {
	f.t.Helper()
	return f.ConnectedMerchant(name)
}

// TestCustomersAPI: customers are created with their Stripe Customer,
// updated in both places, listed, archived (the Stripe Customer deleted),
// and erased after the retention period; bad input names its field and
// another platform sees nothing.
func TestCustomersAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.customer(`{"external_id":"shopper-1","email":"ann@example.com","name":"Ann","metadata":{"tier":"gold"}}`)
		if c.StripeCustomer == nil || !strings.HasPrefix(*c.StripeCustomer, "cus_") {
			t.Fatalf("created %+v", c)
		}
		sc, err := f.sc.V1Customers.Retrieve(ctx, *c.StripeCustomer, nil)
		if err != nil || sc.Email != "ann@example.com" || sc.Metadata["tender_customer"] != c.ID {
			t.Fatalf("Stripe customer %+v %v", sc, err)
		}
		for _, tt := range []struct{ body, param string }{
			{`{"email":"nope"}`, "email"},
			{`{"metadata":{"a[b]":"x"}}`, "metadata"},
			{`{"colour":"red"}`, "colour"},
		} {
			if r := f.Do("POST", "/v1/customers", tt.body); r.Status != 400 || r.Err().Param != tt.param {
				t.Errorf("create %s: %d %s", tt.body, r.Status, r.Body)
			}
		}
		if r := f.Do("POST", "/v1/customers", `{"external_id":"shopper-1"}`); r.Status != 409 || r.Err().Param != "external_id" {
			t.Errorf("duplicate external_id: %d %s", r.Status, r.Body)
		}
		var up wallet.CustomerView
		f.Post("/v1/customers/"+c.ID, `{"email":"ann@new.example","metadata":{"tier":null}}`, 200, &up)
		if sc, _ := f.sc.V1Customers.Retrieve(ctx, *c.StripeCustomer, nil); sc.Email != "ann@new.example" || len(up.Metadata) != 0 {
			t.Errorf("update did not reach Stripe or metadata: %+v %+v", sc, up)
		}

		other, _ := f.App.Platforms.Create(ctx, "Other platform")
		_, otherKey, _ := f.App.Platforms.CreateKey(ctx, other.ID, "test", "k")
		if r := f.Do("GET", "/v1/customers/"+c.ID, nil, apitest.WithKey(otherKey)); r.Status != 404 {
			t.Errorf("another platform's key read the customer: %d %s", r.Status, r.Body)
		}
		if r := f.Do("POST", "/v1/customers/"+c.ID+"/setup_intents", `{}`, apitest.WithKey(otherKey)); r.Status != 404 {
			t.Errorf("another platform's key opened a SetupIntent: %d %s", r.Status, r.Body)
		}

		f.saveCard(c.ID, "pm_card_visa")
		var archived wallet.CustomerView
		f.Post("/v1/customers/"+c.ID+"/archive", nil, 200, &archived)
		if !archived.Archived || archived.DefaultPaymentMethod != nil {
			t.Fatalf("archived %+v", archived)
		}
		if sc, err := f.sc.V1Customers.Retrieve(ctx, *c.StripeCustomer, nil); err == nil && !sc.Deleted {
			t.Errorf("Stripe customer still there after archiving: %+v", sc)
		}
		if r := f.Do("POST", "/v1/customers/"+c.ID+"/setup_intents", `{}`); r.Status != 409 {
			t.Errorf("setup intent for an archived customer: %d %s", r.Status, r.Body)
		}
		var list struct{ Data []wallet.CustomerView }
		f.Do("GET", "/v1/customers?email=ann@new.example", nil).Decode(t, &list)
		if len(list.Data) != 0 {
			t.Errorf("archived customer listed: %+v", list)
		}

		if n, err := f.App.Wallet.EraseExpired(ctx); err != nil || n != 0 {
			t.Fatalf("erase before the retention period: %d %v", n, err)
		}
		f.clock.Advance(wallet.DefaultRetention + time.Minute)
		if n, err := f.App.Wallet.EraseExpired(ctx); err != nil || n != 1 {
			t.Fatalf("erase after the retention period: %d %v", n, err)
		}
		var erased wallet.CustomerView
		f.Do("GET", "/v1/customers/"+c.ID, nil).Decode(t, &erased)
		if erased.StripeCustomer != nil {
			t.Errorf("Stripe id kept after erasure: %+v", erased)
		}
		var leftover int
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM payment_methods WHERE stripe_payment_method_id LIKE 'pm_%'`).Scan(&leftover)
		if leftover != 0 {
			t.Errorf("%d card ids kept after erasure", leftover)
		}
	})
}

// TestSavingCards: a succeeded SetupIntent is recorded once, the same card
// saved twice is merged, the first card is the default, and removing a
// card detaches it at Stripe and moves the default.
func TestSavingCards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.customer(`{"email":"bo@example.com"}`)
		seti := f.confirmedSetup(c.ID, "pm_card_visa")
		var visa wallet.PaymentMethodView
		f.Post("/v1/customers/"+c.ID+"/payment_methods", map[string]string{"setup_intent": seti}, 200, &visa)
		if visa.Card.Brand != "visa" || visa.Card.Last4 != "4242" || visa.Card.Fingerprint == "" || visa.Status != "active" {
			t.Fatalf("recorded %+v", visa)
		}
		var again wallet.PaymentMethodView
		f.Post("/v1/customers/"+c.ID+"/payment_methods", map[string]string{"setup_intent": seti}, 200, &again)
		if again.ID != visa.ID {
			t.Errorf("the same SetupIntent recorded twice: %s and %s", visa.ID, again.ID)
		}
		dup := f.saveCard(c.ID, "pm_card_visa")
		if dup.ID != visa.ID {
			t.Errorf("the same card saved again made %s, want it merged into %s", dup.ID, visa.ID)
		}
		mc := f.saveCard(c.ID, "pm_card_mastercard")
		var list struct{ Data []wallet.PaymentMethodView }
		f.Do("GET", "/v1/customers/"+c.ID+"/payment_methods", nil).Decode(t, &list)
		if len(list.Data) != 2 {
			t.Fatalf("cards %+v; want visa and mastercard", list.Data)
		}
		n := 0
		for _, err := range f.sc.V1PaymentMethods.List(ctx, &stripe.PaymentMethodListParams{Customer: stripe.String(*c.StripeCustomer)}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 2 {
			t.Errorf("%d cards at Stripe, want 2 (the duplicate detached there too)", n)
		}

		var cu wallet.CustomerView
		f.Do("GET", "/v1/customers/"+c.ID, nil).Decode(t, &cu)
		if cu.DefaultPaymentMethod == nil || *cu.DefaultPaymentMethod != visa.ID {
			t.Fatalf("default %v, want the first card", cu.DefaultPaymentMethod)
		}
		f.Post("/v1/customers/"+c.ID+"/payment_methods/"+mc.ID+"/default", nil, 200, &cu)
		if *cu.DefaultPaymentMethod != mc.ID {
			t.Fatalf("default after setting %v", cu.DefaultPaymentMethod)
		}
		var detached wallet.PaymentMethodView
		f.Post("/v1/customers/"+c.ID+"/payment_methods/"+mc.ID+"/detach", nil, 200, &detached)
		if detached.Status != "detached" || detached.DetachedAt == nil {
			t.Fatalf("detached %+v", detached)
		}
		if spm, err := f.sc.V1PaymentMethods.Retrieve(ctx, mc.StripePaymentMethod, nil); err != nil || spm.Customer != nil {
			t.Errorf("card still attached at Stripe: %+v %v", spm, err)
		}
		f.Do("GET", "/v1/customers/"+c.ID, nil).Decode(t, &cu)
		if cu.DefaultPaymentMethod == nil || *cu.DefaultPaymentMethod != visa.ID {
			t.Errorf("default after removing it: %v, want the other card", cu.DefaultPaymentMethod)
		}
		if r := f.Do("POST", "/v1/customers/"+c.ID+"/payment_methods/"+mc.ID+"/default", nil); r.Status != 409 {
			t.Errorf("a removed card made default: %d %s", r.Status, r.Body)
		}
		f.Post("/v1/customers/"+c.ID+"/payment_methods/"+mc.ID+"/detach", nil, 200, nil) // twice: harmless

		// Unhappy SetupIntents: another customer's, one not succeeded, none.
		other := f.customer(`{}`)
		if r := f.Do("POST", "/v1/customers/"+other.ID+"/payment_methods", map[string]string{"setup_intent": seti}); r.Status != 400 || r.Err().Param != "setup_intent" {
			t.Errorf("another customer's SetupIntent: %d %s", r.Status, r.Body)
		}
		var open wallet.SetupIntentView
		f.Post("/v1/customers/"+c.ID+"/setup_intents", `{"usage":"on_session"}`, 200, &open)
		if r := f.Do("POST", "/v1/customers/"+c.ID+"/payment_methods", map[string]string{"setup_intent": open.ID}); r.Status != 400 || r.Err().Code != "setup_intent_unexpected_state" {
			t.Errorf("unconfirmed SetupIntent: %d %s", r.Status, r.Body)
		}
		if r := f.Do("POST", "/v1/customers/"+c.ID+"/payment_methods", map[string]string{"setup_intent": "seti_nope"}); r.Status != 400 {
			t.Errorf("unknown SetupIntent: %d %s", r.Status, r.Body)
		}
		if r := f.Do("POST", "/v1/customers/"+c.ID+"/setup_intents", `{"usage":"sometimes"}`); r.Status != 400 || r.Err().Param != "usage" {
			t.Errorf("bad usage: %d %s", r.Status, r.Body)
		}
	})
}

// TestConsents: granted with evidence, superseded, revoked; a card's
// removal revokes the consents given for it.
func TestConsents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.customer(`{}`)
		card := f.saveCard(c.ID, "pm_card_visa")
		m := f.merchant("Dairy")
		evidence := map[string]string{"text": "I allow Dairy to charge my card for my weekly box.", "text_version": "2026-11", "ip_address": "203.0.113.9", "user_agent": "Mozilla/5.0"}
		for _, tt := range []struct {
			body  map[string]any
			param string
		}{
			{map[string]any{"evidence": evidence}, "merchant"},
			{map[string]any{"merchant": "mer_nope", "evidence": evidence}, "merchant"},
			{map[string]any{"merchant": m.ID}, "evidence[text]"},
			{map[string]any{"merchant": m.ID, "evidence": map[string]string{"text": "x"}}, "evidence[text_version]"},
			{map[string]any{"merchant": m.ID, "evidence": map[string]string{"text": "x", "text_version": "1", "ip_address": "local"}}, "evidence[ip_address]"},
			{map[string]any{"merchant": m.ID, "scope": "on_session", "evidence": evidence}, "scope"},
			{map[string]any{"merchant": m.ID, "payment_method": "pmt_nope", "evidence": evidence}, "payment_method"},
		} {
			if r := f.Do("POST", "/v1/customers/"+c.ID+"/consents", tt.body); r.Status != 400 || r.Err().Param != tt.param {
				t.Errorf("%v: %d %s; want 400 naming %s", tt.body, r.Status, r.Body, tt.param)
			}
		}
		if _, err := f.App.Wallet.ActiveConsent(ctx, f.PlatformID, c.ID, m.ID, card.ID); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("consent before any was given: %v", err)
		}

		var byDefault, forCard wallet.ConsentView
		f.Post("/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": m.ID, "evidence": evidence}, 200, &byDefault)
		if byDefault.PaymentMethod != "default" || !byDefault.Active || byDefault.Evidence.IPAddress != "203.0.113.9" {
			t.Fatalf("consent %+v", byDefault)
		}
		if got, err := f.App.Wallet.ActiveConsent(ctx, f.PlatformID, c.ID, m.ID, card.ID); err != nil || got.ID != byDefault.ID {
			t.Fatalf("the default card's consent: %+v %v", got, err)
		}
		f.Post("/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": m.ID, "payment_method": card.ID, "evidence": evidence}, 200, &forCard)
		var again wallet.ConsentView
		f.Post("/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": m.ID, "payment_method": card.ID, "evidence": evidence}, 200, &again)
		var list struct{ Data []wallet.ConsentView }
		f.Do("GET", "/v1/customers/"+c.ID+"/consents", nil).Decode(t, &list)
		active := 0
		for _, cn := range list.Data {
			if cn.Active {
				active++
			}
			if cn.ID == forCard.ID && (cn.Active || *cn.RevokedReason != "superseded") {
				t.Errorf("a consent given again did not supersede the first: %+v", cn)
			}
		}
		if active != 2 {
			t.Errorf("%d active consents, want 2 (default and card)", active)
		}

		var revoked wallet.ConsentView
		r := f.Do("DELETE", "/v1/customers/"+c.ID+"/consents/"+byDefault.ID, nil)
		r.Decode(t, &revoked)
		if r.Status != 200 || revoked.Active || *revoked.RevokedReason != "customer_revoked" {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		f.Post("/v1/customers/"+c.ID+"/payment_methods/"+card.ID+"/detach", nil, 200, nil)
		f.Do("GET", "/v1/customers/"+c.ID+"/consents", nil).Decode(t, &list)
		for _, cn := range list.Data {
			if cn.Active {
				t.Errorf("consent %s still active after its card was removed", cn.ID)
			}
		}
		if r := f.Do("DELETE", "/v1/customers/"+c.ID+"/consents/cns_nope", nil); r.Status != 404 {
			t.Errorf("unknown consent: %d %s", r.Status, r.Body)
		}
	})
}

// TestCloneRegistry: the first CloneFor copies the card onto the merchant's
// account; the second makes no Stripe request; removing the card, revoking
// the consent and losing the merchant each drop the clone.
func TestCloneRegistry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.customer(`{"email":"cy@example.com"}`)
		card := f.saveCard(c.ID, "pm_card_visa")
		second := f.saveCard(c.ID, "pm_card_mastercard")
		m := f.merchant("Butcher")
		acct := *m.Connection.AccountID

		clone, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, card.ID, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		onAcct := &stripe.PaymentMethodRetrieveParams{}
		onAcct.SetStripeAccount(acct)
		cpm, err := f.sc.V1PaymentMethods.Retrieve(ctx, clone.ConnectedPaymentMethodID, onAcct)
		if err != nil || cpm.Customer == nil || cpm.Customer.ID != clone.ConnectedCustomerID || cpm.Card.Last4 != "4242" || clone.AccountID != acct {
			t.Fatalf("clone %+v at Stripe: %+v %v", clone, cpm, err)
		}

		before := f.EmulatorRequests.Load()
		again, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, card.ID, m.ID)
		if err != nil || again.ConnectedPaymentMethodID != clone.ConnectedPaymentMethodID {
			t.Fatalf("second CloneFor: %+v %v", again, err)
		}
		if n := f.EmulatorRequests.Load() - before; n != 0 {
			t.Errorf("the second CloneFor made %d Stripe requests, want none", n)
		}
		other, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, second.ID, m.ID)
		if err != nil || other.ConnectedCustomerID != clone.ConnectedCustomerID {
			t.Errorf("the customer's second card should share the connected customer: %+v %v", other, err)
		}

		// Saving the same card again (a renewed card) updates the card on
		// file and drops its clones, which copy the old card; the next
		// CloneFor copies the new one.
		renewed := f.saveCard(c.ID, "pm_card_visa")
		if renewed.ID != card.ID || renewed.StripePaymentMethod == card.StripePaymentMethod {
			t.Fatalf("renewed card %+v, want %s with a new Stripe copy", renewed, card.ID)
		}
		if cl, _ := f.App.Wallet.Clones(ctx, f.PlatformID, card.ID); len(cl) != 0 {
			t.Errorf("clones of the old copy kept after the card was updated: %+v", cl)
		}
		if cpm, err := f.sc.V1PaymentMethods.Retrieve(ctx, clone.ConnectedPaymentMethodID, onAcct); err != nil || cpm.Customer != nil {
			t.Errorf("the old clone is still attached on the merchant's account: %+v %v", cpm, err)
		}
		if clone, err = f.App.Wallet.CloneFor(ctx, f.PlatformID, card.ID, m.ID); err != nil {
			t.Fatal(err)
		}

		// Removing the card removes its clone at the merchant.
		f.Post("/v1/customers/"+c.ID+"/payment_methods/"+card.ID+"/detach", nil, 200, nil)
		if cpm, err := f.sc.V1PaymentMethods.Retrieve(ctx, clone.ConnectedPaymentMethodID, onAcct); err != nil || cpm.Customer != nil {
			t.Errorf("clone still attached on the merchant's account: %+v %v", cpm, err)
		}
		if cl, _ := f.App.Wallet.Clones(ctx, f.PlatformID, card.ID); len(cl) != 0 {
			t.Errorf("clones left in the registry: %+v", cl)
		}
		if _, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, card.ID, m.ID); errs.CodeOf(err) != errs.Conflict {
			t.Errorf("clone of a removed card: %v", err)
		}

		// Revoking the merchant's consent drops its clones of the customer's cards.
		var consent wallet.ConsentView
		f.Post("/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": m.ID, "evidence": map[string]string{"text": "ok", "text_version": "1"}}, 200, &consent)
		f.Do("DELETE", "/v1/customers/"+c.ID+"/consents/"+consent.ID, nil)
		if cl, _ := f.App.Wallet.Clones(ctx, f.PlatformID, second.ID); len(cl) != 0 {
			t.Errorf("clones left after the consent was revoked: %+v", cl)
		}

		// A merchant that loses its account loses the clones on it.
		if _, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, second.ID, m.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.App.Connect.HandleAccountDeauthorized(ctx, f.PlatformID, acct); err != nil {
			t.Fatal(err)
		}
		if cl, _ := f.App.Wallet.Clones(ctx, f.PlatformID, second.ID); len(cl) != 0 {
			t.Errorf("clones left after the merchant was deauthorized: %+v", cl)
		}
		if _, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, second.ID, m.ID); errs.CodeOf(err) != errs.Conflict {
			t.Errorf("clone for a deauthorized merchant: %v", err)
		}
	})
}

// TestCloneAfterStripeFailure: Stripe keeps a 5xx answer under its
// idempotency key for a day; a clone that failed so is made with a fresh
// key the next time, not blocked for 24 hours.
func TestCloneAfterStripeFailure(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	ctx := context.Background()
	c := f.customer(`{}`)
	card := f.saveCard(c.ID, "pm_card_visa")
	m := f.merchant("Baker")

	f.Emulator.SetFaults(emulator.Faults{ErrorRate: 1})
	if _, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, card.ID, m.ID); err == nil {
		t.Fatal("CloneFor succeeded while Stripe failed every request")
	}
	f.Emulator.SetFaults(emulator.Faults{})
	clone, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, card.ID, m.ID)
	if err != nil {
		t.Fatalf("CloneFor once Stripe recovered: %v", err)
	}
	if clone.ConnectedPaymentMethodID == "" {
		t.Fatalf("clone %+v", clone)
	}
}

// TestCloneAfterConsentRenewed: a consent withdrawn takes the card's
// clone off the merchant's account; granted again, the card is cloned
// afresh (a new clone, attached there), never the detached one that the
// operation saved or that Stripe would replay under the first key.
func TestCloneAfterConsentRenewed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.customer(`{}`)
		card := f.saveCard(c.ID, "pm_card_visa")
		m := f.merchant("Cartwright")
		consent := func() *wallet.Consent {
			t.Helper()
			k, err := f.App.Wallet.GrantConsent(ctx, f.PlatformID, c.ID, wallet.ConsentParams{Merchant: m.ID, PaymentMethod: card.ID,
				Evidence: wallet.Evidence{Text: "I allow Cartwright to charge my card.", TextVersion: "v1", IPAddress: "192.0.2.1"}})
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		k := consent()
		first, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, card.ID, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.Wallet.RevokeConsent(ctx, f.PlatformID, c.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		consent()
		second, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, card.ID, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if second.ConnectedPaymentMethodID == first.ConnectedPaymentMethodID {
			t.Fatalf("the card was given its detached clone %s again", first.ConnectedPaymentMethodID)
		}
		params := &stripe.PaymentMethodRetrieveParams{}
		params.SetStripeAccount(*m.Connection.AccountID)
		pm, err := f.sc.V1PaymentMethods.Retrieve(ctx, second.ConnectedPaymentMethodID, params)
		if err != nil || pm.Customer == nil || pm.Customer.ID != second.ConnectedCustomerID {
			t.Fatalf("the new clone %+v (%v) is not attached to %s", pm, err, second.ConnectedCustomerID)
		}
	})
}
