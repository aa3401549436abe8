package stripeevents_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/dispute"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// longEnv runs the full-size fault run; without it a smaller one runs.
const longEnv = "TENDER_TEST_LONG"

// worstSize is the size of a fault run.
type worstSize struct{ payments, refunds, disputes int }

// worstDigest is the state a run ends in, by the order things were made
// in (ids differ between runs): what each payment came to, its refunds
// and its dispute; each merchant's payouts; and every balance of the
// books.
type worstDigest struct {
	Payments []string
	Payouts  map[string]string
	Balances []string
}

// TestWebhooksAtTheirWorst: a run of payments, refunds made at Stripe and
// disputes (half won with evidence sent through Tender), then three days
// of payouts, with 30 % of webhook deliveries dropped and every other one
// both duplicated and held back so that later ones overtake it, ends in
// exactly the state of the same run with no faults; the coverage shows
// what the backfill recovered.
func TestWebhooksAtTheirWorst(t *testing.T) {
	size := worstSize{payments: 500, refunds: 100, disputes: 10}
	if os.Getenv(longEnv) == "" {
		size = worstSize{payments: 60, refunds: 12, disputes: 4}
		t.Logf("a short run (%d payments, %d refunds, %d disputes); %s=1 runs 500, 100 and 10", size.payments, size.refunds,
			size.disputes, longEnv)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		other := storetest.SQLite(t)
		if db.Dialect == store.Postgres {
			other = storetest.Postgres(t)
		}
		clean := worstRun(t, db, size, emulator.WebhookFaults{}, "clean")
		worst := worstRun(t, other, size, emulator.WebhookFaults{DropRate: 0.3, DuplicateRate: 1, ReorderRate: 1,
			MaxDelay: time.Minute}, "worst")
		if !reflect.DeepEqual(clean, worst) {
			for i := range max(len(clean.Payments), len(worst.Payments)) {
				if i >= len(clean.Payments) || i >= len(worst.Payments) || clean.Payments[i] != worst.Payments[i] {
					t.Errorf("payment %d: clean %v, worst %v", i, at(clean.Payments, i), at(worst.Payments, i))
				}
			}
			if !reflect.DeepEqual(clean.Payouts, worst.Payouts) {
				t.Errorf("payouts: clean %v, worst %v", clean.Payouts, worst.Payouts)
			}
			if !slices.Equal(clean.Balances, worst.Balances) {
				t.Errorf("balances: clean %v, worst %v", clean.Balances, worst.Balances)
			}
		}
	})
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

// made is a payment of a run, in the order they were made.
type made struct {
	id      string
	dispute bool
}

// worstRun makes one run with the given webhook faults and returns the
// state it ends in.
func worstRun(t *testing.T, db *store.DB, size worstSize, faults emulator.WebhookFaults, name string) worstDigest {
	t.Helper()
	c := apitest.NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	env := apitest.NewWithEmulator(t, db, app.Config{Now: c.Now, PollInterval: 20 * time.Millisecond},
		emulator.Options{NowFunc: c.Now, Seed: 7})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := env.App.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.App.Stop(context.Background()) })
	f := &fixture{Env: env, t: t, clock: c, sc: env.StripeClient()}
	f.Post("/v1/platform/stripe/webhook_endpoints", nil, 200, nil)
	f.Emulator.SetFaults(emulator.Faults{Webhooks: faults})

	std, exp := f.StandardMerchant("Bakery"), f.ConnectedMerchant("Florist")
	accounts := map[string]string{std.ID: *std.Connection.AccountID, exp.ID: *exp.Connection.AccountID}
	payer := func(token string, merchants ...string) string {
		id := f.Customer("payer@example.com")
		f.SaveCard(id, token)
		for _, m := range merchants {
			f.Consent(id, m)
		}
		return id
	}
	var payers []string
	for range 10 {
		payers = append(payers, payer("pm_card_visa", std.ID, exp.ID))
	}
	disputer := payer("pm_card_createDispute", std.ID, exp.ID)

	var ps []made
	pay := func(i int, customer string, dispute bool) {
		m, ct := std.ID, "direct"
		if i%2 == 1 {
			m, ct = exp.ID, "destination"
		}
		var p payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m, "customer": customer, "amount": 1000 + (i%50)*37, "currency": "usd",
			"off_session": true, "charge_type": ct, "reference": fmt.Sprintf("order-%d", i)}, 200, &p)
		ps = append(ps, made{p.ID, dispute})
	}
	for i := range size.payments {
		pay(i, payers[i%len(payers)], false)
	}
	for i := range size.disputes {
		pay(size.payments+i, disputer, true)
	}
	// The clock moves a minute at a time while Tender works, as it would,
	// so that deliveries held back arrive; the backfill sweeps as its job
	// would every few minutes.
	tick := func() {
		c.Advance(time.Minute)
		if _, err := f.App.StripeEvents.Backfill(context.Background(), f.PlatformID); err != nil {
			t.Logf("%s: backfill: %v", name, err)
		}
	}
	settle := func(what string, done func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !done() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: timed out waiting for %s", name, what)
			}
			tick()
			time.Sleep(50 * time.Millisecond)
		}
	}
	settle("every payment to succeed", func() bool {
		for _, p := range ps {
			if f.payment(p.id).Status != payment.StatusSucceeded {
				return false
			}
		}
		return true
	})

	// Refunds made at Stripe, as in a Dashboard, on every fifth payment.
	for i := range size.refunds {
		p := f.payment(ps[i*5%size.payments].id)
		params := &stripe.RefundCreateParams{PaymentIntent: p.StripePaymentIntent, Amount: stripe.Int64(100 + int64(i)*3)}
		if p.ChargeType == payment.ChargeDestination {
			params.ReverseTransfer = stripe.Bool(i%2 == 0)
		} else {
			stripeapi.OnAccount(params, p.StripeAccount)
		}
		if _, err := f.sc.V1Refunds.Create(context.Background(), params); err != nil {
			t.Fatal(err)
		}
	}
	// Every dispute reaches Tender; half are answered with winning evidence.
	disputes := map[string]dispute.View{}
	settle("every dispute in Tender", func() bool {
		for _, p := range ps {
			if !p.dispute || disputes[p.id].ID != "" {
				continue
			}
			var l struct{ Data []dispute.View }
			f.Do("GET", "/v1/disputes?payment="+p.id, nil).Decode(t, &l)
			if len(l.Data) == 0 {
				return false
			}
			disputes[p.id] = l.Data[0]
		}
		return true
	})
	n := 0
	for _, p := range ps {
		if p.dispute {
			if n%2 == 0 {
				f.Post("/v1/disputes/"+disputes[p.id].ID+"/evidence", map[string]any{"evidence": map[string]string{
					"uncategorized_text": "winning_evidence"}}, 200, nil)
			}
			n++
		}
	}
	// Three days: disputes decided, funds available, payouts made and paid.
	for range 3 * 24 {
		c.Advance(time.Hour)
	}
	settle("everything applied", func() bool {
		cov := f.coverage()
		if cov.Unprocessed > 0 {
			return false
		}
		for q, acct := range map[string]string{"&merchant=" + std.ID: accounts[std.ID], "&merchant=" + exp.ID: accounts[exp.ID]} {
			if samePayouts(f.payouts(q), f.stripePayouts(acct)) != nil {
				return false
			}
		}
		for _, p := range ps {
			if p.dispute {
				if d := f.dispute(disputes[p.id].ID); d.Status != dispute.StatusWon && d.Status != dispute.StatusNeedsResponse &&
					d.Status != dispute.StatusLost {
					return false
				}
			}
		}
		recorded := 0
		for _, p := range ps {
			for _, r := range f.refunds(p.id) {
				if r.Source == payment.RefundAtStripe && r.Status == payment.RefundSucceeded {
					recorded++
				}
			}
		}
		return recorded == size.refunds
	})
	f.CheckBooks(accounts)
	if faults != (emulator.WebhookFaults{}) {
		cov, counts := f.coverage(), f.Emulator.WebhookFaultCounts()
		t.Logf("%s: coverage %+v; the emulator dropped %d deliveries, duplicated %d, held back %d", name, cov, counts.Dropped,
			counts.Duplicated, counts.Reordered)
		if counts.Dropped == 0 || counts.Duplicated == 0 || counts.Reordered == 0 || cov.OnlyByBackfill == 0 {
			t.Errorf("%s: the faults did not happen, or the backfill recovered nothing", name)
		}
	}
	return f.digest(ps, std.ID, exp.ID)
}

// digest is the state a run ended in.
func (f *fixture) digest(ps []made, merchants ...string) worstDigest {
	f.t.Helper()
	names := map[string]string{}
	for i, m := range merchants {
		names[m] = fmt.Sprintf("merchant%d", i)
	}
	var d worstDigest
	for _, m := range ps {
		p := f.payment(m.id)
		var refunds []string
		for _, r := range f.refunds(p.ID) {
			refunds = append(refunds, fmt.Sprintf("%d/%s/%s", r.Amount, r.Source, r.Status))
		}
		slices.Sort(refunds)
		line := fmt.Sprintf("%s %s %d refunded %d %v", p.ChargeType, p.Status, p.Amount, p.AmountRefunded, refunds)
		if m.dispute {
			var l struct{ Data []dispute.View }
			f.Do("GET", "/v1/disputes?payment="+p.ID, nil).Decode(f.t, &l)
			for _, x := range l.Data {
				line += fmt.Sprintf(" dispute %s withdrawn %d fees %d by %s", x.Status, x.AmountWithdrawn, x.Fees, x.Bearer)
			}
		}
		d.Payments = append(d.Payments, line)
	}
	d.Payouts = map[string]string{}
	for m, name := range names {
		var sum int64
		for _, p := range f.payouts("&merchant=" + m) {
			sum += p.Amount
			d.Payouts[name] += string(p.Status)[:2]
		}
		d.Payouts[name] = fmt.Sprintf("%d: %s", sum, d.Payouts[name])
	}
	bs, err := f.App.Ledger.Balances(context.Background(), f.PlatformID, ledger.BalanceFilter{}, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	for _, b := range bs {
		owner := "platform"
		if b.OwnerID != "" {
			owner = names[b.OwnerID]
		}
		d.Balances = append(d.Balances, fmt.Sprintf("%s %s pending %d available %d gross %d fees %d paid out %d", owner,
			b.Currency.Lower(), b.Pending.Value, b.Available.Value, b.Gross.Value, b.Fees.Value, b.PaidOut.Value))
	}
	slices.Sort(d.Balances)
	return d
}
