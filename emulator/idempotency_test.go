package emulator_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

func customerWithKey(e *env, key, email string) (*stripe.Customer, error) {
	p := &stripe.CustomerCreateParams{Email: stripe.String(email)}
	p.SetIdempotencyKey(key)
	return e.sc.V1Customers.Create(ctx(), p)
}

func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first, err := customerWithKey(e, "order-1", "a@example.com")
	mustf(t, err, "first")
	if first.LastResponse.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("first response marked replayed")
	}
	again, err := customerWithKey(e, "order-1", "a@example.com")
	mustf(t, err, "replay")
	if again.ID != first.ID || again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %s (%q), first %s", again.ID, again.LastResponse.Header.Get("Idempotent-Replayed"), first.ID)
	}
	if n := len(all(t, e.sc.V1Customers.List(ctx(), nil).All(ctx()))); n != 1 {
		t.Fatalf("%d customers", n)
	}

	_, err = customerWithKey(e, "order-1", "b@example.com")
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 400 || se.Type != stripe.ErrorTypeIdempotency || !strings.Contains(se.Msg, "same parameters") {
		t.Fatalf("other parameters: %+v", se)
	}

	// The same key on a connected account is another key.
	acct := e.connected()
	p := &stripe.CustomerCreateParams{Email: stripe.String("a@example.com"), Params: onAccount(acct)}
	p.SetIdempotencyKey("order-1")
	other, err := e.sc.V1Customers.Create(ctx(), p)
	mustf(t, err, "connected account")
	if other.ID == first.ID || other.LastResponse.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a connected account's key replayed the platform's response")
	}
}

func TestIdempotencyKeysExpireAfter24Hours(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first, err := customerWithKey(e, "k", "a@example.com")
	mustf(t, err, "first")
	e.srv.Advance(23 * time.Hour)
	again, err := customerWithKey(e, "k", "a@example.com")
	mustf(t, err, "within 24 h")
	if again.ID != first.ID {
		t.Fatal("not replayed within 24 h")
	}
	// The control API moves the same clock.
	status, _, body := e.control("POST", "/_emulator/clock/advance", "duration=1h")
	if status != 200 || !strings.Contains(string(body), `"now"`) {
		t.Fatalf("advance: %d %s", status, body)
	}
	later, err := customerWithKey(e, "k", "other@example.com")
	mustf(t, err, "after 24 h")
	if later.ID == first.ID || later.LastResponse.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("an expired key was replayed")
	}
}

// TestIdempotencyStoresWhatExecuted: a validation failure stores nothing;
// a decline (402) is stored and replayed, and charges nothing twice.
func TestIdempotencyStoresWhatExecuted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bad := &stripe.CustomerCreateParams{}
	bad.AddExtra("colour", "blue")
	bad.SetIdempotencyKey("v")
	_, err := e.sc.V1Customers.Create(ctx(), bad)
	if se := stripeErr(t, err); se.Param != "colour" {
		t.Fatalf("unknown parameter: %+v", se)
	}
	_, err = customerWithKey(e, "v", "ok@example.com")
	mustf(t, err, "key reused after a validation failure")

	declined := func() error {
		p := &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
			PaymentMethod: stripe.String("pm_card_chargeDeclined"), Confirm: stripe.Bool(true)}
		p.SetIdempotencyKey("pay-1")
		_, err := e.sc.V1PaymentIntents.Create(ctx(), p)
		return err
	}
	first := checkDecline(t, declined(), "card_declined", "generic_decline")
	second := checkDecline(t, declined(), "card_declined", "generic_decline")
	if first.PaymentIntent.ID != second.PaymentIntent.ID {
		t.Fatal("a replayed decline made a second PaymentIntent")
	}
	if n := len(all(t, e.sc.V1Charges.List(ctx(), nil).All(ctx()))); n != 1 {
		t.Fatalf("%d charges", n)
	}
}

func TestIdempotencyKeyInUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	emulator.SetExecuteHook(e.srv, func(r *http.Request) {
		if r.Header.Get("Idempotency-Key") == "busy" {
			once.Do(func() { close(entered); <-release })
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := customerWithKey(e, "busy", "a@example.com")
		done <- err
	}()
	<-entered
	_, err := customerWithKey(e, "busy", "a@example.com")
	se := stripeErr(t, err)
	if se.HTTPStatusCode != http.StatusConflict || se.Code != stripe.ErrorCodeIdempotencyKeyInUse {
		t.Fatalf("concurrent: %+v", se)
	}
	close(release)
	mustf(t, <-done, "first request")
	again, err := customerWithKey(e, "busy", "a@example.com")
	mustf(t, err, "after the first finished")
	if again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("not replayed once the first finished")
	}
}
