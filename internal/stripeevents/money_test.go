package stripeevents_test

import (
	"context"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// booked counts the ledger entries of a cause.
func (f *fixture) booked(cause string) int {
	f.t.Helper()
	var n int
	if err := f.App.DB.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM ledger_entries WHERE platform_id = $1 AND cause = $2`,
		f.PlatformID, cause).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// TestMoneyMovedAtStripe: the platform refunds part of an application fee
// and reverses transfers in its Dashboard, with no call from Tender; the
// books follow Stripe, each movement once, a separate charge's transfer
// counts what was reversed, and Tender's own refund's reversal is not
// taken for one made at Stripe.
func TestMoneyMovedAtStripe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":1000,"fixed":0}}}`, 200, nil)
		std, exp := f.StandardMerchant("Bakery"), f.ConnectedMerchant("Florist")
		accounts := map[string]string{std.ID: *std.Connection.AccountID, exp.ID: *exp.Connection.AccountID}

		// An application fee, part refunded at Stripe.
		f.paidPayment(std.ID, "direct", 3000)
		var fee *stripe.ApplicationFee
		for af, err := range f.sc.V1ApplicationFees.List(ctx, &stripe.ApplicationFeeListParams{}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if af.Account != nil && af.Account.ID == accounts[std.ID] {
				fee = af
			}
		}
		if fee == nil {
			t.Fatal("no application fee on the direct charge")
		}
		fr, err := f.sc.V1FeeRefunds.Create(ctx, &stripe.FeeRefundCreateParams{ID: stripe.String(fee.ID), Amount: stripe.Int64(100)})
		if err != nil {
			t.Fatal(err)
		}
		f.waitFor("the fee refund booked", func() bool { return f.booked("application_fee_refund:"+fr.ID) == 1 })
		f.CheckBooks(accounts)

		// A separate charge's transfer, part reversed at Stripe; then a
		// refund through Tender, whose own reversal is booked with it.
		var sep payment.View
		f.Post("/v1/payments", map[string]any{"merchant": exp.ID, "customer": f.customerWithCard(exp.ID), "amount": 4000, "currency": "usd",
			"off_session": true, "charge_type": "separate", "splits": []map[string]any{{"merchant": exp.ID, "amount": 4000}}}, 200, &sep)
		f.waitFor("the transfer paid", func() bool {
			sep = f.payment(sep.ID)
			return len(sep.Transfers) == 1 && sep.Transfers[0].Status == payment.TransferPaid
		})
		rv, err := f.sc.V1TransferReversals.Create(ctx, &stripe.TransferReversalCreateParams{ID: sep.Transfers[0].StripeTransfer,
			Amount: stripe.Int64(500)})
		if err != nil {
			t.Fatal(err)
		}
		f.waitFor("the reversal counted", func() bool { return f.payment(sep.ID).Transfers[0].AmountReversed == 500 })
		if f.booked("transfer_reversal:"+rv.ID) != 1 || f.eventsOf(payment.EventTransferReversed, sep.Transfers[0].ID) != 1 {
			t.Errorf("reversal booked %d, events %d", f.booked("transfer_reversal:"+rv.ID), f.eventsOf(payment.EventTransferReversed, sep.Transfers[0].ID))
		}
		f.CheckBooks(accounts)

		// A destination charge's transfer, part reversed at Stripe.
		dest := f.paidPayment(exp.ID, "destination", 2500)
		piParams := &stripe.PaymentIntentRetrieveParams{}
		piParams.AddExpand("latest_charge")
		pi, err := f.sc.V1PaymentIntents.Retrieve(ctx, *dest.StripePaymentIntent, piParams)
		if err != nil || pi.LatestCharge == nil || pi.LatestCharge.Transfer == nil {
			t.Fatalf("destination charge's transfer: %v %v", pi, err)
		}
		drv, err := f.sc.V1TransferReversals.Create(ctx, &stripe.TransferReversalCreateParams{ID: stripe.String(pi.LatestCharge.Transfer.ID),
			Amount: stripe.Int64(300)})
		if err != nil {
			t.Fatal(err)
		}
		f.waitFor("the destination reversal booked", func() bool { return f.booked("transfer_reversal:"+drv.ID) == 1 })
		f.CheckBooks(accounts)

		// Tender's own refund of the separate charge reverses its transfer
		// in proportion: booked with the refund, not again from its event.
		f.Post("/v1/payments/"+sep.ID+"/refunds", map[string]any{"amount": 1000}, 200, nil)
		f.waitFor("the refund", func() bool {
			rs := f.refunds(sep.ID)
			return len(rs) == 1 && rs[0].Status == payment.RefundSucceeded
		})
		f.waitFor("its events applied", func() bool { return len(f.inbox("&state=received")) == 0 })
		f.CheckBooks(accounts)
	})
}

// customerWithCard is a customer with a saved card and consent for the
// merchant.
func (f *fixture) customerWithCard(merchantID string) string {
	f.t.Helper()
	c := f.Customer("cy@example.com")
	f.SaveCard(c, "pm_card_visa")
	f.Consent(c, merchantID)
	return c
}
