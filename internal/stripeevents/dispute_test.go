package stripeevents_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/dispute"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// disputedPayment pays with the emulator's dispute card and waits for
// Stripe's dispute to reach Tender.
func (f *fixture) disputedPayment(merchantID, chargeType string, amount int64) (payment.View, dispute.View) {
	f.t.Helper()
	c := f.Customer("eve@example.com")
	f.SaveCard(c, "pm_card_createDispute")
	f.Consent(c, merchantID)
	var p payment.View
	f.Post("/v1/payments", map[string]any{"merchant": merchantID, "customer": c, "amount": amount, "currency": "usd",
		"off_session": true, "charge_type": chargeType}, 200, &p)
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
