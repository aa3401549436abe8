package payment_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// transfer runs the payment's transfer job as River would.
func (f *fixture) transfer(id string) error {
	return f.App.Payments.Transfer(context.Background(), f.PlatformID, id)
}

// stripeTransfers lists the platform's transfers in a transfer group.
func (f *fixture) stripeTransfers(group string) []*stripe.Transfer {
	f.t.Helper()
	ctx := context.Background()
	var out []*stripe.Transfer
	for tr, err := range f.sc.V1Transfers.List(ctx, &stripe.TransferListParams{TransferGroup: stripe.String(group)}).All(ctx) {
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, tr)
	}
	return out
}

// TestSeparateCharge: a charge shared by a hub and two suppliers is made
// on the platform's account with the payment's id as transfer group;
// once it succeeds, one transfer per split, tied to the charge, moves the
// amount less the platform's fee, shared in proportion to the splits with
// odd amounts adding up exactly. Running the transfer job again moves
// nothing more.
func TestSeparateCharge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		hub, farm, dairy := f.merchant("Food hub"), f.merchant("Farm"), f.merchant("Dairy")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.consent(c.ID, hub.ID)
		// The platform bears Stripe's fee, so the transfers share out the
		// amount less the platform's fee only (see TestStripeFeePayer).
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}},"stripe_fee_payer":"platform"}`, 200, nil)
		before := map[string]int64{}
		for _, m := range []string{*hub.Connection.AccountID, *farm.Connection.AccountID, *dairy.Connection.AccountID} {
			before[m] = f.balance(m)
		}

		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": hub.ID, "customer": c.ID, "amount": 2001, "currency": "usd", "off_session": true,
			"splits": []map[string]any{{"merchant": hub.ID, "amount": 1001}, {"merchant": farm.ID, "amount": 667}, {"merchant": dairy.ID, "amount": 333}}}, 200, &p)
		// 2.9% of 2001 is 58.03, + 30.
		if p.ChargeType != payment.ChargeSeparate || p.ApplicationFee != 88 || len(p.Transfers) != 3 || p.Transfers[1].Status != payment.TransferPending ||
			p.Transfers[1].SplitAmount != 667 || p.Transfers[1].Merchant != farm.ID {
			t.Fatalf("accepted %+v", p)
		}
		if err := f.process(p.ID); err != nil {
			t.Fatal(err)
		}
		pi := f.intent(f.payment(p.ID))
		if pi.TransferGroup != p.ID || pi.ApplicationFeeAmount != 0 || pi.TransferData != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
			t.Fatalf("PaymentIntent %+v", pi)
		}
		for range 2 {
			if err := f.transfer(p.ID); err != nil {
				t.Fatal(err)
			}
		}
		p = f.payment(p.ID)
		// 1913 left after the fee, shared 1001:667:333 is 956.97, 637.68,
		// 318.35: floors 956, 637, 318 and the two units left over go to the
		// largest remainders (0.97, 0.68).
		want := []int64{957, 638, 318}
		trs := f.stripeTransfers(p.ID)
		if len(trs) != 3 {
			t.Fatalf("%d transfers at Stripe, want 3", len(trs))
		}
		var sum int64
		for i, tv := range p.Transfers {
			sum += tv.Amount
			if tv.Status != payment.TransferPaid || tv.Amount != want[i] || tv.StripeTransfer == nil {
				t.Errorf("transfer %d: %+v, want %d paid", i, tv, want[i])
				continue
			}
			var at *stripe.Transfer
			for _, tr := range trs {
				if tr.ID == *tv.StripeTransfer {
					at = tr
				}
			}
			if at == nil || at.Amount != tv.Amount || at.Destination.ID != tv.StripeAccount || at.SourceTransaction == nil ||
				at.SourceTransaction.ID != pi.LatestCharge.ID || at.Metadata["tender_transfer"] != tv.ID {
				t.Errorf("transfer %d at Stripe: %+v", i, at)
				continue
			}
			if got := f.balance(tv.StripeAccount) - before[tv.StripeAccount]; got != tv.Amount {
				t.Errorf("merchant %s received %d, want %d", tv.Merchant, got, tv.Amount)
			}
			if n := f.events(payment.EventTransferPaid, tv.ID); n != 1 {
				t.Errorf("transfer %d: %d transfer.paid events, want 1", i, n)
			}
		}
		if sum+p.ApplicationFee != p.Amount {
			t.Errorf("transfers %d + fee %d != amount %d", sum, p.ApplicationFee, p.Amount)
		}
	})
}

// TestSeparateChargeOutcomes: without splits the whole amount less the fee
// goes to the payment's merchant; a declined card cancels the transfers; a
// manual capture of part of the amount transfers only what was captured,
// after the capture; a canceled authorization cancels the transfers.
func TestSeparateChargeOutcomes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.Post("/v1/fee_policy", `{"stripe_fee_payer":"platform"}`, 200, nil)
		m, other := f.merchant("Baker"), f.merchant("Miller")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		declining := f.customer()
		f.saveCard(declining.ID, "pm_card_chargeCustomerFail")

		var whole payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1500, "currency": "usd",
			"charge_type": "separate", "application_fee": 150}, 200, &whole)
		if err := f.process(whole.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.transfer(whole.ID); err != nil {
			t.Fatal(err)
		}
		if whole = f.payment(whole.ID); len(whole.Transfers) != 1 || whole.Transfers[0].Amount != 1350 || whole.Transfers[0].Merchant != m.ID ||
			whole.Transfers[0].Status != payment.TransferPaid {
			t.Errorf("without splits: %+v", whole)
		}

		var declined payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": declining.ID, "amount": 1000, "currency": "usd",
			"splits": []map[string]any{{"merchant": m.ID, "amount": 500}, {"merchant": other.ID, "amount": 500}}}, 200, &declined)
		if err := f.process(declined.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.transfer(declined.ID); err != nil {
			t.Fatal(err)
		}
		declined = f.payment(declined.ID)
		if declined.Status != payment.StatusFailed || declined.Transfers[0].Status != payment.TransferCanceled || declined.Transfers[1].Status != payment.TransferCanceled {
			t.Errorf("declined: %+v", declined)
		}
		if n := len(f.stripeTransfers(declined.ID)); n != 0 {
			t.Errorf("declined: %d transfers at Stripe", n)
		}

		var held payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd", "capture": "manual",
			"application_fee": 100, "splits": []map[string]any{{"merchant": m.ID, "amount": 600}, {"merchant": other.ID, "amount": 400}}}, 200, &held)
		if err := f.process(held.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.transfer(held.ID); err != nil {
			t.Fatal(err)
		}
		if n := len(f.stripeTransfers(held.ID)); n != 0 {
			t.Fatalf("%d transfers before the capture", n)
		}
		var dropped payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 700, "currency": "usd", "capture": "manual",
			"splits": []map[string]any{{"merchant": m.ID, "amount": 300}, {"merchant": other.ID, "amount": 400}}}, 200, &dropped)
		if err := f.process(dropped.ID); err != nil {
			t.Fatal(err)
		}
		f.Post("/v1/payments/"+dropped.ID+"/cancel", `{}`, 200, &dropped)
		if dropped = f.payment(dropped.ID); dropped.Status != payment.StatusCanceled || dropped.Transfers[0].Status != payment.TransferCanceled ||
			dropped.Transfers[1].Status != payment.TransferCanceled {
			t.Errorf("canceled: %+v", dropped)
		}

		f.Post("/v1/payments/"+held.ID+"/capture", `{"amount_to_capture":501}`, 200, &held)
		if err := f.transfer(held.ID); err != nil {
			t.Fatal(err)
		}
		// An explicit fee is kept, capped at the amount captured: 501 − 100
		// = 401 shared 3:2 is 240.6 and 160.4.
		held = f.payment(held.ID)
		if held.AmountCaptured != 501 || held.Transfers[0].Amount != 241 || held.Transfers[1].Amount != 160 ||
			held.Transfers[0].Status != payment.TransferPaid || held.Transfers[1].Status != payment.TransferPaid {
			t.Errorf("captured in part: %+v", held)
		}
	})
}

// TestSeparateChargeValidation: splits name their field when a merchant
// is unknown or cannot be paid, and separate is the only charge type they
// go with; nothing is written.
func TestSeparateChargeValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Potter")
		idle := f.unconnectedMerchant("Weaver")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		for _, tt := range []struct {
			body  map[string]any
			param string
		}{
			{map[string]any{"splits": []map[string]any{{"merchant": m.ID, "amount": 500}, {"merchant": "mer_nope", "amount": 500}}}, "splits[1][merchant]"},
			{map[string]any{"splits": []map[string]any{{"merchant": idle.ID, "amount": 1000}}}, "splits[0][merchant]"},
			{map[string]any{"splits": []map[string]any{{"merchant": m.ID, "amount": 999}}}, "splits"},
			{map[string]any{"splits": []map[string]any{{"merchant": m.ID, "amount": 1000}}, "charge_type": "direct"}, "charge_type"},
			{map[string]any{"splits": []map[string]any{{"merchant": m.ID, "amount": 0}, {"merchant": idle.ID, "amount": 1000}}}, "splits[0][amount]"},
		} {
			body := map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd"}
			for k, v := range tt.body {
				body[k] = v
			}
			if r := f.Do("POST", "/v1/payments", body); r.Status != 400 || r.Err().Param != tt.param {
				t.Errorf("%v: %d %s, want 400 naming %s", tt.body, r.Status, r.Body, tt.param)
			}
		}
		if n := f.count(`SELECT COUNT(*) FROM payments`) + f.count(`SELECT COUNT(*) FROM transfers`); n != 0 {
			t.Errorf("%d rows written by refused payments", n)
		}
	})
}

// TestSeparateChargeCrashes: the transfer job stopped before and after
// Stripe makes a transfer, then rerun past Stripe's idempotency window,
// makes each transfer exactly once.
func TestSeparateChargeCrashes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m, other := f.merchant("Cooper"), f.merchant("Tanner")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		crash := errors.New("simulated crash")
		for _, step := range []string{"before_transfer", "after_transfer"} {
			var p payment.View
			f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 900, "currency": "usd", "application_fee": 90,
				"splits": []map[string]any{{"merchant": m.ID, "amount": 450}, {"merchant": other.ID, "amount": 450}}}, 200, &p)
			if err := f.process(p.ID); err != nil {
				t.Fatal(err)
			}
			payment.SetCrashFunc(f.App.Payments, func(at, _ string) error {
				if at == step {
					return crash
				}
				return nil
			})
			if err := f.transfer(p.ID); !errors.Is(err, crash) {
				t.Fatalf("%s: first run: %v, want the crash", step, err)
			}
			f.Emulator.Advance(25 * time.Hour)
			payment.SetCrashFunc(f.App.Payments, nil)
			for range 2 {
				if err := f.transfer(p.ID); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			p = f.payment(p.ID)
			trs := f.stripeTransfers(p.ID)
			if len(trs) != 2 || p.Transfers[0].Status != payment.TransferPaid || p.Transfers[1].Status != payment.TransferPaid {
				t.Errorf("%s: %d transfers at Stripe, payment %+v", step, len(trs), p.Transfers)
			}
			for _, tv := range p.Transfers {
				if n := f.events(payment.EventTransferPaid, tv.ID); n != 1 {
					t.Errorf("%s: %d transfer.paid events for %s", step, n, tv.ID)
				}
			}
		}
	})
}

// TestSeparateChargeTransferRefused: a merchant whose account was deleted
// after the payment was accepted gets no transfer: it fails with
// transfer.failed for the operator, the money stays on the platform, and
// the other splits are paid.
func TestSeparateChargeTransferRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m, gone := f.merchant("Smith"), f.merchant("Wright")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd", "application_fee": 0,
			"splits": []map[string]any{{"merchant": m.ID, "amount": 700}, {"merchant": gone.ID, "amount": 300}}}, 200, &p)
		if err := f.process(p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sc.V1Accounts.Delete(context.Background(), *gone.Connection.AccountID, nil); err != nil {
			t.Fatal(err)
		}
		if err := f.transfer(p.ID); err != nil {
			t.Fatalf("transfer: %v, want the refusal settled", err)
		}
		p = f.payment(p.ID)
		if p.Transfers[0].Status != payment.TransferPaid || p.Transfers[1].Status != payment.TransferFailed ||
			p.Transfers[1].FailureCode == nil || *p.Transfers[1].FailureCode != "account_invalid" {
			t.Errorf("transfers %+v", p.Transfers)
		}
		if n := f.events(payment.EventTransferFailed, p.Transfers[1].ID); n != 1 {
			t.Errorf("%d transfer.failed events", n)
		}
	})
}
