package stripeevents_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/dispute"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// disputedPayment pays with the emulator's dispute card and waits for
// Stripe's dispute to reach Tender.
// Fields of extra are added to the payment's request.
func (f *fixture) disputedPayment(merchantID, chargeType string, amount int64, extra ...map[string]any) (payment.View, dispute.View) {
	f.t.Helper()
	c := f.Customer("eve@example.com")
	f.SaveCard(c, "pm_card_createDispute")
	f.Consent(c, merchantID)
	var p payment.View
	body := map[string]any{"merchant": merchantID, "customer": c, "amount": amount, "currency": "usd",
		"off_session": true, "charge_type": chargeType}
	for _, x := range extra {
		maps.Copy(body, x)
	}
	f.Post("/v1/payments", body, 200, &p)
	var d dispute.View
	f.waitFor("the dispute in Tender", func() bool {
		var l struct{ Data []dispute.View }
		f.Do("GET", "/v1/disputes?payment="+p.ID, nil).Decode(f.t, &l)
		if len(l.Data) == 1 && l.Data[0].AmountWithdrawn == amount {
			d = l.Data[0]
			return true
		}
		return false
	})
	return f.payment(p.ID), d
}

func (f *fixture) dispute(id string) dispute.View {
	f.t.Helper()
	var d dispute.View
	f.Do("GET", "/v1/disputes/"+id, nil).Decode(f.t, &d)
	return d
}

// waitForDispute advances the shared clock a little at a time until the
// dispute is in status.
func (f *fixture) waitForDispute(id string, status dispute.Status) dispute.View {
	f.t.Helper()
	f.clock.Advance(6 * time.Minute) // the emulator decides submitted evidence after five
	var d dispute.View
	f.waitFor("dispute "+string(status), func() bool {
		d = f.dispute(id)
		return d.Status == status
	})
	return d
}

// TestDisputes: payments with the emulator's dispute card are disputed;
// Tender records each dispute with the money Stripe withdrew, from the
// merchant on a direct charge and from the platform on a destination one;
// evidence sent through Tender's API wins one (the amount comes back, not
// the fee), loses another, and a third is closed; the books equal Stripe's
// balances after each. Evidence is refused once a dispute is decided.
func TestDisputes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		std := f.StandardMerchant("Bakery")
		exp := f.ConnectedMerchant("Florist")
		accounts := map[string]string{std.ID: *std.Connection.AccountID, exp.ID: *exp.Connection.AccountID}
		for _, tt := range []struct {
			merchant, chargeType string
			bearer               dispute.Bearer
		}{
			{std.ID, "direct", dispute.BearerMerchant},
			{exp.ID, "destination", dispute.BearerPlatform},
		} {
			name := tt.chargeType
			p, d := f.disputedPayment(tt.merchant, tt.chargeType, 4000)
			if d.Status != dispute.StatusNeedsResponse || d.Bearer != tt.bearer || d.Fees != 1500 || d.Amount != 4000 ||
				d.EvidenceDueBy == nil || d.Payment != p.ID {
				t.Fatalf("%s: dispute %+v", name, d)
			}
			f.CheckBooks(accounts)

			r := f.Post("/v1/disputes/"+d.ID+"/evidence", map[string]any{"evidence": map[string]string{
				"uncategorized_text": "winning_evidence", "product_description": "A dozen roses, delivered."}}, 200, &d)
			if d.Status != dispute.StatusUnderReview || !d.HasEvidence || d.SubmissionCount != 1 {
				t.Fatalf("%s: after evidence %s", name, r.Body)
			}
			won := f.waitForDispute(d.ID, dispute.StatusWon)
			f.waitFor("the reinstatement", func() bool { won = f.dispute(d.ID); return won.AmountWithdrawn == 0 })
			if won.Fees != 1500 {
				t.Errorf("%s: won dispute %+v", name, won)
			}
			for typ, want := range map[dispute.Status]int{"dispute.created": 1, "dispute.funds_withdrawn": 1,
				"dispute.funds_reinstated": 1, "dispute.closed": 1} {
				if n := f.eventsOf(eventType(typ), d.ID); n != want {
					t.Errorf("%s: %d %s events, want %d", name, n, typ, want)
				}
			}
			f.CheckBooks(accounts)
			if r := f.Do("POST", "/v1/disputes/"+d.ID+"/evidence", map[string]any{"evidence": map[string]string{"uncategorized_text": "more"}}); r.Status != 409 ||
				r.Err().Code != "dispute_not_open" {
				t.Errorf("%s: evidence on a won dispute: %d %s", name, r.Status, r.Body)
			}

			_, lost := f.disputedPayment(tt.merchant, tt.chargeType, 2500)
			f.Post("/v1/disputes/"+lost.ID+"/evidence", map[string]any{"evidence": map[string]string{"uncategorized_text": "losing_evidence"}}, 200, nil)
			if got := f.waitForDispute(lost.ID, dispute.StatusLost); got.AmountWithdrawn != 2500 || got.Fees != 1500 {
				t.Errorf("%s: lost dispute %+v", name, got)
			}
			f.CheckBooks(accounts)

			_, closed := f.disputedPayment(tt.merchant, tt.chargeType, 1800)
			f.Post("/v1/disputes/"+closed.ID+"/close", nil, 200, &closed)
			if closed.Status != dispute.StatusLost || closed.AmountWithdrawn != 1800 {
				t.Errorf("%s: closed dispute %+v", name, closed)
			}
			f.CheckBooks(accounts)
		}
	})
}

func eventType(s dispute.Status) event.Type { return event.Type(s) }

// TestDisputeDeadline: the platform is warned once, within 72 hours of
// the evidence being due, of a dispute it has not answered; a dispute
// answered is not warned of.
func TestDisputeDeadline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.ConnectedMerchant("Florist")
		_, quiet := f.disputedPayment(m.ID, "destination", 3000)
		_, answered := f.disputedPayment(m.ID, "destination", 3100)
		f.Post("/v1/disputes/"+answered.ID+"/evidence", map[string]any{"evidence": map[string]string{"product_description": "Tulips."},
			"submit": false}, 200, &answered)
		if answered.Status != dispute.StatusNeedsResponse || !answered.HasEvidence || answered.SubmissionCount != 0 {
			t.Fatalf("saved evidence: %+v", answered)
		}
		ctx := context.Background()
		if n, err := f.App.Disputes.WarnDeadlines(ctx); err != nil || n != 0 {
			t.Fatalf("warned of %d a week ahead: %v", n, err)
		}
		f.clock.Advance(quiet.EvidenceDueBy.Sub(f.clock.Now()) - 71*time.Hour)
		if n, err := f.App.Disputes.WarnDeadlines(ctx); err != nil || n != 2 {
			t.Fatalf("warned of %d within 72 hours: %v", n, err)
		}
		if n, err := f.App.Disputes.WarnDeadlines(ctx); err != nil || n != 0 {
			t.Fatalf("warned again of %d: %v", n, err)
		}
		if f.eventsOf(dispute.EventDeadlineApproaching, quiet.ID) != 1 {
			t.Errorf("no deadline event for %s", quiet.ID)
		}
		for _, body := range []map[string]any{
			{"evidence": map[string]any{"uncategorized_text": 5}},
			{"evidence": map[string]string{"receipt": "file_123"}},
			{"evidence": map[string]string{"customer_name": "a\nb"}},
		} {
			if r := f.Do("POST", "/v1/disputes/"+quiet.ID+"/evidence", body); r.Status != 400 || r.Err().Param == "" {
				t.Errorf("bad evidence %v: %d %s", body, r.Status, r.Body)
			}
		}
		if r := f.Do("POST", "/v1/disputes/dsp_00000000000000000000000000/close", nil); r.Status != 404 {
			t.Errorf("unknown dispute: %d %s", r.Status, r.Body)
		}
	})
}

// recovered waits until the dispute's recovery has taken back want.
func (f *fixture) recovered(id string, want int64) dispute.View {
	f.t.Helper()
	var d dispute.View
	f.waitFor("the recovery", func() bool {
		d = f.dispute(id)
		return d.AmountRecovered == want
	})
	return d
}

// TestDisputeRecovery: under a fee policy with dispute_payer merchant,
// a dispute Stripe takes from the platform (destination and separate
// charges) is taken back from the merchants by reversing their transfers:
// the dispute fee first, then the amount, never more than is left of a
// transfer, shared over a separate charge's transfers in proportion. Won,
// the amount goes back to each merchant; lost, the recovery stays. A
// payment priced before the policy changed keeps the old answer, and a
// transfer already reversed by hand leaves the platform bearing it. The
// books equal Stripe's balances after each step, and running the
// recovery again changes nothing.
func TestDisputeRecovery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		exp := f.ConnectedMerchant("Florist")
		exp2 := f.ConnectedMerchant("Grocer")
		accounts := map[string]string{exp.ID: *exp.Connection.AccountID, exp2.ID: *exp2.Connection.AccountID}
		if r := f.Do("POST", "/v1/fee_policy", map[string]any{"dispute_payer": "customer"}); r.Status != 400 || r.Err().Param != "dispute_payer" {
			t.Fatalf("a bad dispute_payer: %d %s", r.Status, r.Body)
		}
		// Priced while the platform bore its disputes: it still does.
		_, before := f.disputedPayment(exp.ID, "destination", 3000)
		var policy payment.FeePolicyView
		f.Post("/v1/fee_policy", map[string]any{"dispute_payer": "merchant", "rules": map[string]any{"usd": map[string]any{"basis_points": 1000}}},
			200, &policy)
		if policy.DisputePayer != payment.DisputeMerchant {
			t.Fatalf("policy %+v", policy)
		}

		// A destination charge transfers all of its 4000 (Stripe takes the
		// platform's fee from the merchant after): the 1500 dispute fee and
		// 2500 of the amount come back, all that was left of the transfer.
		p, won := f.disputedPayment(exp.ID, "destination", 4000)
		if won.Payer != dispute.BearerMerchant || won.Bearer != dispute.BearerPlatform {
			t.Fatalf("dispute %+v", won)
		}
		won = f.recovered(won.ID, 4000)
		if r := won.Recoveries; len(r) != 1 || r[0].Merchant != exp.ID || r[0].Fee != 1500 || r[0].Amount != 2500 || r[0].StripeReversal == nil {
			t.Fatalf("recovery of %s: %+v", p.ID, r)
		}
		f.CheckBooks(accounts)
		f.Post("/v1/disputes/"+won.ID+"/evidence", map[string]any{"evidence": map[string]string{"uncategorized_text": "winning_evidence"}}, 200, nil)
		f.waitForDispute(won.ID, dispute.StatusWon)
		f.waitFor("the reinstatement", func() bool { return f.dispute(won.ID).AmountWithdrawn == 0 })
		// The reversal's 4000 is the platform's to spend at once, while the
		// withdrawal is pending: the return goes through.
		f.waitFor("the return", func() bool { return f.dispute(won.ID).AmountReturned == 2500 })
		won = f.dispute(won.ID)
		if r := won.Recoveries; won.AmountReturned != 2500 || r[0].AmountReturned != 2500 || r[0].StripeReturn == nil {
			t.Fatalf("won dispute returned %d: %+v", won.AmountReturned, r)
		}
		ret, err := f.sc.V1Transfers.Retrieve(ctx, *won.Recoveries[0].StripeReturn, nil)
		if err != nil || ret.Amount != 2500 || ret.Destination.ID != accounts[exp.ID] {
			t.Fatalf("the return at Stripe: %+v %v", ret, err)
		}
		f.CheckBooks(accounts)
		for typ, want := range map[event.Type]int{dispute.EventFundsRecovered: 1, dispute.EventFundsReturned: 1, dispute.EventRecoveryFailed: 0} {
			if n := f.eventsOf(typ, won.ID); n != want {
				t.Errorf("%d %s events, want %d", n, typ, want)
			}
		}

		// Lost: the recovery stays, nothing is returned.
		_, lost := f.disputedPayment(exp.ID, "destination", 2500)
		f.recovered(lost.ID, 2500)
		f.Post("/v1/disputes/"+lost.ID+"/close", nil, 200, nil)
		if err := f.App.Disputes.Recover(ctx, f.PlatformID, lost.ID); err != nil {
			t.Fatal(err)
		}
		if d := f.dispute(lost.ID); d.Status != dispute.StatusLost || d.AmountRecovered != 2500 || d.AmountReturned != 0 {
			t.Errorf("lost dispute %+v", d)
		}
		f.CheckBooks(accounts)

		// A separate charge over two merchants: its transfers (after the
		// platform's and Stripe's fees) are less than the 11500 withdrawn,
		// so both come back whole, the fee shared in proportion.
		sp, sep := f.disputedPayment(exp.ID, "separate", 10000, map[string]any{"splits": []map[string]any{
			{"merchant": exp.ID, "amount": 6000}, {"merchant": exp2.ID, "amount": 4000}}})
		transferred := map[string]int64{}
		for _, tr := range sp.Transfers {
			transferred[tr.Merchant] = tr.Amount
		}
		if len(transferred) != 2 || transferred[exp.ID]*2 != transferred[exp2.ID]*3 {
			t.Fatalf("separate charge's transfers: %+v", sp.Transfers)
		}
		sep = f.recovered(sep.ID, transferred[exp.ID]+transferred[exp2.ID])
		for _, r := range sep.Recoveries {
			if r.Amount+r.Fee != transferred[r.Merchant] || r.Fee != map[string]int64{exp.ID: 900, exp2.ID: 600}[r.Merchant] {
				t.Errorf("separate charge's share %+v of %d", r, transferred[r.Merchant])
			}
		}
		for _, tr := range f.payment(sp.ID).Transfers {
			if tr.AmountReversed != tr.Amount {
				t.Errorf("transfer %s counts %d reversed of %d", tr.ID, tr.AmountReversed, tr.Amount)
			}
		}
		f.CheckBooks(accounts)

		// A destination transfer reversed whole by hand before Tender heard
		// of the dispute: nothing is left to recover.
		var gone dispute.View
		f.withoutWebhooks(func() {
			c := f.Customer("mallory@example.com")
			f.SaveCard(c, "pm_card_createDispute")
			f.Consent(c, exp.ID)
			var gp payment.View
			f.Post("/v1/payments", map[string]any{"merchant": exp.ID, "customer": c, "amount": 2000, "currency": "usd",
				"off_session": true, "charge_type": "destination"}, 200, &gp)
			f.waitFor("the payment", func() bool { gp = f.payment(gp.ID); return gp.Status == payment.StatusSucceeded })
			params := &stripe.PaymentIntentRetrieveParams{}
			params.AddExpand("latest_charge")
			pi, err := f.sc.V1PaymentIntents.Retrieve(ctx, *gp.StripePaymentIntent, params)
			if err != nil || pi.LatestCharge == nil || pi.LatestCharge.Transfer == nil {
				t.Fatalf("the charge's transfer: %v", err)
			}
			if _, err := f.sc.V1TransferReversals.Create(ctx, &stripe.TransferReversalCreateParams{ID: stripe.String(pi.LatestCharge.Transfer.ID)}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.App.StripeEvents.Backfill(ctx, f.PlatformID); err != nil {
				t.Fatal(err)
			}
			f.waitFor("the dispute", func() bool {
				var l struct{ Data []dispute.View }
				f.Do("GET", "/v1/disputes?payment="+gp.ID, nil).Decode(t, &l)
				if len(l.Data) == 1 && len(l.Data[0].Recoveries) == 1 {
					gone = l.Data[0]
					return true
				}
				return false
			})
		})
		if r := gone.Recoveries[0]; gone.AmountRecovered != 0 || r.FailureDetail == nil || r.StripeReversal != nil {
			t.Errorf("recovery from a reversed transfer: %+v %+v", gone, r)
		}
		f.CheckBooks(accounts)

		// Later, every withdrawal available, the platform's balance is
		// short of what a won dispute returns: the return waits, moving
		// nothing, and the fee of a large separate charge whose funds are
		// available at once lets it through (on a new key: Stripe replays
		// its refusal).
		f.clock.Advance(8 * 24 * time.Hour)
		_, late := f.disputedPayment(exp.ID, "destination", 2000)
		f.recovered(late.ID, 2000)
		f.Post("/v1/disputes/"+late.ID+"/evidence", map[string]any{"evidence": map[string]string{"uncategorized_text": "winning_evidence"}}, 200, nil)
		f.waitForDispute(late.ID, dispute.StatusWon)
		f.waitFor("the reinstatement", func() bool { return f.dispute(late.ID).AmountWithdrawn == 0 })
		if err := f.App.Disputes.Recover(ctx, f.PlatformID, late.ID); err == nil || !strings.Contains(err.Error(), "available balance is short") {
			t.Fatalf("returning with the platform short: %v", err)
		}
		if d := f.dispute(late.ID); d.AmountReturned != 0 || d.Recoveries[0].StripeReturn != nil || d.Recoveries[0].AmountReturned != 500 {
			t.Fatalf("returned while short: %+v", d.Recoveries[0])
		}
		f.CheckBooks(accounts)
		rich := f.Customer("rich@example.com")
		f.SaveCard(rich, "pm_card_bypassPending")
		f.Consent(rich, exp.ID)
		var big payment.View
		f.Post("/v1/payments", map[string]any{"merchant": exp.ID, "customer": rich, "amount": 1000000, "currency": "usd",
			"off_session": true, "charge_type": "separate", "splits": []map[string]any{{"merchant": exp.ID, "amount": 1000000}}}, 200, &big)
		f.waitFor("the large payment's transfer", func() bool {
			big = f.payment(big.ID)
			return len(big.Transfers) == 1 && big.Transfers[0].Status == payment.TransferPaid
		})
		if err := f.App.Disputes.Recover(ctx, f.PlatformID, late.ID); err != nil {
			t.Fatalf("returning: %v", err)
		}
		if d := f.dispute(late.ID); d.AmountReturned != 500 {
			t.Errorf("late dispute returned %d, want 500", d.AmountReturned)
		}
		f.CheckBooks(accounts)

		// Running every recovery again moves nothing more.
		for _, id := range []string{before.ID, won.ID, lost.ID, sep.ID, gone.ID, late.ID} {
			if err := f.App.Disputes.Recover(ctx, f.PlatformID, id); err != nil {
				t.Errorf("again %s: %v", id, err)
			}
		}
		if d := f.dispute(before.ID); d.Payer != dispute.BearerPlatform || len(d.Recoveries) != 0 {
			t.Errorf("a dispute of a payment priced before the policy: %+v", d)
		}
		f.CheckBooks(accounts)
		// At Stripe: five reversals (won, lost, late and the separate
		// charge's two) and two returns, each made once.
		reversals, returns := 0, 0
		for tr, err := range f.sc.V1Transfers.List(ctx, &stripe.TransferListParams{}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if tr.Metadata["tender_dispute"] != "" {
				returns++
			}
			for rv, err := range f.sc.V1TransferReversals.List(ctx, &stripe.TransferReversalListParams{ID: stripe.String(tr.ID)}).All(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				if rv.Metadata["tender_dispute"] != "" {
					reversals++
				}
			}
		}
		if reversals != 5 || returns != 2 {
			t.Errorf("%d reversals and %d returns at Stripe, want 5 and 2", reversals, returns)
		}
	})
}
