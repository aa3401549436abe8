package emulator_test

import (
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tenderpay/tender/emulator"
)

// disputeOf finds the dispute of a charge on acct ("" for the platform).
// The dispute opens after the request that made the charge, so this, the
// next request, sees it.
func disputeOf(t *testing.T, e *env, acct, charge string) *stripe.Dispute {
	t.Helper()
	lp := &stripe.DisputeListParams{Charge: stripe.String(charge)}
	lp.StripeAccount = accountParams(acct).StripeAccount
	ds := all(t, e.sc.V1Disputes.List(ctx(), lp).All(ctx()))
	if len(ds) != 1 {
		t.Fatalf("%d disputes of %s", len(ds), charge)
	}
	return ds[0]
}

// TestDisputeWon follows a disputed direct charge on a connected account:
// the chargeback withdraws the amount and the dispute fee from the
// connected account, test evidence wins it within minutes of emulator
// time, the amount comes back and the fee does not.
func TestDisputeWon(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.hookAll()
	acct := e.connected()
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(10000),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_createDispute"), Confirm: stripe.Bool(true),
		ApplicationFeeAmount: stripe.Int64(1000), Params: onAccount(acct)})
	mustf(t, err, "charge")
	if pi.Status != stripe.PaymentIntentStatusSucceeded || pi.LatestCharge.Disputed {
		t.Fatalf("the charge succeeds first: %s disputed=%v", pi.Status, pi.LatestCharge.Disputed)
	}
	du := disputeOf(t, e, acct, pi.LatestCharge.ID)
	if du.Status != stripe.DisputeStatusNeedsResponse || du.Reason != stripe.DisputeReasonFraudulent || du.Amount != 10000 ||
		du.Currency != "usd" || du.Charge.ID != pi.LatestCharge.ID || du.PaymentIntent.ID != pi.ID || du.IsChargeRefundable ||
		du.EvidenceDetails.DueBy <= du.Created || du.EvidenceDetails.HasEvidence || du.PaymentMethodDetails.Card.CaseType != "chargeback" {
		t.Fatalf("dispute %+v", du)
	}
	if len(du.BalanceTransactions) != 1 {
		t.Fatalf("%d balance transactions", len(du.BalanceTransactions))
	}
	bt := du.BalanceTransactions[0]
	if bt.Type != stripe.BalanceTransactionTypeAdjustment || bt.ReportingCategory != "dispute" || bt.Amount != -10000 ||
		bt.Fee != 1500 || bt.Net != -11500 || bt.Source.ID != du.ID || bt.FeeDetails[0].Description != "Dispute fee" {
		t.Fatalf("withdrawal %+v", bt)
	}
	got, err := e.sc.V1Disputes.Retrieve(ctx(), du.ID, &stripe.DisputeRetrieveParams{Params: onAccount(acct),
		Expand: []*string{stripe.String("charge")}})
	mustf(t, err, "dispute.Get")
	if !got.Charge.Disputed {
		t.Fatal("the charge is not marked disputed")
	}
	_, err = e.sc.V1Disputes.Retrieve(ctx(), du.ID, nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("the platform sees a connected account's dispute: %+v", se)
	}
	_, err = e.sc.V1Refunds.Create(ctx(), &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Params: onAccount(acct)})
	if se := stripeErr(t, err); se.Code != stripe.ErrorCodeChargeDisputed {
		t.Fatalf("refund of a charged-back charge: %+v", se)
	}
	balanceAddsUp(t, e, acct)
	balanceAddsUp(t, e, "")

	du, err = e.sc.V1Disputes.Update(ctx(), du.ID, &stripe.DisputeUpdateParams{Params: onAccount(acct),
		Evidence: &stripe.DisputeUpdateEvidenceParams{UncategorizedText: stripe.String("winning_evidence"),
			CustomerEmailAddress: stripe.String("ada@example.com")},
		Metadata: map[string]string{"case": "7"}})
	mustf(t, err, "submit evidence")
	if du.Status != stripe.DisputeStatusUnderReview || du.EvidenceDetails.SubmissionCount != 1 || !du.EvidenceDetails.HasEvidence ||
		du.Evidence.CustomerEmailAddress != "ada@example.com" || du.Metadata["case"] != "7" {
		t.Fatalf("submitted %+v", du)
	}
	_, err = e.sc.V1Disputes.Update(ctx(), du.ID, &stripe.DisputeUpdateParams{Params: onAccount(acct),
		Evidence: &stripe.DisputeUpdateEvidenceParams{ProductDescription: stripe.String("more")}})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 {
		t.Fatalf("evidence after submission: %+v", se)
	}
	e.srv.Advance(4 * time.Minute)
	du, err = e.sc.V1Disputes.Retrieve(ctx(), du.ID, &stripe.DisputeRetrieveParams{Params: onAccount(acct)})
	mustf(t, err, "dispute")
	if du.Status != stripe.DisputeStatusUnderReview {
		t.Fatalf("decided after 4 minutes: %s", du.Status)
	}
	e.srv.Advance(time.Minute)
	du, err = e.sc.V1Disputes.Retrieve(ctx(), du.ID, &stripe.DisputeRetrieveParams{Params: onAccount(acct)})
	mustf(t, err, "dispute")
	if du.Status != stripe.DisputeStatusWon || len(du.BalanceTransactions) != 2 {
		t.Fatalf("after the decision: %s with %d transactions", du.Status, len(du.BalanceTransactions))
	}
	if back := du.BalanceTransactions[1]; back.Amount != 10000 || back.Fee != 0 || back.ReportingCategory != "dispute_reversal" {
		t.Fatalf("reinstatement %+v", back)
	}
	balanceAddsUp(t, e, acct)
	balanceAddsUp(t, e, "")

	seen := h.check(t)
	for typ, n := range map[stripe.EventType]int{"charge.dispute.created": 1, "charge.dispute.funds_withdrawn": 1,
		"charge.dispute.updated": 1, "charge.dispute.funds_reinstated": 1, "charge.dispute.closed": 1} {
		if seen[typ] != n {
			t.Errorf("%d %s, want %d (%v)", seen[typ], typ, n, seen)
		}
	}
}

// TestDisputeLost: a destination charge's dispute lives on the platform;
// evidence can be staged before it is submitted, losing evidence loses
// it; an unanswered dispute is lost when its evidence is due.
func TestDisputeLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.hookAll()
	acct := e.connected()
	e.manualPayouts(emulator.DefaultPlatformAccount)
	e.manualPayouts(acct)
	charge := func() *stripe.PaymentIntent {
		pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(5000),
			Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_createDispute"), Confirm: stripe.Bool(true),
			TransferData: &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(acct)}})
		mustf(t, err, "destination charge")
		return pi
	}
	pi := charge()
	du := disputeOf(t, e, "", pi.LatestCharge.ID)
	du, err := e.sc.V1Disputes.Update(ctx(), du.ID, &stripe.DisputeUpdateParams{Submit: stripe.Bool(false),
		Evidence: &stripe.DisputeUpdateEvidenceParams{UncategorizedText: stripe.String("losing_evidence")}})
	mustf(t, err, "stage evidence")
	if du.Status != stripe.DisputeStatusNeedsResponse || !du.EvidenceDetails.HasEvidence || du.EvidenceDetails.SubmissionCount != 0 {
		t.Fatalf("staged %+v", du.EvidenceDetails)
	}
	du, err = e.sc.V1Disputes.Update(ctx(), du.ID, &stripe.DisputeUpdateParams{Submit: stripe.Bool(true)})
	mustf(t, err, "submit staged evidence")
	if du.Status != stripe.DisputeStatusUnderReview || du.Evidence.UncategorizedText != "losing_evidence" {
		t.Fatalf("submitted %+v", du)
	}
	e.srv.Advance(5 * time.Minute)
	du, err = e.sc.V1Disputes.Retrieve(ctx(), du.ID, nil)
	mustf(t, err, "dispute")
	if du.Status != stripe.DisputeStatusLost || len(du.BalanceTransactions) != 1 {
		t.Fatalf("lost dispute %s with %d transactions", du.Status, len(du.BalanceTransactions))
	}
	_, err = e.sc.V1Disputes.Close(ctx(), du.ID, nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 {
		t.Fatalf("closing a lost dispute: %+v", se)
	}

	// Unanswered: lost at the end of its evidence due date.
	unanswered := disputeOf(t, e, "", charge().LatestCharge.ID)
	e.srv.Advance(time.Duration(unanswered.EvidenceDetails.DueBy-e.srv.Now().Unix()) * time.Second)
	got, err := e.sc.V1Disputes.Retrieve(ctx(), unanswered.ID, nil)
	mustf(t, err, "dispute")
	if got.Status != stripe.DisputeStatusLost {
		t.Fatalf("dispute past its due date: %s", got.Status)
	}
	ds := all(t, e.sc.V1Disputes.List(ctx(), &stripe.DisputeListParams{PaymentIntent: stripe.String(pi.ID)}).All(ctx()))
	if len(ds) != 1 || ds[0].ID != du.ID {
		t.Fatalf("disputes of %s: %d", pi.ID, len(ds))
	}
	if n := len(all(t, e.sc.V1Disputes.List(ctx(), nil).All(ctx()))); n != 2 {
		t.Fatalf("%d disputes", n)
	}
	balanceAddsUp(t, e, "")
	balanceAddsUp(t, e, acct)
	if seen := h.check(t); seen["charge.dispute.closed"] != 2 || seen["charge.dispute.funds_reinstated"] != 0 {
		t.Fatalf("events %v", seen)
	}
}

// TestDisputeInquiry: the inquiry card's charge gets a warning that moves
// no money; accepting it closes it.
func TestDisputeInquiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2500),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_createDisputeInquiry"), Confirm: stripe.Bool(true)})
	mustf(t, err, "charge")
	du := disputeOf(t, e, "", pi.LatestCharge.ID)
	if du.Status != stripe.DisputeStatusWarningNeedsResponse || len(du.BalanceTransactions) != 0 || !du.IsChargeRefundable ||
		du.PaymentMethodDetails.Card.CaseType != "inquiry" {
		t.Fatalf("inquiry %+v", du)
	}
	du, err = e.sc.V1Disputes.Close(ctx(), du.ID, nil)
	mustf(t, err, "close")
	if du.Status != stripe.DisputeStatusWarningClosed {
		t.Fatalf("closed inquiry %s", du.Status)
	}
	balanceAddsUp(t, e, "")
}

// TestDisputeOnRealClock: with the real clock and no request after the
// charge, the scheduler's ticker opens the dispute, and stripe-go's
// webhook.ConstructEvent, which checks the signature's age, accepts it.
func TestDisputeOnRealClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock)
	rc := newReceiver(t, 0)
	we := e.endpoint(rc.ts.URL, false, "charge.dispute.created")
	_, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1500),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_createDispute"), Confirm: stripe.Bool(true)})
	mustf(t, err, "charge")
	d := rc.waitDeliveries(t, 1)[0]
	validateEventBody(t, d.body)
	ev, err := webhook.ConstructEvent(d.body, d.sig, we.Secret)
	mustf(t, err, "ConstructEvent")
	if ev.Type != "charge.dispute.created" || ev.Data.Object["status"] != "needs_response" {
		t.Fatalf("event %s %v", ev.Type, ev.Data.Object["status"])
	}
}
