package payment_test

import (
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestConsentMissingSaysWhichCards: an off-session payment of a card no
// consent covers is refused naming off_session, and the message says which
// cards the customer's consents for the merchant do cover (the default
// card, or a card named) and how to get a consent for this one; doing what
// it says lets the payment through.
func TestConsentMissingSaysWhichCards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Greengrocer")
		c := f.customer()
		visa := f.saveCard(c.ID, "pm_card_visa") // the first card: the default
		mastercard := f.saveCard(c.ID, "pm_card_mastercard")
		pay := func(merchant, card string) map[string]any {
			b := map[string]any{"merchant": merchant, "customer": c.ID, "amount": 1000, "currency": "usd", "off_session": true}
			if card != "" {
				b["payment_method"] = card
			}
			return b
		}
		refused := func(name string, body map[string]any, says ...string) {
			t.Helper()
			r := f.Do("POST", "/v1/payments", body)
			if e := r.Err(); r.Status != 400 || e.Param != "off_session" || e.Code != "consent_missing" {
				t.Fatalf("%s: %d %s; want 400 consent_missing naming off_session", name, r.Status, r.Body)
			}
			msg := r.Err().Message
			for _, s := range says {
				if !strings.Contains(msg, s) {
					t.Errorf("%s: message %q should say %q", name, msg, s)
				}
			}
		}
		howTo := func(card string) []string {
			return []string{"To charge " + card + ", get the customer's consent for it", "POST /v1/wallet_sessions",
				"POST /v1/customers/" + c.ID + "/consents giving merchant " + m.ID + ", payment_method " + card}
		}

		refused("no consent", pay(m.ID, mastercard.ID), append(howTo(mastercard.ID),
			"Customer "+c.ID+" has not allowed merchant "+m.ID+" to charge any card off-session.",
			"by making it their default card and allowing the merchant to charge it")...)

		// A consent for the default card does not cover another card.
		f.consent(c.ID, m.ID)
		refused("consent for the default card, another card named", pay(m.ID, mastercard.ID), append(howTo(mastercard.ID),
			"only their default card ("+visa.ID+"), not card "+mastercard.ID+".",
			"by making it their default card, which their consent covers")...)
		f.Post("/v1/payments", pay(m.ID, ""), 200, nil)

		// Nor does a consent for a card named cover the default card.
		other := f.merchant("Florist")
		f.Post("/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": other.ID, "payment_method": mastercard.ID,
			"evidence": map[string]string{"text": "I allow Florist to charge my Mastercard.", "text_version": "1"}}, 200, nil)
		r := f.Do("POST", "/v1/payments", pay(other.ID, ""))
		if e := r.Err(); r.Status != 400 || e.Code != "consent_missing" ||
			!strings.Contains(e.Message, "only card "+mastercard.ID+", not card "+visa.ID+" (their default card).") ||
			!strings.Contains(e.Message, "where they allow a merchant to charge their default card") ||
			!strings.Contains(e.Message, "payment_method "+visa.ID) {
			t.Errorf("consent for another card, the default charged: %d %s", r.Status, r.Body)
		}
		f.Post("/v1/payments", pay(other.ID, mastercard.ID), 200, nil)

		// Following the message: a consent for the card itself.
		f.Post("/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": m.ID, "payment_method": mastercard.ID,
			"evidence": map[string]string{"text": "I allow Greengrocer to charge my Mastercard.", "text_version": "1"}}, 200, nil)
		var p payment.View
		f.Post("/v1/payments", pay(m.ID, mastercard.ID), 200, &p)
		if *p.PaymentMethod != mastercard.ID || !p.OffSession {
			t.Errorf("paid %+v", p)
		}
	})
}
