package payment_test

import (
	"context"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestStripeFeePayer: a direct charge whose policy has the platform bear
// Stripe's fee pays it back to the merchant, once, so the merchant nets
// the amount less the platform's fee; a separate charge whose merchants
// bear it transfers the amount less both fees; a destination charge's
// Stripe fee is the platform's whatever the policy says.
func TestStripeFeePayer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m, other := f.merchant("Cheesemonger"), f.merchant("Baker")
		acct := *m.Connection.AccountID
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}},"stripe_fee_payer":"platform"}`, 200, nil)

		before := f.balance(acct)
		p := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 2000, "currency": "usd"})
		if p.StripeFeePayer != payment.StripeFeePlatform {
			t.Fatalf("payer %s", p.StripeFeePayer)
		}
		for range 2 {
			if err := f.App.Payments.CoverStripeFee(ctx, f.PlatformID, p.ID); err != nil {
				t.Fatal(err)
			}
		}
		p = f.payment(p.ID)
		if p.StripeFee == nil || *p.StripeFee <= 0 || p.StripeFeeCovered != min(*p.StripeFee, p.ApplicationFee) {
			t.Fatalf("direct, platform bears the fee: %+v", p)
		}
		if got := f.feeRefunded(); got != p.StripeFeeCovered {
			t.Errorf("fee given back %d at Stripe, want %d", got, p.StripeFeeCovered)
		}
		// The merchant nets the amount less what the platform kept.
		if got := f.balance(acct) - before; got != 2000-p.ApplicationFee {
			t.Errorf("merchant netted %d, want %d", got, 2000-p.ApplicationFee)
		}
		// Refunded in full, the platform gives back the rest of its fee:
		// the whole application fee has gone back, none twice.
		f.refund(p.ID, `{}`)
		if got := f.feeRefunded(); got != p.ApplicationFee {
			t.Errorf("after the refund, fee given back %d, want %d", got, p.ApplicationFee)
		}

		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}},"stripe_fee_payer":"merchant"}`, 200, nil)
		s := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd", "application_fee": 50,
			"splits": []map[string]any{{"merchant": m.ID, "amount": 600}, {"merchant": other.ID, "amount": 400}}})
		if s.StripeFee == nil || s.StripeFeePayer != payment.StripeFeeMerchant {
			t.Fatalf("separate, merchants bear the fee: %+v", s)
		}
		if got := s.Transfers[0].Amount + s.Transfers[1].Amount + s.ApplicationFee + *s.StripeFee; got != 1000 {
			t.Errorf("transfers %d + %d, fee %d, Stripe's %d: %d, want 1000", s.Transfers[0].Amount, s.Transfers[1].Amount, s.ApplicationFee, *s.StripeFee, got)
		}
		pi := f.intent(s)
		params := &stripe.ChargeRetrieveParams{}
		params.AddExpand("balance_transaction")
		ch, err := f.sc.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, params)
		if err != nil {
			t.Fatal(err)
		}
		if ch.BalanceTransaction.Fee != *s.StripeFee {
			t.Errorf("Stripe's fee %d, Tender read %d", ch.BalanceTransaction.Fee, *s.StripeFee)
		}

		d := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd", "charge_type": "destination"})
		if d.StripeFeePayer != payment.StripeFeePlatform {
			t.Errorf("destination: payer %s", d.StripeFeePayer)
		}
	})
}

// TestStripeFeeCoveredOnce: a Stripe-fee job whose record of the fee
// refund was lost (a crash after Stripe answered) finds the refund by its
// metadata on the rerun, past Stripe's idempotency window, and does not
// give the fee back twice.
func TestStripeFeeCoveredOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Fishmonger")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":500}},"stripe_fee_payer":"platform"}`, 200, nil)
		p := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 3000, "currency": "usd"})
		if err := f.App.Payments.CoverStripeFee(ctx, f.PlatformID, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE payments SET stripe_fee_refund_id = NULL, stripe_fee_covered = 0 WHERE id = $1`, p.ID); err != nil {
			t.Fatal(err)
		}
		f.Emulator.Advance(25 * time.Hour)
		if err := f.App.Payments.CoverStripeFee(ctx, f.PlatformID, p.ID); err != nil {
			t.Fatal(err)
		}
		p = f.payment(p.ID)
		if got := f.feeRefunded(); p.StripeFee == nil || got != *p.StripeFee || p.StripeFeeCovered != got {
			t.Errorf("fee given back %d at Stripe; payment %+v", got, p)
		}
	})
}
