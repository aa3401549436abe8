package emulator

import (
	"encoding/gob"
	"slices"
	"strings"
	"time"
)

func init() { gob.Register(&Dispute{}) }

// DisputeStatus is a dispute's status.
type DisputeStatus string

// Dispute statuses. An inquiry (a retrieval request) moves through the
// warning_ ones and moves no money unless it is lost.
const (
	DisputeNeedsResponse        DisputeStatus = "needs_response"
	DisputeUnderReview          DisputeStatus = "under_review"
	DisputeWon                  DisputeStatus = "won"
	DisputeLost                 DisputeStatus = "lost"
	DisputeWarningNeedsResponse DisputeStatus = "warning_needs_response"
	DisputeWarningUnderReview   DisputeStatus = "warning_under_review"
	DisputeWarningClosed        DisputeStatus = "warning_closed"
)

// disputeCard is how the charges of a dispute test card are disputed.
type disputeCard struct {
	Reason string
	// Inquiry marks a retrieval request: status warning_needs_response, no
	// funds withdrawn.
	Inquiry bool
	// NetworkReasonCode is the Visa code Stripe's dispute categories page
	// maps to Reason (10.4 "Other Fraud – Card Absent Environment", 33
	// "Fraud analysis request").
	NetworkReasonCode string
}

// disputeCards are the test cards of https://docs.stripe.com/testing#disputes
// whose charges succeed and are then disputed, by card number.
var disputeCards = map[string]disputeCard{
	"4000000000000259": {Reason: "fraudulent", NetworkReasonCode: "10.4"},
	"4000000000001976": {Reason: "fraudulent", Inquiry: true, NetworkReasonCode: "33"},
}

// Test-mode evidence: uncategorized_text set to one of these and submitted
// decides the dispute (docs.stripe.com/testing#evidence).
const (
	winningEvidence = "winning_evidence"
	losingEvidence  = "losing_evidence"
)

// Times of the dispute process on the emulator clock. Stripe's test mode
// decides submitted test evidence within minutes; its docs give no figure,
// so the emulator waits disputeDecisionDelay. Evidence is due at the end of
// the UTC day disputeResponseDays after the dispute opens (Stripe: 7 to 21
// days depending on the network; the emulator takes the shortest).
const (
	disputeDecisionDelay = 5 * time.Minute
	disputeResponseDays  = 7
)

// evidenceFields are the evidence parameters Stripe accepts, with their
// maximum lengths; file fields take a file id.
var evidenceFields = []struct {
	name string
	max  int
}{
	{"access_activity_log", 20000}, {"billing_address", 5000}, {"cancellation_policy", 5000},
	{"cancellation_policy_disclosure", 20000}, {"cancellation_rebuttal", 20000},
	{"customer_communication", 5000}, {"customer_email_address", 5000}, {"customer_name", 5000},
	{"customer_purchase_ip", 5000}, {"customer_signature", 5000}, {"duplicate_charge_documentation", 5000},
	{"duplicate_charge_explanation", 20000}, {"duplicate_charge_id", 5000}, {"product_description", 20000},
	{"receipt", 5000}, {"refund_policy", 5000}, {"refund_policy_disclosure", 20000},
	{"refund_refusal_explanation", 20000}, {"service_date", 5000}, {"service_documentation", 5000},
	{"shipping_address", 5000}, {"shipping_carrier", 5000}, {"shipping_date", 5000},
	{"shipping_documentation", 5000}, {"shipping_tracking_number", 5000}, {"uncategorized_file", 5000},
	{"uncategorized_text", 20000},
}

// maxEvidenceChars is Stripe's limit on all evidence fields together.
const maxEvidenceChars = 150_000

// Dispute is a cardholder's dispute of a charge. It lives on the charge's
// account: the connected account for direct charges, the platform for
// destination charges and separate charges and transfers.
type Dispute struct {
	Meta
	Amount        int64
	Currency      string
	Charge        string
	PaymentIntent string
	Reason        string
	Status        DisputeStatus
	Inquiry       bool
	Brand         string
	NetworkReason string
	// Evidence holds the evidence fields set, by name.
	Evidence    Metadata
	Submissions int64
	DueBy       int64
	Metadata    Metadata
	// BalanceTxns are the withdrawal and any reinstatement, oldest first;
	// the slice is replaced, never changed in place, as events share it.
	BalanceTxns []string
	// Outcome is what submitted test evidence decides ("won", "lost"), at
	// DecideAt; DecideAt is zero when no decision is pending.
	Outcome  DisputeStatus
	DecideAt int64
}

func (d *Dispute) needsResponse() bool {
	return d.Status == DisputeNeedsResponse || d.Status == DisputeWarningNeedsResponse
}

func (d *Dispute) closed() bool {
	return d.Status == DisputeWon || d.Status == DisputeLost || d.Status == DisputeWarningClosed
}

// dueJobs queues the decision of submitted evidence and the expiry of an
// unanswered dispute.
func (d *Dispute) dueJobs(sc *schedule) {
	if d.DecideAt > 0 {
		sc.add(job{At: d.DecideAt, Kind: jobDisputeDecide, ID: d.ID})
	}
	if d.needsResponse() {
		sc.add(job{At: d.DueBy, Kind: jobDisputeExpire, ID: d.ID})
	}
}

func (d *Dispute) render(st *state) obj {
	evidence := obj{}
	for _, f := range evidenceFields {
		v, _ := d.Evidence.get(f.name)
		evidence = append(evidence, field{f.name, strOrNil(v)})
	}
	evidence = append(evidence, field{"enhanced_evidence", obj{}})
	bts := make([]any, 0, len(d.BalanceTxns))
	for _, id := range d.BalanceTxns {
		if bt, ok := st.Objects.get(id).(*BalanceTransaction); ok {
			bts = append(bts, bt.render(st))
		}
	}
	caseType := "chargeback"
	if d.Inquiry {
		caseType = "inquiry"
	}
	return obj{
		{"id", d.ID}, {"object", "dispute"},
		{"amount", d.Amount}, {"balance_transactions", bts}, {"charge", ref(d.Charge)},
		{"created", d.Created}, {"currency", d.Currency}, {"enhanced_eligibility_types", []string{}},
		{"evidence", evidence},
		{"evidence_details", obj{{"due_by", d.DueBy}, {"enhanced_eligibility", obj{}},
			{"has_evidence", len(d.Evidence) > 0}, {"past_due", false}, {"submission_count", d.Submissions}}},
		{"is_charge_refundable", d.Inquiry && d.needsResponse()},
		{"livemode", false}, {"metadata", d.Metadata.orEmpty()}, {"payment_intent", ref(d.PaymentIntent)},
		{"payment_method_details", obj{{"card", obj{{"brand", d.Brand}, {"case_type", caseType},
			{"network", d.Brand}, {"network_reason_code", d.NetworkReason}}}, {"type", "card"}}},
		{"reason", d.Reason}, {"status", string(d.Status)},
	}
}

// disputeLater marks a just-captured charge of a dispute test card to be
// disputed: the dispute opens when the scheduler next runs, after the
// request that made the charge, as Stripe's arrives after the charge.
func (c *call) disputeLater(ch *Charge) {
	pm, ok := c.st.Objects.get(ch.PaymentMethod).(*PaymentMethod)
	if !ok || ch.extra().Dispute != "" {
		return
	}
	if _, ok := disputeCards[pm.Number]; ok {
		c.touch(ch)
		ch.edit().DisputeDue = c.now
		ch.dueJobs(c.st.sched)
	}
}

// dueJobs queues the opening of a dispute test card's dispute.
func (ch *Charge) dueJobs(sc *schedule) {
	if due := ch.extra().DisputeDue; due > 0 {
		sc.add(job{At: due, Kind: jobDisputeOpen, ID: ch.ID})
	}
}

// disputedAmount is what of a charge can still be disputed: the captured
// amount less refunds of it. AmountRefunded also counts what a partial
// capture released.
func (ch *Charge) disputedAmount() int64 {
	refunded := ch.AmountRefunded - (ch.Amount - ch.AmountCaptured)
	return ch.AmountCaptured - refunded
}

// openDispute opens the dispute of a charge marked by disputeLater: a
// chargeback withdraws the amount and the dispute fee at once.
func (c *call) openDispute(chargeID string) {
	ch, ok := c.st.Objects.get(chargeID).(*Charge)
	if !ok || ch.extra().DisputeDue == 0 {
		return
	}
	c.touch(ch)
	ch.edit().DisputeDue = 0
	amount := ch.disputedAmount()
	pm, _ := c.st.Objects.get(ch.PaymentMethod).(*PaymentMethod)
	if amount <= 0 || pm == nil {
		return // refunded in full first: nothing left to dispute
	}
	dc := disputeCards[pm.Number]
	dayStart := c.now - c.now%86400
	d := &Dispute{
		Meta:   Meta{ID: c.st.newID("du"), Acct: ch.Acct, Created: c.now},
		Amount: amount, Currency: ch.Currency, Charge: ch.ID, PaymentIntent: ch.PaymentIntent,
		Reason: dc.Reason, Status: DisputeNeedsResponse, Inquiry: dc.Inquiry,
		Brand: pm.card().Brand, NetworkReason: dc.NetworkReasonCode,
		DueBy: dayStart + (disputeResponseDays+1)*86400 - 1,
	}
	if d.Inquiry {
		d.Status = DisputeWarningNeedsResponse
	}
	ch.edit().Dispute = d.ID
	c.st.put(d)
	d.dueJobs(c.st.sched)
	c.emit("charge.dispute.created", d)
	if !d.Inquiry {
		c.withdrawDisputed(d)
	}
}

// withdrawDisputed books the disputed amount and the dispute fee out of the
// charge's account. Like the charge's own funds, the debit settles after
// the account's availability delay.
func (c *call) withdrawDisputed(d *Dispute) {
	fee := c.s.feeFor(d.Currency).Dispute
	bt := c.addBT(d.Acct, BTAdjustment, -d.Amount, fee, 0, d.Currency, d.ID, c.availableOn(d.Acct))
	bt.Category, bt.Description = "dispute", "Chargeback withdrawal for "+d.Charge
	d.BalanceTxns = append(slices.Clip(d.BalanceTxns), bt.ID)
	c.emit("charge.dispute.funds_withdrawn", d)
}

// reinstateDisputed returns the disputed amount of a won dispute; Stripe
// keeps the dispute fee.
func (c *call) reinstateDisputed(d *Dispute) {
	bt := c.addBT(d.Acct, BTAdjustment, d.Amount, 0, 0, d.Currency, d.ID, c.availableOn(d.Acct))
	bt.Category, bt.Description = "dispute_reversal", "Chargeback reversal for "+d.Charge
	d.BalanceTxns = append(slices.Clip(d.BalanceTxns), bt.ID)
	c.emit("charge.dispute.funds_reinstated", d)
}

// decideDispute applies the outcome test evidence asked for. A won
// chargeback gets its funds back; a lost inquiry becomes a lost chargeback,
// its funds withdrawn then.
func (c *call) decideDispute(id string) {
	d, ok := c.st.Objects.get(id).(*Dispute)
	if !ok || d.DecideAt == 0 || d.closed() {
		return
	}
	d.DecideAt = 0
	switch {
	case d.Outcome == DisputeWon && d.Inquiry:
		d.Status = DisputeWarningClosed
	case d.Outcome == DisputeWon:
		d.Status = DisputeWon
		c.reinstateDisputed(d)
	case d.Inquiry:
		d.Status = DisputeLost
		c.withdrawDisputed(d)
	default:
		d.Status = DisputeLost
	}
	c.emit("charge.dispute.closed", d)
}

// expireDispute closes a dispute whose evidence due date passed without a
// response: a chargeback is lost, an inquiry closes.
func (c *call) expireDispute(id string) {
	d, ok := c.st.Objects.get(id).(*Dispute)
	if !ok || !d.needsResponse() || c.now < d.DueBy {
		return
	}
	d.Status = DisputeLost
	if d.Inquiry {
		d.Status = DisputeWarningClosed
	}
	c.emit("charge.dispute.closed", d)
}

// chargeDisputed refuses refunds of a charged-back charge: its funds have
// already gone back to the cardholder. An inquiry can still be refunded.
func (c *call) chargeDisputed(ch *Charge) *Error {
	d, ok := c.st.Objects.get(ch.extra().Dispute).(*Dispute)
	if !ok || d.Inquiry && d.needsResponse() {
		return nil
	}
	return invalidRequestCode("charge_disputed", "charge", "Charge %s has been charged back; cannot issue a refund.", ch.ID)
}

func (c *call) dispute() (*Dispute, *Error) {
	return get[*Dispute](c.st, c.acct, c.r.PathValue("id"), "dispute", "dispute")
}

func handleDisputeRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return c.dispute()
}

func handleDisputeList(c *call) (any, *Error) {
	chID, _ := c.p.str("charge")
	piID, _ := c.p.str("payment_intent")
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("dispute", "/v1/disputes", c.st.Lists[listKey{c.acct, "dispute"}], func(o object) bool {
		d := o.(*Dispute)
		return created(d.Created) && (chID == "" || d.Charge == chID) && (piID == "" || d.PaymentIntent == piID)
	})
}

// handleDisputeUpdate stages or submits evidence and updates metadata.
// Sending evidence submits it unless submit=false, as Stripe's submit
// defaults to true.
func handleDisputeUpdate(c *call) (any, *Error) {
	d, err := c.dispute()
	if err != nil {
		return nil, err
	}
	evidence, hasEvidence := c.evidenceParams(d.Evidence)
	submit, hasSubmit := c.p.boolean("submit")
	md := c.p.metadata(d.Metadata)
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if !hasSubmit {
		submit = hasEvidence
	}
	if (hasEvidence || submit) && !d.needsResponse() {
		return nil, invalidRequest("evidence", "Dispute %s no longer accepts evidence: its status is %s.", d.ID, d.Status)
	}
	d.Metadata, d.Evidence = md, evidence
	if submit {
		c.submitEvidence(d)
	}
	c.emit("charge.dispute.updated", d)
	return d, nil
}

// evidenceParams reads evidence[…] over the evidence already staged; an
// empty value clears a field.
func (c *call) evidenceParams(old Metadata) (Metadata, bool) {
	if !c.p.has("evidence") {
		return old, false
	}
	out, total := old, 0
	for _, f := range evidenceFields {
		v, ok := c.p.str("evidence", f.name)
		if !ok {
			continue
		}
		if len(v) > f.max {
			c.p.fail(invalidRequest("evidence["+f.name+"]", "evidence[%s] can have up to %d characters.", f.name, f.max))
		}
		out = out.without(f.name)
		if v != "" {
			out = append(slices.Clip(out), KV{f.name, v})
		}
	}
	if n := c.p.node("evidence", "enhanced_evidence"); n != nil {
		n.markUsed() // Visa CE 3.0 and compliance evidence is not modelled
	}
	for _, kv := range out {
		total += len(kv.V)
	}
	if total > maxEvidenceChars {
		c.p.fail(invalidRequest("evidence", "The combined length of all evidence fields can be at most %d characters.", maxEvidenceChars))
	}
	return out, true
}

// submitEvidence sends the staged evidence to the issuer; test evidence
// schedules the decision.
func (c *call) submitEvidence(d *Dispute) {
	d.Submissions++
	d.Status = DisputeUnderReview
	if d.Inquiry {
		d.Status = DisputeWarningUnderReview
	}
	text, _ := d.Evidence.get("uncategorized_text")
	switch strings.TrimSpace(text) {
	case winningEvidence:
		d.Outcome = DisputeWon
	case losingEvidence:
		d.Outcome = DisputeLost
	default:
		return // decided by no one: it stays under review, as in test mode
	}
	d.DecideAt = c.now + int64(disputeDecisionDelay/time.Second)
	d.dueJobs(c.st.sched)
}

// handleDisputeClose accepts a dispute: a chargeback is lost, an inquiry
// closes.
func handleDisputeClose(c *call) (any, *Error) {
	d, err := c.dispute()
	if err != nil {
		return nil, err
	}
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if !d.needsResponse() {
		return nil, stateError("", "Dispute %s cannot be closed: its status is %s.", d.ID, d.Status)
	}
	d.Status = DisputeLost
	if d.Inquiry {
		d.Status = DisputeWarningClosed
	}
	c.emit("charge.dispute.closed", d)
	return d, nil
}
