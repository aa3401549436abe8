package emulator_test

import (
	"testing"

	"github.com/stripe/stripe-go/v85"
)

// TestConnectedAccounts: each account type can be created and takes a
// charge at once; the platform lists its accounts.
func TestConnectedAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for _, typ := range []stripe.AccountType{stripe.AccountTypeStandard, stripe.AccountTypeExpress, stripe.AccountTypeCustom} {
		a, err := e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Type: stripe.String(string(typ)),
			Country: stripe.String("GB"), Email: stripe.String("shop@example.com")})
		mustf(t, err, "create %s", typ)
		if a.Type != typ || !a.ChargesEnabled || !a.PayoutsEnabled || a.Country != "GB" {
			t.Fatalf("%s account %+v", typ, a)
		}
		got, err := e.sc.V1Accounts.GetByID(ctx(), a.ID, nil)
		mustf(t, err, "retrieve")
		if got.Email != "shop@example.com" {
			t.Fatalf("retrieved %+v", got)
		}
		pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2000), Currency: stripe.String("gbp"),
			PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true), ApplicationFeeAmount: stripe.Int64(100), Params: onAccount(a.ID)})
		mustf(t, err, "charge on a new %s account", typ)
		if pi.Status != stripe.PaymentIntentStatusSucceeded {
			t.Fatalf("status %s", pi.Status)
		}
		ids = append(ids, a.ID)
	}
	listed := all(t, e.sc.V1Accounts.List(ctx(), nil).All(ctx()))
	if len(listed) != 3 || listed[0].ID != ids[2] {
		t.Fatalf("listed %d accounts", len(listed))
	}
	fees := all(t, e.sc.V1ApplicationFees.List(ctx(), nil).All(ctx()))
	if len(fees) != 3 || fees[0].Account.ID != ids[2] || fees[0].Amount != 100 {
		t.Fatalf("application fees %d", len(fees))
	}
	bts := all(t, e.sc.V1BalanceTransactions.List(ctx(), &stripe.BalanceTransactionListParams{Type: stripe.String("application_fee")}).All(ctx()))
	if len(bts) != 3 || bts[0].Amount != 100 {
		t.Fatalf("application fee transactions %d", len(bts))
	}

	_, err := e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Country: stripe.String("US")})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "type" {
		t.Fatalf("no type: %+v", se)
	}
	_, err = e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Type: stripe.String("express"), Params: onAccount(ids[0])})
	if se := stripeErr(t, err); se.HTTPStatusCode != 403 {
		t.Fatalf("a connected account created an account: %+v", se)
	}
	_, err = e.sc.V1Accounts.GetByID(ctx(), ids[1], &stripe.AccountRetrieveParams{Params: onAccount(ids[0])})
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("a connected account saw another: %+v", se)
	}
}

// TestUpdatesOfMoneyObjects covers the updates that only change metadata
// and descriptions: refunds and transfers.
func TestUpdatesOfMoneyObjects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.connected()
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(5000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_bypassPending"), Confirm: stripe.Bool(true)})
	mustf(t, err, "charge")
	re, err := e.sc.V1Refunds.Create(ctx(), &stripe.RefundCreateParams{Charge: stripe.String(pi.LatestCharge.ID), Amount: stripe.Int64(500),
		Reason: stripe.String("requested_by_customer")})
	mustf(t, err, "refund")
	re, err = e.sc.V1Refunds.Update(ctx(), re.ID, &stripe.RefundUpdateParams{Metadata: map[string]string{"ticket": "7"}})
	mustf(t, err, "refund update")
	if re.Metadata["ticket"] != "7" || re.Reason != "requested_by_customer" {
		t.Fatalf("refund %+v", re)
	}
	// Funds of 4000000000000077 are available at once, so a transfer
	// without source_transaction can draw on them.
	tr, err := e.sc.V1Transfers.Create(ctx(), &stripe.TransferCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		Destination: stripe.String(acct)})
	mustf(t, err, "transfer from available balance")
	tr, err = e.sc.V1Transfers.Update(ctx(), tr.ID, &stripe.TransferUpdateParams{Description: stripe.String("payout share")})
	mustf(t, err, "transfer update")
	if tr.Description != "payout share" {
		t.Fatalf("transfer %+v", tr)
	}
	ch, err := e.sc.V1Charges.Retrieve(ctx(), pi.LatestCharge.ID, &stripe.ChargeRetrieveParams{Expand: []*string{stripe.String("balance_transaction")}})
	mustf(t, err, "charge")
	if ch.AmountRefunded != 500 || ch.BalanceTransaction.Status != "available" {
		t.Fatalf("charge %+v", ch)
	}
	checkBalance(t, e, "")
	checkBalance(t, e, acct)
}
