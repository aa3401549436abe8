package wallet_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/wallet"
)

// The wallet's events: every change records exactly its events, in its
// transaction, with the object's API view as data; a refused change
// records none.

// events returns the platform's events for objectID ("" for all of
// them), oldest first. Every read of events in this file goes through it.
func events(t *testing.T, db *store.DB, platformID, objectID string) []*event.Event {
	t.Helper()
	evs, more, err := event.NewStore(db).List(context.Background(), platformID, event.Query{ObjectID: objectID, Page: store.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if more {
		t.Fatal("more than 100 events: a test here must record fewer")
	}
	slices.Reverse(evs) // List is newest first
	return evs
}

// journal hands out the platform's events one step at a time.
type journal struct {
	t          *testing.T
	db         *store.DB
	platformID string
	seen       int
}

func (f *fixture) journal(db *store.DB) *journal {
	return &journal{t: f.t, db: db, platformID: f.PlatformID}
}

// next returns the events recorded since the last call.
func (j *journal) next() []*event.Event {
	j.t.Helper()
	all := events(j.t, j.db, j.platformID, "")
	got := all[j.seen:]
	j.seen = len(all)
	return got
}

type want struct {
	typ event.Type
	id  string
}

// expect fails unless got is exactly want, in order, each event's data
// being its object's view: its id is the event's object id.
func expect(t *testing.T, step string, got []*event.Event, want ...want) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Type == want[i].typ && got[i].ObjectID == want[i].id
	}
	if !ok {
		var have []string
		for _, e := range got {
			have = append(have, string(e.Type)+" "+e.ObjectID)
		}
		t.Fatalf("%s: events %v, want %v", step, have, want)
	}
	for _, e := range got {
		if v := data[struct{ ID string }](t, e); v.ID != e.ObjectID {
			t.Errorf("%s: %s of %s carries the view of %q", step, e.Type, e.ObjectID, v.ID)
		}
	}
}

func data[T any](t *testing.T, e *event.Event) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		t.Fatalf("%s data %s: %v", e.Type, e.Data, err)
	}
	return v
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestCustomerEvents: creating, changing and archiving a customer each
// record their event with the customer's view; an update that changes
// nothing, archiving again, and every refused request record none.
// Archiving removes the customer's card and withdraws its consent, each
// with its own event, before the customer is archived.
func TestCustomerEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		j := f.journal(db)
		c := f.customer(`{"external_id":"shopper-1","email":"ann@example.com"}`)
		evs := j.next()
		expect(t, "create", evs, want{wallet.EventCustomerCreated, c.ID})
		if v := data[wallet.CustomerView](t, evs[0]); str(v.Email) != "ann@example.com" || str(v.ExternalID) != "shopper-1" || v.Archived {
			t.Errorf("customer.created data %+v", v)
		}
		other := f.customer(`{"external_id":"shopper-2"}`)
		expect(t, "create another", j.next(), want{wallet.EventCustomerCreated, other.ID})

		for _, tt := range []struct {
			path, body string
			status     int
		}{
			{"/v1/customers", `{"email":"nope"}`, 400},
			{"/v1/customers", `{"colour":"red"}`, 400},
			{"/v1/customers", `{"external_id":"shopper-1"}`, 409},
			{"/v1/customers/" + c.ID, `{"email":"nope"}`, 400},
			{"/v1/customers/" + c.ID, `{"external_id":"shopper-2"}`, 409},
			{"/v1/customers/cst_nope", `{"name":"Nobody"}`, 404},
		} {
			if r := f.Do("POST", tt.path, tt.body); r.Status != tt.status {
				t.Errorf("POST %s %s: %d %s, want %d", tt.path, tt.body, r.Status, r.Body, tt.status)
			}
		}
		expect(t, "refused creates and updates", j.next())

		f.Post("/v1/customers/"+c.ID, `{"name":"Ann"}`, 200, nil)
		evs = j.next()
		expect(t, "update", evs, want{wallet.EventCustomerUpdated, c.ID})
		if v := data[wallet.CustomerView](t, evs[0]); str(v.Name) != "Ann" || str(v.Email) != "ann@example.com" {
			t.Errorf("customer.updated data %+v", v)
		}
		f.Post("/v1/customers/"+c.ID, `{"name":"Ann","metadata":{"tier":null}}`, 200, nil)
		expect(t, "an update that changes nothing", j.next())
		f.Post("/v1/customers/"+c.ID, `{"metadata":{"tier":"gold"}}`, 200, nil)
		evs = j.next()
		expect(t, "metadata update", evs, want{wallet.EventCustomerUpdated, c.ID})
		if v := data[wallet.CustomerView](t, evs[0]); v.Metadata["tier"] != "gold" {
			t.Errorf("customer.updated data %+v", v)
		}

		card := f.saveCard(c.ID, "pm_card_visa")
		m := f.merchant("Dairy")
		var consent wallet.ConsentView
		f.Post("/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": m.ID,
			"evidence": map[string]string{"text": "I allow Dairy to charge my card.", "text_version": "1"}}, 200, &consent)
		j.next()
		f.Post("/v1/customers/"+c.ID+"/archive", nil, 200, nil)
		evs = j.next()
		expect(t, "archive", evs, want{wallet.EventCardRemoved, card.ID}, want{wallet.EventCustomerDefaultCardChanged, c.ID},
			want{wallet.EventConsentWithdrawn, consent.ID}, want{wallet.EventCustomerArchived, c.ID})
		if v := data[wallet.PaymentMethodView](t, evs[0]); v.Status != "detached" {
			t.Errorf("card.removed data %+v", v)
		}
		if v := data[wallet.CustomerView](t, evs[1]); v.DefaultPaymentMethod != nil {
			t.Errorf("customer.default_card_changed data %+v, want no default left", v)
		}
		if v := data[wallet.ConsentView](t, evs[2]); v.Active || str(v.RevokedReason) != "customer_archived" {
			t.Errorf("consent.withdrawn data %+v", v)
		}
		if v := data[wallet.CustomerView](t, evs[3]); !v.Archived || v.ArchivedAt == nil || v.DefaultPaymentMethod != nil {
			t.Errorf("customer.archived data %+v", v)
		}

		f.Post("/v1/customers/"+c.ID+"/archive", nil, 200, nil)
		if r := f.Do("POST", "/v1/customers/"+c.ID, `{"name":"Ann B"}`); r.Status != 409 {
			t.Errorf("update of an archived customer: %d %s", r.Status, r.Body)
		}
		expect(t, "archive again, update archived", j.next())
		if got := events(t, db, f.PlatformID, c.ID); len(got) != 6 {
			t.Errorf("%d events of %s, want created, 2 updated, 2 default changes and archived", len(got), c.ID)
		}
	})
}

// TestCardEvents: a card new to the customer records card.saved, whether
// from a SetupIntent or from a payment (RecordPaymentCard); the first also
// becomes the default. Recording the same card again, by its SetupIntent,
// its Stripe card or its fingerprint, records nothing; nor does any
// refused card, a declined one included. Choosing another default and
// removing the default card each record the change of default; removing a
// card records card.removed once.
func TestCardEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.customer(`{"email":"bo@example.com"}`)
		other := f.customer(`{}`)
		j := f.journal(db)
		j.next()

		seti := f.confirmedSetup(c.ID, "pm_card_visa")
		var visa wallet.PaymentMethodView
		f.Post("/v1/customers/"+c.ID+"/payment_methods", map[string]string{"setup_intent": seti}, 200, &visa)
		evs := j.next()
		expect(t, "first card", evs, want{wallet.EventCardSaved, visa.ID}, want{wallet.EventCustomerDefaultCardChanged, c.ID})
		if v := data[wallet.PaymentMethodView](t, evs[0]); v.Status != "active" || v.Customer != c.ID || v.Card.Last4 != "4242" ||
			v.StripePaymentMethod != visa.StripePaymentMethod {
			t.Errorf("card.saved data %+v", v)
		}
		if v := data[wallet.CustomerView](t, evs[1]); str(v.DefaultPaymentMethod) != visa.ID {
			t.Errorf("customer.default_card_changed data %+v, want default %s", v, visa.ID)
		}

		f.Post("/v1/customers/"+c.ID+"/payment_methods", map[string]string{"setup_intent": seti}, 200, nil)
		if again := f.saveCard(c.ID, "pm_card_visa"); again.ID != visa.ID {
			t.Fatalf("the same card saved again made %s, want it merged into %s", again.ID, visa.ID)
		}
		expect(t, "the same card again", j.next())

		mc := f.saveCard(c.ID, "pm_card_mastercard")
		evs = j.next()
		expect(t, "second card", evs, want{wallet.EventCardSaved, mc.ID})
		if v := data[wallet.PaymentMethodView](t, evs[0]); v.Card.Brand != "mastercard" {
			t.Errorf("card.saved data %+v", v)
		}

		// A card a payment saved, as a checkout does.
		cu, err := f.App.Wallet.Customer(ctx, f.PlatformID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		paid, err := f.sc.V1PaymentMethods.Attach(ctx, "pm_card_amex", &stripe.PaymentMethodAttachParams{Customer: stripe.String(cu.StripeCustomerID)})
		if err != nil {
			t.Fatal(err)
		}
		amex, err := f.App.Wallet.RecordPaymentCard(ctx, f.PlatformID, c.ID, paid)
		if err != nil {
			t.Fatal(err)
		}
		evs = j.next()
		expect(t, "card saved by a payment", evs, want{wallet.EventCardSaved, amex.ID})
		if v := data[wallet.PaymentMethodView](t, evs[0]); v.Card.Brand != "amex" || v.StripePaymentMethod != paid.ID {
			t.Errorf("card.saved data %+v", v)
		}
		if again, err := f.App.Wallet.RecordPaymentCard(ctx, f.PlatformID, c.ID, paid); err != nil || again.ID != amex.ID {
			t.Fatalf("recording the payment's card again: %+v %v", again, err)
		}
		expect(t, "the payment's card again", j.next())

		// Refused: another customer's SetupIntent or card, a SetupIntent
		// not succeeded (a declined card's), an unknown one, unknown cards.
		declined := f.setupIntent(c.ID)
		if _, err := f.sc.V1SetupIntents.Confirm(ctx, declined, &stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa_chargeDeclined")}); err == nil {
			t.Fatal("a declining card was set up")
		}
		for _, tt := range []struct {
			path   string
			body   any
			status int
		}{
			{"/v1/customers/" + other.ID + "/payment_methods", map[string]string{"setup_intent": seti}, 400},
			{"/v1/customers/" + c.ID + "/payment_methods", map[string]string{"setup_intent": declined}, 400},
			{"/v1/customers/" + c.ID + "/payment_methods", map[string]string{"setup_intent": "seti_nope"}, 400},
			{"/v1/customers/" + c.ID + "/payment_methods/pmt_nope/default", nil, 404},
			{"/v1/customers/" + other.ID + "/payment_methods/" + mc.ID + "/default", nil, 404},
			{"/v1/customers/" + c.ID + "/payment_methods/pmt_nope/detach", nil, 404},
		} {
			if r := f.Do("POST", tt.path, tt.body); r.Status != tt.status {
				t.Errorf("POST %s %v: %d %s, want %d", tt.path, tt.body, r.Status, r.Body, tt.status)
			}
		}
		otherCu, _ := f.App.Wallet.Customer(ctx, f.PlatformID, other.ID)
		othersCard, err := f.sc.V1PaymentMethods.Attach(ctx, "pm_card_visa", &stripe.PaymentMethodAttachParams{Customer: stripe.String(otherCu.StripeCustomerID)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.Wallet.RecordPaymentCard(ctx, f.PlatformID, c.ID, othersCard); err == nil {
			t.Error("another customer's card recorded")
		}
		if _, err := f.App.Wallet.RecordPaymentCard(ctx, f.PlatformID, c.ID, nil); err == nil {
			t.Error("a payment with no card recorded one")
		}
		expect(t, "refused cards", j.next())

		f.Post("/v1/customers/"+c.ID+"/payment_methods/"+mc.ID+"/default", nil, 200, nil)
		evs = j.next()
		expect(t, "set default", evs, want{wallet.EventCustomerDefaultCardChanged, c.ID})
		if v := data[wallet.CustomerView](t, evs[0]); str(v.DefaultPaymentMethod) != mc.ID {
			t.Errorf("customer.default_card_changed data %+v, want default %s", v, mc.ID)
		}
		f.Post("/v1/customers/"+c.ID+"/payment_methods/"+mc.ID+"/default", nil, 200, nil)
		expect(t, "set the default again", j.next())

		f.Post("/v1/customers/"+c.ID+"/payment_methods/"+mc.ID+"/detach", nil, 200, nil)
		evs = j.next()
		expect(t, "remove the default", evs, want{wallet.EventCardRemoved, mc.ID}, want{wallet.EventCustomerDefaultCardChanged, c.ID})
		if v := data[wallet.PaymentMethodView](t, evs[0]); v.Status != "detached" || v.DetachedAt == nil {
			t.Errorf("card.removed data %+v", v)
		}
		if v := data[wallet.CustomerView](t, evs[1]); str(v.DefaultPaymentMethod) != amex.ID {
			t.Errorf("customer.default_card_changed data %+v, want the newest other card %s", v, amex.ID)
		}
		f.Post("/v1/customers/"+c.ID+"/payment_methods/"+mc.ID+"/detach", nil, 200, nil)
		if r := f.Do("POST", "/v1/customers/"+c.ID+"/payment_methods/"+mc.ID+"/default", nil); r.Status != 409 {
			t.Errorf("a removed card made default: %d %s", r.Status, r.Body)
		}
		expect(t, "remove again, removed card as default", j.next())

		f.Post("/v1/customers/"+c.ID+"/payment_methods/"+visa.ID+"/detach", nil, 200, nil)
		expect(t, "remove a card that is not the default", j.next(), want{wallet.EventCardRemoved, visa.ID})
	})
}

// setupIntent opens a SetupIntent for the customer and returns its id.
func (f *fixture) setupIntent(customerID string) string {
	f.t.Helper()
	var si wallet.SetupIntentView
	f.Post("/v1/customers/"+customerID+"/setup_intents", `{}`, 200, &si)
	return si.ID
}

// TestConsentEvents: granting records consent.granted; granting again
// for the same merchant and card withdraws the consent it supersedes
// first; revoking, and removing the consent's card, withdraw it once,
// each with its reason. Refused grants and revocations record nothing.
func TestConsentEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := f.customer(`{}`)
		card := f.saveCard(c.ID, "pm_card_visa")
		m := f.merchant("Dairy")
		j := f.journal(db)
		j.next()
		evidence := map[string]string{"text": "I allow Dairy to charge my card.", "text_version": "1", "ip_address": "203.0.113.9"}
		grant := func(body map[string]any) wallet.ConsentView {
			t.Helper()
			var cn wallet.ConsentView
			f.Post("/v1/customers/"+c.ID+"/consents", body, 200, &cn)
			return cn
		}

		byDefault := grant(map[string]any{"merchant": m.ID, "evidence": evidence})
		evs := j.next()
		expect(t, "grant", evs, want{wallet.EventConsentGranted, byDefault.ID})
		if v := data[wallet.ConsentView](t, evs[0]); !v.Active || v.Merchant != m.ID || v.PaymentMethod != "default" || v.Evidence.IPAddress != "203.0.113.9" {
			t.Errorf("consent.granted data %+v", v)
		}
		forCard := grant(map[string]any{"merchant": m.ID, "payment_method": card.ID, "evidence": evidence})
		expect(t, "grant for a card", j.next(), want{wallet.EventConsentGranted, forCard.ID})
		again := grant(map[string]any{"merchant": m.ID, "payment_method": card.ID, "evidence": evidence})
		evs = j.next()
		expect(t, "grant again", evs, want{wallet.EventConsentWithdrawn, forCard.ID}, want{wallet.EventConsentGranted, again.ID})
		if v := data[wallet.ConsentView](t, evs[0]); v.Active || str(v.RevokedReason) != "superseded" {
			t.Errorf("consent.withdrawn data of the superseded consent %+v", v)
		}

		for _, body := range []map[string]any{
			{"merchant": "mer_nope", "evidence": evidence},
			{"merchant": m.ID},
			{"merchant": m.ID, "payment_method": "pmt_nope", "evidence": evidence},
			{"merchant": m.ID, "scope": "on_session", "evidence": evidence},
		} {
			if r := f.Do("POST", "/v1/customers/"+c.ID+"/consents", body); r.Status != 400 {
				t.Errorf("grant %v: %d %s", body, r.Status, r.Body)
			}
		}
		if r := f.Do("DELETE", "/v1/customers/"+c.ID+"/consents/cns_nope", nil); r.Status != 404 {
			t.Errorf("revoke of an unknown consent: %d %s", r.Status, r.Body)
		}
		expect(t, "refused grants and revocation", j.next())

		if r := f.Do("DELETE", "/v1/customers/"+c.ID+"/consents/"+byDefault.ID, nil); r.Status != 200 {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		evs = j.next()
		expect(t, "revoke", evs, want{wallet.EventConsentWithdrawn, byDefault.ID})
		if v := data[wallet.ConsentView](t, evs[0]); v.Active || str(v.RevokedReason) != "customer_revoked" || v.RevokedAt == nil {
			t.Errorf("consent.withdrawn data %+v", v)
		}
		f.Do("DELETE", "/v1/customers/"+c.ID+"/consents/"+byDefault.ID, nil)
		expect(t, "revoke again", j.next())

		f.Post("/v1/customers/"+c.ID+"/payment_methods/"+card.ID+"/detach", nil, 200, nil)
		evs = j.next()
		expect(t, "remove the consent's card", evs, want{wallet.EventCardRemoved, card.ID}, want{wallet.EventConsentWithdrawn, again.ID},
			want{wallet.EventCustomerDefaultCardChanged, c.ID})
		if v := data[wallet.ConsentView](t, evs[1]); v.Active || str(v.RevokedReason) != "payment_method_detached" {
			t.Errorf("consent.withdrawn data %+v", v)
		}
		if r := f.Do("POST", "/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": m.ID, "payment_method": card.ID, "evidence": evidence}); r.Status != 409 {
			t.Errorf("consent for a removed card: %d %s", r.Status, r.Body)
		}
		expect(t, "consent for a removed card", j.next())
	})
}

// TestHostedWalletEvents: what a customer does on the hosted wallet page
// (add a card with the page's script, allow and stop a merchant, remove
// the card) records the same events as the API; a request the page
// refuses records none.
func TestHostedWalletEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.customer(`{}`)
		m := f.merchant("Dairy")
		ws := f.session(c.ID)
		cookie := f.openSession(ws).Value
		base := "/wallet/" + ws.ID
		form := url.Values{"csrf_token": {wallet.CSRFToken(cookie)}}
		j := f.journal(db)
		j.next()

		p := f.action(base+"/setup_intents", cookie, `{}`)
		var si struct{ ID string }
		if err := json.Unmarshal([]byte(p.body), &si); p.status != 200 || err != nil {
			t.Fatalf("setup intent: %d %s", p.status, p.body)
		}
		if _, err := f.sc.V1SetupIntents.Confirm(ctx, si.ID, &stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")}); err != nil {
			t.Fatal(err)
		}
		if p := f.action(base+"/cards", cookie, `{"setup_intent":"seti_nope"}`); p.status != 400 {
			t.Errorf("unknown SetupIntent: %d %s", p.status, p.body)
		}
		expect(t, "refused card", j.next())
		p = f.action(base+"/cards", cookie, `{"setup_intent":"`+si.ID+`"}`)
		var card struct{ ID string }
		if err := json.Unmarshal([]byte(p.body), &card); p.status != 200 || err != nil {
			t.Fatalf("record card: %d %s", p.status, p.body)
		}
		evs := j.next()
		expect(t, "card added on the page", evs, want{wallet.EventCardSaved, card.ID}, want{wallet.EventCustomerDefaultCardChanged, c.ID})
		if v := data[wallet.PaymentMethodView](t, evs[0]); v.Customer != c.ID || v.Status != "active" {
			t.Errorf("card.saved data %+v", v)
		}

		if p := f.browse("POST", base+"/merchants/"+m.ID+"/allow", cookie, url.Values{"csrf_token": form["csrf_token"], "text": {"Allow Dairy anything"}}); p.status != 409 {
			t.Errorf("allow with an outdated text: %d", p.status)
		}
		if p := f.browse("POST", base+"/cards/"+card.ID+"/remove", cookie, url.Values{"csrf_token": {"forged"}}); p.status != 403 {
			t.Errorf("remove without the CSRF token: %d", p.status)
		}
		expect(t, "refused page actions", j.next())

		allow := url.Values{"csrf_token": form["csrf_token"], "text": {"Allow Dairy to charge my default card when I'm not there"}}
		if p := f.browse("POST", base+"/merchants/"+m.ID+"/allow", cookie, allow); p.status != 303 {
			t.Fatalf("allow: %d %s", p.status, p.body)
		}
		cs, err := f.App.Wallet.Consents(ctx, f.PlatformID, c.ID)
		if err != nil || len(cs) != 1 {
			t.Fatalf("consents %+v %v", cs, err)
		}
		expect(t, "allow", j.next(), want{wallet.EventConsentGranted, cs[0].ID})
		if p := f.browse("POST", base+"/merchants/"+m.ID+"/withdraw", cookie, form); p.status != 303 {
			t.Fatalf("withdraw: %d %s", p.status, p.body)
		}
		evs = j.next()
		expect(t, "withdraw", evs, want{wallet.EventConsentWithdrawn, cs[0].ID})
		if v := data[wallet.ConsentView](t, evs[0]); str(v.RevokedReason) != "customer_revoked" {
			t.Errorf("consent.withdrawn data %+v", v)
		}
		if p := f.browse("POST", base+"/cards/"+card.ID+"/remove", cookie, form); p.status != 303 {
			t.Fatalf("remove: %d %s", p.status, p.body)
		}
		expect(t, "remove", j.next(), want{wallet.EventCardRemoved, card.ID}, want{wallet.EventCustomerDefaultCardChanged, c.ID})
	})
}
