package stripeapi_test

import (
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tenderpay/tender/internal/stripeapi"
)

func TestLimiterSpacesRequests(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := stripeapi.NewLimiter(clk.now, 5, 1, rate.Inf, 1)
	// Six requests at the same instant: the first goes at once, the others
	// one every 200 ms.
	for i := range 6 {
		d, _ := l.Reserve("POST /v1/customers")
		if want := time.Duration(i) * 200 * time.Millisecond; d != want {
			t.Fatalf("request %d waits %v, want %v", i, d, want)
		}
	}
	// Two seconds later the bucket holds one token again (burst 1).
	clk.advance(2 * time.Second)
	if d, _ := l.Reserve("GET /v1/customers"); d != 0 {
		t.Fatalf("after refill, wait %v", d)
	}
	if d, _ := l.Reserve("GET /v1/customers"); d != 200*time.Millisecond {
		t.Fatalf("second after refill, wait %v", d)
	}
}

func TestLimiterEndpointBuckets(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := stripeapi.NewLimiter(clk.now, rate.Inf, 1, 2, 1)
	// Each endpoint has its own bucket of 2/s; different endpoints do not wait
	// on each other.
	for _, tc := range []struct {
		ep   string
		want time.Duration
	}{
		{"POST /v1/payment_intents", 0},
		{"POST /v1/payment_intents", 500 * time.Millisecond},
		{"POST /v1/customers", 0},
		{"POST /v1/payment_intents", time.Second},
		{"GET /v1/payment_intents/{id}", 0},
	} {
		if d, _ := l.Reserve(tc.ep); d != tc.want {
			t.Fatalf("%s waits %v, want %v", tc.ep, d, tc.want)
		}
	}
}

func TestLimiterCancelGivesTokensBack(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := stripeapi.NewLimiter(clk.now, 1, 1, rate.Inf, 1)
	if d, _ := l.Reserve("GET /v1/balance"); d != 0 {
		t.Fatalf("first waits %v", d)
	}
	d, cancel := l.Reserve("GET /v1/balance")
	if d != time.Second {
		t.Fatalf("second waits %v", d)
	}
	cancel() // its caller gave up: the next request takes its place
	if d, _ := l.Reserve("GET /v1/balance"); d != time.Second {
		t.Fatalf("after cancel, third waits %v, want 1s", d)
	}
}

func TestEndpointOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/v1/payment_intents", "POST /v1/payment_intents"},
		{"GET", "/v1/payment_intents/pi_3LmjFA2eZvKYlo2C", "GET /v1/payment_intents/{id}"},
		{"POST", "/v1/payment_intents/pi_3LmjFA2eZvKYlo2C/confirm", "POST /v1/payment_intents/{id}/confirm"},
		{"GET", "/v1/payment_intents/search", "GET /v1/payment_intents/search"},
		{"GET", "/v1/accounts/acct_1EmuPlatform000000", "GET /v1/accounts/{id}"},
		{"GET", "/v1/transfers/tr_1A/reversals/trr_2B", "GET /v1/transfers/{id}/reversals/{id}"},
		{"POST", "/oauth/token", "POST /oauth/token"},
	} {
		if got := stripeapi.EndpointOf(tc.method, tc.path); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
