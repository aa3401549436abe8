package emulator_test

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

func TestResetKeepsPlatforms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	status, hdr, body := e.control("DELETE", "/_emulator/data", "")
	if status != 200 || hdr.Get("Request-Id") == "" || !strings.Contains(string(body), `"deleted":true`) {
		t.Fatalf("reset: %d %s", status, body)
	}
	_, err = e.sc.V1Customers.Retrieve(ctx(), cu.ID, nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("customer survived the reset: %+v", se)
	}
	if n := len(all(t, e.sc.V1Events.List(ctx(), nil).All(ctx()))); n != 0 {
		t.Fatalf("%d events survived the reset", n)
	}
	self, err := e.sc.V1Accounts.Retrieve(ctx(), nil)
	mustf(t, err, "the platform's key still works")
	if self.ID != emulator.DefaultPlatformAccount {
		t.Fatalf("platform %s", self.ID)
	}
}

// TestSnapshotSurvivesRestart: objects, the clock and stored idempotent
// responses come back from the snapshot file.
func TestSnapshotSurvivesRestart(t *testing.T) {
	t.Parallel()
	loadSpec(t)
	file := filepath.Join(t.TempDir(), "emulator.snapshot")
	base := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	start := func() *env {
		srv := emulator.New(emulator.Options{SnapshotFile: file, NowFunc: func() time.Time { return base }})
		e := &env{tb: t, srv: srv, ts: httptest.NewServer(srv)}
		e.sc = e.client(emulator.DefaultSecretKey, 0)
		return e
	}
	stop := func(e *env) {
		e.ts.Close()
		mustf(t, e.srv.Close(), "close")
	}
	e := start()
	acct := e.connected()
	first, err := customerWithKey(e, "restart", "snap@example.com")
	mustf(t, err, "customer")
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true), Params: onAccount(acct)})
	mustf(t, err, "payment")
	e.srv.Advance(3 * time.Hour)
	stop(e)

	e = start()
	defer stop(e)
	if got := e.srv.Now(); !got.Equal(base.Add(3 * time.Hour)) {
		t.Fatalf("clock %v after restart", got)
	}
	again, err := customerWithKey(e, "restart", "snap@example.com")
	mustf(t, err, "replay after restart")
	if again.ID != first.ID || again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("the stored response did not survive the restart")
	}
	got, err := e.sc.V1PaymentIntents.Retrieve(ctx(), pi.ID, &stripe.PaymentIntentRetrieveParams{Params: onAccount(acct),
		Expand: []*string{stripe.String("latest_charge.balance_transaction")}})
	mustf(t, err, "payment after restart")
	if got.Status != stripe.PaymentIntentStatusSucceeded || got.LatestCharge.BalanceTransaction.Amount != 1000 {
		t.Fatalf("payment %+v", got)
	}
	if n := len(all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{ListParams: stripe.ListParams{StripeAccount: stripe.String(acct)}}).All(ctx()))); n == 0 {
		t.Fatal("no events after restart")
	}
}
