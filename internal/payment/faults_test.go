package payment_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestFaultyStripe: with the emulator failing 5 % of requests with a 500
// and losing 2 % of responses after committing them (seeded), every
// payment settles, none is charged twice, and every amount and fee adds
// up at the emulator. Each payment's job is rerun until it settles, as
// River would, with the clock moved on when it snoozes.
func TestFaultyStripe(t *testing.T) {
	const payments = 150
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureWith(t, db, emulator.Options{Seed: 7})
		ctx := context.Background()
		m := f.merchant("Market hall")
		acct := *m.Connection.AccountID
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":250,"fixed":20}}}`, 200, nil)
		var customers []string
		for range 5 {
			c := f.customer()
			card := f.saveCard(c.ID, "pm_card_visa")
			f.consent(c.ID, m.ID)
			// Cloned before the faults start: the wallet's clone keys are
			// deterministic too, and a stored 500 would be replayed to them.
			if _, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, card.ID, m.ID); err != nil {
				t.Fatal(err)
			}
			customers = append(customers, c.ID)
		}
		ids := make([]string, payments)
		var wantAmount, wantFees int64
		for i := range ids {
			var p payment.View
			f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": customers[i%len(customers)], "amount": 500 + i*37,
				"currency": "usd", "off_session": true, "reference": fmt.Sprint("order-", i)}, 200, &p)
			ids[i] = p.ID
			wantAmount += p.Amount
			wantFees += p.ApplicationFee
		}

		f.settleUnderFaults(ids)

		var gotAmount, gotFees int64
		byPayment := map[string]int{}
		for _, pi := range f.intents(acct) {
			byPayment[pi.Metadata["tender_payment"]]++
			if pi.Status == stripe.PaymentIntentStatusSucceeded {
				gotAmount += pi.AmountReceived
				gotFees += pi.ApplicationFeeAmount
			}
		}
		for _, id := range ids {
			p := f.payment(id)
			if p.Status != payment.StatusSucceeded || byPayment[id] != 1 {
				t.Errorf("payment %s: %s with %d PaymentIntents", id, p.Status, byPayment[id])
			}
		}
		if gotAmount != wantAmount || gotFees != wantFees {
			t.Errorf("at the emulator: %d charged, %d in fees; Tender expects %d and %d", gotAmount, gotFees, wantAmount, wantFees)
		}
	})
}

// settleUnderFaults runs each payment's job, with the emulator failing 5 %
// of requests with a 500 and losing 2 % of responses, until it settles,
// as River would, moving the clock on when it snoozes.
func (f *fixture) settleUnderFaults(ids []string) {
	f.t.Helper()
	f.Emulator.SetFaults(emulator.Faults{ErrorRate: 0.05, LostResponseRate: 0.02})
	defer f.Emulator.SetFaults(emulator.Faults{})
	reruns := 0
	for _, id := range ids {
		for run := 0; ; run++ {
			if run == 50 {
				f.t.Fatalf("payment %s unsettled after 50 runs: %+v", id, f.payment(id))
			}
			err := f.process(id)
			var snooze *river.JobSnoozeError
			if errors.As(err, &snooze) {
				f.clock.Advance(snooze.Duration)
			}
			if err == nil {
				break
			}
			reruns++
		}
	}
	if reruns == 0 {
		f.t.Fatal("no run failed: the faults did not reach the job")
	}
	f.t.Logf("%d payments settled after %d reruns", len(ids), reruns)
}

// TestFaultyStripeDestination: TestFaultyStripe for destination charges,
// made on the platform's account: none is charged twice, and the amounts
// charged, transferred to the merchant and taken back as fees add up to
// Tender's.
func TestFaultyStripeDestination(t *testing.T) {
	const payments = 80
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureWith(t, db, emulator.Options{Seed: 11})
		ctx := context.Background()
		m := f.merchant("Arcade")
		acct := *m.Connection.AccountID
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":250,"fixed":20}}}`, 200, nil)
		var customers []string
		for range 4 {
			c := f.customer()
			f.saveCard(c.ID, "pm_card_visa")
			f.consent(c.ID, m.ID)
			customers = append(customers, c.ID)
		}
		ids := make([]string, payments)
		var wantAmount, wantFees int64
		for i := range ids {
			var p payment.View
			f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": customers[i%len(customers)], "amount": 700 + i*41,
				"currency": "usd", "charge_type": "destination", "off_session": true}, 200, &p)
			ids[i] = p.ID
			wantAmount += p.Amount
			wantFees += p.ApplicationFee
		}
		f.settleUnderFaults(ids)

		var gotAmount, gotFees, transferred int64
		byPayment := map[string]int{}
		for _, pi := range f.platformIntents() {
			byPayment[pi.Metadata["tender_payment"]]++
			if pi.Status == stripe.PaymentIntentStatusSucceeded {
				gotAmount += pi.AmountReceived
				gotFees += pi.ApplicationFeeAmount
			}
		}
		for _, id := range ids {
			if p := f.payment(id); p.Status != payment.StatusSucceeded || byPayment[id] != 1 {
				t.Errorf("payment %s: %s with %d PaymentIntents", id, p.Status, byPayment[id])
			}
		}
		for tr, err := range f.sc.V1Transfers.List(ctx, &stripe.TransferListParams{Destination: stripe.String(acct)}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			transferred += tr.Amount
		}
		var feesTaken int64
		for fee, err := range f.sc.V1ApplicationFees.List(ctx, &stripe.ApplicationFeeListParams{}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			feesTaken += fee.Amount
		}
		if gotAmount != wantAmount || gotFees != wantFees || transferred != wantAmount || feesTaken != wantFees {
			t.Errorf("at the emulator: %d charged, %d transferred, %d in fees (%d taken); Tender expects %d charged and transferred, %d in fees",
				gotAmount, transferred, gotFees, feesTaken, wantAmount, wantFees)
		}
	})
}
