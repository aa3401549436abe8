package stripeevents_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeevents"
)

// confirmOnSession confirms a PaymentIntent that failed off-session
// for authentication with the customer present, as the platform's own
// page would with Stripe.js, so that its bank's challenge can be met.
func (f *fixture) confirmOnSession(piID, chargeType string) {
	f.t.Helper()
	ctx := context.Background()
	acct := ""
	if chargeType == "direct" {
		acct = f.merchantAccount
	}
	pi, err := f.sc.V1PaymentIntents.Retrieve(ctx, piID, stripeapi.OnAccount(&stripe.PaymentIntentRetrieveParams{}, acct))
	if err != nil {
		f.t.Fatal(err)
	}
	pm := ""
	if pi.PaymentMethod != nil {
		pm = pi.PaymentMethod.ID
	} else if pi.LastPaymentError != nil && pi.LastPaymentError.PaymentMethod != nil {
		pm = pi.LastPaymentError.PaymentMethod.ID
	}
	params := stripeapi.OnAccount(&stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String(pm)}, acct)
	if pi, err = f.sc.V1PaymentIntents.Confirm(ctx, piID, params); err != nil || pi.Status != stripe.PaymentIntentStatusRequiresAction {
		f.t.Fatalf("confirm %s on session: %v %v", piID, pi, err)
	}
}

func (f *fixture) payment(id string) payment.View {
	f.t.Helper()
	var p payment.View
	r := f.Do("GET", "/v1/payments/"+id, nil)
	r.Decode(f.t, &p)
	return p
}

// eventsOf counts Tender's events of a type about an object.
func (f *fixture) eventsOf(typ event.Type, objectID string) int {
	f.t.Helper()
	evs, _, err := f.App.Events.List(context.Background(), f.PlatformID, event.Query{Type: string(typ), ObjectID: objectID,
		Page: store.Page{Limit: 100}})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(evs)
}

// inboxOf returns the inbox's events of a type about a Stripe object.
func (f *fixture) inboxOf(typ, objectID string) []stripeevents.View {
	var out []stripeevents.View
	q := ""
	if typ != "" {
		q = "&type=" + typ
	}
	for _, e := range f.inbox(q) {
		if e.ObjectID != nil && *e.ObjectID == objectID {
			out = append(out, e)
		}
	}
	return out
}

// TestAccountEventsMoveMerchants: a connected account's account.updated,
// delivered by the emulator to the Connect endpoint, is applied to its
// merchant by reading the account again.
func TestAccountEventsMoveMerchants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.ConnectedMerchant("Florist")
		acct := *m.Connection.AccountID
		f.waitFor("account.updated applied", func() bool {
			for _, e := range f.inbox("&type=account.updated&account=" + acct) {
				if e.State == stripeevents.StateApplied && e.Outcome != nil && strings.Contains(*e.Outcome, string(connect.StatusEnabled)) {
					return true
				}
			}
			return false
		})
		for _, e := range f.inbox("&account=" + acct) {
			if e.Source != "webhook" || e.Account == nil || *e.Account != acct {
				t.Errorf("event %+v", e)
			}
		}
	})
}

// TestPaymentAuthenticatedElsewhere: an off-session payment whose bank
// asked for authentication succeeds when the customer authenticates at
// Stripe, with no call from Tender's pages: payment_intent.succeeded is
// applied by reading the PaymentIntent. The older requires_action event
// applied again afterwards (out of order) and a duplicate change nothing.
func TestPaymentAuthenticatedElsewhere(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.ConnectedMerchant("Florist")
		f.merchantAccount = *m.Connection.AccountID
		for _, ct := range []string{"direct", "destination"} {
			c := f.Customer("ann@example.com")
			f.SaveCard(c, "pm_card_authenticationRequired")
			f.Consent(c, m.ID)
			var p payment.View
			f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c, "amount": 1500, "currency": "usd",
				"off_session": true, "charge_type": ct}, 200, &p)
			f.waitFor(ct+" payment to need authentication", func() bool { return f.payment(p.ID).Status == payment.StatusRequiresAction })
			pi := *f.payment(p.ID).StripePaymentIntent
			f.confirmOnSession(pi, ct)
			f.Authenticate(pi, "complete")
			f.waitFor(ct+" payment to succeed", func() bool { return f.payment(p.ID).Status == payment.StatusSucceeded })
			// Whichever of the PaymentIntent's events is applied first reads
			// it succeeded; every one is applied.
			f.waitFor(ct+" events applied", func() bool {
				for _, e := range f.inboxOf("", pi) {
					if e.State != stripeevents.StateApplied {
						return false
					}
				}
				return true
			})
			succeeded := f.inboxOf("payment_intent.succeeded", pi)
			if len(succeeded) != 1 || !strings.Contains(*succeeded[0].Outcome, p.ID+" is succeeded") {
				t.Fatalf("%s: payment_intent.succeeded in the inbox: %+v", ct, succeeded)
			}
			wantAccount := ct == "direct"
			if (succeeded[0].Account != nil) != wantAccount {
				t.Errorf("%s: the event's account %v", ct, succeeded[0].Account)
			}
			if n := f.eventsOf(payment.EventPaymentSucceeded, p.ID); n != 1 {
				t.Errorf("%s: %d payment.succeeded events", ct, n)
			}

			// Late: the requires_action event, applied again after the
			// success, reads the PaymentIntent and changes nothing.
			late := f.inboxOf("payment_intent.requires_action", pi)
			if len(late) == 0 {
				t.Fatalf("%s: no requires_action event", ct)
			}
			first := late[len(late)-1] // newest first
			f.Post("/v1/stripe_events/"+first.ID+"/replay", nil, 200, nil)
			f.waitFor("the replay", func() bool {
				var e stripeevents.View
				f.Do("GET", "/v1/stripe_events/"+first.ID, nil).Decode(t, &e)
				return e.State == stripeevents.StateApplied
			})
			if got := f.payment(p.ID); got.Status != payment.StatusSucceeded || f.eventsOf(payment.EventPaymentSucceeded, p.ID) != 1 {
				t.Errorf("%s: after the late event: %s", ct, got.Status)
			}
		}
	})
}

// TestDeauthorizedAtStripe: a Standard merchant's account disconnected
// from the platform at Stripe, with no call from Tender, makes the merchant
// deauthorized once account.application.deauthorized is applied; its
// replay changes nothing.
func TestDeauthorizedAtStripe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.StandardMerchant("Bakery")
		acct := *m.Connection.AccountID
		resp, err := http.PostForm(f.EmulatorServer.URL+"/oauth/deauthorize", url.Values{"client_id": {emulator.DefaultClientID},
			"stripe_user_id": {acct}, "client_secret": {emulator.DefaultSecretKey}})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("deauthorize at the emulator: %v %v", resp, err)
		}
		resp.Body.Close()
		merchant := func() connect.MerchantView {
			var got connect.MerchantView
			f.Do("GET", "/v1/merchants/"+m.ID, nil).Decode(t, &got)
			return got
		}
		f.waitFor("the merchant deauthorized", func() bool { return merchant().Connection.Status == connect.StatusDeauthorized })
		evs := f.inbox("&type=account.application.deauthorized")
		if len(evs) != 1 || evs[0].State != stripeevents.StateApplied {
			t.Fatalf("inbox %+v", evs)
		}
		f.Post("/v1/stripe_events/"+evs[0].ID+"/replay", nil, 200, nil)
		f.waitFor("the replay", func() bool {
			return f.inbox("&type=account.application.deauthorized")[0].State == stripeevents.StateApplied
		})
		if got := merchant(); got.Connection.Status != connect.StatusDeauthorized || f.eventsOf("merchant.deauthorized", m.ID) != 1 {
			t.Errorf("after the replay: %s, %d merchant.deauthorized", got.Connection.Status, f.eventsOf("merchant.deauthorized", m.ID))
		}
	})
}
