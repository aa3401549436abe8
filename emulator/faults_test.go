package emulator_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

// TestInjectedErrorIsStored: an injected 500 takes effect as Stripe's own
// do: it is stored under the key and replayed, stripe-go is told not to
// retry it, and nothing was created.
func TestInjectedErrorIsStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *emulator.Options) { o.Faults.ErrorRate = 1 })
	sc := e.client(emulator.DefaultSecretKey, 2)
	p := &stripe.CustomerCreateParams{Email: stripe.String("a@example.com")}
	p.SetIdempotencyKey("k500")
	_, err := sc.V1Customers.Create(ctx(), p)
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 500 || se.Type != stripe.ErrorTypeAPI {
		t.Fatalf("injected: %+v", se)
	}
	status, hdr, _ := e.raw("POST", "/v1/customers", "email=a%40example.com", map[string]string{"Idempotency-Key": "k500"})
	if status != 500 || hdr.Get("Idempotent-Replayed") != "true" || hdr.Get("Stripe-Should-Retry") != "false" {
		t.Fatalf("replay: %d %v", status, hdr)
	}
	status, hdr, _ = e.raw("GET", "/v1/customers", "", nil)
	if status != 500 || hdr.Get("Request-Id") == "" {
		t.Fatalf("GET: %d", status)
	}
	e.srv.SetFaults(emulator.Faults{})
	if n := len(all(t, e.sc.V1Customers.List(ctx(), nil).All(ctx()))); n != 0 {
		t.Fatalf("an injected 500 created %d customers", n)
	}
	_, err = customerWithKey(e, "new-key", "a@example.com")
	mustf(t, err, "a new key")
}

// TestInjectedErrorAfterValidation: an injected 500 comes where Stripe's own
// would, after validation, so a request that fails validation gets its
// validation error under any error rate and stores nothing: with the faults
// gone, the same key answers the same validation error, not a replayed 500,
// and then still works for a valid request.
func TestInjectedErrorAfterValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *emulator.Options) { o.Faults.ErrorRate = 1 })
	bad := func() *stripe.Error {
		p := &stripe.CustomerCreateParams{Email: stripe.String("a@example.com")}
		p.AddExtra("colour", "blue")
		p.SetIdempotencyKey("bad-then-good")
		_, err := e.sc.V1Customers.Create(ctx(), p)
		return stripeErr(t, err)
	}
	if se := bad(); se.HTTPStatusCode != 400 || se.Param != "colour" {
		t.Fatalf("invalid request under a 100%% error rate: %+v", se)
	}
	for _, tc := range []struct {
		name, method, path, body, param string
		hdr                             map[string]string
		status                          int
	}{
		{"missing parameter", "POST", "/v1/transfers", "currency=usd&destination=acct_x", "amount", nil, 400},
		{"unknown query parameter", "GET", "/v1/customers?colour=blue", "", "colour", nil, 400},
		{"bad expand", "GET", "/v1/balance?expand[]=a.b.c.d.e", "", "", nil, 400},
		{"bad key", "GET", "/v1/balance", "", "", map[string]string{"Authorization": "Bearer sk_test_nobody"}, 401},
		{"bad version", "POST", "/v1/customers", "", "", map[string]string{"Stripe-Version": "2019-2-19", "Idempotency-Key": "v"}, 400},
	} {
		status, hdr, body := e.raw(tc.method, tc.path, tc.body, tc.hdr)
		if status != tc.status || (tc.param != "" && !strings.Contains(string(body), `"param":"`+tc.param+`"`)) ||
			hdr.Get("Stripe-Should-Retry") != "" {
			t.Fatalf("%s under a 100%% error rate: %d %s", tc.name, status, body)
		}
	}
	// A valid request still fails, and its 500 is stored.
	status, _, _ := e.raw("POST", "/v1/customers", "email=c%40example.com", map[string]string{"Idempotency-Key": "valid"})
	if status != 500 {
		t.Fatalf("valid request under a 100%% error rate: %d", status)
	}

	e.srv.SetFaults(emulator.Faults{})
	if se := bad(); se.HTTPStatusCode != 400 || se.Param != "colour" || se.LastResponse.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("same key after the faults: %+v", se)
	}
	cu, err := customerWithKey(e, "bad-then-good", "a@example.com")
	mustf(t, err, "the key is still free for a valid request")
	if cu.LastResponse.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a valid request replayed something")
	}
	status, hdr, _ := e.raw("POST", "/v1/customers", "email=c%40example.com", map[string]string{"Idempotency-Key": "valid"})
	if status != 500 || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the stored 500: %d %v", status, hdr)
	}
	if n := len(all(t, e.sc.V1Customers.List(ctx(), nil).All(ctx()))); n != 1 {
		t.Fatalf("%d customers, want the one valid request made without faults", n)
	}
}

// TestRateLimit uses Stripe's test-mode preset: 25 requests in a second of
// emulator time, then 429s until the clock moves on.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *emulator.Options) { o.Faults.RateLimit = emulator.RateLimitTestMode })
	for i := 0; i < emulator.RateLimitTestMode; i++ {
		if status, _, body := e.raw("GET", "/v1/balance", "", nil); status != 200 {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	status, hdr, body := e.raw("GET", "/v1/balance", "", nil)
	if status != 429 || hdr.Get("Stripe-Rate-Limited-Reason") != "global-rate" || !strings.Contains(string(body), `"rate_limit"`) {
		t.Fatalf("over the limit: %d %v %s", status, hdr, body)
	}
	_, err := e.client(emulator.DefaultSecretKey, 2).V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	if se := stripeErr(t, err); se.HTTPStatusCode != 429 || se.Code != stripe.ErrorCodeRateLimit {
		t.Fatalf("stripe-go: %+v", se)
	}
	e.srv.Advance(200 * time.Millisecond) // five tokens
	for i := 0; i < 5; i++ {
		if status, _, _ := e.raw("GET", "/v1/balance", "", nil); status != 200 {
			t.Fatalf("after refill, request %d: %d", i, status)
		}
	}
	if status, _, _ := e.raw("GET", "/v1/balance", "", nil); status != 429 {
		t.Fatalf("bucket not empty again: %d", status)
	}
}

// TestEndpointRateLimit: each endpoint has its own bucket.
func TestEndpointRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *emulator.Options) { o.Faults.EndpointRateLimit = 2 })
	for i := 0; i < 2; i++ {
		if status, _, _ := e.raw("GET", "/v1/balance", "", nil); status != 200 {
			t.Fatalf("request %d: %d", i, status)
		}
	}
	status, hdr, _ := e.raw("GET", "/v1/balance", "", nil)
	if status != 429 || hdr.Get("Stripe-Rate-Limited-Reason") != "endpoint-rate" {
		t.Fatalf("third request: %d %v", status, hdr)
	}
	if status, _, _ := e.raw("GET", "/v1/customers", "", nil); status != 200 {
		t.Fatalf("another endpoint was limited: %d", status)
	}
}

// TestLostResponseRetriedOnce: the effect is committed and the connection
// dropped; stripe-go retries with the same key and gets the stored result,
// so there is one customer, not two.
func TestLostResponseRetriedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *emulator.Options) { o.Faults.LostResponseRate = 1 })
	_, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String("lost@example.com")})
	if err == nil {
		t.Fatal("a lost response without retries succeeded")
	}
	cu, err := e.client(emulator.DefaultSecretKey, 1).V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String("once@example.com")})
	mustf(t, err, "create with a retry")
	if cu.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("the retry was not a replay")
	}
	e.srv.SetFaults(emulator.Faults{})
	got := all(t, e.sc.V1Customers.List(ctx(), &stripe.CustomerListParams{Email: stripe.String("once@example.com")}).All(ctx()))
	if len(got) != 1 || got[0].ID != cu.ID {
		t.Fatalf("%d customers for one retried create", len(got))
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *emulator.Options) { o.Faults.Latency = time.Hour })
	c, cancel := context.WithTimeout(ctx(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(c, "GET", e.ts.URL+"/v1/balance", nil)
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultSecretKey)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered within the added hour: %d", resp.StatusCode)
	}
}

// TestFaultsReplay: the same seed and the same requests give the same
// faults.
func TestFaultsReplay(t *testing.T) {
	t.Parallel()
	run := func(seed uint64) string {
		e := newEnv(t, func(o *emulator.Options) { o.Seed, o.Faults.ErrorRate = seed, 0.5 })
		var b strings.Builder
		for i := 0; i < 40; i++ {
			status, _, _ := e.raw("GET", "/v1/balance", "", nil)
			b.WriteString(map[int]string{200: ".", 500: "x"}[status])
		}
		return b.String()
	}
	a, b := run(7), run(7)
	if a != b || !strings.Contains(a, "x") || !strings.Contains(a, ".") {
		t.Fatalf("seed 7 gave %s then %s", a, b)
	}
}

func TestFaultsControlAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, hdr, body := e.control("POST", "/_emulator/faults", `{"error_rate":1,"latency":"0s","rate_limit":100}`)
	if status != 200 || hdr.Get("Request-Id") == "" {
		t.Fatalf("set: %d %s", status, body)
	}
	if f := e.srv.Faults(); f.ErrorRate != 1 || f.RateLimit != emulator.RateLimitLiveMode {
		t.Fatalf("faults %+v", f)
	}
	if status, _, _ := e.raw("GET", "/v1/balance", "", nil); status != 500 {
		t.Fatalf("error_rate 1 answered %d", status)
	}
	status, _, body = e.control("GET", "/_emulator/faults", "")
	if status != 200 || !strings.Contains(string(body), `"error_rate":1`) {
		t.Fatalf("get: %d %s", status, body)
	}
	if status, _, _ := e.control("POST", "/_emulator/faults", `{"error_rate":2}`); status != 400 {
		t.Fatalf("error_rate 2 accepted: %d", status)
	}
	e.control("POST", "/_emulator/faults", `{}`)
	if status, _, _ := e.raw("GET", "/v1/balance", "", nil); status != 200 {
		t.Fatalf("faults not cleared: %d", status)
	}
}

// TestRateLimitedRate: a share of requests is refused with a 429 whose
// Stripe-Rate-Limited-Reason is one Stripe documents, before the request
// takes effect: a refused create makes nothing.
func TestRateLimitedRate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *emulator.Options) { o.Seed, o.Faults.RateLimitedRate = 3, 0.5 })
	reasons := map[string]int{}
	made := 0
	for i := 0; i < 60; i++ {
		status, hdr, _ := e.raw("POST", "/v1/customers", "email=rl@example.com", nil)
		switch status {
		case 200:
			made++
		case 429:
			reasons[hdr.Get("Stripe-Rate-Limited-Reason")]++
		default:
			t.Fatalf("status %d", status)
		}
	}
	for r := range reasons {
		if !slices.Contains([]string{"global-rate", "global-concurrency", "endpoint-rate", "endpoint-concurrency", "resource-specific"}, r) {
			t.Errorf("reason %q", r)
		}
	}
	if made == 0 || len(reasons) < 3 {
		t.Fatalf("%d made, 429 reasons %v", made, reasons)
	}
	e.srv.SetFaults(emulator.Faults{})
	got := all(t, e.sc.V1Customers.List(ctx(), &stripe.CustomerListParams{Email: stripe.String("rl@example.com")}).All(ctx()))
	if len(got) != made {
		t.Fatalf("%d customers for %d creates answered 200", len(got), made)
	}
	if err := (emulator.Faults{RateLimitedRate: 1.5}).Validate(); err == nil || !strings.Contains(err.Error(), "rate_limited_rate") {
		t.Errorf("validate 1.5: %v", err)
	}
}
