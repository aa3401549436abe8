package emulator_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

// payouts lists acct's payouts, newest first.
func payouts(t *testing.T, e *env, acct string) []*stripe.Payout {
	t.Helper()
	lp := &stripe.PayoutListParams{}
	lp.StripeAccount = accountParams(acct).StripeAccount
	return all(t, e.sc.V1Payouts.List(ctx(), lp).All(ctx()))
}

// cancelPayout cancels a payout through POST /v1/payouts/{id}/cancel.
// stripe-go v85's V1Payouts.Cancel posts to /v1/topups/{id}/cancel instead,
// which Stripe answers with a 404 as the emulator does.
func cancelPayout(t *testing.T, e *env, acct, id string) (*stripe.Payout, *stripe.Error) {
	t.Helper()
	hdr := map[string]string{}
	if acct != "" {
		hdr["Stripe-Account"] = acct
	}
	status, _, body := e.raw("POST", "/v1/payouts/"+id+"/cancel", "", hdr)
	if status != 200 {
		var out struct{ Error *stripe.Error }
		mustf(t, json.Unmarshal(body, &out), "error body")
		out.Error.HTTPStatusCode = status
		return nil, out.Error
	}
	var p stripe.Payout
	mustf(t, json.Unmarshal(body, &p), "payout body")
	return &p, nil
}

// TestPayoutAutomaticDaily: a connected account's funds, once available,
// are paid out at the start of the next UTC day to its test bank account;
// the payout goes in transit a day later and is paid the day after, and
// lists the balance transactions it paid out.
func TestPayoutAutomaticDaily(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // 2026-03-02 12:00 UTC
	h := e.hookAll()
	acct := e.connected()
	_, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(10000),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true),
		ApplicationFeeAmount: stripe.Int64(1000), Params: onAccount(acct)})
	mustf(t, err, "direct charge")
	net := int64(10000 - (10000*290+5000)/10000 - 30 - 1000)

	banks := all(t, e.sc.V1BankAccounts.List(ctx(), &stripe.BankAccountListParams{Account: stripe.String(acct)}).All(ctx()))
	if len(banks) != 1 || banks[0].RoutingNumber != "110000000" || banks[0].Last4 != "6789" || !banks[0].DefaultForCurrency ||
		banks[0].Currency != "usd" || banks[0].Account.ID != acct {
		t.Fatalf("test bank accounts %+v", banks)
	}

	e.srv.Advance(36 * time.Hour) // 03-04 00:00: the funds became available and were paid out
	ps := payouts(t, e, acct)
	if len(ps) != 1 {
		t.Fatalf("%d payouts", len(ps))
	}
	p := ps[0]
	day := e.now.Truncate(24 * time.Hour)
	if !p.Automatic || p.Amount != net || p.Status != stripe.PayoutStatusPending || p.Destination.ID != banks[0].ID ||
		p.Created != day.Add(48*time.Hour).Unix() || p.ArrivalDate != day.Add(96*time.Hour).Unix() ||
		p.ReconciliationStatus != "in_progress" {
		t.Fatalf("payout %+v", p)
	}
	if available(t, e, acct) != 0 {
		t.Fatal("funds left after the payout")
	}
	if _, se := cancelPayout(t, e, acct, p.ID); se == nil || se.HTTPStatusCode != 400 {
		t.Fatalf("canceling an automatic payout: %+v", se)
	}
	balanceAddsUp(t, e, acct)

	e.srv.Advance(24 * time.Hour)
	if p = payouts(t, e, acct)[0]; p.Status != stripe.PayoutStatusInTransit {
		t.Fatalf("a day later: %s", p.Status)
	}
	e.srv.Advance(24 * time.Hour)
	p, err = e.sc.V1Payouts.Retrieve(ctx(), p.ID, &stripe.PayoutRetrieveParams{Params: onAccount(acct),
		Expand: []*string{stripe.String("balance_transaction"), stripe.String("destination")}})
	mustf(t, err, "payout.Get")
	if p.Status != stripe.PayoutStatusPaid || p.ReconciliationStatus != "completed" || p.BalanceTransaction.Amount != -net ||
		p.BalanceTransaction.Type != stripe.BalanceTransactionTypePayout || p.Destination.BankAccount == nil {
		t.Fatalf("paid %+v", p)
	}
	if n := len(payouts(t, e, acct)); n != 1 {
		t.Fatalf("%d payouts with nothing more to pay", n)
	}
	lp := &stripe.BalanceTransactionListParams{Payout: stripe.String(p.ID)}
	lp.StripeAccount = stripe.String(acct)
	var sum int64
	for _, bt := range all(t, e.sc.V1BalanceTransactions.List(ctx(), lp).All(ctx())) {
		sum += bt.Net
	}
	if sum != 0 {
		t.Fatalf("the payout's transactions add up to %d, want 0 (the funds and the payout)", sum)
	}
	balanceAddsUp(t, e, acct)
	seen := h.check(t)
	for _, typ := range []stripe.EventType{"payout.created", "payout.updated", "payout.paid", "payout.reconciliation_completed"} {
		if seen[typ] != 2 { // the platform's application fee is paid out too
			t.Errorf("%d %s (%v)", seen[typ], typ, seen)
		}
	}
}

// TestPayoutManual: with a manual schedule funds stay until POST
// /v1/payouts; more than the available balance is balance_insufficient; a
// pending payout can be canceled and its funds come back.
func TestPayoutManual(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.hookAll()
	e.manualPayouts(emulator.DefaultPlatformAccount)
	_, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(5000),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_bypassPending"), Confirm: stripe.Bool(true)})
	mustf(t, err, "charge")
	funds := available(t, e, "")
	e.srv.Advance(72 * time.Hour)
	if len(payouts(t, e, "")) != 0 || available(t, e, "") != funds {
		t.Fatal("a manual schedule paid out")
	}
	_, err = e.sc.V1Payouts.Create(ctx(), &stripe.PayoutCreateParams{Amount: stripe.Int64(funds + 1), Currency: stripe.String("usd")})
	if se := stripeErr(t, err); se.Code != stripe.ErrorCodeBalanceInsufficient || se.HTTPStatusCode != 400 {
		t.Fatalf("payout beyond the balance: %+v", se)
	}
	p, err := e.sc.V1Payouts.Create(ctx(), &stripe.PayoutCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		Description: stripe.String("weekly sweep"), Metadata: map[string]string{"k": "v"}, Method: stripe.String("standard")})
	mustf(t, err, "payout")
	if p.Automatic || p.Status != stripe.PayoutStatusPending || p.Description != "weekly sweep" || p.Metadata["k"] != "v" ||
		p.ReconciliationStatus != "not_applicable" {
		t.Fatalf("payout %+v", p)
	}
	if available(t, e, "") != funds-1000 {
		t.Fatal("the payout did not leave the available balance")
	}
	_, err = e.sc.V1Payouts.Cancel(ctx(), p.ID, nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("stripe-go's Cancel, which posts to /v1/topups: %+v", se)
	}
	p, se := cancelPayout(t, e, "", p.ID)
	if se != nil {
		t.Fatalf("cancel: %+v", se)
	}
	if p.Status != stripe.PayoutStatusCanceled || p.FailureBalanceTransaction == nil || available(t, e, "") != funds {
		t.Fatalf("canceled %+v", p)
	}
	if _, se := cancelPayout(t, e, "", p.ID); se == nil || se.HTTPStatusCode != 400 {
		t.Fatalf("canceling twice: %+v", se)
	}
	p, err = e.sc.V1Payouts.Update(ctx(), p.ID, &stripe.PayoutUpdateParams{Metadata: map[string]string{"k": "w"}})
	mustf(t, err, "update")
	if p.Metadata["k"] != "w" {
		t.Fatalf("metadata %v", p.Metadata)
	}
	balanceAddsUp(t, e, "")
	if seen := h.check(t); seen["payout.created"] != 1 || seen["payout.canceled"] != 1 {
		t.Fatalf("events %v", seen)
	}
}

// TestPayoutFailed: a payout to Stripe's no_account test bank account
// fails when it should arrive; its funds come back and the bank account
// is marked errored, which stops scheduled payouts to it.
func TestPayoutFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.hookAll()
	acct := e.connected()
	ba, err := e.sc.V1BankAccounts.Create(ctx(), &stripe.BankAccountCreateParams{Account: stripe.String(acct),
		Country: stripe.String("US"), Currency: stripe.String("usd"), RoutingNumber: stripe.String("110000000"),
		AccountNumber: stripe.String("000111111116"), AccountHolderName: stripe.String("Jenny Rosen"),
		DefaultForCurrency: stripe.Bool(true)})
	mustf(t, err, "failing bank account")
	if ba.Last4 != "1116" || !ba.DefaultForCurrency || ba.Status != "new" || ba.AccountHolderName != "Jenny Rosen" {
		t.Fatalf("bank account %+v", ba)
	}
	banks := all(t, e.sc.V1BankAccounts.List(ctx(), &stripe.BankAccountListParams{Account: stripe.String(acct)}).All(ctx()))
	if len(banks) != 2 || banks[1].DefaultForCurrency {
		t.Fatalf("the test bank account is still the default: %+v", banks)
	}
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(8000),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_bypassPending"), Confirm: stripe.Bool(true)})
	mustf(t, err, "charge")
	_, err = e.sc.V1Transfers.Create(ctx(), &stripe.TransferCreateParams{Amount: stripe.Int64(6000), Currency: stripe.String("usd"),
		Destination: stripe.String(acct), SourceTransaction: stripe.String(pi.LatestCharge.ID)})
	mustf(t, err, "transfer")

	e.srv.Advance(12 * time.Hour) // the next day's payout
	p, err := e.sc.V1Payouts.Create(ctx(), &stripe.PayoutCreateParams{Amount: stripe.Int64(1), Currency: stripe.String("usd"),
		Params: onAccount(acct)})
	if se := stripeErr(t, err); se.Code != stripe.ErrorCodeBalanceInsufficient {
		t.Fatalf("payout with everything paid out: %v %+v", p, se)
	}
	ps := payouts(t, e, acct)
	if len(ps) != 1 || ps[0].Amount != 6000 || ps[0].Destination.ID != ba.ID {
		t.Fatalf("payouts %+v", ps)
	}
	balanceAddsUp(t, e, acct)
	e.srv.Advance(48 * time.Hour)
	p, err = e.sc.V1Payouts.Retrieve(ctx(), ps[0].ID, &stripe.PayoutRetrieveParams{Params: onAccount(acct),
		Expand: []*string{stripe.String("failure_balance_transaction")}})
	mustf(t, err, "payout")
	if p.Status != stripe.PayoutStatusFailed || p.FailureCode != stripe.PayoutFailureCodeNoAccount || p.FailureMessage == "" ||
		p.FailureBalanceTransaction.Type != stripe.BalanceTransactionTypePayoutFailure || p.FailureBalanceTransaction.Amount != 6000 {
		t.Fatalf("failed payout %+v", p)
	}
	if available(t, e, acct) != 6000 {
		t.Fatal("the failed payout's funds did not come back")
	}
	got, err := e.sc.V1BankAccounts.Retrieve(ctx(), ba.ID, &stripe.BankAccountRetrieveParams{Account: stripe.String(acct)})
	mustf(t, err, "bank account")
	if got.Status != "errored" {
		t.Fatalf("bank account status %s", got.Status)
	}
	e.srv.Advance(72 * time.Hour)
	if n := len(payouts(t, e, acct)); n != 1 {
		t.Fatalf("%d payouts to an errored bank account", n)
	}
	balanceAddsUp(t, e, acct)
	balanceAddsUp(t, e, "")
	if seen := h.check(t); seen["payout.failed"] != 1 || seen["account.external_account.created"] != 1 ||
		seen["account.external_account.updated"] != 1 {
		t.Fatalf("events %v", seen)
	}
}

// TestPayoutSchedules: weekly payouts fall on the anchor day, monthly ones
// on the anchor date.
func TestPayoutSchedules(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // Monday 2026-03-02
	weekly, monthly := e.connected(), e.connected()
	for acct, s := range map[string]*stripe.AccountUpdateSettingsPayoutsScheduleParams{
		weekly:  {Interval: stripe.String("weekly"), WeeklyAnchor: stripe.String("friday")},
		monthly: {Interval: stripe.String("monthly"), MonthlyAnchor: stripe.Int64(15)},
	} {
		_, err := e.sc.V1Accounts.Update(ctx(), acct, &stripe.AccountUpdateParams{Settings: &stripe.AccountUpdateSettingsParams{
			Payouts: &stripe.AccountUpdateSettingsPayoutsParams{Schedule: s}}})
		mustf(t, err, "schedule")
		pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(3000),
			Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_bypassPending"), Confirm: stripe.Bool(true)})
		mustf(t, err, "charge")
		_, err = e.sc.V1Transfers.Create(ctx(), &stripe.TransferCreateParams{Amount: stripe.Int64(2000), Currency: stripe.String("usd"),
			Destination: stripe.String(acct), SourceTransaction: stripe.String(pi.LatestCharge.ID)})
		mustf(t, err, "transfer")
	}
	e.srv.Advance(20 * 24 * time.Hour)
	for acct, want := range map[string]time.Time{
		weekly:  time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC),
		monthly: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC),
	} {
		ps := payouts(t, e, acct)
		if len(ps) != 1 || ps[0].Created != want.Unix() || ps[0].Status != stripe.PayoutStatusPaid {
			t.Fatalf("%s: payouts %+v, want one made %v", acct, ps, want)
		}
		balanceAddsUp(t, e, acct)
	}
}

// TestAccountDelayDays: an account whose payout schedule has delay_days of
// its own holds its charges' funds that long; others keep the default.
func TestAccountDelayDays(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // 2026-03-02 12:00 UTC, default delay two days
	slow, quick := e.connected(), e.connected()
	_, err := e.sc.V1Accounts.Update(ctx(), slow, &stripe.AccountUpdateParams{Settings: &stripe.AccountUpdateSettingsParams{
		Payouts: &stripe.AccountUpdateSettingsPayoutsParams{Schedule: &stripe.AccountUpdateSettingsPayoutsScheduleParams{
			DelayDays: stripe.Int64(5), Interval: stripe.String("manual")}}}})
	mustf(t, err, "set delay_days")
	_, err = e.sc.V1Accounts.Update(ctx(), quick, &stripe.AccountUpdateParams{Settings: &stripe.AccountUpdateSettingsParams{
		Payouts: &stripe.AccountUpdateSettingsPayoutsParams{Schedule: &stripe.AccountUpdateSettingsPayoutsScheduleParams{
			Interval: stripe.String("manual")}}}})
	mustf(t, err, "manual payouts")
	for _, acct := range []string{slow, quick} {
		pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(5000),
			Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true), Params: onAccount(acct)})
		mustf(t, err, "direct charge")
		ch, err := e.sc.V1Charges.Retrieve(ctx(), pi.LatestCharge.ID, &stripe.ChargeRetrieveParams{Params: onAccount(acct),
			Expand: []*string{stripe.String("balance_transaction")}})
		mustf(t, err, "charge")
		days := int64(2)
		if acct == slow {
			days = 5
		}
		want := e.now.Truncate(24*time.Hour).AddDate(0, 0, int(days)).Unix()
		if got := ch.BalanceTransaction.AvailableOn; got != want {
			t.Errorf("%s: available_on %s, want %s (%d days)", acct, time.Unix(got, 0).UTC(), time.Unix(want, 0).UTC(), days)
		}
	}
	e.srv.Advance(3 * 24 * time.Hour)
	if available(t, e, slow) != 0 || available(t, e, quick) == 0 {
		t.Errorf("after three days: slow %d, quick %d available; want only quick's", available(t, e, slow), available(t, e, quick))
	}
	balanceAddsUp(t, e, slow)
}
