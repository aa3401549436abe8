package emulator_test

import (
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

// TestStripeVersion: a request may name any API version Stripe knows in
// Stripe-Version (beta flags after it included) and is answered in the
// emulator's one version, which the response's Stripe-Version names; a
// version Stripe does not know is Stripe's 400, and stores nothing under
// the request's idempotency key.
func TestStripeVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "stripe-go")
	if v := cu.LastResponse.Header.Get("Stripe-Version"); v != emulator.APIVersion {
		t.Fatalf("Stripe-Version %q to stripe-go", v)
	}
	for _, v := range []string{"2024-06-20", "2011-01-01", "2025-09-30.clover", emulator.APIVersion, "2026-08-26.dahlia",
		emulator.APIVersion + "; some_beta=v2", ""} {
		status, hdr, body := e.raw("GET", "/v1/customers/"+cu.ID, "", map[string]string{"Stripe-Version": v})
		if status != 200 || hdr.Get("Stripe-Version") != emulator.APIVersion {
			t.Fatalf("Stripe-Version %q: %d %q %s", v, status, hdr.Get("Stripe-Version"), body)
		}
	}
	for _, v := range []string{"2019-2-19", "2022-08-02", "dahlia", "2026-03-25.basil", "latest"} {
		status, hdr, body := e.raw("GET", "/v1/customers/"+cu.ID, "", map[string]string{"Stripe-Version": v})
		if status != 400 || !strings.Contains(string(body), `"message":"Invalid Stripe API version: `+v+`"`) ||
			!strings.Contains(string(body), `"type":"invalid_request_error"`) || strings.Contains(string(body), `"param"`) ||
			hdr.Get("Stripe-Version") != emulator.APIVersion {
			t.Fatalf("Stripe-Version %q: %d %s", v, status, body)
		}
	}
	status, _, _ := e.raw("POST", "/v1/customers", "email=v%40example.com", map[string]string{"Stripe-Version": "2019-2-19", "Idempotency-Key": "ver"})
	if status != 400 {
		t.Fatalf("POST with a bad version: %d", status)
	}
	again, err := customerWithKey(e, "ver", "v@example.com")
	mustf(t, err, "the key after a bad version")
	if again.LastResponse.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a bad version's answer was stored")
	}
}
