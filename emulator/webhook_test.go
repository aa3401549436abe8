package emulator_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tenderpay/tender/emulator"
)

// delivery is one webhook request as the receiver saw it.
type delivery struct {
	body []byte
	sig  string
}

// receiver is a webhook endpoint that records deliveries and answers 500 to
// the first failFirst of them.
type receiver struct {
	ts        *httptest.Server
	mu        sync.Mutex
	got       []delivery
	failFirst int
}

func newReceiver(tb testing.TB, failFirst int) *receiver {
	rc := &receiver{failFirst: failFirst}
	rc.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, delivery{body, r.Header.Get("Stripe-Signature")})
		fail := len(rc.got) <= rc.failFirst
		rc.mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	tb.Cleanup(rc.ts.Close)
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// waitDeliveries polls until the receiver has n deliveries.
func (rc *receiver) waitDeliveries(tb testing.TB, n int) []delivery {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got := rc.deliveries(); len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("%d deliveries, want %d", len(rc.deliveries()), n)
	return nil
}

// realClock makes the emulator sign with the real time, which
// webhook.ConstructEvent checks against time.Now.
func realClock(o *emulator.Options) { o.NowFunc = time.Now }

func (e *env) endpoint(url string, connect bool, events ...string) *stripe.WebhookEndpoint {
	e.tb.Helper()
	we, err := e.sc.V1WebhookEndpoints.Create(ctx(), &stripe.WebhookEndpointCreateParams{
		URL: stripe.String(url), EnabledEvents: stripe.StringSlice(events), Connect: stripe.Bool(connect)})
	if err != nil {
		e.tb.Fatalf("webhook endpoint: %v", err)
	}
	if !strings.HasPrefix(we.Secret, "whsec_") {
		e.tb.Fatalf("secret %q", we.Secret)
	}
	return we
}

// TestWebhookSignatures: stripe-go's webhook.ConstructEvent accepts every
// delivered event; a tampered body, an old timestamp or another secret is
// rejected.
func TestWebhookSignatures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock)
	rc := newReceiver(t, 0)
	we := e.endpoint(rc.ts.URL, false, "*")
	_, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
	mustf(t, err, "payment")
	got := rc.waitDeliveries(t, 3)
	types := map[stripe.EventType]bool{}
	for _, d := range got {
		validateEventBody(t, d.body)
		ev, err := webhook.ConstructEvent(d.body, d.sig, we.Secret)
		mustf(t, err, "ConstructEvent")
		types[ev.Type] = true
		if ev.Account != "" || ev.APIVersion != stripe.APIVersion {
			t.Fatalf("event %+v", ev)
		}
		stored, err := e.sc.V1Events.Retrieve(ctx(), ev.ID, nil)
		mustf(t, err, "retrieve event")
		if stored.Type != ev.Type {
			t.Fatalf("stored %s, delivered %s", stored.Type, ev.Type)
		}
	}
	for _, typ := range []stripe.EventType{"payment_intent.created", "charge.succeeded", "payment_intent.succeeded"} {
		if !types[typ] {
			t.Fatalf("no %s in %v", typ, types)
		}
	}

	d := got[0]
	tampered := []byte(strings.Replace(string(d.body), `"livemode":false`, `"livemode":true`, 1))
	if _, err := webhook.ConstructEvent(tampered, d.sig, we.Secret); err != webhook.ErrNoValidSignature {
		t.Fatalf("tampered body: %v", err)
	}
	old := emulator.Sign(d.body, we.Secret, time.Now().Add(-10*time.Minute))
	if _, err := webhook.ConstructEvent(d.body, old, we.Secret); err != webhook.ErrTooOld {
		t.Fatalf("old timestamp: %v", err)
	}
	if _, err := webhook.ConstructEvent(d.body, d.sig, "whsec_other"); err != webhook.ErrNoValidSignature {
		t.Fatalf("other secret: %v", err)
	}
	// Sign computes exactly what stripe-go computes.
	now := time.Now()
	want := "t=" + strings.TrimPrefix(strings.Split(emulator.Sign(d.body, we.Secret, now), ",")[0], "t=") +
		",v1=" + string(hexOf(webhook.ComputeSignature(now, d.body, we.Secret)))
	if emulator.Sign(d.body, we.Secret, now) != want {
		t.Fatalf("Sign %s, stripe-go %s", emulator.Sign(d.body, we.Secret, now), want)
	}
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

// TestWebhookRetries follows Stripe's test mode, which "retries three times
// over a few hours": a failed delivery is retried 5 minutes, 30 minutes and
// 2 hours after the attempt before, on the emulator clock, until the
// endpoint answers 2xx, then never again.
func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock)
	rc := newReceiver(t, 3)
	we := e.endpoint(rc.ts.URL, false, "customer.created")
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	rc.waitDeliveries(t, 1)
	for i, wait := range []time.Duration{5 * time.Minute, 30 * time.Minute, 2 * time.Hour} {
		e.srv.Advance(wait - time.Second)
		emulator.WaitWebhooks(t, e.srv)
		if n := len(rc.deliveries()); n != i+1 {
			t.Fatalf("retry %d came before its %s wait: %d deliveries", i+1, wait, n)
		}
		e.srv.Advance(time.Second)
		rc.waitDeliveries(t, i+2)
	}
	for _, d := range rc.deliveries() {
		ev, err := webhook.ConstructEvent(d.body, d.sig, we.Secret)
		mustf(t, err, "ConstructEvent")
		if ev.Type != "customer.created" || ev.Data.Object["id"] != cu.ID {
			t.Fatalf("event %s %v", ev.Type, ev.Data.Object["id"])
		}
	}
	e.srv.Advance(72 * time.Hour)
	emulator.WaitWebhooks(t, e.srv)
	if n := len(rc.deliveries()); n != 4 {
		t.Fatalf("%d deliveries after a 2xx", n)
	}
	evs := all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{Type: stripe.String("customer.created")}).All(ctx()))
	if len(evs) != 1 || evs[0].PendingWebhooks != 0 {
		t.Fatalf("events %d, pending %d", len(evs), evs[0].PendingWebhooks)
	}
}

// TestWebhookRetriesGiveUp: an endpoint that never answers 2xx gets the
// first attempt and three retries, all of them when the clock jumps past
// their due times at once, and the event stays pending for it.
func TestWebhookRetriesGiveUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rc := newReceiver(t, 1000)
	e.endpoint(rc.ts.URL, false, "customer.created")
	_, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	rc.waitDeliveries(t, 1)
	e.srv.Advance(3 * time.Hour)
	rc.waitDeliveries(t, 4)
	e.srv.Advance(72 * time.Hour)
	emulator.WaitWebhooks(t, e.srv)
	if n := len(rc.deliveries()); n != 4 {
		t.Fatalf("%d attempts, want 1 and 3 retries", n)
	}
	evs := all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{Type: stripe.String("customer.created")}).All(ctx()))
	if len(evs) != 1 || evs[0].PendingWebhooks != 1 {
		t.Fatalf("events %d, pending %d", len(evs), evs[0].PendingWebhooks)
	}
}

// TestConnectWebhooks: a Connect endpoint gets the connected accounts'
// events with "account" set, and not the platform's; a plain endpoint the
// reverse.
func TestConnectWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock)
	plain, connect := newReceiver(t, 0), newReceiver(t, 0)
	e.endpoint(plain.ts.URL, false, "customer.created")
	cwe := e.endpoint(connect.ts.URL, true, "customer.created", "account.updated")
	acct := e.connected()
	_, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Params: onAccount(acct)})
	mustf(t, err, "connected customer")
	_, err = e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "platform customer")
	got := connect.waitDeliveries(t, 2)
	seen := map[stripe.EventType]bool{}
	for _, d := range got {
		validateEventBody(t, d.body)
		ev, err := webhook.ConstructEvent(d.body, d.sig, cwe.Secret)
		mustf(t, err, "ConstructEvent")
		if ev.Account != acct {
			t.Fatalf("%s with account %q", ev.Type, ev.Account)
		}
		seen[ev.Type] = true
	}
	if !seen["account.updated"] || !seen["customer.created"] {
		t.Fatalf("connect endpoint saw %v", seen)
	}
	emulator.WaitWebhooks(t, e.srv)
	if n, m := len(plain.deliveries()), len(connect.deliveries()); n != 1 || m != 2 {
		t.Fatalf("plain %d, connect %d deliveries", n, m)
	}
	// The connected account's events are listed on that account only.
	evs := all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{ListParams: stripe.ListParams{StripeAccount: stripe.String(acct)}}).All(ctx()))
	if len(evs) != 2 || evs[0].Account != acct {
		t.Fatalf("connected account lists %d events", len(evs))
	}
	_, err = e.sc.V1Events.Retrieve(ctx(), evs[0].ID, nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("platform retrieved a connected account's event: %+v", se)
	}
}

func TestWebhookEndpointCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock)
	rc := newReceiver(t, 0)
	we := e.endpoint(rc.ts.URL, false, "customer.created")
	got, err := e.sc.V1WebhookEndpoints.Retrieve(ctx(), we.ID, nil)
	mustf(t, err, "retrieve")
	if got.Secret != "" || got.URL != rc.ts.URL || got.Status != "enabled" {
		t.Fatalf("retrieved %+v", got)
	}
	up, err := e.sc.V1WebhookEndpoints.Update(ctx(), we.ID, &stripe.WebhookEndpointUpdateParams{Disabled: stripe.Bool(true),
		EnabledEvents: stripe.StringSlice([]string{"customer.created", "customer.updated"}), Description: stripe.String("shop")})
	mustf(t, err, "update")
	if up.Status != "disabled" || len(up.EnabledEvents) != 2 || up.Description != "shop" {
		t.Fatalf("updated %+v", up)
	}
	_, err = e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	if n := len(all(t, e.sc.V1WebhookEndpoints.List(ctx(), nil).All(ctx()))); n != 1 {
		t.Fatalf("listed %d", n)
	}
	del, err := e.sc.V1WebhookEndpoints.Delete(ctx(), we.ID, nil)
	mustf(t, err, "delete")
	if !del.Deleted {
		t.Fatal("not deleted")
	}
	_, err = e.sc.V1WebhookEndpoints.Retrieve(ctx(), we.ID, nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("deleted endpoint: %+v", se)
	}
	emulator.WaitWebhooks(t, e.srv)
	if n := len(rc.deliveries()); n != 0 {
		t.Fatalf("a disabled endpoint got %d deliveries", n)
	}
	_, err = e.sc.V1WebhookEndpoints.Create(ctx(), &stripe.WebhookEndpointCreateParams{URL: stripe.String(rc.ts.URL)})
	if se := stripeErr(t, err); se.Param != "enabled_events" {
		t.Fatalf("missing enabled_events: %+v", se)
	}
}
