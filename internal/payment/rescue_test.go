package payment_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/jobstest"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestChargeInFlightAtAKillResumes: a Tender killed after Stripe made the
// PaymentIntent, before its id was saved, leaves the payment processing,
// its job running under a client that is gone and River's leadership held
// until its lease runs out. The next Tender to start (the same node
// restarted, or on PostgreSQL any other) takes over leadership, rescues the
// job within the documented bound and records the payment as Stripe has it,
// charged once.
func TestChargeInFlightAtAKillResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Cheesemonger")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.consent(c.ID, m.ID)
		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 2500, "currency": "usd",
			"off_session": true}, 200, &p)

		// The killed process's run, up to the kill.
		killed := errors.New("killed")
		payment.SetCrashFunc(f.App.Payments, func(step, _ string) error {
			if step == "after_create" {
				return killed
			}
			return nil
		})
		if err := f.process(p.ID); !errors.Is(err, killed) {
			t.Fatalf("process = %v, want the kill", err)
		}
		payment.SetCrashFunc(f.App.Payments, nil)
		killedAt := time.Now()
		jobstest.HoldLeadership(t, db, "tender_killed", killedAt.Add(jobs.LeaderTTL))
		jobstest.Orphan(t, db, payment.ProcessArgs{}.Kind(), "tender_killed", killedAt.Add(-jobs.RescueAfter))

		if err := f.App.Start(ctx); err != nil {
			t.Fatal(err)
		}
		// Resumed within the bound, then given the run's own timeout.
		deadline := killedAt.Add(jobs.ResumeWithin(500*time.Millisecond) + jobs.DefaultTimeout)
		for p = f.payment(p.ID); p.Status == payment.StatusProcessing; p = f.payment(p.ID) {
			if time.Now().After(deadline) {
				t.Fatalf("payment still %s %s after the kill", p.Status, time.Since(killedAt))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if p.Status != payment.StatusSucceeded || p.StripePaymentIntent == nil {
			t.Fatalf("payment %+v", p)
		}
		params := &stripe.PaymentIntentListParams{}
		params.SetStripeAccount(*m.Connection.AccountID)
		var made []string
		for pi, err := range f.sc.V1PaymentIntents.List(ctx, params).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if pi.Metadata["tender_payment"] == p.ID {
				made = append(made, pi.ID)
			}
		}
		if len(made) != 1 || made[0] != *p.StripePaymentIntent {
			t.Errorf("PaymentIntents for the payment: %v; want only %s", made, *p.StripePaymentIntent)
		}
	})
}

// The janitor requeues only what River has given up on: StuckAfter is past
// the longest River can still be retrying a payment's job, and not so far
// past that an abandoned payment waits much longer than it must.
func TestStuckAfterFollowsRiverGivingUp(t *testing.T) {
	giveUp := jobs.GiveUpWithin(payment.MaxAttempts)
	if payment.StuckAfter <= giveUp || payment.StuckAfter > giveUp+time.Hour {
		t.Errorf("StuckAfter = %s; River gives up within %s", payment.StuckAfter, giveUp)
	}
}
