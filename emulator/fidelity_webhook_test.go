package emulator_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

// deliveredTypes decodes the type of every delivery, in arrival order.
func deliveredTypes(tb testing.TB, ds []delivery) []string {
	tb.Helper()
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		var ev struct {
			Type    string `json:"type"`
			Account string `json:"account"`
		}
		if err := json.Unmarshal(d.body, &ev); err != nil {
			tb.Fatalf("delivery body: %v", err)
		}
		out = append(out, ev.Type)
	}
	return out
}

// TestWebhookEnabledEventsValidated: enabled_events takes "*" or event types
// Stripe knows; an unknown one is Stripe's invalid_request_error naming the
// element, on create and on update, and changes nothing.
func TestWebhookEnabledEventsValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.sc.V1WebhookEndpoints.Create(ctx(), &stripe.WebhookEndpointCreateParams{URL: stripe.String("https://example.com/hook"),
		EnabledEvents: stripe.StringSlice([]string{"customer.created", "customer.teleported"})})
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 400 || se.Type != stripe.ErrorTypeInvalidRequest || se.Param != "enabled_events[1]" ||
		!strings.HasPrefix(se.Msg, "Invalid enabled_events[1]: must be one of account.application.authorized, ") ||
		!strings.Contains(se.Msg, "customer.created") {
		t.Fatalf("unknown event type: %+v", se)
	}
	if n := len(all(t, e.sc.V1WebhookEndpoints.List(ctx(), nil).All(ctx()))); n != 0 {
		t.Fatalf("a refused endpoint was created: %d", n)
	}
	// Wildcard families are not event types: Stripe takes "*" alone.
	_, err = e.sc.V1WebhookEndpoints.Create(ctx(), &stripe.WebhookEndpointCreateParams{URL: stripe.String("https://example.com/hook"),
		EnabledEvents: stripe.StringSlice([]string{"customer.*"})})
	if se := stripeErr(t, err); se.Param != "enabled_events[0]" {
		t.Fatalf("customer.*: %+v", se)
	}
	status, _, body := e.raw("POST", "/v1/webhook_endpoints", "url=https%3A%2F%2Fexample.com%2Fhook&enabled_events=", nil)
	if status != 400 || !strings.Contains(string(body), `"param":"enabled_events"`) {
		t.Fatalf("empty enabled_events: %d %s", status, body)
	}
	_, err = e.sc.V1WebhookEndpoints.Create(ctx(), &stripe.WebhookEndpointCreateParams{URL: stripe.String("https://example.com/hook"),
		EnabledEvents: stripe.StringSlice([]string{"*"}), APIVersion: stripe.String("2026-13-01")})
	if se := stripeErr(t, err); se.Param != "api_version" {
		t.Fatalf("unknown api_version: %+v", se)
	}

	we, err := e.sc.V1WebhookEndpoints.Create(ctx(), &stripe.WebhookEndpointCreateParams{URL: stripe.String("https://example.com/hook"),
		EnabledEvents: stripe.StringSlice([]string{"*"}), APIVersion: stripe.String("2024-06-20")})
	mustf(t, err, "wildcard endpoint with an older api_version")
	if len(we.EnabledEvents) != 1 || we.EnabledEvents[0] != "*" || we.APIVersion != "2024-06-20" {
		t.Fatalf("created %+v", we)
	}
	_, err = e.sc.V1WebhookEndpoints.Update(ctx(), we.ID, &stripe.WebhookEndpointUpdateParams{
		EnabledEvents: stripe.StringSlice([]string{"charge.succeeded", "charge.exploded"}), Description: stripe.String("kept out")})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "enabled_events[1]" {
		t.Fatalf("update with an unknown type: %+v", se)
	}
	got, err := e.sc.V1WebhookEndpoints.Retrieve(ctx(), we.ID, nil)
	mustf(t, err, "retrieve")
	if len(got.EnabledEvents) != 1 || got.EnabledEvents[0] != "*" || got.Description != "" {
		t.Fatalf("a refused update changed the endpoint: %+v", got)
	}
	up, err := e.sc.V1WebhookEndpoints.Update(ctx(), we.ID, &stripe.WebhookEndpointUpdateParams{
		EnabledEvents: stripe.StringSlice([]string{"charge.succeeded", "account.application.deauthorized"})})
	mustf(t, err, "update with known types")
	if len(up.EnabledEvents) != 2 {
		t.Fatalf("updated %v", up.EnabledEvents)
	}
}

// TestWebhookOnlyEnabledEvents: an endpoint gets the types it enabled, "*"
// gets all, a disabled endpoint nothing, and re-enabling it does not send
// what happened meanwhile.
func TestWebhookOnlyEnabledEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created, every, updated := newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0)
	e.endpoint(created.ts.URL, false, "customer.created")
	e.endpoint(every.ts.URL, false, "*")
	off := e.endpoint(updated.ts.URL, false, "customer.updated", "customer.deleted")
	_, err := e.sc.V1WebhookEndpoints.Update(ctx(), off.ID, &stripe.WebhookEndpointUpdateParams{Disabled: stripe.Bool(true)})
	mustf(t, err, "disable")

	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	_, err = e.sc.V1Customers.Update(ctx(), cu.ID, &stripe.CustomerUpdateParams{Name: stripe.String("while disabled")})
	mustf(t, err, "update")
	emulator.WaitWebhooks(t, e.srv)
	if got := deliveredTypes(t, created.deliveries()); len(got) != 1 || got[0] != "customer.created" {
		t.Fatalf("customer.created endpoint got %v", got)
	}
	if got := deliveredTypes(t, every.deliveries()); len(got) != 2 {
		t.Fatalf("wildcard endpoint got %v", got)
	}
	if n := len(updated.deliveries()); n != 0 {
		t.Fatalf("a disabled endpoint got %d deliveries", n)
	}

	_, err = e.sc.V1WebhookEndpoints.Update(ctx(), off.ID, &stripe.WebhookEndpointUpdateParams{Disabled: stripe.Bool(false)})
	mustf(t, err, "enable")
	_, err = e.sc.V1Customers.Delete(ctx(), cu.ID, nil)
	mustf(t, err, "delete")
	emulator.WaitWebhooks(t, e.srv)
	if got := deliveredTypes(t, updated.deliveries()); len(got) != 1 || got[0] != "customer.deleted" {
		t.Fatalf("re-enabled endpoint got %v, want only what happened after", got)
	}
	if got := deliveredTypes(t, created.deliveries()); len(got) != 1 {
		t.Fatalf("customer.created endpoint got %v", got)
	}
}

// TestWebhookEndpointScope: an account endpoint gets its own account's
// events only; a Connect endpoint gets its platform's connected accounts'
// events only, with "account" set; a connected account's own endpoint gets
// that account's events; another platform's Connect endpoint gets nothing.
func TestWebhookEndpointScope(t *testing.T) {
	t.Parallel()
	const otherKey = "sk_test_other_platform"
	e := newEnv(t, func(o *emulator.Options) {
		o.Platforms = []emulator.Platform{
			{AccountID: emulator.DefaultPlatformAccount, SecretKey: emulator.DefaultSecretKey},
			{AccountID: "acct_1OtherPlatform0000", SecretKey: otherKey},
		}
	})
	platform, connect, own, otherConnect := newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0)
	e.endpoint(platform.ts.URL, false, "customer.created")
	e.endpoint(connect.ts.URL, true, "customer.created")
	other := e.client(otherKey, 0)
	_, err := other.V1WebhookEndpoints.Create(ctx(), &stripe.WebhookEndpointCreateParams{URL: stripe.String(otherConnect.ts.URL),
		EnabledEvents: stripe.StringSlice([]string{"*"}), Connect: stripe.Bool(true)})
	mustf(t, err, "other platform's Connect endpoint")
	acct := e.connected()
	_, err = e.sc.V1WebhookEndpoints.Create(ctx(), &stripe.WebhookEndpointCreateParams{Params: onAccount(acct),
		URL: stripe.String(own.ts.URL), EnabledEvents: stripe.StringSlice([]string{"customer.created"})})
	mustf(t, err, "connected account's own endpoint")

	onPlatform, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "platform customer")
	onConnected, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Params: onAccount(acct)})
	mustf(t, err, "connected customer")
	emulator.WaitWebhooks(t, e.srv)

	object := func(d delivery) (id, account string) {
		var ev struct {
			Account string `json:"account"`
			Data    struct {
				Object struct {
					ID string `json:"id"`
				} `json:"object"`
			} `json:"data"`
		}
		mustf(t, json.Unmarshal(d.body, &ev), "decode")
		return ev.Data.Object.ID, ev.Account
	}
	check := func(name string, rc *receiver, wantID, wantAccount string) {
		t.Helper()
		got := rc.deliveries()
		if len(got) != 1 {
			t.Fatalf("%s endpoint got %d deliveries, want 1", name, len(got))
		}
		if id, account := object(got[0]); id != wantID || account != wantAccount {
			t.Fatalf("%s endpoint got %s (account %q), want %s (account %q)", name, id, account, wantID, wantAccount)
		}
	}
	check("platform", platform, onPlatform.ID, "")
	check("Connect", connect, onConnected.ID, acct)
	check("connected account's", own, onConnected.ID, acct)
	if n := len(otherConnect.deliveries()); n != 0 {
		t.Fatalf("another platform's Connect endpoint got %d deliveries", n)
	}
}

// TestWebhookPendingWebhooks: pending_webhooks counts the endpoints an
// event has not yet reached, and falls as each one answers 2xx.
func TestWebhookPendingWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok, flaky := newReceiver(t, 0), newReceiver(t, 1)
	e.endpoint(ok.ts.URL, false, "customer.created")
	e.endpoint(flaky.ts.URL, false, "customer.created")
	_, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	first := ok.waitDeliveries(t, 1)[0]
	var delivered stripe.Event
	mustf(t, json.Unmarshal(first.body, &delivered), "decode")
	if delivered.PendingWebhooks != 2 {
		t.Fatalf("delivered with pending_webhooks %d, want 2", delivered.PendingWebhooks)
	}
	pending := func() int64 {
		ev, err := e.sc.V1Events.Retrieve(ctx(), delivered.ID, nil)
		mustf(t, err, "event")
		return ev.PendingWebhooks
	}
	emulator.WaitWebhooks(t, e.srv)
	if n := pending(); n != 1 {
		t.Fatalf("pending_webhooks %d after one endpoint answered, want 1", n)
	}
	e.srv.Advance(5 * time.Minute)
	flaky.waitDeliveries(t, 2)
	emulator.WaitWebhooks(t, e.srv)
	if n := pending(); n != 0 {
		t.Fatalf("pending_webhooks %d after both answered, want 0", n)
	}
}

// TestWebhookRetriesStopWithTheEndpoint: Stripe stops retrying an event
// for an endpoint that was deleted or disabled; one re-enabled before the
// retry is due still gets it, and a retry goes to the endpoint's URL as it
// is then.
func TestWebhookRetriesStopWithTheEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	failing := func() (*receiver, *stripe.WebhookEndpoint) {
		rc := newReceiver(t, 1000)
		return rc, e.endpoint(rc.ts.URL, false, "customer.created")
	}
	deleted, delWE := failing()
	disabled, disWE := failing()
	toggled, togWE := failing()
	moved, movWE := failing()
	newHome := newReceiver(t, 0)
	_, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	for _, rc := range []*receiver{deleted, disabled, toggled, moved} {
		rc.waitDeliveries(t, 1)
	}
	emulator.WaitWebhooks(t, e.srv)

	_, err = e.sc.V1WebhookEndpoints.Delete(ctx(), delWE.ID, nil)
	mustf(t, err, "delete")
	_, err = e.sc.V1WebhookEndpoints.Update(ctx(), disWE.ID, &stripe.WebhookEndpointUpdateParams{Disabled: stripe.Bool(true)})
	mustf(t, err, "disable")
	_, err = e.sc.V1WebhookEndpoints.Update(ctx(), togWE.ID, &stripe.WebhookEndpointUpdateParams{Disabled: stripe.Bool(true)})
	mustf(t, err, "disable")
	_, err = e.sc.V1WebhookEndpoints.Update(ctx(), togWE.ID, &stripe.WebhookEndpointUpdateParams{Disabled: stripe.Bool(false)})
	mustf(t, err, "enable")
	_, err = e.sc.V1WebhookEndpoints.Update(ctx(), movWE.ID, &stripe.WebhookEndpointUpdateParams{URL: stripe.String(newHome.ts.URL)})
	mustf(t, err, "move")

	e.srv.Advance(5 * time.Minute)
	toggled.waitDeliveries(t, 2)
	newHome.waitDeliveries(t, 1)
	e.srv.Advance(3 * time.Hour)
	emulator.WaitWebhooks(t, e.srv)
	if n, m := len(deleted.deliveries()), len(disabled.deliveries()); n != 1 || m != 1 {
		t.Fatalf("retried after delete %d, after disable %d: want no retries", n-1, m-1)
	}
	if n := len(toggled.deliveries()); n != 4 {
		t.Fatalf("re-enabled endpoint got %d attempts, want 4", n)
	}
	if n, m := len(moved.deliveries()), len(newHome.deliveries()); n != 1 || m != 1 {
		t.Fatalf("old URL %d, new URL %d deliveries", n, m)
	}
}
