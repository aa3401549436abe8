package payment_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// The events a platform acts on, with the data it needs to act: each
// outcome's event carries the object's view, so no second request is
// needed.

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

// TestOutcomeEvents: a succeeded, a declined and an authentication-bound
// payment each record their outcome with what the platform acts on (the
// decline; the authentication link to send the customer); a refund
// records its creation and its success; merchants record
// merchant.connected and merchant.deauthorized. (Checkout links' events:
// checkout.TestCheckoutEvents.)
func TestOutcomeEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Florist")
		acct := *m.Connection.AccountID
		var mv connect.MerchantView
		theEvent(t, recorded(t, db, f.PlatformID, m.ID), connect.EventMerchantConnected, &mv)
		if mv.Connection.AccountID == nil || *mv.Connection.AccountID != acct || mv.Connection.ConnectedAt == nil {
			t.Errorf("merchant.connected data %+v", mv.Connection)
		}

		charge := func(token string) payment.View {
			t.Helper()
			c := f.customer()
			f.saveCard(c.ID, token)
			f.consent(c.ID, m.ID)
			var p payment.View
			f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1200, "currency": "usd", "off_session": true}, 200, &p)
			if err := f.process(p.ID); err != nil {
				t.Fatal(err)
			}
			return p
		}

		ok := charge("pm_card_visa")
		var v payment.View
		theEvent(t, recorded(t, db, f.PlatformID, ok.ID), payment.EventPaymentSucceeded, &v)
		if v.Status != payment.StatusSucceeded || v.AmountCaptured != 1200 || v.StripePaymentIntent == nil || v.Failure != nil {
			t.Errorf("payment.succeeded data %+v", v)
		}

		declined := charge("pm_card_chargeCustomerFail")
		evs := recorded(t, db, f.PlatformID, declined.ID)
		v = payment.View{}
		theEvent(t, evs, payment.EventPaymentFailed, &v)
		if v.Status != payment.StatusFailed || v.Failure == nil || v.Failure.Code != "card_declined" || v.Failure.DeclineCode == nil ||
			*v.Failure.DeclineCode != "generic_decline" || v.Failure.Message == "" {
			t.Errorf("payment.failed data %+v", v)
		}
		for _, e := range evs {
			if e.Type == payment.EventPaymentSucceeded {
				t.Error("a declined payment recorded payment.succeeded")
			}
		}

		held := charge("pm_card_authenticationRequired")
		v = payment.View{}
		theEvent(t, recorded(t, db, f.PlatformID, held.ID), payment.EventPaymentRequiresAction, &v)
		if v.Status != payment.StatusRequiresAction || v.NextAction == nil || v.NextAction.Type != "authenticate" ||
			!strings.HasPrefix(v.NextAction.URL, f.Server.URL+checkout.AuthenticatePath) || !v.NextAction.ExpiresAt.After(f.clock.Now()) {
			t.Fatalf("payment.requires_action data %+v, next_action %+v", v, v.NextAction)
		}
		if got := f.payment(held.ID); got.NextAction == nil || got.NextAction.URL != v.NextAction.URL {
			t.Errorf("the API shows next_action %+v, the event %+v", got.NextAction, v.NextAction)
		}

		r := f.refund(ok.ID, `{"amount":500}`)
		evs = recorded(t, db, f.PlatformID, r.ID)
		var created, succeeded payment.RefundView
		theEvent(t, evs, payment.EventRefundCreated, &created)
		theEvent(t, evs, payment.EventRefundSucceeded, &succeeded)
		if created.Payment != ok.ID || created.Amount != 500 || created.Status != payment.RefundPending {
			t.Errorf("refund.created data %+v", created)
		}
		if succeeded.Payment != ok.ID || succeeded.Amount != 500 || succeeded.Status != payment.RefundSucceeded || succeeded.StripeRefund == nil {
			t.Errorf("refund.succeeded data %+v", succeeded)
		}
		if len(evs) != 2 {
			t.Errorf("%d events of the refund, want created and succeeded", len(evs))
		}

		if err := f.App.Connect.HandleAccountDeauthorized(ctx, f.PlatformID, acct); err != nil {
			t.Fatal(err)
		}
		mv = connect.MerchantView{}
		theEvent(t, recorded(t, db, f.PlatformID, m.ID), connect.EventMerchantDeauthorized, &mv)
		if mv.Connection.Status != connect.StatusDeauthorized {
			t.Errorf("merchant.deauthorized data %+v", mv.Connection)
		}
	})
}
