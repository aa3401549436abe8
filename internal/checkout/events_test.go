package checkout_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/wallet"
)

// The events a platform acts on, with the data it needs to act: each
// outcome's event carries the object's view, so no second request is
// needed. (Payments' own: payment.TestOutcomeEvents.)

// recorded returns the platform's events for objectID, oldest first.
// Every read of events in this file goes through it.
func recorded(t *testing.T, db *store.DB, platformID, objectID string) []*event.Event {
	t.Helper()
	evs, more, err := event.NewStore(db).List(context.Background(), platformID, event.Query{ObjectID: objectID, Page: store.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if more {
		t.Fatalf("more than 100 events of %s", objectID)
	}
	slices.Reverse(evs) // List is newest first
	return evs
}

// theEvent returns the one event of type typ among evs, decoding its data
// into v; it fails unless there is exactly one and its data is the view of
// the event's object.
func theEvent(t *testing.T, evs []*event.Event, typ event.Type, v any) *event.Event {
	t.Helper()
	var found *event.Event
	for _, e := range evs {
		if e.Type != typ {
			continue
		}
		if found != nil {
			t.Fatalf("two %s events of %s", typ, e.ObjectID)
		}
		found = e
	}
	if found == nil {
		var have []event.Type
		for _, e := range evs {
			have = append(have, e.Type)
		}
		t.Fatalf("no %s event among %v", typ, have)
	}
	var id struct{ ID string }
	if err := json.Unmarshal(found.Data, &id); err != nil || id.ID != found.ObjectID {
		t.Fatalf("%s of %s carries %s", typ, found.ObjectID, found.Data)
	}
	if err := json.Unmarshal(found.Data, v); err != nil {
		t.Fatalf("%s data %s: %v", typ, found.Data, err)
	}
	return found
}

// payCheckout pays a checkout link as its page does: Tender's
// PaymentIntent, confirmed at the emulator with the card as Stripe.js
// would, then completed.
func (f *fixture) payCheckout(l checkout.LinkView, ip checkout.IntentParams, token string) {
	f.t.Helper()
	ctx := context.Background()
	link := strings.TrimPrefix(*l.URL, f.Server.URL+checkout.LinkPath)
	ci, err := f.App.Checkout.Intent(ctx, link, ip)
	if err != nil {
		f.t.Fatalf("checkout intent: %v", err)
	}
	params := &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String(token)}
	if ci.Account != "" {
		params.SetStripeAccount(ci.Account)
	}
	piID := ci.ClientSecret[:strings.Index(ci.ClientSecret, "_secret_")]
	if _, err := f.sc.V1PaymentIntents.Confirm(ctx, piID, params); err != nil {
		f.t.Fatalf("confirm %s: %v", piID, err)
	}
	if out, err := f.App.Checkout.Complete(ctx, link); err != nil || out.Status != checkout.StatusPaid {
		f.t.Fatalf("complete: %+v %v", out, err)
	}
}

// TestCheckoutEvents: a paid checkout link records checkout_link.paid
// with its payment, and one that saved the card records the card and the
// consent in the wallet.
func TestCheckoutEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Florist")
		var v payment.View

		var l checkout.LinkView
		f.Post("/v1/checkout_links", map[string]any{"merchant": m.ID, "amount": 2500, "currency": "usd"}, 200, &l)
		f.payCheckout(l, checkout.IntentParams{}, "pm_card_visa")
		var lv checkout.LinkView
		theEvent(t, recorded(t, db, f.PlatformID, l.ID), checkout.EventLinkPaid, &lv)
		if lv.Status != checkout.StatusPaid || lv.Payment == nil || lv.PaidAt == nil || lv.URL != nil {
			t.Fatalf("checkout_link.paid data %+v", lv)
		}
		v = payment.View{}
		theEvent(t, recorded(t, db, f.PlatformID, *lv.Payment), payment.EventPaymentSucceeded, &v)
		if v.Source != payment.SourceCheckout || v.Amount != 2500 {
			t.Errorf("payment.succeeded data of the link's payment %+v", v)
		}

		// A checkout that saves the card: the wallet records it, with the
		// consent the payer gave.
		c := f.customer()
		var saving checkout.LinkView
		f.Post("/v1/checkout_links", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1800, "currency": "usd"}, 200, &saving)
		f.payCheckout(saving, checkout.IntentParams{SaveCard: true,
			Consent: checkout.Consent{Text: "Save my card for Florist.", Version: "1"}}, "pm_card_mastercard")
		pms, err := f.App.Wallet.PaymentMethods(ctx, f.PlatformID, c.ID)
		if err != nil || len(pms) != 1 {
			t.Fatalf("wallet %+v %v", pms, err)
		}
		var pmv wallet.PaymentMethodView
		theEvent(t, recorded(t, db, f.PlatformID, pms[0].ID), wallet.EventCardSaved, &pmv)
		if pmv.Customer != c.ID || pmv.Card.Brand != "mastercard" || pmv.Status != "active" {
			t.Errorf("card.saved data %+v", pmv)
		}
		cs, err := f.App.Wallet.Consents(ctx, f.PlatformID, c.ID)
		if err != nil || len(cs) != 1 {
			t.Fatalf("consents %+v %v", cs, err)
		}
		var cv wallet.ConsentView
		theEvent(t, recorded(t, db, f.PlatformID, cs[0].ID), wallet.EventConsentGranted, &cv)
		if cv.Merchant != m.ID || cv.PaymentMethod != pms[0].ID || cv.Evidence.Text != "Save my card for Florist." || !cv.Active {
			t.Errorf("consent.granted data %+v", cv)
		}
	})
}
