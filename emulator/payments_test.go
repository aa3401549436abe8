package emulator_test

import (
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

func onAccount(acct string) stripe.Params { return stripe.Params{StripeAccount: stripe.String(acct)} }

func TestManualCapturePartial(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(5000), Currency: stripe.String("usd"), CaptureMethod: stripe.String("manual"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
	mustf(t, err, "create")
	if pi.Status != stripe.PaymentIntentStatusRequiresCapture || pi.AmountCapturable != 5000 || pi.AmountReceived != 0 {
		t.Fatalf("authorized %+v", pi)
	}
	_, err = e.sc.V1PaymentIntents.Capture(ctx(), pi.ID, &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(6000)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "amount_to_capture" {
		t.Fatalf("over-capture: %+v", se)
	}
	pi, err = e.sc.V1PaymentIntents.Capture(ctx(), pi.ID, &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(3000),
		Expand: []*string{stripe.String("latest_charge")}})
	mustf(t, err, "capture")
	if pi.Status != stripe.PaymentIntentStatusSucceeded || pi.AmountReceived != 3000 || pi.AmountCapturable != 0 {
		t.Fatalf("captured %+v", pi)
	}
	ch := pi.LatestCharge
	if !ch.Captured || ch.AmountCaptured != 3000 || ch.BalanceTransaction == nil {
		t.Fatalf("charge %+v", ch)
	}
	_, err = e.sc.V1PaymentIntents.Capture(ctx(), pi.ID, nil)
	se := stripeErr(t, err)
	if se.Code != stripe.ErrorCodePaymentIntentUnexpectedState || se.PaymentIntent == nil {
		t.Fatalf("second capture: %+v", se)
	}
	bt, err := e.sc.V1BalanceTransactions.Retrieve(ctx(), ch.BalanceTransaction.ID, nil)
	mustf(t, err, "bt")
	if bt.Amount != 3000 || bt.Fee != 3000*29/1000+30+0 || bt.Net != bt.Amount-bt.Fee || bt.Type != stripe.BalanceTransactionTypeCharge {
		t.Fatalf("balance transaction %+v", bt)
	}
}

func TestCancelUpdateListRetrieve(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd")})
	mustf(t, err, "create")
	if pi.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || pi.ClientSecret == "" {
		t.Fatalf("%+v", pi)
	}
	pi, err = e.sc.V1PaymentIntents.Update(ctx(), pi.ID, &stripe.PaymentIntentUpdateParams{Amount: stripe.Int64(1200),
		PaymentMethod: stripe.String("pm_card_visa"), Metadata: map[string]string{"k": "v"}})
	mustf(t, err, "update")
	if pi.Amount != 1200 || pi.Status != stripe.PaymentIntentStatusRequiresConfirmation || pi.Metadata["k"] != "v" {
		t.Fatalf("updated %+v", pi)
	}
	pi, err = e.sc.V1PaymentIntents.Cancel(ctx(), pi.ID, &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("requested_by_customer")})
	mustf(t, err, "cancel")
	if pi.Status != stripe.PaymentIntentStatusCanceled || pi.CanceledAt == 0 {
		t.Fatalf("canceled %+v", pi)
	}
	_, err = e.sc.V1PaymentIntents.Confirm(ctx(), pi.ID, nil)
	if se := stripeErr(t, err); se.Code != stripe.ErrorCodePaymentIntentUnexpectedState {
		t.Fatalf("confirm canceled: %+v", se)
	}
	// Cancelling an authorization releases it.
	auth, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(900), Currency: stripe.String("usd"),
		CaptureMethod: stripe.String("manual"), PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
	mustf(t, err, "auth")
	auth, err = e.sc.V1PaymentIntents.Cancel(ctx(), auth.ID, nil)
	mustf(t, err, "cancel auth")
	ch, err := e.sc.V1Charges.Retrieve(ctx(), auth.LatestCharge.ID, nil)
	mustf(t, err, "charge")
	if !ch.Refunded || ch.AmountRefunded != 900 {
		t.Fatalf("released charge %+v", ch)
	}
	n := 0
	for _, err := range e.sc.V1PaymentIntents.List(ctx(), &stripe.PaymentIntentListParams{}).All(ctx()) {
		mustf(t, err, "list")
		n++
	}
	if n != 2 {
		t.Fatalf("listed %d", n)
	}
	got, err := e.sc.V1PaymentIntents.Retrieve(ctx(), pi.ID, nil)
	mustf(t, err, "retrieve")
	if got.CancellationReason != "requested_by_customer" {
		t.Fatalf("%+v", got)
	}
	m := 0
	for _, err := range e.sc.V1Charges.List(ctx(), &stripe.ChargeListParams{PaymentIntent: stripe.String(auth.ID)}).All(ctx()) {
		mustf(t, err, "charges")
		m++
	}
	if m != 1 {
		t.Fatalf("charges for intent: %d", m)
	}
}

// TestDirectChargeWithApplicationFee charges a cloned card on a connected
// account, with the platform's fee, and refunds it with the fee.
func TestDirectChargeWithApplicationFee(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.connected()
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String("shopper@example.com")})
	mustf(t, err, "customer")
	si, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{Customer: stripe.String(cu.ID),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
	mustf(t, err, "setup")

	clone, err := e.sc.V1PaymentMethods.Create(ctx(), &stripe.PaymentMethodCreateParams{
		Customer: stripe.String(cu.ID), PaymentMethod: stripe.String(si.PaymentMethod.ID), Params: onAccount(acct)})
	mustf(t, err, "clone")
	if clone.ID == si.PaymentMethod.ID || clone.Customer != nil || clone.Card.Last4 != "4242" {
		t.Fatalf("clone %+v", clone)
	}
	_, err = e.sc.V1PaymentMethods.Retrieve(ctx(), clone.ID, nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatal("clone visible on the platform")
	}
	// Cloning needs the Stripe-Account header.
	_, err = e.sc.V1PaymentMethods.Create(ctx(), &stripe.PaymentMethodCreateParams{Customer: stripe.String(cu.ID), PaymentMethod: stripe.String(si.PaymentMethod.ID)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 {
		t.Fatalf("clone without header: %+v", se)
	}

	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(10000), Currency: stripe.String("usd"), PaymentMethod: stripe.String(clone.ID),
		ApplicationFeeAmount: stripe.Int64(500), Confirm: stripe.Bool(true), OffSession: stripe.Bool(true),
		Params: onAccount(acct), Expand: []*string{stripe.String("latest_charge.balance_transaction")}})
	mustf(t, err, "direct charge")
	ch := pi.LatestCharge
	if pi.Status != stripe.PaymentIntentStatusSucceeded || ch.ApplicationFee == nil || ch.ApplicationFeeAmount != 500 {
		t.Fatalf("direct charge %+v", ch)
	}
	bt := ch.BalanceTransaction
	stripeFee := int64(10000*29/1000 + 30)
	if bt.Fee != stripeFee+500 || bt.Net != 10000-stripeFee-500 || len(bt.FeeDetails) != 2 {
		t.Fatalf("connected balance transaction %+v", bt)
	}
	fee, err := e.sc.V1ApplicationFees.Retrieve(ctx(), ch.ApplicationFee.ID, nil)
	mustf(t, err, "application fee on platform")
	if fee.Amount != 500 || fee.Account.ID != acct {
		t.Fatalf("fee %+v", fee)
	}
	re, err := e.sc.V1Refunds.Create(ctx(), &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(5000),
		RefundApplicationFee: stripe.Bool(true), Params: onAccount(acct)})
	mustf(t, err, "refund")
	if re.Amount != 5000 || re.Status != stripe.RefundStatusSucceeded {
		t.Fatalf("refund %+v", re)
	}
	fee, err = e.sc.V1ApplicationFees.Retrieve(ctx(), fee.ID, nil)
	mustf(t, err, "fee after refund")
	if fee.AmountRefunded != 250 {
		t.Fatalf("fee refunded %d", fee.AmountRefunded)
	}
	n := 0
	for _, err := range e.sc.V1FeeRefunds.List(ctx(), &stripe.FeeRefundListParams{ID: stripe.String(fee.ID)}).All(ctx()) {
		mustf(t, err, "fee refunds")
		n++
	}
	if n != 1 {
		t.Fatalf("%d fee refunds", n)
	}
	fr, err := e.sc.V1FeeRefunds.Create(ctx(), &stripe.FeeRefundCreateParams{ID: stripe.String(fee.ID), Amount: stripe.Int64(50)})
	mustf(t, err, "fee refund")
	if fr.Amount != 50 {
		t.Fatalf("%+v", fr)
	}
	// Balances add up: the sum of each account's transactions.
	checkBalance(t, e, acct)
	checkBalance(t, e, "")
}

// checkBalance asserts that GET /v1/balance equals the sum of the account's
// balance transactions.
func checkBalance(t *testing.T, e *env, acct string) {
	t.Helper()
	var p stripe.Params
	if acct != "" {
		p.StripeAccount = stripe.String(acct)
	}
	bal, err := e.sc.V1Balance.Retrieve(ctx(), &stripe.BalanceRetrieveParams{Params: p})
	mustf(t, err, "balance")
	var sum int64
	lp := &stripe.BalanceTransactionListParams{}
	lp.StripeAccount = p.StripeAccount
	for bt, err := range e.sc.V1BalanceTransactions.List(ctx(), lp).All(ctx()) {
		mustf(t, err, "bts")
		sum += bt.Net
	}
	var total int64
	for _, a := range bal.Available {
		total += a.Amount
	}
	for _, a := range bal.Pending {
		total += a.Amount
	}
	if total != sum {
		t.Fatalf("balance %d != sum of transactions %d", total, sum)
	}
}

func TestDestinationChargeRefundReversesTransfer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.connected()
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(10000), Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_visa"),
		ApplicationFeeAmount: stripe.Int64(1000), Confirm: stripe.Bool(true), OnBehalfOf: stripe.String(acct),
		TransferData:  &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(acct)},
		TransferGroup: stripe.String("order-1"),
		Expand:        []*string{stripe.String("latest_charge.transfer")}})
	mustf(t, err, "destination charge")
	tr := pi.LatestCharge.Transfer
	if tr == nil || tr.Amount != 10000 || tr.Destination.ID != acct || tr.DestinationPayment == nil {
		t.Fatalf("transfer %+v", tr)
	}
	py, err := e.sc.V1Charges.Retrieve(ctx(), tr.DestinationPayment.ID, &stripe.ChargeRetrieveParams{Params: onAccount(acct), Expand: []*string{stripe.String("balance_transaction")}})
	mustf(t, err, "destination payment")
	if py.BalanceTransaction.Net != 9000 || py.BalanceTransaction.Type != "payment" {
		t.Fatalf("destination payment transaction %+v", py.BalanceTransaction)
	}
	re, err := e.sc.V1Refunds.Create(ctx(), &stripe.RefundCreateParams{Charge: stripe.String(pi.LatestCharge.ID),
		ReverseTransfer: stripe.Bool(true), RefundApplicationFee: stripe.Bool(true)})
	mustf(t, err, "refund")
	if re.TransferReversal == nil {
		t.Fatal("no transfer reversal")
	}
	tr2, err := e.sc.V1Transfers.Retrieve(ctx(), tr.ID, nil)
	mustf(t, err, "transfer")
	if !tr2.Reversed || tr2.AmountReversed != 10000 {
		t.Fatalf("transfer after refund %+v", tr2)
	}
	_, err = e.sc.V1Refunds.Create(ctx(), &stripe.RefundCreateParams{Charge: stripe.String(pi.LatestCharge.ID)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 {
		t.Fatalf("refund beyond amount: %+v", se)
	}
	n := 0
	for _, err := range e.sc.V1Refunds.List(ctx(), &stripe.RefundListParams{PaymentIntent: stripe.String(pi.ID)}).All(ctx()) {
		mustf(t, err, "refunds")
		n++
	}
	got, err := e.sc.V1Refunds.Retrieve(ctx(), re.ID, nil)
	mustf(t, err, "refund retrieve")
	if n != 1 || got.Amount != 10000 {
		t.Fatalf("refunds %d %+v", n, got)
	}
	checkBalance(t, e, acct)
	checkBalance(t, e, "")

	// Connect rules.
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		ApplicationFeeAmount: stripe.Int64(100)})
	if se := stripeErr(t, err); se.Param != "application_fee_amount" {
		t.Fatalf("fee without connect: %+v", se)
	}
	// Nor on the capture of the platform's own charge.
	held, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true), CaptureMethod: stripe.String("manual")})
	mustf(t, err, "authorize on the platform")
	_, err = e.sc.V1PaymentIntents.Capture(ctx(), held.ID, &stripe.PaymentIntentCaptureParams{ApplicationFeeAmount: stripe.Int64(100)})
	if se := stripeErr(t, err); se.Param != "application_fee_amount" {
		t.Fatalf("fee on capturing the platform's charge: %+v", se)
	}
	other := e.connected()
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		OnBehalfOf: stripe.String(other), TransferData: &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(acct)}})
	if se := stripeErr(t, err); se.Param != "on_behalf_of" {
		t.Fatalf("on_behalf_of mismatch: %+v", se)
	}
	pi, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true),
		TransferData: &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(acct), Amount: stripe.Int64(700)},
		Expand:       []*string{stripe.String("latest_charge.transfer")}})
	mustf(t, err, "transfer_data amount")
	if pi.LatestCharge.Transfer.Amount != 700 {
		t.Fatalf("transfer amount %d", pi.LatestCharge.Transfer.Amount)
	}
}

func TestSeparateChargesAndTransfers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.connected(), e.connected()
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(10000), Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_visa"),
		Confirm: stripe.Bool(true), TransferGroup: stripe.String("order-9")})
	mustf(t, err, "charge")
	for _, dest := range []string{a, b} {
		tr, err := e.sc.V1Transfers.Create(ctx(), &stripe.TransferCreateParams{Amount: stripe.Int64(4000), Currency: stripe.String("usd"),
			Destination: stripe.String(dest), SourceTransaction: stripe.String(pi.LatestCharge.ID), TransferGroup: stripe.String("order-9")})
		mustf(t, err, "transfer")
		if tr.SourceTransaction.ID != pi.LatestCharge.ID || tr.TransferGroup != "order-9" {
			t.Fatalf("%+v", tr)
		}
	}
	_, err = e.sc.V1Transfers.Create(ctx(), &stripe.TransferCreateParams{Amount: stripe.Int64(4000), Currency: stripe.String("usd"),
		Destination: stripe.String(a), SourceTransaction: stripe.String(pi.LatestCharge.ID)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 {
		t.Fatalf("over-transfer: %+v", se)
	}
	// Without a source transaction, the platform's available balance counts:
	// card funds are pending for two days.
	_, err = e.sc.V1Transfers.Create(ctx(), &stripe.TransferCreateParams{Amount: stripe.Int64(100), Currency: stripe.String("usd"), Destination: stripe.String(a)})
	if se := stripeErr(t, err); se.Code != stripe.ErrorCodeBalanceInsufficient {
		t.Fatalf("insufficient: %+v", se)
	}
	var trs []*stripe.Transfer
	for tr, err := range e.sc.V1Transfers.List(ctx(), &stripe.TransferListParams{TransferGroup: stripe.String("order-9")}).All(ctx()) {
		mustf(t, err, "list")
		trs = append(trs, tr)
	}
	if len(trs) != 2 {
		t.Fatalf("%d transfers", len(trs))
	}
	rev, err := e.sc.V1TransferReversals.Create(ctx(), &stripe.TransferReversalCreateParams{ID: stripe.String(trs[0].ID), Amount: stripe.Int64(1000)})
	mustf(t, err, "reversal")
	got, err := e.sc.V1TransferReversals.Retrieve(ctx(), rev.ID, &stripe.TransferReversalRetrieveParams{ID: stripe.String(trs[0].ID)})
	mustf(t, err, "retrieve reversal")
	if got.Amount != 1000 {
		t.Fatalf("%+v", got)
	}
	n := 0
	for _, err := range e.sc.V1TransferReversals.List(ctx(), &stripe.TransferReversalListParams{ID: stripe.String(trs[0].ID)}).All(ctx()) {
		mustf(t, err, "list reversals")
		n++
	}
	if n != 1 {
		t.Fatalf("%d reversals", n)
	}
	checkBalance(t, e, "")
	checkBalance(t, e, a)
}

func TestFundsBecomeAvailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Daily automatic payouts would pay the available funds out.
	e.manualPayouts(emulator.DefaultPlatformAccount)
	_, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(10000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
	mustf(t, err, "visa")
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_bypassPending"), Confirm: stripe.Bool(true)})
	mustf(t, err, "bypass pending")
	bal, err := e.sc.V1Balance.Retrieve(ctx(), nil)
	mustf(t, err, "balance")
	fee := func(a int64) int64 { return (a*290+5000)/10000 + 30 }
	if bal.Available[0].Amount != 2000-fee(2000) || bal.Pending[0].Amount != 10000-fee(10000) {
		t.Fatalf("before: available %d pending %d", bal.Available[0].Amount, bal.Pending[0].Amount)
	}
	e.srv.Advance(72 * time.Hour)
	bal, err = e.sc.V1Balance.Retrieve(ctx(), nil)
	mustf(t, err, "balance")
	if bal.Available[0].Amount != 12000-fee(2000)-fee(10000) || bal.Pending[0].Amount != 0 {
		t.Fatalf("after: available %d pending %d", bal.Available[0].Amount, bal.Pending[0].Amount)
	}
	evs := all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{Type: stripe.String("balance.available")}).All(ctx()))
	// One when the bypass-pending funds were available at once, one when
	// the card's funds became available.
	if len(evs) != 2 || evs[0].Data.Object["object"] != "balance" || evs[1].Data.Object["object"] != "balance" {
		t.Fatalf("balance.available events: %d", len(evs))
	}
	if first := evs[1].Data.Object["available"].([]any)[0].(map[string]any)["amount"]; first != float64(2000-fee(2000)) {
		t.Errorf("the first balance.available shows %v available, want the bypass-pending funds %d", first, 2000-fee(2000))
	}
	e.srv.Advance(72 * time.Hour)
	if n := len(all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{Type: stripe.String("balance.available")}).All(ctx()))); n != 2 {
		t.Fatalf("balance.available sent again with nothing new: %d", n)
	}
}
