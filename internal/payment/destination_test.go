package payment_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// platformIntents lists the PaymentIntents on the platform's own account.
func (f *fixture) platformIntents() []*stripe.PaymentIntent {
	f.t.Helper()
	ctx := context.Background()
	var out []*stripe.PaymentIntent
	for pi, err := range f.sc.V1PaymentIntents.List(ctx, &stripe.PaymentIntentListParams{}).All(ctx) {
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, pi)
	}
	return out
}

// balance is an account's balance in usd, pending and available together.
func (f *fixture) balance(acct string) int64 {
	f.t.Helper()
	params := &stripe.BalanceRetrieveParams{}
	if acct != "" {
		params.SetStripeAccount(acct)
	}
	b, err := f.sc.V1Balance.Retrieve(context.Background(), params)
	if err != nil {
		f.t.Fatal(err)
	}
	var sum int64
	for _, a := range append(b.Pending, b.Available...) {
		if a.Currency == "usd" {
			sum += a.Amount
		}
	}
	return sum
}

// TestDestinationCharge: a destination charge is made on the platform's
// account with the card itself (no clone on the merchant's), on behalf of
// the merchant, with the policy's fee; the merchant receives the amount
// less the fee by a transfer, and the platform's balance grows by the fee
// less Stripe's (which the platform pays). A declined card fails the payment the same way as a
// direct charge.
func TestDestinationCharge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Fishmonger")
		acct := *m.Connection.AccountID
		c := f.customer()
		card := f.saveCard(c.ID, "pm_card_visa")
		f.consent(c.ID, m.ID)
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}}}`, 200, nil)
		merchantBefore, platformBefore := f.balance(acct), f.balance("")

		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 2500, "currency": "usd",
			"charge_type": "destination", "off_session": true, "statement_descriptor_suffix": "FISH"}, 200, &p)
		if p.ChargeType != payment.ChargeDestination || p.ApplicationFee != 103 {
			t.Fatalf("accepted %+v", p)
		}
		if err := f.process(p.ID); err != nil {
			t.Fatal(err)
		}
		if p = f.payment(p.ID); p.Status != payment.StatusSucceeded || p.StripePaymentIntent == nil || p.Failure != nil {
			t.Fatalf("payment %+v", p)
		}
		pi, err := f.sc.V1PaymentIntents.Retrieve(ctx, *p.StripePaymentIntent, nil) // on the platform
		if err != nil {
			t.Fatal(err)
		}
		var pmStripeID string
		if err := db.QueryRowContext(ctx, `SELECT stripe_payment_method_id FROM payment_methods WHERE id = $1`, card.ID).Scan(&pmStripeID); err != nil {
			t.Fatal(err)
		}
		if pi.Amount != 2500 || pi.ApplicationFeeAmount != 103 || pi.TransferData == nil || pi.TransferData.Destination == nil ||
			pi.TransferData.Destination.ID != acct || pi.OnBehalfOf == nil || pi.OnBehalfOf.ID != acct ||
			pi.PaymentMethod == nil || pi.PaymentMethod.ID != pmStripeID || pi.Metadata["tender_payment"] != p.ID ||
			pi.Status != stripe.PaymentIntentStatusSucceeded || pi.LatestCharge == nil {
			t.Fatalf("PaymentIntent %+v", pi)
		}
		if n := len(f.intents(acct)); n != 0 {
			t.Errorf("%d PaymentIntents on the merchant's account, want none", n)
		}
		if n := f.count(`SELECT COUNT(*) FROM clones`); n != 0 {
			t.Errorf("%d clones made for a destination charge, want none", n)
		}
		var transfers []*stripe.Transfer
		for tr, err := range f.sc.V1Transfers.List(ctx, &stripe.TransferListParams{Destination: stripe.String(acct)}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			transfers = append(transfers, tr)
		}
		// As Stripe documents for destination charges with an application
		// fee: the whole amount is transferred and the fee comes back from
		// the merchant's account, which nets the amount less the fee.
		if len(transfers) != 1 || transfers[0].Amount != 2500 {
			t.Fatalf("transfers to the merchant %+v, want one of 2500", transfers)
		}
		if got := f.balance(acct) - merchantBefore; got != 2500-103 {
			t.Errorf("the merchant's balance grew by %d, want %d", got, 2500-103)
		}
		n := 0
		for fee, err := range f.sc.V1ApplicationFees.List(ctx, &stripe.ApplicationFeeListParams{Charge: stripe.String(pi.LatestCharge.ID)}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; fee.Amount != 103 {
				t.Errorf("application fee %d, want 103", fee.Amount)
			}
		}
		if n != 1 {
			t.Errorf("%d application fees, want 1", n)
		}
		ch, err := f.sc.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, &stripe.ChargeRetrieveParams{
			Expand: []*string{stripe.String("balance_transaction")}})
		if err != nil || ch.BalanceTransaction == nil {
			t.Fatalf("charge %+v %v", ch, err)
		}
		if got, want := f.balance("")-platformBefore, 103-ch.BalanceTransaction.Fee; got != want {
			t.Errorf("the platform's balance grew by %d, want the fee less Stripe's %d: %d", got, ch.BalanceTransaction.Fee, want)
		}
		if f.events(payment.EventPaymentSucceeded, p.ID) != 1 {
			t.Errorf("no payment.succeeded event")
		}

		declining := f.customer()
		f.saveCard(declining.ID, "pm_card_chargeCustomerFail")
		var d payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": declining.ID, "amount": 1200, "currency": "usd",
			"charge_type": "destination"}, 200, &d)
		if err := f.process(d.ID); err != nil {
			t.Fatal(err)
		}
		if d = f.payment(d.ID); d.Status != payment.StatusFailed || d.Failure == nil || d.Failure.Code != "card_declined" ||
			d.Failure.DeclineCode == nil || *d.Failure.DeclineCode != "generic_decline" || f.events(payment.EventPaymentFailed, d.ID) != 1 {
			t.Fatalf("declined %+v", d)
		}
		if got := f.balance(acct) - merchantBefore; got != 2500-103 {
			t.Errorf("after the decline the merchant's balance grew by %d, want %d", got, 2500-103)
		}

		// Off-session needs consent, as for direct charges.
		if r := f.Do("POST", "/v1/payments", map[string]any{"merchant": m.ID, "customer": declining.ID, "amount": 1200, "currency": "usd",
			"charge_type": "destination", "off_session": true}); r.Status != 400 || r.Err().Param != "off_session" {
			t.Errorf("off-session without consent: %d %s", r.Status, r.Body)
		}
	})
}

// TestDestinationCrashes: the crash harness of TestCrashes for
// destination charges, whose lookup by metadata searches the platform's
// account: each crash, rerun past Stripe's idempotency window, leaves
// exactly one PaymentIntent, one transfer and one application fee.
func TestDestinationCrashes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Chandler")
		acct := *m.Connection.AccountID
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.consent(c.ID, m.ID)
		crash := errors.New("simulated crash")
		for i, step := range []string{"before_create", "after_create", "after_save"} {
			var p payment.View
			f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 800, "currency": "usd", "off_session": true,
				"charge_type": "destination", "application_fee": 80}, 200, &p)
			payment.SetCrashFunc(f.App.Payments, func(at, _ string) error {
				if at == step {
					return crash
				}
				return nil
			})
			if err := f.process(p.ID); !errors.Is(err, crash) {
				t.Fatalf("%s: first run: %v, want the crash", step, err)
			}
			f.Emulator.Advance(25 * time.Hour)
			payment.SetCrashFunc(f.App.Payments, nil)
			for range 3 {
				if err := f.process(p.ID); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			got := f.payment(p.ID)
			intents := f.platformIntents()
			if len(intents) != i+1 || got.Status != payment.StatusSucceeded || got.StripePaymentIntent == nil || *got.StripePaymentIntent != intents[0].ID {
				t.Fatalf("%s: after rerunning: %+v with %d PaymentIntents, want %d", step, got, len(intents), i+1)
			}
			if n := f.events(payment.EventPaymentSucceeded, p.ID); n != 1 {
				t.Errorf("%s: %d payment.succeeded events, want 1", step, n)
			}
		}
		var total int64
		n := 0
		var fees int64
		for fee, err := range f.sc.V1ApplicationFees.List(ctx, &stripe.ApplicationFeeListParams{}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			fees += fee.Amount
		}
		if fees != 3*80 {
			t.Errorf("application fees of %d in all, want %d", fees, 3*80)
		}
		for tr, err := range f.sc.V1Transfers.List(ctx, &stripe.TransferListParams{Destination: stripe.String(acct)}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			total += tr.Amount
		}
		if n != 3 || total != 3*800 {
			t.Errorf("%d transfers of %d in all, want 3 of %d", n, total, 3*800)
		}
	})
}

// TestDestinationAccountUnusable: a destination charge to a merchant
// whose account was deleted fails the payment and refreshes the merchant,
// rather than being retried.
func TestDestinationAccountUnusable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Saddler")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")

		var gone payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd",
			"charge_type": "destination"}, 200, &gone)
		if _, err := f.sc.V1Accounts.Delete(ctx, *m.Connection.AccountID, nil); err != nil {
			t.Fatal(err)
		}
		if err := f.process(gone.ID); err != nil {
			t.Fatalf("deleted: %v, want the payment settled", err)
		}
		if gone = f.payment(gone.ID); gone.Status != payment.StatusFailed || gone.Failure.Code != "account_invalid" {
			t.Errorf("deleted: %+v", gone)
		}
		if mm, _ := f.App.Connect.Merchant(ctx, f.PlatformID, m.ID); mm.Connection.Status != connect.StatusDeauthorized {
			t.Errorf("merchant %s after its account was deleted, want deauthorized", mm.Connection.Status)
		}
		if n := len(f.platformIntents()); n != 0 {
			t.Errorf("%d PaymentIntents, want none", n)
		}
	})
}
