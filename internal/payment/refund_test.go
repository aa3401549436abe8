package payment_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// refund asks for a refund and runs its job as River would.
func (f *fixture) refund(paymentID string, body any) payment.RefundView {
	f.t.Helper()
	var r payment.RefundView
	f.Post("/v1/payments/"+paymentID+"/refunds", body, 200, &r)
	if r.Status != payment.RefundPending {
		f.t.Fatalf("refund accepted %+v", r)
	}
	if err := f.App.Payments.ProcessRefund(context.Background(), f.PlatformID, r.ID); err != nil {
		f.t.Fatalf("refund %s: %v", r.ID, err)
	}
	f.Do("GET", "/v1/refunds/"+r.ID, nil).Decode(f.t, &r)
	return r
}

// paid makes a payment and runs its job (and a separate charge's
// transfers) until it succeeds.
func (f *fixture) paid(body map[string]any) payment.View {
	f.t.Helper()
	var p payment.View
	f.Post("/v1/payments", body, 200, &p)
	if err := f.process(p.ID); err != nil {
		f.t.Fatal(err)
	}
	if err := f.transfer(p.ID); err != nil {
		f.t.Fatal(err)
	}
	if p = f.payment(p.ID); p.Status != payment.StatusSucceeded {
		f.t.Fatalf("payment %+v", p)
	}
	return p
}

// stripeRefunds is the sum of the refunds of a payment's charge at Stripe.
func (f *fixture) stripeRefunds(p payment.View) (n int, sum int64) {
	f.t.Helper()
	params := &stripe.RefundListParams{PaymentIntent: p.StripePaymentIntent}
	if p.ChargeType == payment.ChargeDirect {
		params.SetStripeAccount(p.StripeAccount)
	}
	ctx := context.Background()
	for r, err := range f.sc.V1Refunds.List(ctx, params).All(ctx) {
		if err != nil {
			f.t.Fatal(err)
		}
		n++
		sum += r.Amount
	}
	return n, sum
}

// feeRefunded is what was given back of the application fees at Stripe.
func (f *fixture) feeRefunded() int64 {
	f.t.Helper()
	ctx := context.Background()
	var sum int64
	for fee, err := range f.sc.V1ApplicationFees.List(ctx, &stripe.ApplicationFeeListParams{}).All(ctx) {
		if err != nil {
			f.t.Fatal(err)
		}
		sum += fee.AmountRefunded
	}
	return sum
}

// TestRefundDirect: three partial refunds of a direct charge with odd
// amounts give back the platform's fee in proportion, rounded up for the
// merchant on the total so far, so the parts add up to the whole fee; a
// fourth finds nothing left.
func TestRefundDirect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Grocer")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}}}`, 200, nil)
		p := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd"})
		if p.ApplicationFee != 59 {
			t.Fatalf("fee %d", p.ApplicationFee)
		}
		// ⌈59 × 333/1000⌉ = 20, ⌈59 × 666/1000⌉ = 40, then all 59.
		wantFee := []int64{20, 20, 19}
		for i, body := range []any{`{"amount":333,"reason":"requested_by_customer"}`, `{"amount":333}`, `{}`} {
			r := f.refund(p.ID, body)
			if r.Status != payment.RefundSucceeded || r.ApplicationFeeRefunded == nil || *r.ApplicationFeeRefunded != wantFee[i] || r.StripeRefund == nil {
				t.Errorf("refund %d: %+v, want fee %d back", i, r, wantFee[i])
			}
			if n := f.events(payment.EventRefundSucceeded, r.ID); n != 1 {
				t.Errorf("refund %d: %d refund.succeeded events", i, n)
			}
		}
		if n, sum := f.stripeRefunds(p); n != 3 || sum != 1000 {
			t.Errorf("%d refunds of %d at Stripe, want 3 of 1000", n, sum)
		}
		if got := f.feeRefunded(); got != 59 {
			t.Errorf("fee refunded at Stripe %d, want 59", got)
		}
		if p = f.payment(p.ID); p.AmountRefunded != 1000 {
			t.Errorf("payment %+v", p)
		}
		if r := f.Do("POST", "/v1/payments/"+p.ID+"/refunds", `{"amount":1}`); r.Status != 409 || r.Err().Code != "payment_refunded" {
			t.Errorf("refund of a refunded payment: %d %s", r.Status, r.Body)
		}
	})
}

// TestRefundDestination: refunding a destination charge reverses the
// transfer by exactly the refund and gives the fee back in proportion.
func TestRefundDestination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Butcher")
		acct := *m.Connection.AccountID
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}}}`, 200, nil)
		p := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 2500, "currency": "usd", "charge_type": "destination"})
		merchantBefore := f.balance(acct)
		first := f.refund(p.ID, `{"amount":1001}`)
		rest := f.refund(p.ID, `{}`)
		// ⌈103 × 1001/2500⌉ = 42, then the other 61.
		if *first.ApplicationFeeRefunded != 42 || *rest.ApplicationFeeRefunded != 61 || rest.Amount != 1499 {
			t.Errorf("refunds %+v %+v", first, rest)
		}
		if got := f.feeRefunded(); got != 103 {
			t.Errorf("fee refunded %d, want 103", got)
		}
		// The merchant gives back the amount less the fee it gets back.
		if got := merchantBefore - f.balance(acct); got != 2500-103 {
			t.Errorf("merchant gave back %d, want %d", got, 2500-103)
		}
		ctx := context.Background()
		var reversed int64
		for tr, err := range f.sc.V1Transfers.List(ctx, &stripe.TransferListParams{Destination: stripe.String(acct)}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			reversed += tr.AmountReversed
		}
		if reversed != 2500 {
			t.Errorf("transfer reversed by %d, want 2500", reversed)
		}
	})
}

// TestRefundSeparate: refunding a separate charge reverses each split's
// transfer in proportion, rounded down for the merchant on the total so
// far; at the full refund every transfer is reversed whole and the
// platform has given back exactly its fee.
func TestRefundSeparate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		hub, farm, dairy := f.merchant("Food hub"), f.merchant("Farm"), f.merchant("Dairy")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}},"stripe_fee_payer":"platform"}`, 200, nil)
		p := f.paid(map[string]any{"merchant": hub.ID, "customer": c.ID, "amount": 2001, "currency": "usd",
			"splits": []map[string]any{{"merchant": hub.ID, "amount": 1001}, {"merchant": farm.ID, "amount": 667}, {"merchant": dairy.ID, "amount": 333}}})
		// Transfers 957, 638, 318 (see TestSeparateCharge). 700 of 2001:
		// ⌊334.78⌋, ⌊223.19⌋, ⌊111.24⌋; the platform bears the other 32.
		first := f.refund(p.ID, `{"amount":700}`)
		rest := f.refund(p.ID, `{}`)
		want := [][]int64{{334, 223, 111}, {623, 415, 207}}
		for i, r := range []payment.RefundView{first, rest} {
			if r.Status != payment.RefundSucceeded || len(r.TransferReversals) != 3 {
				t.Fatalf("refund %d: %+v", i, r)
			}
			for j, rv := range r.TransferReversals {
				if rv.Amount != want[i][j] || rv.Transfer != p.Transfers[j].ID || rv.StripeReversal == nil {
					t.Errorf("refund %d reversal %d: %+v, want %d", i, j, rv, want[i][j])
				}
			}
		}
		p = f.payment(p.ID)
		ctx := context.Background()
		for _, tv := range p.Transfers {
			tr, err := f.sc.V1Transfers.Retrieve(ctx, *tv.StripeTransfer, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tv.AmountReversed != tv.Amount || tr.AmountReversed != tv.Amount {
				t.Errorf("transfer %s reversed %d (Stripe %d) of %d", tv.ID, tv.AmountReversed, tr.AmountReversed, tv.Amount)
			}
			if n := f.events(payment.EventTransferReversed, tv.ID); n != 2 {
				t.Errorf("transfer %s: %d transfer.reversed events, want 2", tv.ID, n)
			}
		}
		if n, sum := f.stripeRefunds(p); n != 2 || sum != 2001 {
			t.Errorf("%d refunds of %d", n, sum)
		}
	})
}

// TestRefundsMadeByOneJob: two refunds of a separate charge accepted before
// either is made (a busy queue, or a restart) are made by the second's job,
// in order; the second's reversals follow from what the first reversed, so
// a full refund reverses each transfer exactly, with none refused by
// Stripe for more than is left on it.
func TestRefundsMadeByOneJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		hub, farm := f.merchant("Food hub"), f.merchant("Farm")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		p := f.paid(map[string]any{"merchant": hub.ID, "customer": c.ID, "amount": 5492, "currency": "usd", "application_fee": 217,
			"splits": []map[string]any{{"merchant": hub.ID, "amount": 4596}, {"merchant": farm.ID, "amount": 896}}})
		var first, rest payment.RefundView
		f.Post("/v1/payments/"+p.ID+"/refunds", `{"amount":1933}`, 200, &first)
		f.Post("/v1/payments/"+p.ID+"/refunds", `{}`, 200, &rest)
		if err := f.App.Payments.ProcessRefund(context.Background(), f.PlatformID, rest.ID); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{first.ID, rest.ID} {
			var r payment.RefundView
			f.Do("GET", "/v1/refunds/"+id, nil).Decode(t, &r)
			if r.Status != payment.RefundSucceeded || r.FailureCode != nil {
				t.Fatalf("refund %s: %+v", id, r)
			}
		}
		for _, tv := range f.payment(p.ID).Transfers {
			tr, err := f.sc.V1Transfers.Retrieve(context.Background(), *tv.StripeTransfer, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tv.AmountReversed != tv.Amount || tr.AmountReversed != tv.Amount {
				t.Errorf("transfer %s reversed %d (Stripe %d) of %d", tv.ID, tv.AmountReversed, tr.AmountReversed, tv.Amount)
			}
		}
	})
}

// TestRefundRefused: bad input names its field; a payment not captured,
// failed or unknown cannot be refunded; refunds racing for the same money
// cannot together return more than was captured; a refund Stripe refuses
// fails and releases its amount for another.
func TestRefundRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Florist")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		p := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd"})
		for _, tt := range []struct {
			body  string
			param string
		}{
			{`{"amount":0}`, "amount"},
			{`{"amount":1001}`, "amount"},
			{`{"reason":"changed_mind"}`, "reason"},
			{`{"metadata":{"tender_refund":"x"}}`, "metadata"},
		} {
			if r := f.Do("POST", "/v1/payments/"+p.ID+"/refunds", tt.body); r.Status != 400 || r.Err().Param != tt.param {
				t.Errorf("%s: %d %s, want 400 naming %s", tt.body, r.Status, r.Body, tt.param)
			}
		}
		if r := f.Do("POST", "/v1/payments/pay_nope/refunds", `{}`); r.Status != 404 {
			t.Errorf("unknown payment: %d", r.Status)
		}
		held := f.authorize(m.ID, c.ID, "direct", 500)
		if r := f.Do("POST", "/v1/payments/"+held.ID+"/refunds", `{}`); r.Status != 409 || r.Err().Code != "payment_not_refundable" {
			t.Errorf("refund before capture: %d %s", r.Status, r.Body)
		}
		if n := f.count(`SELECT COUNT(*) FROM refunds`); n != 0 {
			t.Fatalf("%d refunds written by refused requests", n)
		}

		// Two refunds of 600 at once: one is accepted.
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i := range codes {
			wg.Go(func() { codes[i] = f.Do("POST", "/v1/payments/"+p.ID+"/refunds", `{"amount":600}`).Status })
		}
		wg.Wait()
		if codes[0]+codes[1] != 200+400 {
			t.Fatalf("racing refunds answered %v, want one 200 and one 400", codes)
		}
		var accepted payment.RefundView
		if rs := f.Do("GET", "/v1/payments/"+p.ID+"/refunds", nil); rs.Status == 200 {
			var l struct{ Data []payment.RefundView }
			rs.Decode(t, &l)
			if len(l.Data) != 1 {
				t.Fatalf("refunds %+v", l.Data)
			}
			accepted = l.Data[0]
		}
		// The merchant's account is deleted before the refund is made:
		// Stripe refuses it, the refund fails and its amount is free again.
		if _, err := f.sc.V1Accounts.Delete(context.Background(), p.StripeAccount, nil); err != nil {
			t.Fatal(err)
		}
		if err := f.App.Payments.ProcessRefund(context.Background(), f.PlatformID, accepted.ID); err != nil {
			t.Fatal(err)
		}
		f.Do("GET", "/v1/refunds/"+accepted.ID, nil).Decode(t, &accepted)
		if accepted.Status != payment.RefundFailed || accepted.FailureCode == nil {
			t.Errorf("refused refund %+v", accepted)
		}
		if n := f.events(payment.EventRefundFailed, accepted.ID); n != 1 {
			t.Errorf("%d refund.failed events", n)
		}
		if got := f.payment(p.ID); got.AmountRefunded != 0 {
			t.Errorf("amount refunded %d after the refund failed, want 0", got.AmountRefunded)
		}
	})
}

// TestRefundCrashes: the refund job stopped before and after Stripe makes
// the refund, rerun past Stripe's idempotency window, refunds once.
func TestRefundCrashes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Vintner")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		crash := errors.New("simulated crash")
		for _, step := range []string{"before_refund", "after_refund"} {
			p := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd", "application_fee": 100})
			var r payment.RefundView
			f.Post("/v1/payments/"+p.ID+"/refunds", `{"amount":250}`, 200, &r)
			payment.SetCrashFunc(f.App.Payments, func(at, _ string) error {
				if at == step {
					return crash
				}
				return nil
			})
			if err := f.App.Payments.ProcessRefund(context.Background(), f.PlatformID, r.ID); !errors.Is(err, crash) {
				t.Fatalf("%s: first run: %v, want the crash", step, err)
			}
			f.Emulator.Advance(25 * time.Hour)
			payment.SetCrashFunc(f.App.Payments, nil)
			for range 2 {
				if err := f.App.Payments.ProcessRefund(context.Background(), f.PlatformID, r.ID); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			f.Do("GET", "/v1/refunds/"+r.ID, nil).Decode(t, &r)
			if n, sum := f.stripeRefunds(p); n != 1 || sum != 250 || r.Status != payment.RefundSucceeded || *r.ApplicationFeeRefunded != 25 {
				t.Errorf("%s: %d refunds of %d at Stripe, refund %+v", step, n, sum, r)
			}
			if n := f.events(payment.EventRefundSucceeded, r.ID); n != 1 {
				t.Errorf("%s: %d refund.succeeded events", step, n)
			}
		}
	})
}

// TestJanitorTransfersRefunds: a captured separate charge whose transfer
// job is gone, and a refund whose job is gone, are requeued once they have
// waited StuckAfter, once while their new jobs wait, and the new jobs
// finish them.
func TestJanitorTransfersRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m, other := f.merchant("Glazier"), f.merchant("Joiner")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		shared := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd"})
		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd", "application_fee": 0,
			"splits": []map[string]any{{"merchant": m.ID, "amount": 500}, {"merchant": other.ID, "amount": 500}}}, 200, &p)
		if err := f.process(p.ID); err != nil {
			t.Fatal(err)
		}
		var r payment.RefundView
		f.Post("/v1/payments/"+shared.ID+"/refunds", `{"amount":100}`, 200, &r)
		if _, err := db.ExecContext(ctx, `DELETE FROM river_job WHERE kind IN ('payment.transfer', 'payment.refund')`); err != nil {
			t.Fatal(err)
		}
		if n, err := f.App.Payments.Requeue(ctx); err != nil || n != 0 {
			t.Fatalf("requeue of fresh work: %d %v", n, err)
		}
		f.clock.Advance(payment.StuckAfter + time.Minute)
		if n, err := f.App.Payments.Requeue(ctx); err != nil || n != 2 {
			t.Fatalf("requeue of stuck work: %d %v, want 2 jobs", n, err)
		}
		f.clock.Advance(payment.StuckAfter + time.Minute)
		if n, err := f.App.Payments.Requeue(ctx); err != nil || n != 0 {
			t.Fatalf("requeue while the jobs wait: %d %v", n, err)
		}
		if err := f.App.Start(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			p = f.payment(p.ID)
			f.Do("GET", "/v1/refunds/"+r.ID, nil).Decode(t, &r)
			if p.Transfers[0].Status == payment.TransferPaid && p.Transfers[1].Status == payment.TransferPaid && r.Status == payment.RefundSucceeded {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("transfers %+v, refund %s", p.Transfers, r.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
