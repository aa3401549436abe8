package emulator_test

import (
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tenderpay/tender/emulator"
)

// accountParams addresses acct, or the platform when acct is empty or the
// platform's own id.
func accountParams(acct string) stripe.Params {
	if acct == "" || acct == emulator.DefaultPlatformAccount {
		return stripe.Params{}
	}
	return onAccount(acct)
}

// balanceAddsUp asserts, through the API, that acct's balance is the sum
// of its balance transactions' net amounts, per currency, available and
// pending split by available_on against the emulator clock, and that each
// transaction's status agrees with that split.
func balanceAddsUp(t *testing.T, e *env, acct string) {
	t.Helper()
	now := e.srv.Now().Unix()
	want := map[string][2]int64{} // currency → available, pending
	lp := &stripe.BalanceTransactionListParams{}
	lp.StripeAccount = accountParams(acct).StripeAccount
	for bt, err := range e.sc.V1BalanceTransactions.List(ctx(), lp).All(ctx()) {
		mustf(t, err, "balance transactions of %s", acct)
		if bt.Net != bt.Amount-bt.Fee {
			t.Fatalf("%s: net %d != amount %d - fee %d", bt.ID, bt.Net, bt.Amount, bt.Fee)
		}
		sums := want[string(bt.Currency)]
		available := bt.AvailableOn <= now
		if available != (bt.Status == stripe.BalanceTransactionStatusAvailable) {
			t.Fatalf("%s: status %s with available_on %d at %d", bt.ID, bt.Status, bt.AvailableOn, now)
		}
		if available {
			sums[0] += bt.Net
		} else {
			sums[1] += bt.Net
		}
		want[string(bt.Currency)] = sums
	}
	bal, err := e.sc.V1Balance.Retrieve(ctx(), &stripe.BalanceRetrieveParams{Params: accountParams(acct)})
	mustf(t, err, "balance of %s", acct)
	got := map[string][2]int64{}
	for _, a := range bal.Available {
		s := got[string(a.Currency)]
		s[0] = a.Amount
		got[string(a.Currency)] = s
	}
	for _, p := range bal.Pending {
		s := got[string(p.Currency)]
		s[1] = p.Amount
		got[string(p.Currency)] = s
	}
	for cur, w := range want {
		if got[cur] != w {
			t.Fatalf("%s %s: balance (available, pending) %v, transactions add up to %v", acct, cur, got[cur], w)
		}
	}
	for cur, g := range got {
		if _, ok := want[cur]; !ok && g != [2]int64{} {
			t.Fatalf("%s %s: balance %v without transactions", acct, cur, g)
		}
	}
}

// available is acct's available balance in usd.
func available(t *testing.T, e *env, acct string) int64 {
	t.Helper()
	bal, err := e.sc.V1Balance.Retrieve(ctx(), &stripe.BalanceRetrieveParams{Params: accountParams(acct)})
	mustf(t, err, "balance of %s", acct)
	for _, a := range bal.Available {
		if a.Currency == "usd" {
			return a.Amount
		}
	}
	return 0
}

// manualPayouts sets acct's payout schedule to manual, so its available
// balance stays until a payout is requested.
func (e *env) manualPayouts(acct string) {
	e.tb.Helper()
	_, err := e.sc.V1Accounts.Update(ctx(), acct, &stripe.AccountUpdateParams{Settings: &stripe.AccountUpdateSettingsParams{
		Payouts: &stripe.AccountUpdateSettingsPayoutsParams{Schedule: &stripe.AccountUpdateSettingsPayoutsScheduleParams{
			Interval: stripe.String("manual")}}}})
	mustf(e.tb, err, "manual payouts for %s", acct)
}

// hooks receives every event, the platform's and its connected accounts',
// and checks them when asked.
type hooks struct {
	e               *env
	plain, connect  *receiver
	plainWE, connWE *stripe.WebhookEndpoint
}

func (e *env) hookAll() *hooks {
	h := &hooks{e: e, plain: newReceiver(e.tb, 0), connect: newReceiver(e.tb, 0)}
	h.plainWE = e.endpoint(h.plain.ts.URL, false, "*")
	h.connWE = e.endpoint(h.connect.ts.URL, true, "*")
	return h
}

// check waits for the deliveries due, validates every delivered event
// against the spec, has stripe-go's webhook package construct it (the
// emulator clock is fixed in the past, so the signature's age is not
// checked) and returns how many of each type arrived.
func (h *hooks) check(t *testing.T) map[stripe.EventType]int {
	t.Helper()
	emulator.WaitWebhooks(t, h.e.srv)
	seen := map[stripe.EventType]int{}
	for _, side := range []struct {
		rc     *receiver
		secret string
	}{{h.plain, h.plainWE.Secret}, {h.connect, h.connWE.Secret}} {
		for _, d := range side.rc.deliveries() {
			validateEventBody(t, d.body)
			ev, err := webhook.ConstructEventIgnoringTolerance(d.body, d.sig, side.secret)
			mustf(t, err, "ConstructEvent")
			seen[ev.Type]++
		}
	}
	return seen
}

// TestBalancesAddUp runs a marketplace's month through the emulator:
// direct, destination and separate charges with fees, refunds, reversals,
// fee refunds, a lost and a won dispute, automatic and manual payouts and
// a failed one. After each step every account's balance is the sum of its
// balance transactions.
func TestBalancesAddUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.hookAll()
	direct, dest, sep := e.connected(), e.connected(), e.connected()
	e.manualPayouts(emulator.DefaultPlatformAccount)
	accounts := []string{"", direct, dest, sep}
	step := func() {
		t.Helper()
		for _, a := range accounts {
			balanceAddsUp(t, e, a)
		}
	}
	pay := func(p *stripe.PaymentIntentCreateParams) *stripe.PaymentIntent {
		t.Helper()
		p.Currency, p.Confirm = stripe.String("usd"), stripe.Bool(true)
		pi, err := e.sc.V1PaymentIntents.Create(ctx(), p)
		mustf(t, err, "payment")
		return pi
	}

	// Direct charge with the platform's fee, partly refunded with the fee.
	d1 := pay(&stripe.PaymentIntentCreateParams{Amount: stripe.Int64(10000), PaymentMethod: stripe.String("pm_card_visa"),
		ApplicationFeeAmount: stripe.Int64(700), Params: onAccount(direct)})
	_, err := e.sc.V1Refunds.Create(ctx(), &stripe.RefundCreateParams{PaymentIntent: stripe.String(d1.ID), Amount: stripe.Int64(2500),
		RefundApplicationFee: stripe.Bool(true), Params: onAccount(direct)})
	mustf(t, err, "direct refund")
	step()

	// A disputed direct charge, lost by accepting it.
	d2 := pay(&stripe.PaymentIntentCreateParams{Amount: stripe.Int64(4000), PaymentMethod: stripe.String("pm_card_createDispute"),
		ApplicationFeeAmount: stripe.Int64(300), Params: onAccount(direct)})
	du := disputeOf(t, e, direct, d2.LatestCharge.ID)
	_, err = e.sc.V1Disputes.Close(ctx(), du.ID, &stripe.DisputeCloseParams{Params: onAccount(direct)})
	mustf(t, err, "accept dispute")
	step()

	// Destination charge with a fee, refunded with the transfer reversed.
	p1 := pay(&stripe.PaymentIntentCreateParams{Amount: stripe.Int64(20000), PaymentMethod: stripe.String("pm_card_visa"),
		ApplicationFeeAmount: stripe.Int64(2000), OnBehalfOf: stripe.String(dest),
		TransferData: &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(dest)}})
	_, err = e.sc.V1Refunds.Create(ctx(), &stripe.RefundCreateParams{Charge: stripe.String(p1.LatestCharge.ID), Amount: stripe.Int64(5000),
		ReverseTransfer: stripe.Bool(true), RefundApplicationFee: stripe.Bool(true)})
	mustf(t, err, "destination refund")
	step()

	// A disputed destination charge, won with test evidence.
	p2 := pay(&stripe.PaymentIntentCreateParams{Amount: stripe.Int64(6000), PaymentMethod: stripe.String("pm_card_createDispute"),
		TransferData: &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(dest)}})
	du = disputeOf(t, e, "", p2.LatestCharge.ID)
	_, err = e.sc.V1Disputes.Update(ctx(), du.ID, &stripe.DisputeUpdateParams{Evidence: &stripe.DisputeUpdateEvidenceParams{
		UncategorizedText: stripe.String("winning_evidence")}})
	mustf(t, err, "submit evidence")
	step()

	// Separate charge and transfers, one partly reversed.
	s1 := pay(&stripe.PaymentIntentCreateParams{Amount: stripe.Int64(9000), PaymentMethod: stripe.String("pm_card_visa"),
		TransferGroup: stripe.String("order-7")})
	tr, err := e.sc.V1Transfers.Create(ctx(), &stripe.TransferCreateParams{Amount: stripe.Int64(5000), Currency: stripe.String("usd"),
		Destination: stripe.String(sep), SourceTransaction: stripe.String(s1.LatestCharge.ID)})
	mustf(t, err, "transfer")
	_, err = e.sc.V1TransferReversals.Create(ctx(), &stripe.TransferReversalCreateParams{ID: stripe.String(tr.ID), Amount: stripe.Int64(1000)})
	mustf(t, err, "reversal")
	step()

	// The month passes: funds become available, the dispute is won,
	// connected accounts are paid out daily and the platform by hand.
	for day := 0; day < 5; day++ {
		e.srv.Advance(24 * time.Hour)
		step()
	}
	po, err := e.sc.V1Payouts.Create(ctx(), &stripe.PayoutCreateParams{Amount: stripe.Int64(available(t, e, "")), Currency: stripe.String("usd")})
	mustf(t, err, "platform payout")
	step()
	failing, err := e.sc.V1BankAccounts.Create(ctx(), &stripe.BankAccountCreateParams{Account: stripe.String(sep),
		Country: stripe.String("US"), Currency: stripe.String("usd"), RoutingNumber: stripe.String("110000000"),
		AccountNumber: stripe.String("000111111113"), DefaultForCurrency: stripe.Bool(true)})
	mustf(t, err, "failing bank account")
	s2 := pay(&stripe.PaymentIntentCreateParams{Amount: stripe.Int64(3000), PaymentMethod: stripe.String("pm_card_bypassPending")})
	_, err = e.sc.V1Transfers.Create(ctx(), &stripe.TransferCreateParams{Amount: stripe.Int64(2000), Currency: stripe.String("usd"),
		Destination: stripe.String(sep), SourceTransaction: stripe.String(s2.LatestCharge.ID)})
	mustf(t, err, "transfer to the failing bank's account")
	for day := 0; day < 4; day++ {
		e.srv.Advance(24 * time.Hour)
		step()
	}
	got, err := e.sc.V1Payouts.Retrieve(ctx(), po.ID, nil)
	mustf(t, err, "platform payout")
	if got.Status != stripe.PayoutStatusPaid {
		t.Fatalf("platform payout %s", got.Status)
	}
	var failed *stripe.Payout
	for p, err := range e.sc.V1Payouts.List(ctx(), &stripe.PayoutListParams{ListParams: stripe.ListParams{StripeAccount: stripe.String(sep)},
		Status: stripe.String("failed")}).All(ctx()) {
		mustf(t, err, "failed payouts")
		failed = p
	}
	if failed == nil || failed.Destination.ID != failing.ID || failed.FailureCode != "account_closed" {
		t.Fatalf("failed payout %+v", failed)
	}
	seen := h.check(t)
	for _, typ := range []stripe.EventType{"charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated",
		"charge.dispute.closed", "payout.created", "payout.paid", "payout.failed", "balance.available", "account.external_account.created"} {
		if seen[typ] == 0 {
			t.Errorf("no %s delivered: %v", typ, seen)
		}
	}
}
