package payment_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// faults are the emulator's faults for the fault runs: 5 % of requests
// fail with a 500 (stored under their key), 5 % are refused with a 429 of
// any documented reason, and 2 % of committed POSTs lose their response.
var faults = emulator.Faults{ErrorRate: 0.05, RateLimitedRate: 0.05, LostResponseRate: 0.02}

// TestFaultyStripe: a thousand payments (direct, destination and separate
// charges shared by two merchants) are charged, their transfers made and
// one in ten refunded in part, with the emulator's faults on (seeded).
// Every payment settles, none is charged twice, no transfer or refund is
// made twice, and every amount, fee, transfer and refund adds up at the
// emulator to what Tender recorded; the books balance and equal every
// account's balance at Stripe. Jobs are rerun until they finish, as
// River would, sixteen at a time, with the clock moved on when one
// snoozes.
func TestFaultyStripe(t *testing.T) {
	const payments = 1000
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureWith(t, db, emulator.Options{Seed: 7})
		ctx := context.Background()
		var merchants []string
		accounts := map[string]string{}
		for i := range 4 {
			m := f.merchant(fmt.Sprint("Stall ", i))
			merchants, accounts[m.ID] = append(merchants, m.ID), *m.Connection.AccountID
		}
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":250,"fixed":20}}}`, 200, nil)
		var customers []string
		for range 10 {
			c := f.customer()
			card := f.saveCard(c.ID, "pm_card_visa")
			for _, m := range merchants {
				f.consent(c.ID, m)
				if _, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, card.ID, m); err != nil {
					t.Fatal(err)
				}
			}
			customers = append(customers, c.ID)
		}
		ids := make([]string, payments)
		for i := range ids {
			m := merchants[i%len(merchants)]
			body := map[string]any{"merchant": m, "customer": customers[i%len(customers)], "amount": 500 + i*37,
				"currency": "usd", "off_session": true, "reference": fmt.Sprint("order-", i)}
			switch i % 5 {
			case 3:
				body["charge_type"] = "destination"
			case 4:
				other := merchants[(i+1)%len(merchants)]
				body["splits"] = []map[string]any{{"merchant": m, "amount": 300 + i*20}, {"merchant": other, "amount": 200 + i*17}}
			}
			var p payment.View
			f.Post("/v1/payments", body, 200, &p)
			ids[i] = p.ID
		}

		f.Emulator.SetFaults(faults)
		f.untilDone(ids, func(id string) error {
			if err := f.process(id); err != nil {
				return err
			}
			return f.transfer(id)
		})
		var refunds []string
		for i := 0; i < payments; i += 10 {
			var r payment.RefundView
			f.Post("/v1/payments/"+ids[i]+"/refunds", map[string]any{"amount": (500 + i*37) / 3}, 200, &r)
			refunds = append(refunds, r.ID)
		}
		f.untilDone(refunds, func(id string) error { return f.App.Payments.ProcessRefund(ctx, f.PlatformID, id) })
		f.Emulator.SetFaults(emulator.Faults{})

		f.checkAtStripe(ids, refunds)
		f.CheckBooks(accounts)
	})
}

// untilDone runs job for every id until it returns nil, sixteen ids at a
// time, as River's workers would; a snooze moves the clock on. It fails
// the test if an id is not done after 60 runs, or if no run failed (the
// faults did not reach the jobs).
func (f *fixture) untilDone(ids []string, job func(id string) error) {
	f.t.Helper()
	var reruns atomic.Int64
	var wg sync.WaitGroup
	next := make(chan string)
	for range 16 {
		wg.Go(func() {
			for id := range next {
				for run := 0; ; run++ {
					if run == 60 {
						f.t.Errorf("%s not done after 60 runs", id)
						break
					}
					err := job(id)
					if err == nil {
						break
					}
					var snooze *river.JobSnoozeError
					if errors.As(err, &snooze) {
						f.clock.Advance(snooze.Duration)
					}
					reruns.Add(1)
				}
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	if reruns.Load() == 0 {
		f.t.Fatal("no run failed: the faults did not reach the jobs")
	}
	f.t.Logf("%d done after %d reruns", len(ids), reruns.Load())
}

// checkAtStripe compares what the emulator holds with what Tender
// recorded: one PaymentIntent per payment, succeeded, with Tender's amount
// and fee; one transfer per split with Tender's amount; one refund per
// refund, and its fee refund and reversals, with Tender's amounts.
func (f *fixture) checkAtStripe(ids, refunds []string) {
	f.t.Helper()
	ctx := context.Background()
	intents := map[string][]*stripe.PaymentIntent{}
	accounts := map[string]bool{"": true}
	var want struct{ amount, fees, transferred, refunded, feeRefunded, reversed int64 }
	views := map[string]payment.View{}
	for _, id := range ids {
		p := f.payment(id)
		views[id] = p
		if p.Status != payment.StatusSucceeded {
			f.t.Errorf("payment %s: %s", id, p.Status)
		}
		if p.ChargeType == payment.ChargeDirect {
			accounts[p.StripeAccount] = true
		}
		want.amount += p.Amount
		if p.ChargeType != payment.ChargeSeparate {
			want.fees += p.ApplicationFee
		}
		for _, tv := range p.Transfers {
			if tv.Status != payment.TransferPaid {
				f.t.Errorf("payment %s transfer %s: %s", id, tv.ID, tv.Status)
			}
			want.transferred += tv.Amount
			want.reversed += tv.AmountReversed
		}
	}
	for _, id := range refunds {
		var r payment.RefundView
		f.Do("GET", "/v1/refunds/"+id, nil).Decode(f.t, &r)
		if r.Status != payment.RefundSucceeded {
			f.t.Errorf("refund %s: %s", id, r.Status)
		}
		want.refunded += r.Amount
		if r.ApplicationFeeRefunded != nil {
			want.feeRefunded += *r.ApplicationFeeRefunded
		}
	}

	var got struct{ amount, fees, transferred, refunded, feeRefunded, reversed int64 }
	for acct := range accounts {
		params := &stripe.PaymentIntentListParams{}
		if acct != "" {
			params.SetStripeAccount(acct)
		}
		for pi, err := range f.sc.V1PaymentIntents.List(ctx, params).All(ctx) {
			if err != nil {
				f.t.Fatal(err)
			}
			intents[pi.Metadata["tender_payment"]] = append(intents[pi.Metadata["tender_payment"]], pi)
			if pi.Status == stripe.PaymentIntentStatusSucceeded {
				got.amount += pi.AmountReceived
				got.fees += pi.ApplicationFeeAmount
			}
		}
		rp := &stripe.RefundListParams{}
		if acct != "" {
			rp.SetStripeAccount(acct)
		}
		byRefund := map[string]int{}
		for r, err := range f.sc.V1Refunds.List(ctx, rp).All(ctx) {
			if err != nil {
				f.t.Fatal(err)
			}
			byRefund[r.Metadata["tender_refund"]]++
			got.refunded += r.Amount
		}
		for id, n := range byRefund {
			if n != 1 {
				f.t.Errorf("refund %s made %d times", id, n)
			}
		}
	}
	for _, id := range ids {
		if n := len(intents[id]); n != 1 {
			f.t.Errorf("payment %s has %d PaymentIntents", id, n)
		}
	}
	for tr, err := range f.sc.V1Transfers.List(ctx, &stripe.TransferListParams{}).All(ctx) {
		if err != nil {
			f.t.Fatal(err)
		}
		if p, ok := views[tr.TransferGroup]; ok && p.ChargeType == payment.ChargeSeparate {
			got.transferred += tr.Amount
			got.reversed += tr.AmountReversed
		}
	}
	for fee, err := range f.sc.V1ApplicationFees.List(ctx, &stripe.ApplicationFeeListParams{}).All(ctx) {
		if err != nil {
			f.t.Fatal(err)
		}
		got.feeRefunded += fee.AmountRefunded
	}
	if got != want {
		f.t.Errorf("at the emulator %+v; Tender recorded %+v", got, want)
	}
}
