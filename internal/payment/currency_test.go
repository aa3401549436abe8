package payment_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestChargeCurrencies: a payment or checkout link in a currency Stripe
// takes no card payments in (legal tender Tender knows, such as HRK, or a
// three-decimal currency) is refused when asked for, naming currency and
// saying why, and writes nothing; a zero-decimal currency is charged in
// whole units, and Stripe's minimum for it (¥50) applies as the emulator
// has it.
func TestChargeCurrencies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Greengrocer")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		pay := func(amount int64, currency string) map[string]any {
			return map[string]any{"merchant": m.ID, "customer": c.ID, "amount": amount, "currency": currency}
		}
		for _, tc := range []struct{ currency, says string }{
			{"hrk", `"hrk" is not a currency Tender can charge in: Stripe takes no card payments in HRK.`},
			{"BHD", `"BHD" is not a currency Tender can charge in: Stripe takes no card payments in BHD.`},
			{"xyz", `"xyz" is not a currency Tender can charge in: unknown currency.`},
		} {
			r := f.Do("POST", "/v1/payments", pay(1000, tc.currency))
			if e := r.Err(); r.Status != 400 || e.Param != "currency" || e.Message != tc.says {
				t.Errorf("payment in %s: %d %s; want 400 naming currency: %s", tc.currency, r.Status, r.Body, tc.says)
			}
			r = f.Do("POST", "/v1/checkout_links", map[string]any{"merchant": m.ID, "amount": 1000, "currency": tc.currency})
			if r.Status != 400 || r.Err().Param != "currency" {
				t.Errorf("checkout link in %s: %d %s; want 400 naming currency", tc.currency, r.Status, r.Body)
			}
		}
		if n := f.count(`SELECT COUNT(*) FROM payments`) + f.count(`SELECT COUNT(*) FROM checkout_links`); n != 0 {
			t.Fatalf("refused currencies left %d rows", n)
		}

		// ¥1000 is amount 1000, and 2.9 % of it 29: no factor of 100.
		f.Post("/v1/fee_policy", `{"rules":{"jpy":{"basis_points":290}}}`, 200, nil)
		var yen payment.View
		f.Post("/v1/payments", pay(1000, "jpy"), 200, &yen)
		if err := f.process(yen.ID); err != nil {
			t.Fatal(err)
		}
		yen = f.payment(yen.ID)
		pis := f.intents(*m.Connection.AccountID)
		if yen.Status != payment.StatusSucceeded || yen.ApplicationFee != 29 || len(pis) != 1 ||
			pis[0].Amount != 1000 || pis[0].Currency != "jpy" || pis[0].ApplicationFeeAmount != 29 {
			t.Fatalf("jpy payment %+v, PaymentIntents %+v", yen, pis)
		}

		// ¥49 is below Stripe's minimum of ¥50: Stripe refuses it.
		var small payment.View
		f.Post("/v1/payments", pay(49, "jpy"), 200, &small)
		if err := f.process(small.ID); err != nil {
			t.Fatal(err)
		}
		var detail string
		if err := f.App.DB.QueryRowContext(context.Background(), `SELECT failure_detail FROM payments WHERE id = $1`, small.ID).Scan(&detail); err != nil {
			t.Fatal(err)
		}
		if small = f.payment(small.ID); small.Status != payment.StatusFailed || small.Failure.Code != "invalid_request" ||
			!strings.Contains(detail, "¥50 jpy") {
			t.Errorf("¥49: %+v, detail %q", small, detail)
		}
	})
}
