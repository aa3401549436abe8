package payment_test

import (
	"testing"

	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestPlatformDefaults: a payment naming no charge type gets the
// platform's default_charge_type (direct until one is set), and one
// naming no currency the platform's default_currency; splits always make
// a separate charge; a bad default names its field and changes nothing.
func TestPlatformDefaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Tailor")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		pay := func(body map[string]any) payment.View {
			t.Helper()
			b := map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000}
			for k, v := range body {
				b[k] = v
			}
			var p payment.View
			f.Post("/v1/payments", b, 200, &p)
			return p
		}
		if r := f.Do("POST", "/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000}); r.Status != 400 || r.Err().Param != "currency" {
			t.Errorf("no currency and no default: %d %s", r.Status, r.Body)
		}
		if p := pay(map[string]any{"currency": "usd"}); p.ChargeType != payment.ChargeDirect {
			t.Errorf("before any default: %s", p.ChargeType)
		}
		if r := f.Do("POST", "/v1/platform", `{"default_charge_type":"transfer"}`); r.Status != 400 || r.Err().Param != "default_charge_type" {
			t.Errorf("bad default: %d %s", r.Status, r.Body)
		}
		var pl struct {
			DefaultChargeType string `json:"default_charge_type"`
		}
		f.Post("/v1/platform", `{"default_charge_type":"destination","default_currency":"USD"}`, 200, &pl)
		if pl.DefaultChargeType != "destination" {
			t.Errorf("platform %+v", pl)
		}
		if p := pay(nil); p.ChargeType != payment.ChargeDestination || p.Currency != "usd" {
			t.Errorf("with defaults: %s %s", p.ChargeType, p.Currency)
		}
		if p := pay(map[string]any{"charge_type": "direct"}); p.ChargeType != payment.ChargeDirect {
			t.Errorf("asked for direct: %s", p.ChargeType)
		}
		if p := pay(map[string]any{"splits": []map[string]any{{"merchant": m.ID, "amount": 1000}}}); p.ChargeType != payment.ChargeSeparate {
			t.Errorf("with splits: %s", p.ChargeType)
		}
	})
}
