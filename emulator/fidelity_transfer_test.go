package emulator_test

import (
	"net/url"
	"testing"

	"github.com/stripe/stripe-go/v85"
)

// TestTransferNeedsTransfersCapability: POST /v1/transfers to an account
// whose transfers capability is not active (given up, or inactive while
// requirements are due) is Stripe's 400 insufficient_capabilities_for_transfer
// and moves nothing; once the capability is active the same transfer goes
// through.
func TestTransferNeedsTransfersCapability(t *testing.T) {
	t.Parallel()
	e := newEnv(t, restricted)
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(5000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
	mustf(t, err, "platform charge")
	transfer := func(dest string) (*stripe.Transfer, error) {
		return e.sc.V1Transfers.Create(ctx(), &stripe.TransferCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
			Destination: stripe.String(dest), SourceTransaction: stripe.String(pi.LatestCharge.ID)})
	}
	refused := func(what string, err error) {
		t.Helper()
		se := stripeErr(t, err)
		if se.HTTPStatusCode != 400 || se.Type != stripe.ErrorTypeInvalidRequest || se.Code != "insufficient_capabilities_for_transfer" ||
			se.Param != "" || se.Msg != "Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments" {
			t.Fatalf("%s: %+v", what, se)
		}
	}

	// Requirements due: the capability is inactive.
	pending, err := e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Type: stripe.String("express")})
	mustf(t, err, "restricted account")
	if pending.Capabilities.Transfers != "inactive" {
		t.Fatalf("restricted account's transfers capability %q", pending.Capabilities.Transfers)
	}
	_, err = transfer(pending.ID)
	refused("transfer to an account with requirements due", err)

	// Onboarded, then the capability given up.
	l := e.accountLink(pending.ID, "account_onboarding")
	fetchPage(t, "GET", l.URL, nil)
	if status, loc, _ := fetchPage(t, "POST", l.URL, url.Values{"business_name": {"Rider Co"}}); status != 303 || loc != "https://platform.example/return" {
		t.Fatalf("onboarding: %d %s", status, loc)
	}
	_, err = e.sc.V1Capabilities.Update(ctx(), "transfers", &stripe.CapabilityUpdateParams{Account: stripe.String(pending.ID), Requested: stripe.Bool(false)})
	mustf(t, err, "give up transfers")
	_, err = transfer(pending.ID)
	refused("transfer to an account without transfers", err)

	if n := len(all(t, e.sc.V1Transfers.List(ctx(), nil).All(ctx()))); n != 0 {
		t.Fatalf("refused transfers made %d transfers", n)
	}
	bal, err := e.sc.V1Balance.Retrieve(ctx(), &stripe.BalanceRetrieveParams{Params: onAccount(pending.ID)})
	mustf(t, err, "destination balance")
	if len(bal.Pending) > 0 && bal.Pending[0].Amount != 0 {
		t.Fatalf("a refused transfer moved funds: %+v", bal.Pending)
	}

	_, err = e.sc.V1Capabilities.Update(ctx(), "transfers", &stripe.CapabilityUpdateParams{Account: stripe.String(pending.ID), Requested: stripe.Bool(true)})
	mustf(t, err, "request transfers")
	tr, err := transfer(pending.ID)
	mustf(t, err, "transfer once the capability is active")
	if tr.Destination.ID != pending.ID || tr.Amount != 1000 {
		t.Fatalf("transfer %+v", tr)
	}
	_, err = transfer("acct_1Nobody000000000")
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 || se.Param != "destination" {
		t.Fatalf("unknown destination: %+v", se)
	}
}

// TestTransferFromPartialCapture: a charge captured in part can fund
// transfers up to what was captured (less what was refunded and already
// transferred); the authorization released by the partial capture is not
// a refund that uses up the charge.
func TestTransferFromPartialCapture(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dest := e.connected()
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true), CaptureMethod: stripe.String("manual")})
	mustf(t, err, "authorize")
	_, err = e.sc.V1PaymentIntents.Capture(ctx(), pi.ID, &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(501)})
	mustf(t, err, "capture 501")
	transfer := func(amount int64) error {
		_, err := e.sc.V1Transfers.Create(ctx(), &stripe.TransferCreateParams{Amount: stripe.Int64(amount), Currency: stripe.String("usd"),
			Destination: stripe.String(dest), SourceTransaction: stripe.String(pi.LatestCharge.ID)})
		return err
	}
	mustf(t, transfer(401), "transfer 401 of 501 captured")
	if se := stripeErr(t, transfer(101)); se.Code != "balance_insufficient" {
		t.Fatalf("transfer past what was captured: %+v", se)
	}
	mustf(t, transfer(100), "transfer the last 100")
}
