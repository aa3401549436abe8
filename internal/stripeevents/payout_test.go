package stripeevents_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/payout"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

func (f *fixture) payouts(query string) []payout.View {
	f.t.Helper()
	var out []payout.View
	after := ""
	for {
		var l struct {
			Data    []payout.View
			HasMore bool `json:"has_more"`
		}
		r := f.Do("GET", "/v1/payouts?limit=100"+query+after, nil)
		if r.Status != 200 {
			f.t.Fatalf("list payouts: %d %s", r.Status, r.Body)
		}
		r.Decode(f.t, &l)
		out = append(out, l.Data...)
		if !l.HasMore {
			return out
		}
		after = "&starting_after=" + l.Data[len(l.Data)-1].ID
	}
}

// stripePayouts is an account's payouts at the emulator, by id.
func (f *fixture) stripePayouts(acct string) map[string]*stripe.Payout {
	f.t.Helper()
	params := &stripe.PayoutListParams{}
	if acct != "" {
		params.SetStripeAccount(acct)
	}
	out := map[string]*stripe.Payout{}
	for po, err := range f.sc.V1Payouts.List(context.Background(), params).All(context.Background()) {
		if err != nil {
			f.t.Fatal(err)
		}
		out[po.ID] = po
	}
	return out
}

// samePayouts reports whether Tender's payouts of an owner are Stripe's,
// with their amounts and statuses.
func samePayouts(tender []payout.View, stripe map[string]*stripe.Payout) error {
	if len(tender) != len(stripe) {
		return fmt.Errorf("%d payouts in Tender, %d at Stripe", len(tender), len(stripe))
	}
	for _, p := range tender {
		po := stripe[p.StripePayout]
		if po == nil || po.Amount != p.Amount || string(po.Status) != string(p.Status) || po.Automatic != p.Automatic {
			return fmt.Errorf("payout %+v, at Stripe %+v", p, po)
		}
	}
	return nil
}

// TestAutomaticPayoutsForAMonth: a month of daily automatic payouts on the
// emulator's clock, of a Standard merchant's direct charges, an Express
// merchant's destination charges, with refunds on the way: Tender has every payout Stripe made, with its amount and
// status; an automatic payout lists the balance transactions it paid out,
// adding up to it, with the Tender payments they belong to; and each
// balance in the books, payouts included, equals Stripe's.
func TestAutomaticPayoutsForAMonth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		std := f.StandardMerchant("Bakery")
		exp := f.ConnectedMerchant("Florist")
		accounts := map[string]string{std.ID: *std.Connection.AccountID, exp.ID: *exp.Connection.AccountID}
		for day := range 30 {
			p := f.paidPayment(std.ID, "direct", int64(1000+day*10))
			f.paidPayment(exp.ID, "destination", int64(2000+day*10))
			if day%7 == 3 {
				f.Post("/v1/payments/"+p.ID+"/refunds", map[string]any{"amount": 300}, 200, nil)
			}
			f.clock.Advance(24 * time.Hour)
		}
		f.clock.Advance(72 * time.Hour) // the last payouts arrive
		owners := map[string]string{"&owner=platform": "", "&merchant=" + std.ID: accounts[std.ID], "&merchant=" + exp.ID: accounts[exp.ID]}
		f.waitFor("Tender to have Stripe's payouts", func() bool {
			for q, acct := range owners {
				if samePayouts(f.payouts(q), f.stripePayouts(acct)) != nil {
					return false
				}
			}
			return len(f.inbox("&state=received")) == 0
		})
		for q, acct := range owners {
			ps := f.payouts(q)
			if acct != "" && len(ps) < 25 { // the emulator's platform account pays out nothing by itself
				t.Errorf("%s: %d payouts in a month of daily ones", q, len(ps))
			}
			if err := samePayouts(ps, f.stripePayouts(acct)); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}

		// An automatic payout of each merchant: what it paid out adds up to
		// it, and its charges are Tender's payments.
		for _, m := range []string{std.ID, exp.ID} {
			ps := f.payouts("&merchant=" + m + "&status=paid")
			var detail payout.View
			f.Do("GET", "/v1/payouts/"+ps[len(ps)/2].ID, nil).Decode(t, &detail)
			var net int64
			payments := 0
			for _, bt := range detail.BalanceTransactions {
				net += bt.Net
				if bt.Type == "charge" || bt.Type == "payment" {
					if bt.Payment == nil {
						t.Errorf("%s: %s %s belongs to no payment", m, bt.Type, bt.ID)
					}
					payments++
				}
			}
			if net != detail.Amount || payments == 0 || !detail.Automatic {
				t.Errorf("%s: payout %s of %d: its %d transactions (%d payments) add up to %d", m, detail.ID, detail.Amount,
					len(detail.BalanceTransactions), payments, net)
			}
		}

		f.CheckBooks(accounts)
		bs, err := f.App.Ledger.Balances(context.Background(), f.PlatformID, ledger.BalanceFilter{Owner: ledger.OwnerMerchant,
			MerchantID: exp.ID}, f.clock.Now())
		if err != nil || len(bs) != 1 {
			t.Fatalf("balances %v %v", bs, err)
		}
		var paid int64
		for _, p := range f.payouts("&merchant=" + exp.ID) {
			if p.Status != payout.StatusFailed && p.Status != payout.StatusCanceled {
				paid += p.Amount
			}
		}
		if bs[0].PaidOut.Value != paid {
			t.Errorf("the books say %d paid out, its payouts %d", bs[0].PaidOut.Value, paid)
		}
	})
}
