package stripeevents_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeevents"
	"github.com/tenderpay/tender/internal/wallet"
)

func (f *fixture) cards(customerID string) []wallet.PaymentMethodView {
	f.t.Helper()
	var l struct{ Data []wallet.PaymentMethodView }
	f.Do("GET", "/v1/customers/"+customerID+"/payment_methods", nil).Decode(f.t, &l)
	return l.Data
}

func (f *fixture) card(customerID, pmID string) wallet.PaymentMethodView {
	f.t.Helper()
	var pm wallet.PaymentMethodView
	f.Do("GET", "/v1/customers/"+customerID+"/payment_methods/"+pmID, nil).Decode(f.t, &pm)
	return pm
}

func (f *fixture) customer(id string) wallet.CustomerView {
	f.t.Helper()
	var c wallet.CustomerView
	f.Do("GET", "/v1/customers/"+id, nil).Decode(f.t, &c)
	return c
}

// processed waits until the inbox holds an event of typ about objectID
// and every such event is processed, and returns them, newest first.
func (f *fixture) processed(typ, objectID string) []stripeevents.View {
	f.t.Helper()
	var got []stripeevents.View
	f.waitFor(typ+" of "+objectID+" processed", func() bool {
		got = f.inboxOf(typ, objectID)
		for _, e := range got {
			if e.State == stripeevents.StateReceived {
				return false
			}
		}
		return len(got) > 0
	})
	return got
}

// replay replays an event of the inbox and waits until it is processed
// again.
func (f *fixture) replay(e stripeevents.View) stripeevents.View {
	f.t.Helper()
	f.Post("/v1/stripe_events/"+e.ID+"/replay", nil, 200, nil)
	var got stripeevents.View
	f.waitFor("the replay of "+e.ID, func() bool {
		f.Do("GET", "/v1/stripe_events/"+e.ID, nil).Decode(f.t, &got)
		return got.State != stripeevents.StateReceived
	})
	return got
}

// withoutWebhooks runs fn with every webhook delivery of the emulator
// lost, as though Stripe had not sent its events yet.
func (f *fixture) withoutWebhooks(fn func()) {
	f.Emulator.SetFaults(emulator.Faults{Webhooks: emulator.WebhookFaults{DropRate: 1}})
	defer f.Emulator.SetFaults(emulator.Faults{})
	fn()
}

// deliverOwn delivers an event of the platform's own account, signed, as
// Stripe would, about the object obj (whose content Tender must not
// trust), and waits until it is processed.
func (f *fixture) deliverOwn(id, typ string, obj map[string]any) stripeevents.View {
	f.t.Helper()
	b := eventBody(id, typ, "", false, obj)
	if r := f.deliver(stripeevents.ScopeAccount, b, sign(b, f.secrets(stripeevents.ScopeAccount)[0], f.clock.Now())); r.Status != 200 {
		f.t.Fatalf("deliver %s: %d %s", id, r.Status, r.Body)
	}
	var got stripeevents.View
	f.waitFor(id+" processed", func() bool {
		for _, e := range f.inbox("&type=" + typ) {
			if e.StripeID == id && e.State != stripeevents.StateReceived {
				got = e
				return true
			}
		}
		return false
	})
	return got
}

// TestCardDetachedAtStripe: a card detached at Stripe without Tender (the
// platform's Dashboard) leaves the wallet as Tender's own removal does:
// card.removed, the consent given for it withdrawn, its clone detached on
// the merchant's account, the default moved to the other card. Replayed,
// its event changes nothing. A detached event read after the card was
// attached again, and one of a card not in the wallet, change nothing.
func TestCardDetachedAtStripe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.ConnectedMerchant("Florist")
		acct := *m.Connection.AccountID
		c := f.Customer("ann@example.com")
		first := f.SaveCard(c, "pm_card_visa")
		second := f.SaveCard(c, "pm_card_mastercard")
		var consent wallet.ConsentView
		f.Post("/v1/customers/"+c+"/consents", map[string]any{"merchant": m.ID, "payment_method": first,
			"evidence": map[string]string{"text": "I allow the Florist to charge my Visa.", "text_version": "1"}}, 200, &consent)
		clone, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, first, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.customer(c).DefaultPaymentMethod; got == nil || *got != first {
			t.Fatalf("default %v, want %s", got, first)
		}

		stripePM := f.card(c, first).StripePaymentMethod
		if _, err := f.sc.V1PaymentMethods.Detach(ctx, stripePM, nil); err != nil {
			t.Fatal(err)
		}
		f.waitFor("the card removed", func() bool { return len(f.cards(c)) == 1 })
		if got := f.cards(c); got[0].ID != second {
			t.Fatalf("cards left %+v", got)
		}
		removed := f.card(c, first)
		if removed.Status != "detached" || removed.DetachedAt == nil || f.eventsOf(wallet.EventCardRemoved, first) != 1 {
			t.Errorf("card %+v, %d card.removed", removed, f.eventsOf(wallet.EventCardRemoved, first))
		}
		var consents struct{ Data []wallet.ConsentView }
		f.Do("GET", "/v1/customers/"+c+"/consents", nil).Decode(t, &consents)
		if len(consents.Data) != 1 || consents.Data[0].Active || consents.Data[0].RevokedReason == nil ||
			*consents.Data[0].RevokedReason != "payment_method_detached" || f.eventsOf(wallet.EventConsentWithdrawn, consent.ID) != 1 {
			t.Errorf("consents %+v", consents.Data)
		}
		if got := f.customer(c).DefaultPaymentMethod; got == nil || *got != second {
			t.Errorf("default %v, want %s", got, second)
		}
		if clones, err := f.App.Wallet.Clones(ctx, f.PlatformID, first); err != nil || len(clones) != 0 {
			t.Errorf("clones %+v %v", clones, err)
		}
		cloned, err := f.sc.V1PaymentMethods.Retrieve(ctx, clone.ConnectedPaymentMethodID, stripeapi.OnAccount(&stripe.PaymentMethodRetrieveParams{}, acct))
		if err != nil || cloned.Customer != nil {
			t.Errorf("the clone at Stripe %+v %v", cloned, err)
		}
		evs := f.processed("payment_method.detached", stripePM)
		if len(evs) != 1 || evs[0].State != stripeevents.StateApplied || !strings.Contains(*evs[0].Outcome, first+" is removed") {
			t.Fatalf("inbox %+v", evs)
		}

		// Replayed: nothing more.
		if got := f.replay(evs[0]); got.State != stripeevents.StateApplied {
			t.Errorf("replay %+v", got)
		}
		if f.eventsOf(wallet.EventCardRemoved, first) != 1 || f.eventsOf(wallet.EventConsentWithdrawn, consent.ID) != 1 || len(f.cards(c)) != 1 {
			t.Errorf("after the replay: %d card.removed, %d consent.withdrawn, %d cards", f.eventsOf(wallet.EventCardRemoved, first),
				f.eventsOf(wallet.EventConsentWithdrawn, consent.ID), len(f.cards(c)))
		}

		// Detached and attached again before Tender hears of it: the late
		// event reads the card attached, and the card stays.
		stripeSecond := f.card(c, second).StripePaymentMethod
		scus := *f.customer(c).StripeCustomer
		f.withoutWebhooks(func() {
			if _, err := f.sc.V1PaymentMethods.Detach(ctx, stripeSecond, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := f.sc.V1PaymentMethods.Attach(ctx, stripeSecond, &stripe.PaymentMethodAttachParams{Customer: stripe.String(scus)}); err != nil {
				t.Fatal(err)
			}
		})
		// The payload says detached; Stripe says otherwise.
		late := f.deliverOwn("evt_late_detach", "payment_method.detached", map[string]any{"id": stripeSecond, "object": "payment_method", "customer": nil})
		if late.State != stripeevents.StateApplied || !strings.Contains(*late.Outcome, second+" stays") {
			t.Errorf("late event %+v", late)
		}
		if got := f.cards(c); len(got) != 1 || got[0].ID != second || f.eventsOf(wallet.EventCardRemoved, second) != 0 {
			t.Errorf("after the late event: %+v", got)
		}

		// A card that is not in the wallet.
		other, err := f.sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{PaymentMethod: stripe.String("pm_card_visa")})
		if err != nil {
			t.Fatal(err)
		}
		pms := f.sc.V1PaymentMethods.List(ctx, &stripe.PaymentMethodListParams{Customer: stripe.String(other.ID)})
		var foreign string
		for pm, err := range pms.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			foreign = pm.ID
		}
		if _, err := f.sc.V1PaymentMethods.Detach(ctx, foreign, nil); err != nil {
			t.Fatal(err)
		}
		if evs := f.processed("payment_method.detached", foreign); evs[0].State != stripeevents.StateIgnored {
			t.Errorf("a card not in the wallet: %+v", evs)
		}
		if got := f.cards(c); len(got) != 1 {
			t.Errorf("cards %+v", got)
		}
	})
}

// TestCardUpdatedAtStripe: a card's expiry changed at Stripe reaches the
// wallet with card.updated, from payment_method.updated and from
// payment_method.automatically_updated (which the card networks cause,
// so the test delivers it), always as Stripe shows the card, not as the
// event's payload does; applied again, it changes nothing.
func TestCardUpdatedAtStripe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.Customer("ann@example.com")
		id := f.SaveCard(c, "pm_card_visa")
		stripePM := f.card(c, id).StripePaymentMethod
		before := f.card(c, id).Card

		update := &stripe.PaymentMethodUpdateParams{Card: &stripe.PaymentMethodUpdateCardParams{ExpMonth: stripe.Int64(3), ExpYear: stripe.Int64(2031)}}
		if _, err := f.sc.V1PaymentMethods.Update(ctx, stripePM, update); err != nil {
			t.Fatal(err)
		}
		f.waitFor("the new expiry", func() bool { got := f.card(c, id).Card; return got.ExpMonth == 3 && got.ExpYear == 2031 })
		if got := f.card(c, id).Card; got.Last4 != before.Last4 || got.Brand != before.Brand || got.Fingerprint != before.Fingerprint {
			t.Errorf("card %+v, was %+v", got, before)
		}
		if n := f.eventsOf(wallet.EventCardUpdated, id); n != 1 {
			t.Errorf("%d card.updated", n)
		}
		evs := f.processed("payment_method.updated", stripePM)
		if len(evs) != 1 || evs[0].State != stripeevents.StateApplied || !strings.Contains(*evs[0].Outcome, "expiring 03/2031") {
			t.Fatalf("inbox %+v", evs)
		}
		if got := f.replay(evs[0]); got.State != stripeevents.StateApplied || f.eventsOf(wallet.EventCardUpdated, id) != 1 {
			t.Errorf("replay %+v, %d card.updated", got, f.eventsOf(wallet.EventCardUpdated, id))
		}

		// Renewed by the network: Stripe's payment_method.automatically_updated.
		f.withoutWebhooks(func() {
			update.Card.ExpMonth, update.Card.ExpYear = stripe.Int64(7), stripe.Int64(2032)
			if _, err := f.sc.V1PaymentMethods.Update(ctx, stripePM, update); err != nil {
				t.Fatal(err)
			}
		})
		auto := f.deliverOwn("evt_auto_update", "payment_method.automatically_updated", map[string]any{"id": stripePM, "object": "payment_method",
			"card": map[string]any{"exp_month": 1, "exp_year": 2099, "last4": "0000"}})
		if auto.State != stripeevents.StateApplied {
			t.Errorf("automatically_updated %+v", auto)
		}
		if got := f.card(c, id).Card; got.ExpMonth != 7 || got.ExpYear != 2032 || got.Last4 != before.Last4 || f.eventsOf(wallet.EventCardUpdated, id) != 2 {
			t.Errorf("after automatically_updated: %+v, %d card.updated", got, f.eventsOf(wallet.EventCardUpdated, id))
		}

		// A removed card keeps the details it had.
		f.Post("/v1/customers/"+c+"/payment_methods/"+id+"/detach", nil, 200, nil)
		late := f.deliverOwn("evt_late_update", "payment_method.updated", map[string]any{"id": stripePM, "object": "payment_method"})
		if late.State != stripeevents.StateIgnored || f.eventsOf(wallet.EventCardUpdated, id) != 2 {
			t.Errorf("update of a removed card %+v", late)
		}
	})
}

// TestSetupConfirmedAtStripe: a SetupIntent made and confirmed at Stripe
// for a customer's Stripe Customer, by a page of the platform's own that
// never tells Tender, saves the card, once: recorded through the API
// afterwards, or its event replayed, it is the same card. One of Tender's
// own SetupIntents, whose event races the platform's call, saves one card
// too. A SetupIntent of a Customer that is not Tender's is ignored.
func TestSetupConfirmedAtStripe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.Customer("ann@example.com")
		si, err := f.sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{Customer: f.customer(c).StripeCustomer,
			PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true), Usage: stripe.String("off_session")})
		if err != nil || si.Status != stripe.SetupIntentStatusSucceeded {
			t.Fatalf("setup intent %+v %v", si, err)
		}
		f.waitFor("the card saved", func() bool { return len(f.cards(c)) == 1 })
		saved := f.cards(c)[0]
		if saved.StripePaymentMethod != si.PaymentMethod.ID || f.eventsOf(wallet.EventCardSaved, saved.ID) != 1 {
			t.Errorf("card %+v, %d card.saved", saved, f.eventsOf(wallet.EventCardSaved, saved.ID))
		}
		if got := f.customer(c).DefaultPaymentMethod; got == nil || *got != saved.ID {
			t.Errorf("default %v, want %s", got, saved.ID)
		}
		evs := f.processed("setup_intent.succeeded", si.ID)
		if len(evs) != 1 || evs[0].State != stripeevents.StateApplied || !strings.Contains(*evs[0].Outcome, saved.ID) {
			t.Fatalf("inbox %+v", evs)
		}

		var recorded wallet.PaymentMethodView
		f.Post("/v1/customers/"+c+"/payment_methods", map[string]string{"setup_intent": si.ID}, 200, &recorded)
		f.replay(evs[0])
		if got := f.cards(c); recorded.ID != saved.ID || len(got) != 1 || f.eventsOf(wallet.EventCardSaved, saved.ID) != 1 {
			t.Errorf("recorded again: %s, cards %+v, %d card.saved", recorded.ID, got, f.eventsOf(wallet.EventCardSaved, saved.ID))
		}

		// Tender's own SetupIntents: the platform's call and Stripe's event
		// record the same card.
		for _, token := range []string{"pm_card_mastercard", "pm_card_amex", "pm_card_authenticationRequiredOnSetup"} {
			other := f.Customer("bo@example.com")
			id := f.SaveCard(other, token)
			if got := f.cards(other); len(got) != 1 || got[0].ID != id || f.eventsOf(wallet.EventCardSaved, id) != 1 {
				t.Errorf("%s: cards %+v, %d card.saved", token, got, f.eventsOf(wallet.EventCardSaved, id))
			}
			for si, err := range f.sc.V1SetupIntents.List(ctx, &stripe.SetupIntentListParams{
				PaymentMethod: stripe.String(f.card(other, id).StripePaymentMethod)}).All(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				evs := f.processed("setup_intent.succeeded", si.ID)
				if len(evs) != 1 || evs[0].State != stripeevents.StateApplied || !strings.Contains(*evs[0].Outcome, id) {
					t.Errorf("%s: inbox %+v", token, evs)
				}
			}
		}

		// Not a customer of Tender's.
		stranger, err := f.sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{})
		if err != nil {
			t.Fatal(err)
		}
		foreign, err := f.sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{Customer: stripe.String(stranger.ID),
			PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if evs := f.processed("setup_intent.succeeded", foreign.ID); evs[0].State != stripeevents.StateIgnored {
			t.Errorf("a stranger's SetupIntent: %+v", evs)
		}
	})
}
