package standing_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/standing"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/wallet"
)

type fixture struct {
	*apitest.Env
	t     *testing.T
	clock *apitest.Clock
	sc    *stripe.Client
}

// start is a Monday morning in London, in winter.
var start = time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	c := apitest.NewClock(start)
	env := apitest.NewWithEmulator(t, db, app.Config{Now: c.Now, PollInterval: 20 * time.Millisecond}, emulator.Options{NowFunc: c.Now})
	ctx, cancel := context.WithCancel(context.Background())
	if err := env.App.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		env.App.Stop(context.Background())
	})
	return &fixture{Env: env, t: t, clock: c, sc: env.StripeClient()}
}

// at moves the shared clock forward to t.
func (f *fixture) at(t time.Time) {
	f.t.Helper()
	d := t.Sub(f.clock.Now())
	if d < 0 {
		f.t.Fatalf("the clock is past %s", t)
	}
	f.clock.Advance(d)
}

// subscriber is a customer with a card and an off-session consent for
// the merchant.
func (f *fixture) subscriber(merchantID, card string) string {
	f.t.Helper()
	c := f.Customer("sub@example.com")
	f.SaveCard(c, card)
	f.Consent(c, merchantID)
	return c
}

// withdrawConsent withdraws the customer's first consent.
func (f *fixture) withdrawConsent(customerID string) {
	f.t.Helper()
	var consents struct{ Data []wallet.ConsentView }
	f.Do("GET", "/v1/customers/"+customerID+"/consents", nil).Decode(f.t, &consents)
	if r := f.Do("DELETE", "/v1/customers/"+customerID+"/consents/"+consents.Data[0].ID, nil); r.Status != 200 {
		f.t.Fatalf("withdrawing the consent: %d %s", r.Status, r.Body)
	}
}

func (f *fixture) order(id string) standing.View {
	f.t.Helper()
	var o standing.View
	f.Do("GET", "/v1/standing_orders/"+id, nil).Decode(f.t, &o)
	return o
}

func (f *fixture) cycles(id string) []standing.CycleView {
	f.t.Helper()
	var l struct{ Data []standing.CycleView }
	f.Do("GET", "/v1/standing_orders/"+id+"/cycles?limit=100", nil).Decode(f.t, &l)
	return l.Data
}

// runDue runs the scheduler as its periodic job would (the job itself
// may run at the same time: that is part of what is tested).
func (f *fixture) runDue() {
	f.t.Helper()
	if _, err := f.App.Standing.RunDue(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// settled waits until every cycle of the order has left charging.
func (f *fixture) settled(id string) []standing.CycleView {
	f.t.Helper()
	var cs []standing.CycleView
	deadline := time.Now().Add(20 * time.Second)
	for {
		cs = f.cycles(id)
		done := true
		for _, c := range cs {
			done = done && c.Status != standing.CycleCharging
		}
		if done {
			return cs
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("cycles still charging: %+v", cs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// intents counts the PaymentIntents at the emulator on account (any
// account: "" is the platform's) made for Tender's payments.
func (f *fixture) intents(account string) map[string]int {
	f.t.Helper()
	params := &stripe.PaymentIntentListParams{}
	if account != "" {
		params.SetStripeAccount(account)
	}
	n := map[string]int{}
	for pi, err := range f.sc.V1PaymentIntents.List(context.Background(), params).All(context.Background()) {
		if err != nil {
			f.t.Fatal(err)
		}
		n[pi.Metadata["tender_payment"]]++
	}
	return n
}

func weekly(customer, merchant string, extra map[string]any) map[string]any {
	body := map[string]any{"customer": customer, "merchant": merchant, "amount": 2500, "currency": "usd",
		"schedule":  map[string]any{"interval": "week", "weekdays": []string{"thursday"}, "time_of_day": "10:00"},
		"time_zone": "Europe/London", "start_date": "2027-01-04"}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

// TestStandingOrderRefusals: a standing order is refused, naming the
// field and making nothing, for a bad schedule and for anything that
// would refuse its cycles' payments.
func TestStandingOrderRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.ConnectedMerchant("Hub")
		c := f.subscriber(m.ID, "pm_card_visa")
		stranger := f.Customer("stranger@example.com")
		f.SaveCard(stranger, "pm_card_visa")
		for _, tt := range []struct {
			name  string
			extra map[string]any
			param string
		}{
			{"no time zone", map[string]any{"time_zone": ""}, "time_zone"},
			{"a bad time zone", map[string]any{"time_zone": "Mars/Olympus"}, "time_zone"},
			{"a bad interval", map[string]any{"schedule": map[string]any{"interval": "fortnight"}}, "schedule[interval]"},
			{"a bad weekday", map[string]any{"schedule": map[string]any{"interval": "week", "weekdays": []string{"caturday"}}}, "schedule[weekdays][0]"},
			{"a bad day of month", map[string]any{"schedule": map[string]any{"interval": "month", "day_of_month": 0}}, "schedule[day_of_month]"},
			{"a bad time of day", map[string]any{"schedule": map[string]any{"interval": "day", "time_of_day": "25:00"}}, "schedule[time_of_day]"},
			{"a bad start date", map[string]any{"start_date": "04/01/2027"}, "start_date"},
			{"an end before the start", map[string]any{"end_date": "2027-01-01"}, "end_date"},
			{"a schedule already over", map[string]any{"start_date": "2026-01-01", "end_date": "2026-02-01"}, "start_date"},
			{"too long a lead", map[string]any{"lead_days": 8}, "lead_days"},
			{"no amount", map[string]any{"amount": 0}, "amount"},
			{"an unknown merchant", map[string]any{"merchant": "mer_00000000000000000000000000"}, "merchant"},
			{"an unknown card", map[string]any{"payment_method": "pmt_00000000000000000000000000"}, "payment_method"},
			{"an unknown field", map[string]any{"interval": "week"}, "interval"},
		} {
			r := f.Do("POST", "/v1/standing_orders", weekly(c, m.ID, tt.extra))
			if r.Status != 400 || r.Err().Param != tt.param {
				t.Errorf("%s: %d %s, want 400 naming %s", tt.name, r.Status, r.Body, tt.param)
			}
		}
		// No consent for the merchant: the cycles could never be charged.
		if r := f.Do("POST", "/v1/standing_orders", weekly(stranger, m.ID, nil)); r.Status < 400 || r.Err().Code != "consent_missing" {
			t.Errorf("without consent: %d %s", r.Status, r.Body)
		}
		var l struct{ Data []standing.View }
		f.Do("GET", "/v1/standing_orders", nil).Decode(t, &l)
		if len(l.Data) != 0 {
			t.Errorf("refusals made %d standing orders", len(l.Data))
		}
		if r := f.Do("GET", "/v1/standing_orders?status=sleeping", nil); r.Status != 400 || r.Err().Param != "status" {
			t.Errorf("a bad status filter: %d %s", r.Status, r.Body)
		}
		if r := f.Do("GET", "/v1/standing_orders/sto_00000000000000000000000000", nil); r.Status != 404 {
			t.Errorf("an unknown order: %d", r.Status)
		}
	})
}

// TestCyclesOnce: each cycle is made once, lead_days before it is due,
// however often and however concurrently the scheduler runs, and each is
// one PaymentIntent at Stripe; a change of amount applies from the next
// cycle; the order completes with its count.
func TestCyclesOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.ConnectedMerchant("Hub")
		c := f.subscriber(m.ID, "pm_card_visa")
		var o standing.View
		f.Post("/v1/standing_orders", weekly(c, m.ID, map[string]any{"count": 4}), 200, &o)
		// Thursday 7 January, 10:00 in London (GMT), charged two days before.
		if o.Status != standing.StatusActive || o.NextCycle == nil || o.NextCycle.Seq != 1 || o.NextCycle.Date != "2027-01-07" ||
			!o.NextCycle.DueAt.Equal(time.Date(2027, 1, 7, 10, 0, 0, 0, time.UTC)) ||
			!o.NextCycle.ChargeAt.Equal(time.Date(2027, 1, 5, 10, 0, 0, 0, time.UTC)) || o.LeadDays != standing.DefaultLeadDays {
			t.Fatalf("order %+v next %+v", o, o.NextCycle)
		}
		f.runDue()
		if n := len(f.cycles(o.ID)); n != 0 {
			t.Fatalf("%d cycles before the charge time", n)
		}
		for week := range 4 {
			f.at(time.Date(2027, 1, 5+7*week, 10, 0, 1, 0, time.UTC))
			if week == 2 {
				f.Post("/v1/standing_orders/"+o.ID, map[string]any{"amount": 3000}, 200, nil)
			}
			// Four at once, as well as the periodic job: none may fail (a
			// deadlock between them would), and each cycle is made once.
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := f.App.Standing.RunDue(context.Background()); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			f.runDue()
		}
		cs := f.settled(o.ID)
		if len(cs) != 4 {
			t.Fatalf("%d cycles, want 4: %+v", len(cs), cs)
		}
		intents := f.intents(*m.Connection.AccountID)
		for _, cy := range cs {
			wantAmount := int64(2500)
			if cy.Seq >= 3 {
				wantAmount = 3000
			}
			if cy.Status != standing.CycleSucceeded || cy.Payment == nil || cy.Amount != wantAmount || intents[*cy.Payment] != 1 {
				t.Errorf("cycle %d: %+v (%d intents)", cy.Seq, cy, intents[*cy.Payment])
			}
		}
		if len(intents) != 4 {
			t.Errorf("%d PaymentIntents at Stripe, want 4", len(intents))
		}
		o = f.order(o.ID)
		if o.Status != standing.StatusCompleted || o.NextCycle != nil || len(o.LatestCycles) != 3 || o.LatestCycles[0].Seq != 4 {
			t.Errorf("after its count: %+v", o)
		}
		var p payment.View
		f.Do("GET", "/v1/payments/"+*cs[0].Payment, nil).Decode(t, &p)
		if p.Source != payment.SourceStandingOrder || !p.OffSession || p.Amount != 3000 {
			t.Errorf("cycle 4's payment %+v", p)
		}
		if n := f.events(standing.EventCycleSucceeded, o.ID); n != 4 {
			t.Errorf("%d cycle_succeeded events", n)
		}
		if n := f.events(standing.EventCompleted, o.ID); n != 1 {
			t.Errorf("%d completed events", n)
		}
	})
}

func (f *fixture) events(typ event.Type, objectID string) int {
	f.t.Helper()
	var l struct{ Data []event.View }
	f.Do("GET", "/v1/events?type="+string(typ)+"&limit=100", nil).Decode(f.t, &l)
	n := 0
	for _, e := range l.Data {
		if e.ObjectID == objectID {
			n++
		}
	}
	return n
}

// TestPauseResumeCancel: a pause or cancel that commits before a cycle's
// charge time stops it; a resumed order skips the cycles due while it was
// paused; a cancel after a cycle was made leaves it in latest_cycles with
// its payment; an ended order refuses to move.
func TestPauseResumeCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.ConnectedMerchant("Hub")
		c := f.subscriber(m.ID, "pm_card_visa")
		var o standing.View
		f.Post("/v1/standing_orders", weekly(c, m.ID, nil), 200, &o)
		f.Post("/v1/standing_orders/"+o.ID+"/pause", nil, 200, &o)
		if o.Status != standing.StatusPaused || o.StatusReason == nil || *o.StatusReason != standing.ReasonPlatform {
			t.Fatalf("paused: %+v", o)
		}
		f.at(time.Date(2027, 1, 20, 12, 0, 0, 0, time.UTC)) // two cycles' charge times pass
		f.runDue()
		if n := len(f.cycles(o.ID)); n != 0 {
			t.Fatalf("%d cycles while paused", n)
		}
		f.Post("/v1/standing_orders/"+o.ID+"/resume", nil, 200, &o)
		// Thursday 21 January is due after now: seq 3, the two before skipped.
		if o.Status != standing.StatusActive || o.NextCycle == nil || o.NextCycle.Seq != 3 || o.NextCycle.Date != "2027-01-21" {
			t.Fatalf("resumed: %+v %+v", o, o.NextCycle)
		}
		f.runDue()
		cs := f.settled(o.ID)
		if len(cs) != 1 || cs[0].Seq != 3 {
			t.Fatalf("after resuming: %+v", cs)
		}
		f.Post("/v1/standing_orders/"+o.ID+"/cancel", nil, 200, &o)
		if o.Status != standing.StatusCanceled || o.NextCycle != nil || len(o.LatestCycles) != 1 || o.LatestCycles[0].Payment == nil {
			t.Fatalf("canceled: %+v", o)
		}
		f.at(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
		f.runDue()
		if n := len(f.cycles(o.ID)); n != 1 {
			t.Errorf("%d cycles after the cancel", n)
		}
		for _, action := range []string{"pause", "resume"} {
			if r := f.Do("POST", "/v1/standing_orders/"+o.ID+"/"+action, nil); r.Status != 409 || r.Err().Code != "standing_order_canceled" {
				t.Errorf("%s after cancel: %d %s", action, r.Status, r.Body)
			}
		}
		f.Post("/v1/standing_orders/"+o.ID+"/cancel", nil, 200, nil) // again: the same answer
		if n := f.events(standing.EventCanceled, o.ID); n != 1 {
			t.Errorf("%d canceled events", n)
		}
	})
}

// TestCycleNotCharged: withdrawing the consent makes the next cycle not
// charged (no payment at all), pauses the order with the reason and tells
// the platform.
func TestCycleNotCharged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.ConnectedMerchant("Hub")
		c := f.subscriber(m.ID, "pm_card_visa")
		var o standing.View
		f.Post("/v1/standing_orders", weekly(c, m.ID, nil), 200, &o)
		f.withdrawConsent(c)
		f.at(time.Date(2027, 1, 5, 10, 0, 1, 0, time.UTC))
		f.runDue()
		o = f.order(o.ID)
		cs := f.cycles(o.ID)
		if o.Status != standing.StatusPaused || *o.StatusReason != standing.ReasonConsentWithdrawn || len(cs) != 1 ||
			cs[0].Status != standing.CycleNotCharged || cs[0].Payment != nil || cs[0].FailureCode == nil {
			t.Fatalf("after the consent was withdrawn: %+v %+v", o, cs)
		}
		if f.events(standing.EventCycleNotCharged, o.ID) != 1 || f.events(standing.EventPaused, o.ID) != 1 {
			t.Errorf("events: not charged %d, paused %d", f.events(standing.EventCycleNotCharged, o.ID), f.events(standing.EventPaused, o.ID))
		}
	})
}

// TestTwoNodes: two Tender nodes on one PostgreSQL, each with its own
// pool, jobs and scheduler, run the scheduler at once, many times a week
// for six weeks of 30 weekly orders: each cycle is charged once, asserted
// at the emulator.
func TestTwoNodes(t *testing.T) {
	dbs := storetest.PostgresNodes(t, 2)
	f := newFixture(t, dbs[0])
	other := f.Node(dbs[1])
	m := f.ConnectedMerchant("Hub")
	const orders, weeks = 30, 6
	ids := make([]string, orders)
	for i := range ids {
		var o standing.View
		f.Post("/v1/standing_orders", weekly(f.subscriber(m.ID, "pm_card_visa"), m.ID, nil), 200, &o)
		ids[i] = o.ID
	}
	ctx := context.Background()
	var mu sync.Mutex
	made := map[int]int{} // by node
	for week := range weeks {
		f.at(time.Date(2027, 1, 5+7*week, 10, 0, 1, 0, time.UTC))
		var wg sync.WaitGroup
		for i, node := range []*standing.Service{f.App.Standing, other.Standing, f.App.Standing, other.Standing} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := node.RunDue(ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				made[i%2] += n
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	t.Logf("cycles made by node 1: %d, node 2: %d (and by their periodic jobs: the rest)", made[0], made[1])
	settled := map[string][]standing.CycleView{}
	for _, id := range ids {
		settled[id] = f.settled(id)
	}
	intents := f.intents(*m.Connection.AccountID)
	total := 0
	for _, id := range ids {
		cs := settled[id]
		if len(cs) != weeks {
			t.Errorf("%s: %d cycles, want %d", id, len(cs), weeks)
		}
		for _, c := range cs {
			if c.Status != standing.CycleSucceeded || c.Payment == nil || intents[*c.Payment] != 1 {
				t.Errorf("%s cycle %d: %+v", id, c.Seq, c)
			}
		}
		total += len(cs)
	}
	if len(intents) != total || total != orders*weeks {
		t.Errorf("%d PaymentIntents at Stripe for %d cycles, want %d", len(intents), total, orders*weeks)
	}
}

// cycleAt runs the scheduler at t and waits for the order's cycles to
// leave charging; it returns the latest.
func (f *fixture) cycleAt(id string, t time.Time) standing.CycleView {
	f.t.Helper()
	f.at(t)
	f.runDue()
	cs := f.settled(id)
	if len(cs) == 0 {
		f.t.Fatalf("no cycle at %s", t)
	}
	return cs[0]
}

// TestDunning: a soft decline is retried on the platform's schedule until
// its tries run out, each attempt on the cycle with its decline; cycles
// failed in a row pause the order; a new card retries the failed cycle at
// once and it succeeds, one PaymentIntent per attempt at Stripe.
func TestDunning(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.ConnectedMerchant("Hub")
		if r := f.Do("POST", "/v1/standing_policy", map[string]any{"retry_days": []int{2, 1}}); r.Status != 400 || r.Err().Param != "retry_days[1]" {
			t.Fatalf("a bad policy: %d %s", r.Status, r.Body)
		}
		var policy standing.PolicyView
		f.Post("/v1/standing_policy", map[string]any{"retry_days": []int{1, 2}, "pause_after": 2}, 200, &policy)
		if policy.MaxTries != 3 || policy.PauseAfter != 2 || policy.LeadDays != standing.DefaultLeadDays {
			t.Fatalf("policy %+v", policy)
		}
		c := f.subscriber(m.ID, "pm_card_chargeCustomerFail") // saves, then declines every charge: generic_decline, soft
		var o standing.View
		f.Post("/v1/standing_orders", weekly(c, m.ID, nil), 200, &o)

		first := time.Date(2027, 1, 5, 10, 0, 1, 0, time.UTC)
		cy := f.cycleAt(o.ID, first)
		if cy.Status != standing.CycleRetrying || cy.NextRetryAt == nil || !cy.NextRetryAt.Equal(first.AddDate(0, 0, 1)) || cy.TriesLeft != 2 ||
			len(cy.Attempts) != 1 || *cy.Attempts[0].DeclineCode != "generic_decline" || *cy.Attempts[0].Decline != "soft" ||
			cy.Attempts[0].FailureMessage == nil {
			t.Fatalf("after the first decline: %+v", cy)
		}
		f.runDue() // not yet: nothing is charged again
		if cy = f.settled(o.ID)[0]; len(cy.Attempts) != 1 {
			t.Fatalf("retried before its time: %+v", cy)
		}
		cy = f.cycleAt(o.ID, first.AddDate(0, 0, 1).Add(time.Second))
		if cy.Status != standing.CycleRetrying || len(cy.Attempts) != 2 || !cy.NextRetryAt.Equal(first.AddDate(0, 0, 2)) || cy.TriesLeft != 1 {
			t.Fatalf("after the second: %+v", cy)
		}
		cy = f.cycleAt(o.ID, first.AddDate(0, 0, 2).Add(time.Second))
		if cy.Status != standing.CycleFailed || len(cy.Attempts) != 3 || cy.NextRetryAt != nil || cy.TriesLeft != 0 {
			t.Fatalf("after the third: %+v", cy)
		}
		if o = f.order(o.ID); o.FailedInRow != 1 || o.Status != standing.StatusActive {
			t.Fatalf("one cycle failed: %+v", o)
		}
		// The second cycle fails too: two in a row pause the order.
		second := time.Date(2027, 1, 12, 10, 0, 1, 0, time.UTC)
		f.cycleAt(o.ID, second)
		f.cycleAt(o.ID, second.AddDate(0, 0, 1).Add(time.Second))
		if cy = f.cycleAt(o.ID, second.AddDate(0, 0, 2).Add(time.Second)); cy.Seq != 2 || cy.Status != standing.CycleFailed {
			t.Fatalf("cycle 2: %+v", cy)
		}
		if o = f.order(o.ID); o.Status != standing.StatusPaused || *o.StatusReason != standing.ReasonFailedCycles || o.FailedInRow != 2 {
			t.Fatalf("after two failed cycles: %+v", o)
		}
		// A new card (made the default, which the consent covers) on the
		// resumed order retries cycle 2 at once, and it succeeds.
		card := f.SaveCard(c, "pm_card_visa")
		f.Post("/v1/customers/"+c+"/payment_methods/"+card+"/default", nil, 200, nil)
		f.Post("/v1/standing_orders/"+o.ID+"/resume", nil, 200, nil)
		f.Post("/v1/standing_orders/"+o.ID, map[string]any{"payment_method": card}, 200, &o)
		if len(o.LatestCycles) == 0 || o.LatestCycles[0].Status != standing.CycleRetrying {
			t.Fatalf("after the new card: %+v", o.LatestCycles)
		}
		f.runDue()
		cy = f.settled(o.ID)[0]
		if cy.Seq != 2 || cy.Status != standing.CycleSucceeded || len(cy.Attempts) != 4 {
			t.Fatalf("cycle 2 on the new card: %+v", cy)
		}
		if o = f.order(o.ID); o.FailedInRow != 0 || o.Status != standing.StatusActive {
			t.Errorf("after the success: %+v", o)
		}
		if n := len(f.intents(*m.Connection.AccountID)); n != 7 {
			t.Errorf("%d PaymentIntents at Stripe, want 7 (one per attempt)", n)
		}
		for typ, want := range map[event.Type]int{standing.EventCycleRetrying: 5, standing.EventCycleFailed: 2,
			standing.EventCycleSucceeded: 1, standing.EventPaused: 1} {
			if n := f.events(typ, o.ID); n != want {
				t.Errorf("%d %s events, want %d", n, typ, want)
			}
		}
	})
}

// TestAuthenticationDeadline: a cycle whose bank asks the customer to
// authenticate waits for them until it is due; at the due time its
// payment is canceled and the cycle fails, authentication_not_completed,
// and a later pass changes nothing.
func TestAuthenticationDeadline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.ConnectedMerchant("Hub")
		c := f.subscriber(m.ID, "pm_card_authenticationRequired")
		var o standing.View
		f.Post("/v1/standing_orders", weekly(c, m.ID, nil), 200, &o)
		cy := f.cycleAt(o.ID, time.Date(2027, 1, 5, 10, 0, 1, 0, time.UTC))
		if cy.Status != standing.CycleRequiresAction || cy.Payment == nil {
			t.Fatalf("a cycle needing authentication: %+v", cy)
		}
		f.at(time.Date(2027, 1, 7, 9, 59, 0, 0, time.UTC)) // a minute before it is due
		f.runDue()
		if cy = f.cycles(o.ID)[0]; cy.Status != standing.CycleRequiresAction {
			t.Fatalf("ended before its due time: %+v", cy)
		}
		f.at(time.Date(2027, 1, 7, 10, 0, 0, 0, time.UTC))
		f.runDue()
		f.runDue()
		cy = f.cycles(o.ID)[0]
		if cy.Status != standing.CycleFailed || *cy.FailureCode != standing.FailureNotAuthenticated || *cy.Decline != "hard" {
			t.Fatalf("at its due time: %+v", cy)
		}
		var p payment.View
		f.Do("GET", "/v1/payments/"+*cy.Payment, nil).Decode(t, &p)
		if p.Status != payment.StatusCanceled {
			t.Errorf("its payment is %s, want canceled", p.Status)
		}
		if o = f.order(o.ID); o.FailedInRow != 1 || f.events(standing.EventCycleFailed, o.ID) != 1 {
			t.Errorf("after the deadline: %+v", o)
		}
	})
}

// risksOf returns the risks of each cycle_at_risk event of the order, in
// order.
func (f *fixture) risksOf(orderID string) [][]string {
	f.t.Helper()
	var l struct{ Data []event.View }
	f.Do("GET", "/v1/events?type="+string(standing.EventCycleAtRisk)+"&limit=100", nil).Decode(f.t, &l)
	var out [][]string
	for i := len(l.Data) - 1; i >= 0; i-- {
		e := l.Data[i]
		if e.ObjectID != orderID {
			continue
		}
		var v standing.RiskView
		if err := json.Unmarshal(e.Data.Object, &v); err != nil {
			f.t.Fatal(err)
		}
		var codes []string
		for _, r := range v.Risks {
			codes = append(codes, r.Code)
		}
		out = append(out, codes)
	}
	return out
}

// TestPrecheck: days before a cycle is charged, the platform is told once
// what may make it fail: a consent withdrawn, a card whose last payment
// asked to authenticate, a card expiring soon after the cycle or before
// it; a cycle with nothing at risk is not mentioned.
func TestPrecheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.ConnectedMerchant("Hub")
		var fine, withdrawn, auth standing.View
		f.Post("/v1/standing_orders", weekly(f.subscriber(m.ID, "pm_card_visa"), m.ID, nil), 200, &fine)
		c := f.subscriber(m.ID, "pm_card_visa")
		f.Post("/v1/standing_orders", weekly(c, m.ID, nil), 200, &withdrawn)
		f.Post("/v1/standing_orders", weekly(f.subscriber(m.ID, "pm_card_authenticationRequired"), m.ID, nil), 200, &auth)
		f.withdrawConsent(c)

		f.runDue() // 4 January: the first cycles are charged on the 5th, within three days
		f.runDue()
		if r := f.risksOf(withdrawn.ID); len(r) != 1 || len(r[0]) != 1 || r[0][0] != standing.ReasonConsentWithdrawn {
			t.Errorf("a withdrawn consent: %v", r)
		}
		if r := f.risksOf(fine.ID); len(r) != 0 {
			t.Errorf("a fine order flagged: %v", r)
		}
		if o := f.order(withdrawn.ID); o.Status != standing.StatusActive || len(o.LatestCycles) != 0 {
			t.Errorf("the check changed the order: %+v", o)
		}
		// The first cycle asks to authenticate (nothing said of it before:
		// the card had never been charged); the second is flagged.
		f.cycleAt(auth.ID, time.Date(2027, 1, 5, 10, 0, 1, 0, time.UTC))
		f.at(time.Date(2027, 1, 9, 10, 0, 1, 0, time.UTC))
		f.runDue()
		if r := f.risksOf(auth.ID); len(r) != 1 || len(r[0]) != 1 || r[0][0] != standing.RiskAuthentication {
			t.Errorf("authentication likely: %v", r)
		}
		for _, o := range []string{fine.ID, withdrawn.ID, auth.ID} {
			f.Post("/v1/standing_orders/"+o+"/cancel", nil, 200, nil)
		}

		// The emulator's cards expire at the end of 12/2030.
		var soon, late standing.View
		f.Post("/v1/standing_orders", weekly(f.subscriber(m.ID, "pm_card_visa"), m.ID, map[string]any{"start_date": "2030-11-25"}), 200, &soon)
		f.Post("/v1/standing_orders", weekly(f.subscriber(m.ID, "pm_card_visa"), m.ID, map[string]any{"start_date": "2031-01-02"}), 200, &late)
		f.at(time.Date(2030, 11, 24, 0, 0, 0, 0, time.UTC))
		f.runDue()
		if r := f.risksOf(soon.ID); len(r) != 1 || len(r[0]) != 1 || r[0][0] != standing.RiskCardExpiring {
			t.Errorf("a card expiring soon after: %v", r)
		}
		f.Post("/v1/standing_orders/"+soon.ID+"/cancel", nil, 200, nil)
		f.at(time.Date(2030, 12, 29, 0, 0, 0, 0, time.UTC))
		f.runDue()
		if r := f.risksOf(late.ID); len(r) != 1 || len(r[0]) != 1 || r[0][0] != standing.RiskCardExpired {
			t.Errorf("a card expired before: %v", r)
		}
	})
}
