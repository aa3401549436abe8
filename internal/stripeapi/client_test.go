package stripeapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"
	"golang.org/x/time/rate"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/stripeapi"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []stripeapi.Config{
		{},
		{SecretKey: "pk_test_publishable"},
		{SecretKey: "sk_test_abc", APIBase: "ftp://example.com"},
		{SecretKey: "sk_test_abc", APIBase: "localhost:1234"},
		{SecretKey: "sk_test_abc", RateLimit: -1},
	} {
		_, err := stripeapi.New(cfg)
		if err == nil {
			t.Errorf("%+v: no error", cfg.APIBase)
			continue
		}
		if cfg.SecretKey != "" && strings.Contains(err.Error(), cfg.SecretKey) {
			t.Errorf("error shows the key: %v", err)
		}
	}
	cfg := stripeapi.Config{SecretKey: "sk_live_51AbCdEfGh", APIBase: "http://127.0.0.1:1"}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), cfg.LogValue().String()} {
		if strings.Contains(s, "51AbCdEfGh") {
			t.Errorf("Config prints its key: %s", s)
		}
	}
	for key, live := range map[string]bool{"sk_test_x": false, "rk_test_x": false, "sk_live_x": true, "rk_live_x": true} {
		c, err := stripeapi.New(stripeapi.Config{SecretKey: key})
		must(t, err, key)
		if c.Livemode() != live {
			t.Errorf("%s: livemode %v", key, c.Livemode())
		}
	}
}

// TestCustomerAndLogs creates a customer through the Client and checks
// what the debug log says about it, and what it must not say.
func TestCustomerAndLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{})
	c := e.client(t, stripeapi.Config{})
	sc := c.Stripe()
	cu, err := sc.V1Customers.Create(ctx(t), &stripe.CustomerCreateParams{Email: stripe.String("ada@example.com")})
	must(t, err, "create customer")
	if !strings.HasPrefix(cu.ID, "cus_") || cu.Email != "ada@example.com" {
		t.Fatalf("customer %+v", cu)
	}
	// A card number in a body and an email in a query string.
	_, err = sc.V1PaymentMethods.Create(ctx(t), &stripe.PaymentMethodCreateParams{Type: stripe.String("card"),
		Card: &stripe.PaymentMethodCreateCardParams{Number: stripe.String("4242424242424242"),
			ExpMonth: stripe.Int64(12), ExpYear: stripe.Int64(2034), CVC: stripe.String("123")}})
	must(t, err, "create payment method")
	list := sc.V1Customers.List(ctx(t), &stripe.CustomerListParams{Email: stripe.String("ada@example.com")})
	for _, err := range list.All(ctx(t)) {
		must(t, err, "list")
	}

	logs := e.logs.String()
	for _, want := range []string{
		`"msg":"stripe request"`, `"method":"POST"`, `"path":"/v1/customers"`, `"status":200`, `"duration":`,
		`"request_id":"` + cu.LastResponse.RequestID + `"`, `"path":"/v1/payment_methods"`, `"method":"GET"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	for _, secret := range []string{emulator.DefaultSecretKey, "4242424242424242", "ada@example.com"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs show %q:\n%s", secret, logs)
		}
	}
}

func TestPaymentIntentSucceeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{})
	sc := e.client(t, stripeapi.Config{}).Stripe()
	params := &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2500), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true),
		AutomaticPaymentMethods: &stripe.PaymentIntentCreateAutomaticPaymentMethodsParams{Enabled: stripe.Bool(true), AllowRedirects: stripe.String("never")}}
	params.SetIdempotencyKey(stripeapi.IdempotencyKey("attempt", "att_visa", "create"))
	pi, err := sc.V1PaymentIntents.Create(ctx(t), params)
	must(t, err, "create and confirm")
	if pi.Status != stripe.PaymentIntentStatusSucceeded || pi.AmountReceived != 2500 {
		t.Fatalf("payment intent %s received %d", pi.Status, pi.AmountReceived)
	}
	if o := stripeapi.Classify(err); o.Kind != stripeapi.KindNone {
		t.Fatalf("classified success as %q", o.Kind)
	}
}

func TestPaymentIntentDeclined(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{})
	sc := e.client(t, stripeapi.Config{}).Stripe()
	pi, err := sc.V1PaymentIntents.Create(ctx(t), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2500), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_chargeDeclined"), Confirm: stripe.Bool(true), PaymentMethodTypes: stripe.StringSlice([]string{"card"})})
	o := wantKind(t, err, stripeapi.KindDeclined)
	if o.Status != 402 || o.Code != "card_declined" || o.DeclineCode != "generic_decline" || o.Retryable || o.Unknown {
		t.Fatalf("decline %+v", o)
	}
	if !strings.HasPrefix(o.PaymentIntentID, "pi_") || o.PaymentIntentStatus != "requires_payment_method" || o.RequestID == "" || o.Message == "" {
		t.Fatalf("decline details %+v", o)
	}
	if got := o.Cause.Error(); !strings.HasPrefix(got, "stripe: 402 type=card_error code=card_declined decline_code=generic_decline request_id=req_") ||
		strings.Contains(got, "_secret_") {
		t.Fatalf("cause reads %q", got)
	}
	if pi != nil && pi.ID != "" {
		t.Fatalf("stripe-go returned a payment intent with the error: %s", pi.ID)
	}
	ae := o.Err()
	if ae.Code != errs.Unprocessable || ae.Reason != "card_declined" || ae.Message != o.Message {
		t.Fatalf("errs mapping %+v", ae)
	}
	// The PaymentIntent named in the error is real and failed.
	got, err := sc.V1PaymentIntents.Retrieve(ctx(t), o.PaymentIntentID, nil)
	must(t, err, "retrieve declined intent")
	if got.LastPaymentError == nil || got.LastPaymentError.DeclineCode != "generic_decline" {
		t.Fatalf("declined intent %+v", got.LastPaymentError)
	}
}

func TestAuthenticationRequiredOffSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{})
	sc := e.client(t, stripeapi.Config{}).Stripe()
	cu, err := sc.V1Customers.Create(ctx(t), nil)
	must(t, err, "customer")
	pm, err := sc.V1PaymentMethods.Attach(ctx(t), "pm_card_authenticationRequired", &stripe.PaymentMethodAttachParams{Customer: stripe.String(cu.ID)})
	must(t, err, "attach")
	_, err = sc.V1PaymentIntents.Create(ctx(t), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1200), Currency: stripe.String("eur"),
		Customer: stripe.String(cu.ID), PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true), OffSession: stripe.Bool(true),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"})})
	o := wantKind(t, err, stripeapi.KindAuthenticationRequired)
	if o.PaymentIntentID == "" || o.Retryable {
		t.Fatalf("outcome %+v", o)
	}
	if ae := o.Err(); ae.Code != errs.Unprocessable || ae.Reason != "authentication_required" {
		t.Fatalf("errs mapping %+v", ae)
	}
}

// TestConnectedAccount makes a Standard account and works on it with
// Stripe-Account, as direct charges do.
func TestConnectedAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{})
	c := e.client(t, stripeapi.Config{})
	sc := c.Stripe()
	acct, err := sc.V1Accounts.Create(ctx(t), &stripe.AccountCreateParams{Type: stripe.String("standard"), Country: stripe.String("US")})
	must(t, err, "create account")
	if !strings.HasPrefix(acct.ID, "acct_") || acct.Type != stripe.AccountTypeStandard {
		t.Fatalf("account %+v", acct)
	}
	cu, err := sc.V1Customers.Create(ctx(t), stripeapi.OnAccount(&stripe.CustomerCreateParams{Name: stripe.String("On the merchant")}, acct.ID))
	must(t, err, "customer on account")
	got, err := sc.V1Customers.Retrieve(ctx(t), cu.ID, stripeapi.OnAccount(&stripe.CustomerRetrieveParams{}, acct.ID))
	must(t, err, "retrieve on account")
	if got.ID != cu.ID {
		t.Fatalf("retrieved %s", got.ID)
	}
	pi, err := sc.V1PaymentIntents.Create(ctx(t), stripeapi.OnAccount(&stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true),
		ApplicationFeeAmount: stripe.Int64(100), PaymentMethodTypes: stripe.StringSlice([]string{"card"})}, acct.ID))
	must(t, err, "direct charge")
	if pi.Status != stripe.PaymentIntentStatusSucceeded {
		t.Fatalf("direct charge %s", pi.Status)
	}

	// The platform itself does not have the account's customer.
	_, err = sc.V1Customers.Retrieve(ctx(t), cu.ID, stripeapi.OnAccount(&stripe.CustomerRetrieveParams{}, ""))
	o := wantKind(t, err, stripeapi.KindNotFound)
	if ae := o.Err(); ae.Code != errs.NotFound {
		t.Fatalf("errs mapping %+v", ae)
	}
	if n := len(countCustomers(t, c, acct.ID)); n != 1 {
		t.Fatalf("%d customers on the account", n)
	}
	if !strings.Contains(e.logs.String(), `"account":"`+acct.ID+`"`) {
		t.Fatalf("logs do not name the account:\n%s", e.logs)
	}
}

// TestAccountOutOfReach addresses an account the platform has no access to,
// as after the merchant deauthorized the platform.
func TestAccountOutOfReach(t *testing.T) {
	t.Parallel()
	const otherKey = "sk_test_other_platform_key"
	e := newEnv(t, emulator.Options{Platforms: []emulator.Platform{
		{AccountID: emulator.DefaultPlatformAccount, SecretKey: emulator.DefaultSecretKey},
		{AccountID: "acct_1OtherPlatform00000", SecretKey: otherKey},
	}})
	other := e.client(t, stripeapi.Config{SecretKey: otherKey}).Stripe()
	acct, err := other.V1Accounts.Create(ctx(t), &stripe.AccountCreateParams{Type: stripe.String("standard")})
	must(t, err, "other platform's account")

	c := e.client(t, stripeapi.Config{})
	_, err = c.Stripe().V1Customers.Create(ctx(t), stripeapi.OnAccount(&stripe.CustomerCreateParams{}, acct.ID))
	o := wantKind(t, err, stripeapi.KindAccountInvalid)
	if o.Status != 403 || o.Code != "account_invalid" || o.Retryable {
		t.Fatalf("outcome %+v", o)
	}
	ae := o.Err()
	if ae.Code != errs.Forbidden || ae.Reason != "account_invalid" {
		t.Fatalf("errs mapping %+v", ae)
	}
	for _, s := range []string{o.Message, o.Cause.Error(), ae.Error()} {
		if strings.Contains(s, emulator.DefaultSecretKey) {
			t.Errorf("key in %q", s)
		}
	}
}

func TestBadKey(t *testing.T) {
	t.Parallel()
	const key = "sk_test_rolled_key_0000000000"
	e := newEnv(t, emulator.Options{})
	_, err := e.client(t, stripeapi.Config{SecretKey: key}).Stripe().V1Customers.Create(ctx(t), nil)
	o := wantKind(t, err, stripeapi.KindAuthentication)
	if o.Status != 401 || o.Retryable {
		t.Fatalf("outcome %+v", o)
	}
	ae := o.Err()
	if ae.Code != errs.Unavailable || ae.Reason != "stripe_key_rejected" {
		t.Fatalf("errs mapping %+v", ae)
	}
	for _, s := range []string{o.Message, o.Cause.Error(), ae.Error(), e.logs.String()} {
		if strings.Contains(s, key) {
			t.Errorf("key in %q", s)
		}
	}
}

func TestInvalidRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{})
	sc := e.client(t, stripeapi.Config{}).Stripe()

	p := &stripe.CustomerCreateParams{}
	p.AddExtra("bogus", "1")
	_, err := sc.V1Customers.Create(ctx(t), p)
	o := wantKind(t, err, stripeapi.KindInvalidRequest)
	// Stripe sends code parameter_unknown; the emulator (emulator/form.go)
	// sends none. Both surface as internal errors.
	if (o.Code != "parameter_unknown" && o.Code != "") || o.Param != "bogus" || o.Retryable || o.Unknown {
		t.Fatalf("unknown parameter %+v", o)
	}
	if ae := o.Err(); ae.Code != errs.Internal {
		t.Fatalf("Tender's malformed request surfaces as %s", ae.Code)
	}

	_, err = sc.V1PaymentIntents.Create(ctx(t), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1), Currency: stripe.String("usd")})
	o = wantKind(t, err, stripeapi.KindInvalidRequest)
	if o.Code != "amount_too_small" {
		t.Fatalf("tiny amount %+v", o)
	}
	if ae := o.Err(); ae.Code != errs.Invalid || ae.Reason != "amount_too_small" || ae.Message == "" {
		t.Fatalf("errs mapping %+v", ae)
	}

	pi, err := sc.V1PaymentIntents.Create(ctx(t), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(700), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true), PaymentMethodTypes: stripe.StringSlice([]string{"card"})})
	must(t, err, "payment")
	_, err = sc.V1PaymentIntents.Cancel(ctx(t), pi.ID, nil)
	o = wantKind(t, err, stripeapi.KindInvalidRequest)
	if ae := o.Err(); ae.Code != errs.Conflict || ae.Reason != "payment_intent_unexpected_state" {
		t.Fatalf("cancel a succeeded intent: %+v", ae)
	}
}

// TestIdempotencyKeyMismatch sends one key with two different requests,
// which is a bug in Tender's key derivation.
func TestIdempotencyKeyMismatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{})
	sc := e.client(t, stripeapi.Config{}).Stripe()
	key := stripeapi.IdempotencyKey("customer", "cst_mismatch", "create")
	for i, email := range []string{"a@example.com", "b@example.com"} {
		p := &stripe.CustomerCreateParams{Email: stripe.String(email)}
		p.SetIdempotencyKey(key)
		_, err := sc.V1Customers.Create(ctx(t), p)
		if i == 0 {
			must(t, err, "first")
			continue
		}
		o := wantKind(t, err, stripeapi.KindIdempotency)
		if o.Retryable {
			t.Fatalf("mismatch classified retryable: %+v", o)
		}
		if ae := o.Err(); ae.Code != errs.Internal {
			t.Fatalf("errs mapping %+v", ae)
		}
	}
}

// TestRetryAfterLostResponse is the crash case: the emulator commits a
// customer and drops the connection; the call fails with an unknown
// outcome. A new Client (a restarted process) sending the same
// deterministic key gets the first customer back, not a second one.
func TestRetryAfterLostResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{Faults: emulator.Faults{LostResponseRate: 1}})
	key := stripeapi.IdempotencyKey("customer", "cst_01LOST", "create")
	params := func() *stripe.CustomerCreateParams {
		p := &stripe.CustomerCreateParams{Email: stripe.String("lost@example.com")}
		p.SetIdempotencyKey(key)
		return p
	}

	first := e.client(t, stripeapi.Config{MaxNetworkRetries: -1})
	_, err := first.Stripe().V1Customers.Create(ctx(t), params())
	o := wantKind(t, err, stripeapi.KindUnavailable)
	if !o.Retryable || !o.Unknown {
		t.Fatalf("lost response %+v", o)
	}
	if ae := o.Err(); ae.Code != errs.Unavailable {
		t.Fatalf("errs mapping %+v", ae)
	}

	e.srv.SetFaults(emulator.Faults{})
	second := e.client(t, stripeapi.Config{MaxNetworkRetries: -1})
	cu, err := second.Stripe().V1Customers.Create(ctx(t), params())
	must(t, err, "retry with the same key")
	if cu.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("retry was not a replay")
	}
	if ids := countCustomers(t, second, ""); len(ids) != 1 || ids[0] != cu.ID {
		t.Fatalf("customers %v, want just %s", ids, cu.ID)
	}
	if e.requests.Load() != 3 { // create, replay, list
		t.Fatalf("%d requests", e.requests.Load())
	}
}

// TestStripeGoRetriesLostResponse: within one call, stripe-go resends a
// request whose response was lost, with the same key, and Stripe replays.
func TestStripeGoRetriesLostResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{Faults: emulator.Faults{LostResponseRate: 1}})
	c := e.client(t, stripeapi.Config{MaxNetworkRetries: 2})
	stripeapi.NoRetrySleep(c)
	p := &stripe.CustomerCreateParams{}
	p.SetIdempotencyKey(stripeapi.IdempotencyKey("customer", "cst_01RETRY", "create"))
	cu, err := c.Stripe().V1Customers.Create(ctx(t), p)
	must(t, err, "create with a lost first response")
	if cu.LastResponse.Header.Get("Idempotent-Replayed") != "true" || e.requests.Load() != 2 {
		t.Fatalf("replayed %q after %d requests", cu.LastResponse.Header.Get("Idempotent-Replayed"), e.requests.Load())
	}
	e.srv.SetFaults(emulator.Faults{})
	if n := len(countCustomers(t, c, "")); n != 1 {
		t.Fatalf("%d customers", n)
	}
}

// TestServerErrorNotRetriedByStripeGo pins stripe-go v85's policy, on which
// this package's design rests: a 500 is returned at once, not retried,
// however many network retries are allowed.
func TestServerErrorNotRetriedByStripeGo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{Faults: emulator.Faults{ErrorRate: 1}})
	c := e.client(t, stripeapi.Config{MaxNetworkRetries: 2})
	stripeapi.NoRetrySleep(c)
	_, err := c.Stripe().V1Customers.Create(ctx(t), nil)
	o := wantKind(t, err, stripeapi.KindUnavailable)
	if o.Status != 500 || !o.Retryable || !o.Unknown {
		t.Fatalf("outcome %+v", o)
	}
	if ae := o.Err(); ae.Code != errs.Unavailable || ae.Reason != "stripe_unavailable" {
		t.Fatalf("errs mapping %+v", ae)
	}
	if n := e.requests.Load(); n != 1 {
		t.Fatalf("stripe-go sent %d requests for one 500; its retry policy changed", n)
	}
}

// TestRateLimitedByStripe turns off both retry layers and checks how a 429
// from Stripe's limiter is classified, and that stripe-go does not retry it.
func TestRateLimitedByStripe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{Faults: emulator.Faults{RateLimit: 1}})
	c := e.client(t, stripeapi.Config{RateLimit: rate.Inf, EndpointRateLimit: rate.Inf, RateLimitRetries: -1, MaxNetworkRetries: 2})
	stripeapi.NoRetrySleep(c)
	var err error
	calls := 0
	for calls < 10 && err == nil {
		_, err = c.Stripe().V1Balance.Retrieve(ctx(t), nil)
		calls++
	}
	o := wantKind(t, err, stripeapi.KindRateLimited)
	if o.Status != 429 || o.RateLimitReason != "global-rate" || !o.Retryable || o.Unknown {
		t.Fatalf("outcome %+v", o)
	}
	if ae := o.Err(); ae.Code != errs.RateLimited {
		t.Fatalf("errs mapping %+v", ae)
	}
	if n := e.requests.Load(); n != int64(calls) {
		t.Fatalf("%d requests for %d calls: stripe-go retried a 429", n, calls)
	}
	if !strings.Contains(e.logs.String(), `"rate_limited":"global-rate"`) {
		t.Fatalf("429 not logged:\n%s", e.logs)
	}
}

// TestRateLimitedRequestsAreResent sends a burst of more requests than the
// emulator's limiter allows, with the client's own limiter off: the refused
// ones are resent after a backoff and every call succeeds, once.
func TestRateLimitedRequestsAreResent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{Faults: emulator.Faults{RateLimit: 10}})
	c := e.client(t, stripeapi.Config{RateLimit: rate.Inf, EndpointRateLimit: rate.Inf, RateLimitRetries: 8, MaxNetworkRetries: -1,
		// Real waits, shortened: the emulator's bucket refills in wall time.
		SleepFunc: func(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d/5) }})
	var wg sync.WaitGroup
	errc := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, err := c.Stripe().V1Customers.Create(ctx(t), &stripe.CustomerCreateParams{Name: stripe.String(fmt.Sprint("n", i))})
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		must(t, err, "create")
	}
	if e.status(429) == 0 {
		t.Fatal("the emulator never refused a request; the test proves nothing")
	}
	if n := len(countCustomers(t, c, "")); n != 20 {
		t.Fatalf("%d customers, want 20", n)
	}
}

// TestLimiterBoundsThroughput runs requests through a Client whose limiter
// allows 5 a second, on a fake clock: eleven requests take two seconds of
// the clock (the first goes at once, each other waits 200 ms) and no time on
// the wall.
func TestLimiterBoundsThroughput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{})
	clk := newFakeClock()
	start := clk.now()
	c := e.client(t, stripeapi.Config{RateLimit: 5, RateBurst: 1, EndpointRateLimit: rate.Inf, NowFunc: clk.now, SleepFunc: clk.sleep})
	for range 11 {
		_, err := c.Stripe().V1Customers.Create(ctx(t), nil)
		must(t, err, "create")
	}
	if got := clk.now().Sub(start); got != 2*time.Second {
		t.Fatalf("eleven requests at 5/s took %v of the clock, want 2s", got)
	}
	if e.requests.Load() != 11 {
		t.Fatalf("%d requests", e.requests.Load())
	}
}

// TestLimiterKeepsUnderStripesLimit runs concurrent callers against an
// emulator that refuses more than 40 requests a second, through a Client
// allowed exactly that with its default burst (a tenth): over two seconds'
// worth of requests, more than the emulator's bucket holds, none is
// refused.
func TestLimiterKeepsUnderStripesLimit(t *testing.T) {
	t.Parallel()
	const limit, callers, each = 40, 8, 10
	e := newEnv(t, emulator.Options{Faults: emulator.Faults{RateLimit: limit}})
	c := e.client(t, stripeapi.Config{RateLimit: limit, EndpointRateLimit: rate.Inf, RateLimitRetries: -1, MaxNetworkRetries: -1})
	var wg sync.WaitGroup
	errc := make(chan error, callers*each)
	for range callers {
		wg.Go(func() {
			for range each {
				_, err := c.Stripe().V1Balance.Retrieve(ctx(t), nil)
				errc <- err
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("%s: %v", stripeapi.Classify(err).Kind, err)
		}
	}
	if e.status(429) != 0 || e.requests.Load() != callers*each {
		t.Fatalf("%d requests, %d refused", e.requests.Load(), e.status(429))
	}
}

// TestLimiterWaitEndsWithContext: a call waiting for a token gives up when
// its context ends, and nothing is sent.
func TestLimiterWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{})
	c := e.client(t, stripeapi.Config{RateLimit: rate.Every(time.Hour), RateBurst: 1, MaxNetworkRetries: -1})
	_, err := c.Stripe().V1Balance.Retrieve(ctx(t), nil)
	must(t, err, "first request")
	short, cancel := context.WithTimeout(ctx(t), 20*time.Millisecond)
	defer cancel()
	_, err = c.Stripe().V1Balance.Retrieve(short, &stripe.BalanceRetrieveParams{})
	o := wantKind(t, err, stripeapi.KindUnavailable)
	if !o.Retryable {
		t.Fatalf("outcome %+v", o)
	}
	if e.requests.Load() != 1 {
		t.Fatalf("%d requests sent", e.requests.Load())
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
