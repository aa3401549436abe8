package emulator_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tenderpay/tender/emulator"
)

// webhookFaults sets Options.Faults.Webhooks and one delivery worker, so
// that deliveries due together arrive in queue order and a seed gives the
// same arrival order on every run.
func webhookFaults(f emulator.WebhookFaults) func(*emulator.Options) {
	return func(o *emulator.Options) {
		o.Faults.Webhooks = f
		o.WebhookWorkers = 1
	}
}

// createCustomers makes n customers with emails c0@example.com, c1@… in
// order, each a customer.created event.
func createCustomers(tb testing.TB, e *env, n int) {
	tb.Helper()
	for i := range n {
		_, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String(fmt.Sprintf("c%d@example.com", i))})
		mustf(tb, err, "customer %d", i)
	}
}

// customerIndexes decodes which customer each delivery is about, in arrival
// order.
func customerIndexes(tb testing.TB, ds []delivery) []int {
	tb.Helper()
	out := make([]int, 0, len(ds))
	for _, d := range ds {
		var ev struct {
			Data struct {
				Object struct {
					Email string `json:"email"`
				} `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(d.body, &ev); err != nil {
			tb.Fatalf("delivery body: %v", err)
		}
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(ev.Data.Object.Email, "c"), "@example.com"))
		mustf(tb, err, "email %q", ev.Data.Object.Email)
		out = append(out, i)
	}
	return out
}

// settle sends everything still held back or to be retried, so that what
// the receiver has is all it will ever get.
func settle(tb testing.TB, e *env) {
	tb.Helper()
	emulator.WaitWebhooks(tb, e.srv)
	e.srv.Advance(72 * time.Hour)
	emulator.WaitWebhooks(tb, e.srv)
}

// TestWebhookDropAll: a dropped delivery never reaches the endpoint, not
// even as a retry, and the event stays pending for it.
func TestWebhookDropAll(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webhookFaults(emulator.WebhookFaults{DropRate: 1}))
	rc := newReceiver(t, 0)
	e.endpoint(rc.ts.URL, false, "customer.created")
	createCustomers(t, e, 3)
	settle(t, e)
	if n := len(rc.deliveries()); n != 0 {
		t.Fatalf("%d deliveries under a 100%% drop rate", n)
	}
	evs := all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{Type: stripe.String("customer.created")}).All(ctx()))
	for _, ev := range evs {
		if ev.PendingWebhooks != 1 {
			t.Fatalf("%s pending_webhooks %d, want 1", ev.ID, ev.PendingWebhooks)
		}
	}
	if got := e.srv.WebhookFaultCounts(); got != (emulator.WebhookFaultCounts{Dropped: 3}) || len(evs) != 3 {
		t.Fatalf("counts %+v for %d events", got, len(evs))
	}
}

// TestWebhookDuplicates: a duplicated delivery arrives twice, the same
// event in the same body, each POST carrying a signature stripe-go
// accepts; the event is no longer pending once the original got through.
func TestWebhookDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock, webhookFaults(emulator.WebhookFaults{DuplicateRate: 1}))
	rc := newReceiver(t, 0)
	we := e.endpoint(rc.ts.URL, false, "customer.created")
	createCustomers(t, e, 1)
	got := rc.waitDeliveries(t, 2)
	emulator.WaitWebhooks(t, e.srv)
	if n := len(rc.deliveries()); n != 2 {
		t.Fatalf("%d deliveries of one duplicated event", n)
	}
	var ids []string
	for _, d := range got {
		ev, err := webhook.ConstructEvent(d.body, d.sig, we.Secret)
		mustf(t, err, "ConstructEvent")
		ids = append(ids, ev.ID)
	}
	if ids[0] != ids[1] || string(got[0].body) != string(got[1].body) {
		t.Fatalf("duplicate of %s is %s", ids[0], ids[1])
	}
	ev, err := e.sc.V1Events.Retrieve(ctx(), ids[0], nil)
	mustf(t, err, "retrieve event")
	if ev.PendingWebhooks != 0 {
		t.Fatalf("pending_webhooks %d after delivery", ev.PendingWebhooks)
	}
	if c := e.srv.WebhookFaultCounts(); c != (emulator.WebhookFaultCounts{Duplicated: 1}) {
		t.Fatalf("counts %+v", c)
	}
}

// TestWebhookDuplicateLater: with max_delay the copy waits on the emulator
// clock, and is signed when it is finally sent. Seed 1 draws a wait well
// above zero, so the copy has not come before the clock moves.
func TestWebhookDuplicateLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webhookFaults(emulator.WebhookFaults{DuplicateRate: 1, MaxDelay: 10 * time.Minute}))
	rc := newReceiver(t, 0)
	we := e.endpoint(rc.ts.URL, false, "customer.created")
	createCustomers(t, e, 1)
	rc.waitDeliveries(t, 1)
	emulator.WaitWebhooks(t, e.srv)
	if n := len(rc.deliveries()); n != 1 {
		t.Fatalf("%d deliveries before the clock moved", n)
	}
	e.srv.Advance(10 * time.Minute)
	got := rc.waitDeliveries(t, 2)
	first, second := sigTime(t, got[0].sig), sigTime(t, got[1].sig)
	if string(got[0].body) != string(got[1].body) || !second.After(first) || second.Sub(first) > 10*time.Minute {
		t.Fatalf("copy signed at %v, original at %v", second, first)
	}
	mustf(t, webhook.ValidatePayloadIgnoringTolerance(got[1].body, got[1].sig, we.Secret), "copy's signature")
}

// sigTime reads t= from a Stripe-Signature header.
func sigTime(tb testing.TB, sig string) time.Time {
	tb.Helper()
	ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
	n, err := strconv.ParseInt(ts, 10, 64)
	mustf(tb, err, "signature %q", sig)
	return time.Unix(n, 0)
}

// TestWebhookReorder: a held-back delivery is overtaken by a later event's
// and comes when the clock passes its wait.
func TestWebhookReorder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webhookFaults(emulator.WebhookFaults{ReorderRate: 1, MaxDelay: time.Minute}))
	rc := newReceiver(t, 0)
	e.endpoint(rc.ts.URL, false, "customer.created")
	createCustomers(t, e, 1)
	e.srv.SetFaults(emulator.Faults{})
	_, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String("c1@example.com")})
	mustf(t, err, "second customer")
	rc.waitDeliveries(t, 1)
	emulator.WaitWebhooks(t, e.srv)
	if got := customerIndexes(t, rc.deliveries()); len(got) != 1 || got[0] != 1 {
		t.Fatalf("before the clock moved: %v, want the second event only", got)
	}
	e.srv.Advance(time.Minute)
	if got := customerIndexes(t, rc.waitDeliveries(t, 2)); got[1] != 0 {
		t.Fatalf("arrivals %v, want [1 0]", got)
	}
	if c := e.srv.WebhookFaultCounts(); c != (emulator.WebhookFaultCounts{Reordered: 1}) {
		t.Fatalf("counts %+v", c)
	}
}

// webhookRun is what one receiver saw under every webhook fault at once.
type webhookRun struct {
	arrivals []int
	counts   emulator.WebhookFaultCounts
}

func runWebhookFaults(t *testing.T, seed uint64, events int) webhookRun {
	t.Helper()
	e := newEnv(t, webhookFaults(emulator.WebhookFaults{DropRate: 0.2, DuplicateRate: 0.2, ReorderRate: 0.2,
		MaxDelay: time.Minute}), func(o *emulator.Options) { o.Seed = seed })
	rc := newReceiver(t, 0)
	e.endpoint(rc.ts.URL, false, "customer.created")
	createCustomers(t, e, events)
	settle(t, e)
	return webhookRun{customerIndexes(t, rc.deliveries()), e.srv.WebhookFaultCounts()}
}

// TestWebhookFaultsReplay: the same seed and the same events give the same
// drops, copies and arrival order; the counts add up to what arrived.
func TestWebhookFaultsReplay(t *testing.T) {
	t.Parallel()
	const events = 40
	a, b := runWebhookFaults(t, 7, events), runWebhookFaults(t, 7, events)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("seed 7 gave\n%v then\n%v", a, b)
	}
	c := a.counts
	if c.Dropped == 0 || c.Duplicated == 0 || c.Reordered == 0 {
		t.Fatalf("seed 7 did not exercise every fault: %+v", c)
	}
	if n := int64(len(a.arrivals)); n != events-c.Dropped+c.Duplicated {
		t.Fatalf("%d arrivals for %d events with %+v", n, events, c)
	}
	overtaken := false
	for i := 1; i < len(a.arrivals); i++ {
		overtaken = overtaken || a.arrivals[i] < a.arrivals[i-1]
	}
	if !overtaken {
		t.Fatalf("no event overtaken in %v", a.arrivals)
	}
	if other := runWebhookFaults(t, 8, events); fmt.Sprint(other) == fmt.Sprint(a) {
		t.Fatalf("seeds 7 and 8 gave the same run %v", a)
	}
}

// TestWebhookDropRate: a 30% drop rate loses roughly 30% of 200 deliveries,
// and exactly those the counts say.
func TestWebhookDropRate(t *testing.T) {
	t.Parallel()
	const events = 200
	e := newEnv(t, webhookFaults(emulator.WebhookFaults{DropRate: 0.3}))
	rc := newReceiver(t, 0)
	e.endpoint(rc.ts.URL, false, "customer.created")
	createCustomers(t, e, events)
	settle(t, e)
	dropped := e.srv.WebhookFaultCounts().Dropped
	if got := int64(len(rc.deliveries())); got != events-dropped {
		t.Fatalf("%d arrived, %d dropped of %d", got, dropped, events)
	}
	// 60 expected, standard deviation 6.5: the bound is loose on purpose.
	if dropped < 30 || dropped > 90 {
		t.Fatalf("dropped %d of %d at 0.3", dropped, events)
	}
}

// TestWebhookFaultsControlAPI: the webhook faults are set and read with
// the others, bad values are refused naming the field and change nothing,
// and the counts are served as JSON.
func TestWebhookFaultsControlAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, _, body := e.control("POST", "/_emulator/faults",
		`{"webhooks":{"drop_rate":1,"duplicate_rate":0.5,"reorder_rate":0.25,"max_delay":"30s"}}`)
	want := emulator.WebhookFaults{DropRate: 1, DuplicateRate: 0.5, ReorderRate: 0.25, MaxDelay: 30 * time.Second}
	if status != 200 || e.srv.Faults().Webhooks != want {
		t.Fatalf("set: %d %s, faults %+v", status, body, e.srv.Faults().Webhooks)
	}
	status, _, body = e.control("GET", "/_emulator/faults", "")
	var got emulator.Faults
	if err := json.Unmarshal(body, &got); err != nil || status != 200 || got.Webhooks != want {
		t.Fatalf("get: %d %s (%v)", status, body, err)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"webhooks":{"drop_rate":1.5}}`, "webhooks.drop_rate"},
		{`{"webhooks":{"duplicate_rate":-0.1}}`, "webhooks.duplicate_rate"},
		{`{"webhooks":{"reorder_rate":2,"max_delay":"1s"}}`, "webhooks.reorder_rate"},
		{`{"webhooks":{"max_delay":"-1s"}}`, "webhooks.max_delay"},
		{`{"webhooks":{"reorder_rate":0.5}}`, "webhooks.max_delay"},
		{`{"webhooks":{"max_delay":"soon"}}`, "JSON"},
	} {
		status, _, body := e.control("POST", "/_emulator/faults", tc.body)
		if status != 400 || !strings.Contains(string(body), tc.field) {
			t.Errorf("%s: %d %s, want a 400 naming %s", tc.body, status, body, tc.field)
		}
	}
	if e.srv.Faults().Webhooks != want {
		t.Fatalf("a refused setting changed the faults: %+v", e.srv.Faults().Webhooks)
	}

	rc := newReceiver(t, 0)
	e.endpoint(rc.ts.URL, false, "customer.created")
	createCustomers(t, e, 2)
	status, _, body = e.control("GET", "/_emulator/faults/webhooks", "")
	var counts emulator.WebhookFaultCounts
	if err := json.Unmarshal(body, &counts); err != nil || status != 200 || counts != (emulator.WebhookFaultCounts{Dropped: 2}) ||
		!strings.Contains(string(body), `"dropped":2`) {
		t.Fatalf("counts: %d %s (%v)", status, body, err)
	}
}
