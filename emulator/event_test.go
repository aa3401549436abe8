package emulator_test

import (
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"
)

// TestEventsForStateChanges: each change leaves its event, listed newest
// first and filtered by type, types and created.
func TestEventsForStateChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String("ev@example.com")})
	mustf(t, err, "customer")
	e.srv.Advance(time.Hour)
	later := e.srv.Now().Unix()
	_, err = e.sc.V1Customers.Update(ctx(), cu.ID, &stripe.CustomerUpdateParams{Name: stripe.String("Ev")})
	mustf(t, err, "update")
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000),
		Currency: stripe.String("usd"), CaptureMethod: stripe.String("manual"), PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
	mustf(t, err, "authorize")
	_, err = e.sc.V1PaymentIntents.Capture(ctx(), pi.ID, nil)
	mustf(t, err, "capture")
	_, err = e.sc.V1Refunds.Create(ctx(), &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(100)})
	mustf(t, err, "refund")
	_, err = e.sc.V1Customers.Delete(ctx(), cu.ID, nil)
	mustf(t, err, "delete")

	types := func(p *stripe.EventListParams) []stripe.EventType {
		var out []stripe.EventType
		for _, ev := range all(t, e.sc.V1Events.List(ctx(), p).All(ctx())) {
			out = append(out, ev.Type)
		}
		return out
	}
	got := types(&stripe.EventListParams{})
	want := []stripe.EventType{"customer.deleted", "charge.refunded", "refund.created", "payment_intent.succeeded",
		"charge.captured", "payment_intent.amount_capturable_updated", "charge.succeeded", "payment_intent.created",
		"customer.updated", "customer.created"}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	if got := types(&stripe.EventListParams{Type: stripe.String("customer.updated")}); len(got) != 1 {
		t.Fatalf("type filter: %v", got)
	}
	if got := types(&stripe.EventListParams{Type: stripe.String("charge.*")}); len(got) != 3 {
		t.Fatalf("wildcard: %v", got)
	}
	if got := types(&stripe.EventListParams{Types: stripe.StringSlice([]string{"customer.created", "customer.deleted"})}); len(got) != 2 {
		t.Fatalf("types filter: %v", got)
	}
	if got := types(&stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{LesserThan: later}}); len(got) != 1 || got[0] != "customer.created" {
		t.Fatalf("created[lt]: %v", got)
	}
	if got := types(&stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: later}}); len(got) != 9 {
		t.Fatalf("created[gte]: %v", got)
	}

	evs := all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{Type: stripe.String("customer.updated")}).All(ctx()))
	ev, err := e.sc.V1Events.Retrieve(ctx(), evs[0].ID, nil)
	mustf(t, err, "retrieve")
	if ev.Data.Object["name"] != "Ev" || ev.Request.ID == "" {
		t.Fatalf("event %+v", ev)
	}
	_, err = e.sc.V1Events.Retrieve(ctx(), "evt_nope", nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("unknown event: %+v", se)
	}
}
