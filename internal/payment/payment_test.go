package payment_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.App.DB.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) payment(id string) payment.View {
	f.t.Helper()
	var p payment.View
	r := f.Do("GET", "/v1/payments/"+id, nil)
	if r.Status != 200 {
		f.t.Fatalf("GET payment %s: %d %s", id, r.Status, r.Body)
	}
	r.Decode(f.t, &p)
	return p
}

// process runs the payment's job as River would.
func (f *fixture) process(id string) error {
	return f.App.Payments.Process(context.Background(), f.PlatformID, id)
}

// intents lists the PaymentIntents on a connected account.
func (f *fixture) intents(acct string) []*stripe.PaymentIntent {
	f.t.Helper()
	ctx := context.Background()
	params := &stripe.PaymentIntentListParams{}
	params.SetStripeAccount(acct)
	var out []*stripe.PaymentIntent
	for pi, err := range f.sc.V1PaymentIntents.List(ctx, params).All(ctx) {
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, pi)
	}
	return out
}

func (f *fixture) events(typ event.Type, objectID string) int {
	f.t.Helper()
	return f.count(`SELECT COUNT(*) FROM events WHERE platform_id = $1 AND type = $2 AND object_id = $3`, f.PlatformID, string(typ), objectID)
}

// TestCreatePayment: bad input names its field and writes nothing (no
// payment, no job, no event); a good payment is priced by the merchant's
// policy, written pending with its job, read back, listed and filtered, and
// an Idempotency-Key replays it rather than making a second.
func TestCreatePayment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Greengrocer")
		unconnected := f.unconnectedMerchant("Not yet")
		c := f.customer()
		card := f.saveCard(c.ID, "pm_card_visa")
		cardless := f.customer()
		other := f.customer()
		otherCard := f.saveCard(other.ID, "pm_card_visa")
		var policy payment.FeePolicyView
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}}}`, 200, &policy)

		ok := func(changes map[string]any) map[string]any {
			b := map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd"}
			for k, v := range changes {
				if v == nil {
					delete(b, k)
				} else {
					b[k] = v
				}
			}
			return b
		}
		for _, tt := range []struct {
			name  string
			body  map[string]any
			param string
		}{
			{"no merchant", ok(map[string]any{"merchant": nil}), "merchant"},
			{"unknown merchant", ok(map[string]any{"merchant": "mer_nope"}), "merchant"},
			{"unconnected merchant", ok(map[string]any{"merchant": unconnected.ID}), "merchant"},
			{"no customer", ok(map[string]any{"customer": nil}), "customer"},
			{"unknown customer", ok(map[string]any{"customer": "cst_nope"}), "customer"},
			{"customer without a card", ok(map[string]any{"customer": cardless.ID}), "payment_method"},
			{"another customer's card", ok(map[string]any{"payment_method": otherCard.ID}), "payment_method"},
			{"zero amount", ok(map[string]any{"amount": 0}), "amount"},
			{"amount too large", ok(map[string]any{"amount": 100_000_000}), "amount"},
			{"no currency", ok(map[string]any{"currency": nil}), "currency"},
			{"unknown currency", ok(map[string]any{"currency": "abc"}), "currency"},
			{"currency the policy cannot price", ok(map[string]any{"currency": "eur"}), "currency"},
			{"fee above the amount", ok(map[string]any{"application_fee": 1001}), "application_fee"},
			{"negative fee", ok(map[string]any{"application_fee": -1}), "application_fee"},
			{"charge type", ok(map[string]any{"charge_type": "sideways"}), "charge_type"},
			{"unknown charge type", ok(map[string]any{"charge_type": "transfer"}), "charge_type"},
			{"splits that do not add up", ok(map[string]any{"splits": []map[string]any{{"merchant": m.ID, "amount": 600}, {"merchant": unconnected.ID, "amount": 300}}}), "splits"},
			{"split without amount", ok(map[string]any{"splits": []map[string]any{{"merchant": m.ID}}}), "splits[0][amount]"},
			{"capture", ok(map[string]any{"capture": "later"}), "capture"},
			{"off session without consent", ok(map[string]any{"off_session": true}), "off_session"},
			{"suffix", ok(map[string]any{"statement_descriptor_suffix": "12345"}), "statement_descriptor_suffix"},
			{"tender's metadata", ok(map[string]any{"metadata": map[string]string{"tender_payment": "x"}}), "metadata"},
		} {
			if r := f.Do("POST", "/v1/payments", tt.body); r.Status != 400 || r.Err().Param != tt.param {
				t.Errorf("%s: %d %s; want 400 naming %s", tt.name, r.Status, r.Body, tt.param)
			}
		}
		if n := f.count(`SELECT COUNT(*) FROM payments`) + f.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'payment.process'`) +
			f.count(`SELECT COUNT(*) FROM events WHERE type LIKE 'payment.%'`); n != 0 {
			t.Fatalf("refused payments left %d rows, jobs or events", n)
		}

		var p payment.View
		r := f.Do("POST", "/v1/payments", ok(map[string]any{"reference": "order-7", "metadata": map[string]string{"order": "7"}}), apitest.WithIdempotencyKey("order-7"))
		if r.Status != 200 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		r.Decode(t, &p)
		// 2.9 % of 1000 is 29, + 30.
		if p.Status != payment.StatusPending || p.ApplicationFee != 59 || p.Amount != 1000 || *p.PaymentMethod != card.ID || p.Source != payment.SourceAPI ||
			p.FeePolicy == nil || p.FeePolicy.ID != *policy.ID || p.FeePolicy.Version != 1 || p.ChargeType != payment.ChargeDirect ||
			p.Capture != payment.CaptureAutomatic || p.StripeAccount != *m.Connection.AccountID {
			t.Fatalf("created %+v", p)
		}
		var replay payment.View
		r = f.Do("POST", "/v1/payments", ok(map[string]any{"reference": "order-7", "metadata": map[string]string{"order": "7"}}), apitest.WithIdempotencyKey("order-7"))
		r.Decode(t, &replay)
		if replay.ID != p.ID || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay made %s (%s), want %s replayed", replay.ID, r.Header.Get("Idempotent-Replayed"), p.ID)
		}
		if n := f.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'payment.process'`); n != 1 {
			t.Errorf("%d jobs, want 1", n)
		}
		if got := f.payment(p.ID); got.ID != p.ID || got.Metadata["order"] != "7" || *got.Reference != "order-7" {
			t.Errorf("read back %+v", got)
		}

		var explicit payment.View
		f.Post("/v1/payments", ok(map[string]any{"application_fee": 0, "capture": "manual"}), 200, &explicit)
		if explicit.ApplicationFee != 0 || explicit.FeePolicy != nil || explicit.Capture != payment.CaptureManual {
			t.Errorf("explicit fee %+v", explicit)
		}
		var list struct {
			Data    []payment.View
			HasMore bool `json:"has_more"`
		}
		f.Do("GET", "/v1/payments?reference=order-7", nil).Decode(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID != p.ID {
			t.Errorf("by reference: %+v", list.Data)
		}
		f.Do("GET", "/v1/payments?merchant="+m.ID+"&limit=1", nil).Decode(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID != explicit.ID || !list.HasMore {
			t.Errorf("newest first, paged: %+v", list)
		}
		f.Do("GET", "/v1/payments?status=succeeded", nil).Decode(t, &list)
		if len(list.Data) != 0 {
			t.Errorf("by status: %+v", list.Data)
		}
		if r := f.Do("GET", "/v1/payments?status=great", nil); r.Status != 400 || r.Err().Param != "status" {
			t.Errorf("bad status filter: %d %s", r.Status, r.Body)
		}
		if r := f.Do("GET", "/v1/payments/pay_nope", nil); r.Status != 404 {
			t.Errorf("unknown payment: %d", r.Status)
		}

		// The customer covers the fees: charged 1061, of which 61 is the
		// fee, leaving the 1000 asked for.
		f.Post("/v1/merchants/"+m.ID+"/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}},"customer_covers_fees":true}`, 200, nil)
		var covered payment.View
		f.Post("/v1/payments", ok(nil), 200, &covered)
		if covered.Amount != 1061 || covered.AmountRequested != 1000 || covered.ApplicationFee != 61 || covered.FeePolicy.Version != 1 {
			t.Errorf("covered %+v", covered)
		}
	})
}

// TestDirectCharge: an off-session direct charge goes through River to
// the emulator, on the merchant's account with the card's clone, the
// policy's fee as the application fee and Tender's metadata; it ends
// succeeded with one event.
func TestDirectCharge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Cheesemonger")
		acct := *m.Connection.AccountID
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.consent(c.ID, m.ID)
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}}}`, 200, nil)
		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 2500, "currency": "usd",
			"off_session": true, "description": "Weekly box", "statement_descriptor_suffix": "BOX"}, 200, &p)

		if err := f.App.Start(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for p.Status == payment.StatusPending || p.Status == payment.StatusProcessing {
			if time.Now().After(deadline) {
				t.Fatalf("payment still %s", p.Status)
			}
			time.Sleep(20 * time.Millisecond)
			p = f.payment(p.ID)
		}
		// 2.9 % of 2500 is 72.5, rounded half up to 73, + 30.
		if p.Status != payment.StatusSucceeded || p.ApplicationFee != 103 || p.StripePaymentIntent == nil || p.Failure != nil {
			t.Fatalf("payment %+v", p)
		}
		params := &stripe.PaymentIntentRetrieveParams{}
		params.SetStripeAccount(acct)
		pi, err := f.sc.V1PaymentIntents.Retrieve(ctx, *p.StripePaymentIntent, params)
		if err != nil || pi.Amount != 2500 || pi.ApplicationFeeAmount != 103 || pi.Metadata["tender_payment"] != p.ID ||
			pi.Metadata["tender_attempt"] != "1" || pi.Status != stripe.PaymentIntentStatusSucceeded || pi.LatestCharge == nil {
			t.Fatalf("PaymentIntent %+v %v", pi, err)
		}
		fees := f.sc.V1ApplicationFees.List(ctx, &stripe.ApplicationFeeListParams{Charge: stripe.String(pi.LatestCharge.ID)})
		n := 0
		for fee, err := range fees.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if fee.Amount != 103 || fee.Account == nil || fee.Account.ID != acct {
				t.Errorf("application fee %+v", fee)
			}
		}
		if n != 1 {
			t.Errorf("%d application fees for the charge, want 1", n)
		}
		if got := len(f.intents(acct)); got != 1 {
			t.Errorf("%d PaymentIntents on the account, want 1", got)
		}
		if f.events(payment.EventPaymentSucceeded, p.ID) != 1 {
			t.Errorf("no payment.succeeded event")
		}
	})
}

// TestDeclinesAndAuthentication: for each charge type, every card of the
// emulator's table that can be saved: a
// card that saves but declines fails the payment with the decline kept and a message for the customer; a card
// whose bank always asks for authentication leaves an off-session payment
// waiting for the customer.
func TestDeclinesAndAuthentication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Florist")
		acct := *m.Connection.AccountID
		intents := 0
		for _, ct := range []string{"direct", "destination", "separate"} {
			for _, tt := range []struct {
				token       string
				onSession   bool
				status      payment.Status
				code        string
				declineCode string
				event       event.Type
			}{
				{"pm_card_visa", false, payment.StatusSucceeded, "", "", payment.EventPaymentSucceeded},
				{"pm_card_chargeCustomerFail", false, payment.StatusFailed, "card_declined", "generic_decline", payment.EventPaymentFailed},
				{"pm_card_authenticationRequired", false, payment.StatusRequiresAction, "authentication_required", "", payment.EventPaymentRequiresAction},
				{"pm_card_authenticationRequired", true, payment.StatusRequiresAction, "authentication_required", "", payment.EventPaymentRequiresAction},
				{"pm_card_threeDSecure2Required", false, payment.StatusRequiresAction, "authentication_required", "", payment.EventPaymentRequiresAction},
				// Authenticated when saved, then declined for insufficient funds.
				{"pm_card_authenticationRequiredChargeDeclinedInsufficientFunds", false, payment.StatusFailed, "card_declined", "insufficient_funds", payment.EventPaymentFailed},
				// Set up for off-session use, these go through off-session.
				{"pm_card_authenticationRequiredOnSetup", false, payment.StatusSucceeded, "", "", payment.EventPaymentSucceeded},
				{"pm_card_authenticationRequiredSetupForOffSession", false, payment.StatusSucceeded, "", "", payment.EventPaymentSucceeded},
				{"pm_card_bypassPending", false, payment.StatusSucceeded, "", "", payment.EventPaymentSucceeded},
				{"pm_card_createDispute", false, payment.StatusSucceeded, "", "", payment.EventPaymentSucceeded},
			} {
				name := ct + " " + tt.token
				if tt.onSession {
					name += " on session"
				}
				c := f.customer()
				f.saveCard(c.ID, tt.token)
				f.consent(c.ID, m.ID)
				var p payment.View
				f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1200, "currency": "usd", "off_session": !tt.onSession,
					"charge_type": ct}, 200, &p)
				if err := f.process(p.ID); err != nil {
					t.Fatalf("%s: process: %v", name, err)
				}
				p = f.payment(p.ID)
				intents++
				if tt.status == payment.StatusSucceeded {
					if p.Status != tt.status || p.Failure != nil || f.events(tt.event, p.ID) != 1 {
						t.Errorf("%s: payment %+v", name, p)
					}
					continue
				}
				if p.Status != tt.status || p.Failure == nil || p.Failure.Code != tt.code || p.StripePaymentIntent == nil {
					t.Errorf("%s: payment %+v", name, p)
					continue
				}
				if got := ""; p.Failure.DeclineCode != nil {
					got = *p.Failure.DeclineCode
					if got != tt.declineCode {
						t.Errorf("%s: decline code %q, want %q", name, got, tt.declineCode)
					}
				} else if tt.declineCode != "" {
					t.Errorf("%s: no decline code, want %q", name, tt.declineCode)
				}
				if p.Failure.Message == "" || contains(p.Failure.Message, "pm_") || contains(p.Failure.Message, "acct_") {
					t.Errorf("%s: message for the customer %q", name, p.Failure.Message)
				}
				if f.events(tt.event, p.ID) != 1 {
					t.Errorf("%s: no %s event", name, tt.event)
				}
				if err := f.process(p.ID); err != nil { // again: settled, nothing happens
					t.Fatal(err)
				}
			}
		}
		if n := len(f.intents(acct)) + len(f.platformIntents()); n != intents {
			t.Errorf("%d PaymentIntents on the account and the platform, want %d", n, intents)
		}
	})
}

// TestCrashes: the job dies at each step where a crash leaves something
// to resume from: before creating (processing, nothing at Stripe), after
// Stripe created the PaymentIntent but before its id was saved, after the
// id was saved with the outcome (one commit: nothing left to do), and, on
// a rerun that found the PaymentIntent by its metadata, after saving the
// id but before the outcome. Reruns, past Stripe's idempotency window,
// settle the payment with exactly one PaymentIntent and one event;
// further runs change nothing.
func TestCrashes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Baker")
		acct := *m.Connection.AccountID
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.consent(c.ID, m.ID)
		crash := errors.New("simulated crash")
		for i, steps := range [][]string{{"before_create"}, {"after_create"}, {"after_save"}, {"after_create", "after_save"}} {
			name := strings.Join(steps, ", then ")
			var p payment.View
			f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 800, "currency": "usd", "off_session": true,
				"application_fee": 80}, 200, &p)
			for _, step := range steps {
				payment.SetCrashFunc(f.App.Payments, func(at, _ string) error {
					if at == step {
						return crash
					}
					return nil
				})
				if err := f.process(p.ID); !errors.Is(err, crash) {
					t.Fatalf("%s: run crashing at %s: %v, want the crash", name, step, err)
				}
				// Past Stripe's idempotency window, the key no longer
				// protects: only the saved id or the lookup by metadata
				// stands between a rerun and a second charge.
				f.Emulator.Advance(25 * time.Hour)
			}
			last := steps[len(steps)-1]
			want := payment.StatusProcessing
			if name == "after_save" {
				want = payment.StatusSucceeded // Stripe's answer and its id committed as one
			}
			if got := f.payment(p.ID); got.Status != want || (got.StripePaymentIntent != nil) != (last == "after_save") {
				t.Fatalf("%s: after the crash %+v, want %s", name, got, want)
			}
			payment.SetCrashFunc(f.App.Payments, nil)
			for range 3 {
				if err := f.process(p.ID); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			got := f.payment(p.ID)
			intents := f.intents(acct)
			if len(intents) != i+1 || got.Status != payment.StatusSucceeded || got.StripePaymentIntent == nil || *got.StripePaymentIntent != intents[0].ID {
				t.Fatalf("%s: after rerunning: %+v with %d PaymentIntents, want %d", name, got, len(intents), i+1)
			}
			if intents[0].ApplicationFeeAmount != 80 {
				t.Errorf("%s: application fee %d, want the explicit 80", name, intents[0].ApplicationFeeAmount)
			}
			if n := f.events(payment.EventPaymentSucceeded, p.ID); n != 1 {
				t.Errorf("%s: %d payment.succeeded events, want 1", name, n)
			}
		}
	})
}

// TestConcurrentRuns: two runs of the same payment's job at once (a
// worker thought dead while still running) make one PaymentIntent; the
// loser goes back to River, and its rerun finds the payment settled.
func TestConcurrentRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Dairy")
		acct := *m.Connection.AccountID
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1500, "currency": "usd", "capture": "manual"}, 200, &p)
		done := make(chan error, 2)
		for range 2 {
			go func() { done <- f.process(p.ID) }()
		}
		<-done
		<-done
		if err := f.process(p.ID); err != nil {
			t.Fatal(err)
		}
		got := f.payment(p.ID)
		if n := len(f.intents(acct)); n != 1 || got.Status != payment.StatusRequiresCapture {
			t.Fatalf("%d PaymentIntents, payment %+v; want 1 and requires_capture", n, got)
		}
		if n := f.events(payment.EventPaymentRequiresCapture, p.ID); n != 1 {
			t.Errorf("%d payment.requires_capture events, want 1", n)
		}
	})
}

// TestConsentWithdrawnBeforeCharging: an off-session payment whose
// consent is withdrawn after it was accepted fails without reaching
// Stripe.
func TestConsentWithdrawnBeforeCharging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Vintner")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		var consent struct{ ID string }
		f.Post("/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": m.ID,
			"evidence": map[string]string{"text": "I allow the vintner to charge my card.", "text_version": "1"}}, 200, &consent)
		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 3000, "currency": "usd", "off_session": true}, 200, &p)
		if r := f.Do("DELETE", "/v1/customers/"+c.ID+"/consents/"+consent.ID, nil); r.Status != 200 {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		if err := f.process(p.ID); err != nil {
			t.Fatal(err)
		}
		if p = f.payment(p.ID); p.Status != payment.StatusFailed || p.Failure.Code != "consent_missing" || p.StripePaymentIntent != nil {
			t.Fatalf("payment %+v", p)
		}
		if n := len(f.intents(*m.Connection.AccountID)); n != 0 {
			t.Errorf("%d PaymentIntents, want none", n)
		}
	})
}

// TestJanitor: a payment whose job is gone (River gave up and pruned it)
// is requeued once it has been unsettled for StuckAfter, only once while
// its new job waits, and its new job settles it.
func TestJanitor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Potter")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 4000, "currency": "usd"}, 200, &p)
		if _, err := db.ExecContext(ctx, `DELETE FROM river_job WHERE kind = 'payment.process'`); err != nil {
			t.Fatal(err)
		}
		if n, err := f.App.Payments.Requeue(ctx); err != nil || n != 0 {
			t.Fatalf("requeue of a fresh payment: %d %v", n, err)
		}
		f.clock.Advance(payment.StuckAfter + time.Minute)
		if n, err := f.App.Payments.Requeue(ctx); err != nil || n != 1 {
			t.Fatalf("requeue of a stuck payment: %d %v", n, err)
		}
		f.clock.Advance(payment.StuckAfter + time.Minute)
		if n, err := f.App.Payments.Requeue(ctx); err != nil || n != 0 {
			t.Fatalf("requeue while its job waits: %d %v", n, err)
		}
		if jobs := f.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'payment.process'`); jobs != 1 {
			t.Fatalf("%d jobs, want 1", jobs)
		}
		if err := f.App.Start(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for p = f.payment(p.ID); p.Status != payment.StatusSucceeded; p = f.payment(p.ID) {
			if time.Now().After(deadline) {
				t.Fatalf("payment still %s", p.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestStripeFailures: a 500 at creation goes back to River, and since
// Stripe replays a stored 500 to the same key, the rerun uses a new key
// once the search has had time to show a PaymentIntent the 500 might have
// made, leaving exactly one; a request Stripe refuses fails the payment
// with its detail kept for the operator only; an account that is gone
// fails the payment and marks the merchant deauthorized.
func TestStripeFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Butcher")
		m2 := f.merchant("Second butcher")
		acct := *m.Connection.AccountID
		c := f.customer()
		card := f.saveCard(c.ID, "pm_card_visa")
		if _, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, card.ID, m.ID); err != nil { // so that the only call below is the charge
			t.Fatal(err)
		}
		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 900, "currency": "usd"}, 200, &p)
		f.Emulator.SetFaults(emulator.Faults{ErrorRate: 1})
		if err := f.process(p.ID); err == nil {
			t.Fatal("a 500 at Stripe settled the payment; want a retry")
		}
		f.Emulator.SetFaults(emulator.Faults{})
		var snooze *river.JobSnoozeError
		if err := f.process(p.ID); !errors.As(err, &snooze) {
			t.Fatalf("rerun at once: %v; want a snooze until the search can be trusted", err)
		}
		f.clock.Advance(payment.SearchLag)
		if err := f.process(p.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.payment(p.ID); got.Status != payment.StatusSucceeded || len(f.intents(acct)) != 1 {
			t.Fatalf("after the 500: %+v, %d PaymentIntents", got, len(f.intents(acct)))
		}

		// Below Stripe's minimum charge: refused, detail kept.
		var small payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 10, "currency": "usd"}, 200, &small)
		if err := f.process(small.ID); err != nil {
			t.Fatal(err)
		}
		small = f.payment(small.ID)
		var detail string
		f.App.DB.QueryRowContext(ctx, `SELECT failure_detail FROM payments WHERE id = $1`, small.ID).Scan(&detail)
		if small.Status != payment.StatusFailed || small.Failure.Code != "invalid_request" || !contains(detail, "amount_too_small") ||
			contains(small.Failure.Message, "amount_too_small") {
			t.Errorf("too small: %+v, detail %q", small, detail)
		}

		// The account is gone.
		var gone payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 900, "currency": "usd"}, 200, &gone)
		if _, err := f.sc.V1Accounts.Delete(ctx, acct, nil); err != nil {
			t.Fatal(err)
		}
		if err := f.process(gone.ID); err != nil {
			t.Fatal(err)
		}
		if gone = f.payment(gone.ID); gone.Status != payment.StatusFailed || gone.Failure.Code != "account_invalid" {
			t.Errorf("account gone: %+v", gone)
		}
		if mm, _ := f.App.Connect.Merchant(ctx, f.PlatformID, m.ID); mm.Connection.Status != connect.StatusDeauthorized {
			t.Errorf("merchant %s after its account was refused, want deauthorized", mm.Connection.Status)
		}

		// A payment that may have been charged before the account went is
		// not called failed: its outcome is unknown, and the job stops.
		var unknown payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m2.ID, "customer": c.ID, "amount": 700, "currency": "usd"}, 200, &unknown)
		payment.SetCrashFunc(f.App.Payments, func(step, _ string) error {
			if step == "after_create" {
				return errors.New("crash")
			}
			return nil
		})
		if err := f.process(unknown.ID); err == nil {
			t.Fatal("no crash")
		}
		payment.SetCrashFunc(f.App.Payments, nil)
		if _, err := f.sc.V1Accounts.Delete(ctx, *m2.Connection.AccountID, nil); err != nil {
			t.Fatal(err)
		}
		var cancel *river.JobCancelError
		if err := f.process(unknown.ID); !errors.As(err, &cancel) {
			t.Errorf("rerun with the account gone: %v, want the job cancelled", err)
		}
		if unknown = f.payment(unknown.ID); unknown.Status != payment.StatusProcessing {
			t.Errorf("payment of unknown outcome: %+v, want still processing", unknown)
		}
	})
}

// TestStaleRunChangesNothing: a run that read the payment on one attempt
// and finishes after the payment moved to the next (as a checkout does
// when the payer changes between saving the card and not) records
// nothing: no outcome, no event.
func TestStaleRunChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Green Grocer")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd"}, 200, &p)
		if err := payment.FinishStale(f.App.Payments, context.Background(), f.PlatformID, p.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.payment(p.ID); got.Status != payment.StatusPending {
			t.Fatalf("a stale run moved the payment to %s", got.Status)
		}
		if n := f.events(payment.EventPaymentSucceeded, p.ID); n != 0 {
			t.Fatalf("%d payment.succeeded events from a stale run", n)
		}
	})
}
