package stripeevents_test

import (
	"context"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeevents"
)

func (f *fixture) coverage() stripeevents.Coverage {
	f.t.Helper()
	var c stripeevents.Coverage
	r := f.Do("GET", "/v1/stripe_events/coverage", nil)
	if r.Status != 200 {
		f.t.Fatalf("coverage: %d %s", r.Status, r.Body)
	}
	r.Decode(f.t, &c)
	return c
}

// TestBackfillRecoversWhatWasNotDelivered: with every webhook delivery
// lost, a refund made at Stripe reaches Tender through the backfill of
// the connected account's events, and the coverage says how; a second
// sweep adds nothing.
func TestBackfillRecoversWhatWasNotDelivered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.StandardMerchant("Bakery")
		acct := *m.Connection.AccountID
		p := f.paidPayment(m.ID, "direct", 2500)
		f.waitFor("deliveries so far", func() bool { return len(f.inbox("&state=received")) == 0 })
		before := f.coverage()
		if before.ByWebhook == 0 || before.OnlyByBackfill != 0 {
			t.Fatalf("coverage before %+v", before)
		}

		f.Emulator.SetFaults(emulator.Faults{Webhooks: emulator.WebhookFaults{DropRate: 1}})
		ctx := context.Background()
		re, err := f.sc.V1Refunds.Create(ctx, stripeapi.OnAccount(&stripe.RefundCreateParams{PaymentIntent: p.StripePaymentIntent,
			Amount: stripe.Int64(900)}, acct))
		if err != nil {
			t.Fatal(err)
		}
		if n := f.Emulator.WebhookFaultCounts().Dropped; n == 0 {
			t.Fatal("no delivery was dropped")
		}
		if len(f.refunds(p.ID)) != 0 {
			t.Fatal("a refund reached Tender with every delivery dropped")
		}

		sw, err := f.App.StripeEvents.Backfill(ctx, f.PlatformID)
		if err != nil || sw.Added == 0 || sw.Accounts != 2 {
			t.Fatalf("backfill: %+v %v", sw, err)
		}
		f.waitFor("the refund in Tender", func() bool { return len(f.refunds(p.ID)) == 1 })
		if r := f.refunds(p.ID)[0]; r.Source != payment.RefundAtStripe || *r.StripeRefund != re.ID || r.Amount != 900 {
			t.Errorf("refund %+v", r)
		}
		f.waitFor("the backfilled events applied", func() bool { return len(f.inbox("&state=received")) == 0 })
		after := f.coverage()
		if after.OnlyByBackfill != int64(sw.Added) || after.ByWebhook != before.ByWebhook || after.Unprocessed != 0 ||
			after.LastSwept == nil {
			t.Errorf("coverage after %+v (swept %+v)", after, sw)
		}
		for _, e := range f.inbox("&account=" + acct + "&type=charge.refunded") {
			if e.Source != "backfill" || e.WebhookDeliveries != 0 {
				t.Errorf("backfilled event %+v", e)
			}
		}
		if again, err := f.App.StripeEvents.Backfill(ctx, f.PlatformID); err != nil || again.Added != 0 {
			t.Errorf("second sweep: %+v %v", again, err)
		}
		f.CheckBooks(map[string]string{m.ID: acct})
	})
}
