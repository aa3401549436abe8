package payment_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/stripeop"
)

// authorize accepts a payment with capture manual and processes it to
// requires_capture.
func (f *fixture) authorize(merchantID, customerID, chargeType string, amount int64) payment.View {
	f.t.Helper()
	var p payment.View
	f.Post("/v1/payments", map[string]any{"merchant": merchantID, "customer": customerID, "amount": amount, "currency": "usd",
		"charge_type": chargeType, "capture": "manual"}, 200, &p)
	if err := f.process(p.ID); err != nil {
		f.t.Fatal(err)
	}
	if p = f.payment(p.ID); p.Status != payment.StatusRequiresCapture {
		f.t.Fatalf("authorized %+v", p)
	}
	return p
}

// intent reads a payment's PaymentIntent back from the emulator.
func (f *fixture) intent(p payment.View) *stripe.PaymentIntent {
	f.t.Helper()
	params := &stripe.PaymentIntentRetrieveParams{}
	if p.ChargeType == payment.ChargeDirect {
		params.SetStripeAccount(p.StripeAccount)
	}
	pi, err := f.sc.V1PaymentIntents.Retrieve(context.Background(), *p.StripePaymentIntent, params)
	if err != nil {
		f.t.Fatal(err)
	}
	return pi
}

// appFee is the application fee Stripe took on a payment's charge.
func (f *fixture) appFee(pi *stripe.PaymentIntent) int64 {
	f.t.Helper()
	ctx := context.Background()
	var sum int64
	for fee, err := range f.sc.V1ApplicationFees.List(ctx, &stripe.ApplicationFeeListParams{Charge: stripe.String(pi.LatestCharge.ID)}).All(ctx) {
		if err != nil {
			f.t.Fatal(err)
		}
		sum += fee.Amount
	}
	return sum
}

// TestCapture: for direct and destination charges, a partial capture
// takes the amount asked with the fee recomputed on it by the policy
// version that priced the payment (not the platform's newer one), at
// Tender and at the emulator; capturing again changes nothing; a bad
// amount names its field; cancelling after the capture is refused,
// pointing to refunds; a full capture keeps the full fee; an explicit fee
// is kept, capped at the amount captured; a payment whose customer covers
// the fees is not grossed up again on capture.
func TestCapture(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Jeweller")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}}}`, 200, nil)
		var got payment.View
		for _, ct := range []string{"direct", "destination"} {
			// 2.9 % of 2000 is 58, + 30.
			p := f.authorize(m.ID, c.ID, ct, 2000)
			if p.ApplicationFee != 88 || p.AmountCaptured != 0 {
				t.Fatalf("%s: authorized %+v", ct, p)
			}
			// A newer policy does not reprice a payment already accepted.
			f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":1000,"fixed":0}}}`, 200, nil)
			for _, bad := range []any{0, -5, 2001, "ten"} {
				if r := f.Do("POST", "/v1/payments/"+p.ID+"/capture", map[string]any{"amount_to_capture": bad}); r.Status != 400 ||
					r.Err().Param != "amount_to_capture" {
					t.Errorf("%s: capture %v: %d %s; want 400 naming amount_to_capture", ct, bad, r.Status, r.Body)
				}
			}
			if got := f.payment(p.ID); got.Status != payment.StatusRequiresCapture {
				t.Fatalf("%s: a refused capture left %+v", ct, got)
			}
			var cap1, cap2 payment.View
			f.Post("/v1/payments/"+p.ID+"/capture", `{"amount_to_capture":1500}`, 200, &cap1)
			// 2.9 % of 1500 is 43.5, rounded half up to 44, + 30.
			if cap1.Status != payment.StatusSucceeded || cap1.AmountCaptured != 1500 || cap1.ApplicationFee != 74 || cap1.Amount != 2000 {
				t.Fatalf("%s: captured %+v", ct, cap1)
			}
			pi := f.intent(cap1)
			if pi.Status != stripe.PaymentIntentStatusSucceeded || pi.AmountReceived != 1500 || pi.ApplicationFeeAmount != 74 || f.appFee(pi) != 74 {
				t.Errorf("%s: PaymentIntent %s received %d, fee %d (application fee %d); want 1500 and 74", ct, pi.Status, pi.AmountReceived,
					pi.ApplicationFeeAmount, f.appFee(pi))
			}
			if ct == "destination" {
				ch, err := f.sc.V1Charges.Retrieve(context.Background(), pi.LatestCharge.ID, &stripe.ChargeRetrieveParams{
					Expand: []*string{stripe.String("transfer")}})
				if err != nil || ch.Transfer == nil || ch.Transfer.Amount != 1500 || ch.Transfer.Destination.ID != p.StripeAccount {
					t.Errorf("destination: the capture's transfer %+v %v; want 1500 to the merchant", ch.Transfer, err)
				}
			}
			f.Post("/v1/payments/"+p.ID+"/capture", `{"amount_to_capture":1500}`, 200, &cap2)
			if cap2.AmountCaptured != 1500 || cap2.ApplicationFee != 74 || f.events(payment.EventPaymentCaptured, p.ID) != 1 {
				t.Errorf("%s: captured again %+v, %d events", ct, cap2, f.events(payment.EventPaymentCaptured, p.ID))
			}
			// Canceled after the capture, it is refunded, once.
			var canceled payment.View
			for range 2 {
				f.Post("/v1/payments/"+p.ID+"/cancel", nil, 200, &canceled)
			}
			if canceled.Status != payment.StatusSucceeded || canceled.AmountRefunded != 1500 || f.count(`SELECT COUNT(*) FROM refunds WHERE payment_id = $1`, p.ID) != 1 {
				t.Errorf("%s: cancel after capture: %+v", ct, canceled)
			}
			f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}}}`, 200, nil)

			full := f.authorize(m.ID, c.ID, ct, 1000)
			f.Post("/v1/payments/"+full.ID+"/capture", nil, 200, &got)
			if got.AmountCaptured != 1000 || got.ApplicationFee != 59 || f.intent(got).ApplicationFeeAmount != 59 {
				t.Errorf("%s: full capture %+v", ct, got)
			}
		}

		// An explicit fee is kept, capped at the amount captured.
		var explicit payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd", "capture": "manual",
			"application_fee": 500}, 200, &explicit)
		if err := f.process(explicit.ID); err != nil {
			t.Fatal(err)
		}
		f.Post("/v1/payments/"+explicit.ID+"/capture", `{"amount_to_capture":300}`, 200, &got)
		if got.ApplicationFee != 300 || f.intent(got).ApplicationFeeAmount != 300 {
			t.Errorf("explicit fee after a capture of 300: %+v", got)
		}

		// The customer covers the fees: charged 1061 for 1000; a capture
		// of 800 takes the rule's fee on 800 (23 + 30), not grossed up
		// again.
		f.Post("/v1/merchants/"+m.ID+"/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}},"customer_covers_fees":true}`, 200, nil)
		covered := f.authorize(m.ID, c.ID, "direct", 1000)
		if covered.Amount != 1061 || covered.ApplicationFee != 61 {
			t.Fatalf("covered %+v", covered)
		}
		f.Post("/v1/payments/"+covered.ID+"/capture", `{"amount_to_capture":800}`, 200, &got)
		if got.AmountCaptured != 800 || got.ApplicationFee != 53 || f.intent(got).ApplicationFeeAmount != 53 {
			t.Errorf("covered, captured 800: %+v", got)
		}

		// Only a payment waiting for a capture can be captured.
		var auto payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd"}, 200, &auto)
		if r := f.Do("POST", "/v1/payments/"+auto.ID+"/capture", nil); r.Status != 409 {
			t.Errorf("capture of a pending payment: %d %s", r.Status, r.Body)
		}
		if err := f.process(auto.ID); err != nil {
			t.Fatal(err)
		}
		if auto = f.payment(auto.ID); auto.Status != payment.StatusSucceeded || auto.AmountCaptured != auto.Amount {
			t.Errorf("automatic capture recorded %d captured of %d", auto.AmountCaptured, auto.Amount)
		}
		if r := f.Do("POST", "/v1/payments/"+auto.ID+"/capture", nil); r.Status != 409 {
			t.Errorf("capture of an automatic payment: %d %s", r.Status, r.Body)
		}
		if r := f.Do("POST", "/v1/payments/pay_nope/capture", nil); r.Status != 404 {
			t.Errorf("capture of an unknown payment: %d", r.Status)
		}
	})
}

// TestCancel: for direct and destination charges, an authorized payment
// is canceled at Stripe and recorded with one event; cancelling again
// changes nothing, capturing afterwards is refused; a payment waiting for
// the customer's authentication can be canceled too.
func TestCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Tailor")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		for _, ct := range []string{"direct", "destination"} {
			p := f.authorize(m.ID, c.ID, ct, 1800)
			var got payment.View
			f.Post("/v1/payments/"+p.ID+"/cancel", nil, 200, &got)
			if got.Status != payment.StatusCanceled || got.AmountCaptured != 0 {
				t.Fatalf("%s: canceled %+v", ct, got)
			}
			if pi := f.intent(got); pi.Status != stripe.PaymentIntentStatusCanceled {
				t.Errorf("%s: PaymentIntent %s", ct, pi.Status)
			}
			f.Post("/v1/payments/"+p.ID+"/cancel", nil, 200, &got)
			if got.Status != payment.StatusCanceled || f.events(payment.EventPaymentCanceled, p.ID) != 1 {
				t.Errorf("%s: canceled again %+v, %d events", ct, got, f.events(payment.EventPaymentCanceled, p.ID))
			}
			if r := f.Do("POST", "/v1/payments/"+p.ID+"/capture", nil); r.Status != 409 || r.Err().Code != "payment_canceled" {
				t.Errorf("%s: capture after cancel: %d %s", ct, r.Status, r.Body)
			}
		}

		waiting := f.customer()
		f.saveCard(waiting.ID, "pm_card_authenticationRequired")
		f.consent(waiting.ID, m.ID)
		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": waiting.ID, "amount": 900, "currency": "usd", "off_session": true}, 200, &p)
		if err := f.process(p.ID); err != nil {
			t.Fatal(err)
		}
		if p = f.payment(p.ID); p.Status != payment.StatusRequiresAction {
			t.Fatalf("payment %+v", p)
		}
		f.Post("/v1/payments/"+p.ID+"/cancel", nil, 200, &p)
		if p.Status != payment.StatusCanceled || f.intent(p).Status != stripe.PaymentIntentStatusCanceled {
			t.Errorf("canceled while waiting for the customer: %+v", p)
		}
	})
}

// TestCaptureFaults: a capture Stripe answered with a 500 (stored under
// its key and replayed) or whose answer was lost is reported unavailable
// or goes through; calling again captures exactly once, with one event,
// and so does a cancel. A capture Stripe made whose record was lost is
// recorded as Stripe made it.
func TestCaptureFaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Clockmaker")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		for _, faults := range []emulator.Faults{{ErrorRate: 1}, {LostResponseRate: 1}} {
			for _, ct := range []string{"direct", "destination"} {
				p := f.authorize(m.ID, c.ID, ct, 1200)
				f.Emulator.SetFaults(faults)
				r := f.Do("POST", "/v1/payments/"+p.ID+"/capture", `{"amount_to_capture":1000}`)
				f.Emulator.SetFaults(emulator.Faults{})
				t.Logf("%s %+v: capture answered %d", ct, faults, r.Status)
				if r.Status != 200 && r.Status != 503 {
					t.Fatalf("%s %+v: capture: %d %s; want 200 or 503", ct, faults, r.Status, r.Body)
				}
				var got payment.View
				f.Post("/v1/payments/"+p.ID+"/capture", `{"amount_to_capture":1000}`, 200, &got)
				if pi := f.intent(got); got.AmountCaptured != 1000 || pi.AmountReceived != 1000 || f.events(payment.EventPaymentCaptured, p.ID) != 1 {
					t.Errorf("%s %+v: captured %+v, PaymentIntent received %d", ct, faults, got, pi.AmountReceived)
				}

				q := f.authorize(m.ID, c.ID, ct, 1200)
				f.Emulator.SetFaults(faults)
				r = f.Do("POST", "/v1/payments/"+q.ID+"/cancel", nil)
				f.Emulator.SetFaults(emulator.Faults{})
				t.Logf("%s %+v: cancel answered %d", ct, faults, r.Status)
				if r.Status != 200 && r.Status != 503 {
					t.Fatalf("%s %+v: cancel: %d %s; want 200 or 503", ct, faults, r.Status, r.Body)
				}
				f.Post("/v1/payments/"+q.ID+"/cancel", nil, 200, &got)
				if got.Status != payment.StatusCanceled || f.intent(got).Status != stripe.PaymentIntentStatusCanceled ||
					f.events(payment.EventPaymentCanceled, q.ID) != 1 {
					t.Errorf("%s %+v: canceled %+v", ct, faults, got)
				}
			}
		}

		// Captured at Stripe by an earlier call whose answer never reached
		// Tender's database (a crash in between): Stripe refuses the new
		// capture, and Tender records what Stripe did.
		p := f.authorize(m.ID, c.ID, "direct", 1200)
		params := &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(700), ApplicationFeeAmount: stripe.Int64(0)}
		params.SetStripeAccount(p.StripeAccount)
		if _, err := f.sc.V1PaymentIntents.Capture(context.Background(), *p.StripePaymentIntent, params); err != nil {
			t.Fatal(err)
		}
		var got payment.View
		f.Post("/v1/payments/"+p.ID+"/capture", `{"amount_to_capture":1000}`, 200, &got)
		if got.Status != payment.StatusSucceeded || got.AmountCaptured != 700 || f.events(payment.EventPaymentCaptured, p.ID) != 1 {
			t.Errorf("captured behind Tender's back: %+v", got)
		}
	})
}

// TestCaptureCancelRace: a capture and a cancel of the same payment at
// once: Stripe lets one through and the payment records the winner with
// one event; a capture that loses is refused with a conflict, a cancel
// that loses refunds what was captured.
func TestCaptureCancelRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Glazier")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		for i := range 6 {
			ct := []string{"direct", "destination"}[i%2]
			p := f.authorize(m.ID, c.ID, ct, 1300)
			captured, canceled := make(chan error, 1), make(chan error, 1)
			go func() {
				_, err := f.App.Payments.Capture(ctx, f.PlatformID, p.ID, payment.CaptureParams{})
				captured <- err
			}()
			go func() {
				_, err := f.App.Payments.Cancel(ctx, f.PlatformID, p.ID)
				canceled <- err
			}()
			capErr, cancelErr := <-captured, <-canceled
			got := f.payment(p.ID)
			pi := f.intent(got)
			nCap, nCancel := f.events(payment.EventPaymentCaptured, p.ID), f.events(payment.EventPaymentCanceled, p.ID)
			switch {
			case got.Status == payment.StatusSucceeded:
				if capErr != nil || cancelErr != nil || got.AmountRefunded != 1300 || pi.Status != stripe.PaymentIntentStatusSucceeded || nCap != 1 || nCancel != 0 {
					t.Errorf("%s: captured: capture %v, cancel %v, PaymentIntent %s, events %d/%d", ct, capErr, cancelErr, pi.Status, nCap, nCancel)
				}
			case got.Status == payment.StatusCanceled:
				if cancelErr != nil || !errs.Is(capErr, errs.Conflict) || pi.Status != stripe.PaymentIntentStatusCanceled || nCap != 0 || nCancel != 1 {
					t.Errorf("%s: canceled: capture %v, cancel %v, PaymentIntent %s, events %d/%d", ct, capErr, cancelErr, pi.Status, nCap, nCancel)
				}
			default:
				t.Errorf("%s: payment %+v after the race (capture %v, cancel %v)", ct, got, capErr, cancelErr)
			}
		}
	})
}

// TestCaptureAgain: a capture of a captured payment for the amount it was
// captured for (no amount meaning all of it, as the first time) is a retry
// and answers 200; for any other amount it is a 409 that says so, and
// nothing reaches Stripe or is recorded.
func TestCaptureAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Cooper")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		partial := f.authorize(m.ID, c.ID, "direct", 1000)
		f.Post("/v1/payments/"+partial.ID+"/capture", `{"amount_to_capture":600}`, 200, nil)
		full := f.authorize(m.ID, c.ID, "destination", 800)
		f.Post("/v1/payments/"+full.ID+"/capture", nil, 200, nil)
		for _, tc := range []struct {
			name, id string
			body     any
			status   int
		}{
			{"partial, same amount", partial.ID, `{"amount_to_capture":600}`, 200},
			{"partial, another amount", partial.ID, `{"amount_to_capture":700}`, 409},
			{"partial, less", partial.ID, `{"amount_to_capture":1}`, 409},
			{"partial, then all of it", partial.ID, nil, 409},
			{"full, again", full.ID, nil, 200},
			{"full, its amount", full.ID, `{"amount_to_capture":800}`, 200},
			{"full, less", full.ID, `{"amount_to_capture":500}`, 409},
		} {
			stripeBefore, eventsBefore := f.EmulatorRequests.Load(), f.count(`SELECT COUNT(*) FROM events`)
			r := f.Do("POST", "/v1/payments/"+tc.id+"/capture", tc.body)
			if r.Status != tc.status || tc.status == 409 && r.Err().Code != "payment_already_captured" {
				t.Errorf("%s: %d %s; want %d", tc.name, r.Status, r.Body, tc.status)
			}
			if f.EmulatorRequests.Load() != stripeBefore || f.count(`SELECT COUNT(*) FROM events`) != eventsBefore {
				t.Errorf("%s: reached Stripe or recorded an event", tc.name)
			}
		}
		if got := f.payment(partial.ID); got.AmountCaptured != 600 || f.intent(got).AmountReceived != 600 {
			t.Errorf("partial capture now %d (PaymentIntent %d), want 600", got.AmountCaptured, f.intent(got).AmountReceived)
		}
	})
}

// TestCaptureLookedAfter: a capture and a cancel whose caller got a 503
// and never called again are finished by their jobs, which River runs a
// minute later; once River has given up on those jobs, the janitor gives
// them new ones after StuckAfter. Each payment ends captured or canceled
// at Stripe and in Tender, with one event.
func TestCaptureLookedAfter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Wheelwright")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		captured, canceled := f.authorize(m.ID, c.ID, "direct", 1400), f.authorize(m.ID, c.ID, "destination", 900)
		f.Emulator.SetFaults(emulator.Faults{ErrorRate: 1})
		if r := f.Do("POST", "/v1/payments/"+captured.ID+"/capture", `{"amount_to_capture":1000}`); r.Status != 503 {
			t.Fatalf("capture while Stripe fails: %d %s", r.Status, r.Body)
		}
		if r := f.Do("POST", "/v1/payments/"+canceled.ID+"/cancel", nil); r.Status != 503 {
			t.Fatalf("cancel while Stripe fails: %d %s", r.Status, r.Body)
		}
		f.Emulator.SetFaults(emulator.Faults{})
		if n := f.count(`SELECT COUNT(*) FROM river_job WHERE kind IN ('payment.capture', 'payment.cancel')`); n != 2 {
			t.Fatalf("%d capture and cancel jobs, want 2", n)
		}
		// River gave up on them.
		if _, err := db.ExecContext(ctx, `DELETE FROM river_job WHERE kind IN ('payment.capture', 'payment.cancel')`); err != nil {
			t.Fatal(err)
		}
		if n, err := f.App.Payments.Requeue(ctx); err != nil || n != 0 {
			t.Fatalf("requeue of fresh work: %d %v", n, err)
		}
		f.clock.Advance(payment.StuckAfter + time.Minute)
		if n, err := f.App.Payments.Requeue(ctx); err != nil || n != 2 {
			t.Fatalf("requeue of a capture and a cancel left: %d %v, want 2 jobs", n, err)
		}
		f.clock.Advance(payment.LookAfter)
		if err := f.App.Start(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			a, b := f.payment(captured.ID), f.payment(canceled.ID)
			if a.Status == payment.StatusSucceeded && b.Status == payment.StatusCanceled {
				if a.AmountCaptured != 1000 || f.intent(a).AmountReceived != 1000 || f.intent(b).Status != stripe.PaymentIntentStatusCanceled {
					t.Errorf("captured %+v, canceled %+v", a, b)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("capture left %s, cancel left %s", a.Status, b.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if f.events(payment.EventPaymentCaptured, captured.ID) != 1 || f.events(payment.EventPaymentCanceled, canceled.ID) != 1 {
			t.Error("not one event each")
		}
	})
}

// TestJanitorLeavesOperationsOfPaymentsMovedOn: a capture Stripe refused
// stays unfinished in its operation's row. While its payment still waits
// for capture the janitor gives it a job every StuckAfter (which logs the
// refusal again); once the payment has moved on (canceled, or a new
// attempt), it gives none.
func TestJanitorLeavesOperationsOfPaymentsMovedOn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Cooper")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		waiting, movedOn := f.authorize(m.ID, c.ID, "direct", 1400), f.authorize(m.ID, c.ID, "direct", 900)
		now := store.TimeOf(f.clock.Now())
		at := func(p payment.View) string {
			var attempt int64
			if err := db.QueryRowContext(ctx, `SELECT attempt FROM payments WHERE platform_id = $1 AND id = $2`, f.PlatformID, p.ID).Scan(&attempt); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%s:%d", p.ID, attempt)
		}
		for _, o := range []struct{ kind, object string }{
			{string(stripeop.CapturePaymentIntent), at(waiting) + ":1500"},
			{string(stripeop.CapturePaymentIntent), at(movedOn)},
			{string(stripeop.CancelPaymentIntent), waiting.ID + ":7"}, // an attempt it is not at
		} {
			if _, err := db.ExecContext(ctx, `INSERT INTO stripe_operations (platform_id, kind, object_id, runs, last_error, created_at, updated_at)
				VALUES ($1, $2, $3, 1, 'refused', $4, $4)`, f.PlatformID, o.kind, o.object, now); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `UPDATE payments SET status = 'canceled' WHERE platform_id = $1 AND id = $2`, f.PlatformID, movedOn.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM river_job`); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(payment.StuckAfter + time.Minute)
		if n, err := f.App.Payments.Requeue(ctx); err != nil || n != 1 {
			t.Fatalf("requeue: %d jobs, %v; want 1, the capture its payment still waits for", n, err)
		}
		var args string
		if err := db.QueryRowContext(ctx, `SELECT CAST(args AS TEXT) FROM river_job WHERE kind = 'payment.capture'`).Scan(&args); err != nil ||
			!strings.Contains(args, waiting.ID) || !strings.Contains(args, "1500") {
			t.Fatalf("the capture job: %s, %v", args, err)
		}
	})
}
