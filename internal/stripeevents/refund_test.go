package stripeevents_test

import (
	"context"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// paidPayment makes an off-session payment of a customer's saved card
// and waits for it to succeed.
func (f *fixture) paidPayment(merchantID, chargeType string, amount int64) payment.View {
	f.t.Helper()
	c := f.Customer("bo@example.com")
	f.SaveCard(c, "pm_card_visa")
	f.Consent(c, merchantID)
	var p payment.View
	f.Post("/v1/payments", map[string]any{"merchant": merchantID, "customer": c, "amount": amount, "currency": "usd",
		"off_session": true, "charge_type": chargeType}, 200, &p)
	f.waitFor("the payment to succeed", func() bool {
		p = f.payment(p.ID)
		return p.Status == payment.StatusSucceeded
	})
	return p
}

func (f *fixture) refunds(paymentID string) []payment.RefundView {
	f.t.Helper()
	var l struct{ Data []payment.RefundView }
	f.Do("GET", "/v1/payments/"+paymentID+"/refunds", nil).Decode(f.t, &l)
	return l.Data
}

// TestRefundMadeAtStripe: a refund made at Stripe on a Standard account,
// with no call from Tender (as in the merchant's Dashboard), becomes a
// Tender refund — source stripe, with its ledger entries and refund.*
// events — and the books still equal Stripe's balances. Its events
// delivered again, or replayed, record nothing more.
func TestRefundMadeAtStripe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.StandardMerchant("Bakery")
		acct := *m.Connection.AccountID
		p := f.paidPayment(m.ID, "direct", 2000)

		params := stripeapi.OnAccount(&stripe.RefundCreateParams{PaymentIntent: p.StripePaymentIntent, Amount: stripe.Int64(700)}, acct)
		re, err := f.sc.V1Refunds.Create(context.Background(), params)
		if err != nil {
			t.Fatal(err)
		}
		f.waitFor("the refund in Tender", func() bool { return len(f.refunds(p.ID)) == 1 })
		r := f.refunds(p.ID)[0]
		if r.Source != payment.RefundAtStripe || r.Status != payment.RefundSucceeded || r.Amount != 700 || r.StripeRefund == nil ||
			*r.StripeRefund != re.ID || *r.ApplicationFeeRefunded != 0 {
			t.Fatalf("refund %+v", r)
		}
		if got := f.payment(p.ID); got.AmountRefunded != 700 {
			t.Errorf("payment refunded %d, want 700", got.AmountRefunded)
		}
		if f.eventsOf(payment.EventRefundCreated, r.ID) != 1 || f.eventsOf(payment.EventRefundSucceeded, r.ID) != 1 {
			t.Errorf("refund events: created %d, succeeded %d", f.eventsOf(payment.EventRefundCreated, r.ID),
				f.eventsOf(payment.EventRefundSucceeded, r.ID))
		}
		f.CheckBooks(map[string]string{m.ID: acct})

		// Every event of it, applied again, changes nothing.
		f.waitFor("its events applied", func() bool {
			for _, e := range append(f.inbox("&type=charge.refunded"), f.inbox("&type=refund.created")...) {
				if e.State == "received" {
					return false
				}
			}
			return true
		})
		for _, e := range append(f.inbox("&type=charge.refunded"), f.inbox("&type=refund.created")...) {
			f.Post("/v1/stripe_events/"+e.ID+"/replay", nil, 200, nil)
		}
		f.waitFor("the replays", func() bool {
			for _, e := range f.inbox("&state=received") {
				_ = e
				return false
			}
			return true
		})
		if rs := f.refunds(p.ID); len(rs) != 1 || f.payment(p.ID).AmountRefunded != 700 {
			t.Errorf("after replays: %d refunds, %d refunded", len(rs), f.payment(p.ID).AmountRefunded)
		}
		f.CheckBooks(map[string]string{m.ID: acct})

		// Tender's own refund is not taken for one made at Stripe.
		var own payment.RefundView
		f.Post("/v1/payments/"+p.ID+"/refunds", map[string]any{"amount": 300}, 200, &own)
		f.waitFor("Tender's refund", func() bool {
			rs := f.refunds(p.ID)
			return len(rs) == 2 && rs[0].Status == payment.RefundSucceeded
		})
		if rs := f.refunds(p.ID); rs[0].ID != own.ID || rs[0].Source != payment.RefundByTender {
			t.Errorf("refunds %+v", rs)
		}
		f.CheckBooks(map[string]string{m.ID: acct})
	})
}

// TestDestinationRefundMadeAtStripe: the platform refunds destination
// charges in its own Dashboard, once taking the transfer back and once
// bearing the refund itself: Tender's books follow what Stripe did.
func TestDestinationRefundMadeAtStripe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.ConnectedMerchant("Florist")
		accounts := map[string]string{m.ID: *m.Connection.AccountID}
		for _, reverse := range []bool{true, false} {
			p := f.paidPayment(m.ID, "destination", 5000)
			params := &stripe.RefundCreateParams{PaymentIntent: p.StripePaymentIntent, Amount: stripe.Int64(1200),
				ReverseTransfer: stripe.Bool(reverse)}
			if _, err := f.sc.V1Refunds.Create(context.Background(), params); err != nil {
				t.Fatal(err)
			}
			f.waitFor("the refund in Tender", func() bool { return len(f.refunds(p.ID)) == 1 })
			if r := f.refunds(p.ID)[0]; r.Source != payment.RefundAtStripe || r.Status != payment.RefundSucceeded || r.Amount != 1200 {
				t.Fatalf("refund %+v", r)
			}
			f.CheckBooks(accounts)
		}
	})
}
