package emulator_test

import (
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
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
		if a.Type != typ || !a.ChargesEnabled || !a.PayoutsEnabled || a.Country != "GB" || a.DefaultCurrency != "gbp" {
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

// TestAccountControllerProperties: accounts made with controller
// properties get the matching type (or none), and legacy types show their
// controller properties.
func TestAccountControllerProperties(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	express, err := e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Controller: &stripe.AccountCreateControllerParams{
		Fees:                  &stripe.AccountCreateControllerFeesParams{Payer: stripe.String("application")},
		Losses:                &stripe.AccountCreateControllerLossesParams{Payments: stripe.String("application")},
		RequirementCollection: stripe.String("stripe"),
		StripeDashboard:       &stripe.AccountCreateControllerStripeDashboardParams{Type: stripe.String("express")}}})
	mustf(t, err, "controller account")
	if express.Type != stripe.AccountTypeExpress || express.Controller.StripeDashboard.Type != "express" ||
		express.Controller.Fees.Payer != "application" || !express.Controller.IsController || express.Controller.Type != "application" {
		t.Fatalf("controller account %+v %+v", express, express.Controller)
	}
	none, err := e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Controller: &stripe.AccountCreateControllerParams{
		StripeDashboard: &stripe.AccountCreateControllerStripeDashboardParams{Type: stripe.String("none")}}})
	mustf(t, err, "mixed controller")
	if none.Type != "none" || none.Controller.Fees.Payer != "account" {
		t.Fatalf("mixed controller account %+v", none.Controller)
	}
	custom, err := e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Type: stripe.String("custom")})
	mustf(t, err, "custom")
	if c := custom.Controller; c.Fees.Payer != "application_custom" || c.RequirementCollection != "application" || c.StripeDashboard.Type != "none" {
		t.Fatalf("custom controller %+v", c)
	}
	_, err = e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Type: stripe.String("custom"), Controller: &stripe.AccountCreateControllerParams{
		RequirementCollection: stripe.String("stripe")}})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "controller" {
		t.Fatalf("type and controller: %+v", se)
	}
}

// TestAccountUpdateDeleteList: updates announce account.updated with
// previous_attributes; the payout schedule is validated; deleted accounts
// are gone; the list pages.
func TestAccountUpdateDeleteList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, err := e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Type: stripe.String("express"), Email: stripe.String("old@example.com")})
	mustf(t, err, "create")
	if s := a.Settings.Payouts.Schedule; s.Interval != "daily" || s.DelayDays != 2 {
		t.Fatalf("default schedule %+v", s)
	}
	a, err = e.sc.V1Accounts.Update(ctx(), a.ID, &stripe.AccountUpdateParams{Email: stripe.String("new@example.com"),
		BusinessProfile: &stripe.AccountUpdateBusinessProfileParams{Name: stripe.String("Bike Shop"), URL: stripe.String("https://bike.example")},
		Metadata:        map[string]string{"merchant": "42"},
		Settings: &stripe.AccountUpdateSettingsParams{Payouts: &stripe.AccountUpdateSettingsPayoutsParams{
			Schedule: &stripe.AccountUpdateSettingsPayoutsScheduleParams{Interval: stripe.String("weekly"),
				WeeklyAnchor: stripe.String("friday"), DelayDays: stripe.Int64(7)}}}})
	mustf(t, err, "update")
	if s := a.Settings.Payouts.Schedule; a.Email != "new@example.com" || a.BusinessProfile.URL != "https://bike.example" ||
		a.Metadata["merchant"] != "42" || s.Interval != "weekly" || s.WeeklyAnchor != "friday" || s.DelayDays != 7 {
		t.Fatalf("updated %+v %+v", a, s)
	}
	evs := all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{Type: stripe.String("account.updated"),
		ListParams: stripe.ListParams{StripeAccount: stripe.String(a.ID)}}).All(ctx()))
	prev := evs[0].Data.PreviousAttributes
	if len(evs) != 2 || prev["email"] != "old@example.com" || prev["business_profile"].(map[string]any)["name"] != nil {
		t.Fatalf("%d events, previous_attributes %v", len(evs), prev)
	}
	if _, ok := prev["country"]; ok {
		t.Fatalf("unchanged fields in previous_attributes: %v", prev)
	}
	_, err = e.sc.V1Accounts.Update(ctx(), a.ID, &stripe.AccountUpdateParams{Settings: &stripe.AccountUpdateSettingsParams{
		Payouts: &stripe.AccountUpdateSettingsPayoutsParams{Schedule: &stripe.AccountUpdateSettingsPayoutsScheduleParams{
			Interval: stripe.String("monthly")}}}})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "settings[payouts][schedule][monthly_anchor]" {
		t.Fatalf("monthly without an anchor: %+v", se)
	}
	manual, err := e.sc.V1Accounts.Update(ctx(), a.ID, &stripe.AccountUpdateParams{Settings: &stripe.AccountUpdateSettingsParams{
		Payouts: &stripe.AccountUpdateSettingsPayoutsParams{Schedule: &stripe.AccountUpdateSettingsPayoutsScheduleParams{
			Interval: stripe.String("manual")}}}})
	mustf(t, err, "manual payouts")
	if manual.Settings.Payouts.Schedule.Interval != "manual" {
		t.Fatalf("schedule %+v", manual.Settings.Payouts.Schedule)
	}

	var ids []string
	for range 3 {
		ids = append(ids, e.connected())
	}
	page := e.sc.V1Accounts.List(ctx(), &stripe.AccountListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(2)}})
	listed := all(t, page.All(ctx()))
	if len(listed) != 4 || listed[0].ID != ids[2] || listed[3].ID != a.ID {
		t.Fatalf("listed %d", len(listed))
	}
	del, err := e.sc.V1Accounts.Delete(ctx(), ids[1], nil)
	mustf(t, err, "delete")
	if !del.Deleted || del.ID != ids[1] {
		t.Fatalf("deleted %+v", del)
	}
	_, err = e.sc.V1Accounts.GetByID(ctx(), ids[1], nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("deleted account: %+v", se)
	}
	if n := len(all(t, e.sc.V1Accounts.List(ctx(), nil).All(ctx()))); n != 3 {
		t.Fatalf("%d accounts after the delete", n)
	}
	_, err = e.sc.V1Accounts.Delete(ctx(), emulator.DefaultPlatformAccount, nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("the platform deleted itself: %+v", se)
	}
}

// TestCapabilities: capabilities list and retrieve; giving up card_payments
// disables charges and a direct charge is refused; requesting it again
// restores them.
func TestCapabilities(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.connected()
	caps := all(t, e.sc.V1Capabilities.List(ctx(), &stripe.CapabilityListParams{Account: stripe.String(acct)}).All(ctx()))
	active := map[string]bool{}
	for _, c := range caps {
		active[c.ID] = c.Status == stripe.CapabilityStatusActive
	}
	if !active["card_payments"] || !active["transfers"] || active["sepa_debit_payments"] {
		t.Fatalf("capabilities %v", active)
	}
	c, err := e.sc.V1Capabilities.Update(ctx(), "card_payments", &stripe.CapabilityUpdateParams{Account: stripe.String(acct), Requested: stripe.Bool(false)})
	mustf(t, err, "give up card_payments")
	if c.Requested || c.Status != "unrequested" {
		t.Fatalf("capability %+v", c)
	}
	a, err := e.sc.V1Accounts.GetByID(ctx(), acct, nil)
	mustf(t, err, "account")
	if a.ChargesEnabled || a.Capabilities.CardPayments != "" {
		t.Fatalf("account without card_payments %+v", a.Capabilities)
	}
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true), Params: onAccount(acct)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Msg != "You cannot create a charge on a connected account without the card_payments capability enabled." {
		t.Fatalf("charge without card_payments: %+v", se)
	}
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), OnBehalfOf: stripe.String(acct),
		TransferData: &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(acct)}})
	if se := stripeErr(t, err); se.Param != "on_behalf_of" {
		t.Fatalf("on_behalf_of without card_payments: %+v", se)
	}
	_, err = e.sc.V1Capabilities.Update(ctx(), "card_payments", &stripe.CapabilityUpdateParams{Account: stripe.String(acct), Requested: stripe.Bool(true)})
	mustf(t, err, "request card_payments")
	got, err := e.sc.V1Capabilities.Retrieve(ctx(), "card_payments", &stripe.CapabilityRetrieveParams{Account: stripe.String(acct)})
	mustf(t, err, "retrieve")
	if got.Status != stripe.CapabilityStatusActive || !got.Requested || got.RequestedAt == 0 {
		t.Fatalf("capability %+v", got)
	}
	_, err = e.sc.V1Capabilities.Retrieve(ctx(), "teleport_payments", &stripe.CapabilityRetrieveParams{Account: stripe.String(acct)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("unknown capability: %+v", se)
	}
}
