package chaos

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tenderpay/tender/internal/money"
)

// Class is how one checked object compares with what was expected.
type Class string

// Classes.
const (
	Match     Class = "match"
	Mismatch  Class = "mismatch"
	Missing   Class = "missing"
	Duplicate Class = "duplicate"
)

// Kinds of object the reconciliation checks, in the order it reports them.
const (
	KindPayment        = "payment"         // an accepted POST /v1/payments and Tender's payments with its key
	KindCharge         = "charge"          // an accepted payment and the PaymentIntents that took money for its key
	KindIntent         = "intent"          // a Tender payment and its PaymentIntent at Stripe
	KindRefund         = "refund"          // an accepted POST …/refunds and Tender's refunds with its key
	KindStripeRefund   = "stripe_refund"   // a Tender refund and its refund at Stripe
	KindTransfer       = "transfer"        // a separate charge's transfer and Stripe's
	KindApplicationFee = "application_fee" // a direct or destination charge's fee and Stripe's
	KindFinal          = "final"           // a payment, refund or transfer Tender is done with
)

var kinds = []string{KindPayment, KindCharge, KindIntent, KindRefund, KindStripeRefund, KindTransfer, KindApplicationFee, KindFinal}

// Counts are one kind's results.
type Counts struct{ Match, Mismatch, Missing, Duplicate int }

// Offender is one object that did not match, with why.
type Offender struct {
	Kind   string
	Class  Class
	ID     string
	Detail string
}

// Report is the reconciliation's outcome.
type Report struct {
	Counts    map[string]*Counts
	Offenders []Offender
}

func newReport() *Report {
	r := &Report{Counts: map[string]*Counts{}}
	for _, k := range kinds {
		r.Counts[k] = &Counts{}
	}
	return r
}

// OK reports whether everything matched.
func (r *Report) OK() bool { return len(r.Offenders) == 0 }

// Count returns how many of kind were found in class.
func (r *Report) Count(kind string, class Class) int {
	c := r.Counts[kind]
	switch class {
	case Match:
		return c.Match
	case Mismatch:
		return c.Mismatch
	case Missing:
		return c.Missing
	}
	return c.Duplicate
}

func (r *Report) match(kind string) { r.Counts[kind].Match++ }

func (r *Report) fail(kind string, class Class, id, format string, args ...any) {
	c := r.Counts[kind]
	switch class {
	case Mismatch:
		c.Mismatch++
	case Missing:
		c.Missing++
	case Duplicate:
		c.Duplicate++
	}
	r.Offenders = append(r.Offenders, Offender{Kind: kind, Class: class, ID: id, Detail: fmt.Sprintf(format, args...)})
}

// diffs collects the fields of one object that differ from what was
// expected, so that one object counts once however many fields are off.
type diffs []string

func (d *diffs) int(name string, got, want int64) {
	if got != want {
		*d = append(*d, fmt.Sprintf("%s %d, want %d", name, got, want))
	}
}

func (d *diffs) str(name, got, want string) {
	if got != want {
		*d = append(*d, fmt.Sprintf("%s %q, want %q", name, got, want))
	}
}

// report records the object as a match, or a mismatch listing its diffs.
func (d diffs) report(r *Report, kind, id string) {
	if len(d) == 0 {
		r.match(kind)
		return
	}
	r.fail(kind, Mismatch, id, "%s", strings.Join(d, "; "))
}

// index is the observed data, looked up by the keys the checks use.
type index struct {
	paymentsByKey map[string][]*TenderPayment
	refundsByKey  map[string][]*TenderRefund
	intents       map[string][]StripeIntent // by tender_payment
	chargesByKey  map[string][]StripeIntent // money-taking, by chaos_key
	stripeRefunds map[string][]StripeRefund // by tender_refund
	transfers     map[string][]StripeTransfer
	fees          map[string][]StripeFee // by charge
	orderKeys     map[string]bool
	refundKeys    map[string]bool
}

func newIndex(orders []Order, payments []TenderPayment, st StripeData) *index {
	ix := &index{paymentsByKey: map[string][]*TenderPayment{}, refundsByKey: map[string][]*TenderRefund{},
		intents: map[string][]StripeIntent{}, chargesByKey: map[string][]StripeIntent{}, stripeRefunds: map[string][]StripeRefund{},
		transfers: map[string][]StripeTransfer{}, fees: map[string][]StripeFee{}, orderKeys: map[string]bool{}, refundKeys: map[string]bool{}}
	for i := range payments {
		p := &payments[i]
		ix.paymentsByKey[p.Metadata["chaos_key"]] = append(ix.paymentsByKey[p.Metadata["chaos_key"]], p)
		for j := range p.Refunds {
			k := p.Refunds[j].Metadata["chaos_key"]
			ix.refundsByKey[k] = append(ix.refundsByKey[k], &p.Refunds[j])
		}
	}
	for _, pi := range st.Intents {
		ix.intents[pi.TenderPayment] = append(ix.intents[pi.TenderPayment], pi)
		if takesMoney(pi.Status) {
			ix.chargesByKey[pi.Key] = append(ix.chargesByKey[pi.Key], pi)
		}
	}
	for _, re := range st.Refunds {
		ix.stripeRefunds[re.TenderRefund] = append(ix.stripeRefunds[re.TenderRefund], re)
	}
	for _, tr := range st.Transfers {
		ix.transfers[tr.TenderTransfer] = append(ix.transfers[tr.TenderTransfer], tr)
	}
	for _, f := range st.Fees {
		ix.fees[f.Charge] = append(ix.fees[f.Charge], f)
		if f.Originating != "" && f.Originating != f.Charge {
			ix.fees[f.Originating] = append(ix.fees[f.Originating], f)
		}
	}
	for _, o := range orders {
		ix.orderKeys[o.Key] = true
		for _, ro := range o.Refunds {
			ix.refundKeys[ro.Key] = true
		}
	}
	return ix
}

// Reconcile checks the client's record of orders against Tender's
// payments and the emulator's data: every accepted request has exactly
// one object, every object matches to the unit, and nothing exists that
// no request asked for.
func Reconcile(orders []Order, payments []TenderPayment, st StripeData) *Report {
	r := newReport()
	ix := newIndex(orders, payments, st)
	for i := range orders {
		checkOrder(r, ix, &orders[i])
	}
	checkStrays(r, ix)
	for i := range payments {
		p := &payments[i]
		checkIntent(r, ix, p)
		checkStripeRefunds(r, ix, p)
		checkTransfers(r, ix, p)
		checkFee(r, ix, p)
		checkFinal(r, p)
	}
	return r
}

// checkOrder checks one order's payment, charge and refunds.
func checkOrder(r *Report, ix *index, o *Order) {
	ps := ix.paymentsByKey[o.Key]
	switch {
	case o.Answer == AnswerRefused:
		r.fail(KindPayment, Mismatch, o.Key, "POST /v1/payments was refused; %d payments have its key", len(ps))
		return
	case len(ps) == 0:
		r.fail(KindPayment, Missing, o.Key, "no payment has this key (answer %s)", o.Answer)
		return
	case len(ps) > 1:
		r.fail(KindPayment, Duplicate, o.Key, "%d payments for one Idempotency-Key: %s", len(ps), paymentIDs(ps))
	default:
		checkPayment(r, o, ps[0])
	}
	// A payment still being charged is reported by checkFinal; whether its
	// customer was charged is not known yet, unless it already was twice.
	if len(ps) > 1 || finalPayment(ps[0].Status) {
		checkCharge(r, ix, o)
	}
	for i := range o.Refunds {
		if o.Refunds[i].Answer != "" { // sent
			checkRefund(r, ix, o, &o.Refunds[i])
		}
	}
}

func paymentIDs(ps []*TenderPayment) string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return strings.Join(ids, ", ")
}

// checkPayment compares the one payment made for an order with what the
// client asked for and was answered.
func checkPayment(r *Report, o *Order, p *TenderPayment) {
	var d diffs
	if o.Answer == AnswerNone {
		d = append(d, "no definitive answer to POST /v1/payments")
	}
	if o.CaptureAnswer != "" && o.CaptureAnswer != AnswerOK {
		d = append(d, "capture answered "+string(o.CaptureAnswer))
	}
	d.str("id", p.ID, o.PaymentID)
	d.str("charge_type", p.ChargeType, o.ChargeType)
	d.int("amount", p.Amount, o.Amount)
	if want, ok := expectedStatus(o); ok {
		d.str("status", p.Status, want)
		d.int("amount_captured", p.AmountCaptured, o.captured())
		d.int("application_fee", p.ApplicationFee, min(o.Fee, o.captured()))
		d.int("amount_refunded", p.AmountRefunded, o.refunded())
	}
	d.report(r, KindPayment, o.Key)
}

// expectedStatus is the status an order's payment should end in, when the
// client's record decides it: a card that always succeeds, captured when
// the client's capture was answered.
func expectedStatus(o *Order) (string, bool) {
	switch {
	case o.Skipped != "":
		return "", false
	case !o.Manual || o.Captured:
		return "succeeded", true
	}
	return "requires_capture", true
}

// planned is what the order's payment is to take, once captured.
func (o *Order) planned() int64 {
	if o.Manual && o.CaptureAmount > 0 {
		return o.CaptureAmount
	}
	return o.Amount
}

// captured is what the order's payment should have taken.
func (o *Order) captured() int64 {
	if o.Manual && !o.Captured {
		return 0
	}
	return o.planned()
}

// refunded is what the order's accepted refunds should have given back.
func (o *Order) refunded() int64 {
	var sum int64
	for _, ro := range o.Refunds {
		if ro.Answer == AnswerOK {
			sum += ro.Expected
		}
	}
	return sum
}

// checkCharge counts the PaymentIntents that took money under an order's
// key: the customer's view of exactly-once.
func checkCharge(r *Report, ix *index, o *Order) {
	cs := ix.chargesByKey[o.Key]
	switch {
	case len(cs) == 0:
		r.fail(KindCharge, Missing, o.Key, "no PaymentIntent took money for this key")
	case len(cs) > 1:
		ids := make([]string, len(cs))
		for i, c := range cs {
			ids[i] = fmt.Sprintf("%s (%s, %d)", c.ID, c.TenderPayment, c.AmountReceived)
		}
		r.fail(KindCharge, Duplicate, o.Key, "customer charged %d times for one Idempotency-Key: %s", len(cs), strings.Join(ids, ", "))
	default:
		r.match(KindCharge)
	}
}

// checkRefund compares one refund the client asked for with Tender's.
func checkRefund(r *Report, ix *index, o *Order, ro *RefundOrder) {
	rs := ix.refundsByKey[ro.Key]
	switch {
	case ro.Answer == AnswerRefused:
		r.fail(KindRefund, Mismatch, ro.Key, "refund of %s was refused; %d refunds have its key", o.PaymentID, len(rs))
	case len(rs) == 0:
		r.fail(KindRefund, Missing, ro.Key, "no refund has this key (answer %s)", ro.Answer)
	case len(rs) > 1:
		ids := make([]string, len(rs))
		for i, x := range rs {
			ids[i] = fmt.Sprintf("%s (%d)", x.ID, x.Amount)
		}
		r.fail(KindRefund, Duplicate, ro.Key, "%d refunds for one Idempotency-Key: %s", len(rs), strings.Join(ids, ", "))
	default:
		var d diffs
		if ro.Answer == AnswerNone {
			d = append(d, "no definitive answer to POST …/refunds")
		}
		d.str("id", rs[0].ID, ro.RefundID)
		d.str("status", rs[0].Status, "succeeded")
		d.int("amount", rs[0].Amount, ro.Expected)
		d.report(r, KindRefund, ro.Key)
	}
}

// checkStrays reports payments and refunds no request of the client's
// asked for.
func checkStrays(r *Report, ix *index) {
	for _, k := range sortedKeys(ix.paymentsByKey) {
		if !ix.orderKeys[k] {
			r.fail(KindPayment, Duplicate, paymentIDs(ix.paymentsByKey[k]), "payment with key %q, which no order used", k)
		}
	}
	for _, k := range sortedKeys(ix.refundsByKey) {
		if !ix.refundKeys[k] {
			for _, x := range ix.refundsByKey[k] {
				r.fail(KindRefund, Duplicate, x.ID, "refund with key %q, which no refund request used", k)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// intentAccount is the account a payment's PaymentIntent and refunds live
// on: the merchant's for a direct charge, the platform's ("") otherwise.
func intentAccount(p *TenderPayment) string {
	if p.ChargeType == chargeDirect {
		return p.StripeAccount
	}
	return ""
}

// checkIntent checks that a payment that holds money has exactly one
// PaymentIntent that took it, for its amounts, and one that does not has
// none.
func checkIntent(r *Report, ix *index, p *TenderPayment) {
	var taking []StripeIntent
	for _, pi := range ix.intents[p.ID] {
		if takesMoney(pi.Status) {
			taking = append(taking, pi)
		}
	}
	wantMoney := p.Status == "succeeded" || p.Status == "requires_capture"
	switch {
	case !finalPayment(p.Status):
		return // reported by checkFinal; its intent may still be in flight
	case !wantMoney && len(taking) > 0:
		r.fail(KindIntent, Duplicate, p.ID, "payment %s but PaymentIntent %s is %s", p.Status, taking[0].ID, taking[0].Status)
	case !wantMoney:
		r.match(KindIntent)
	case len(taking) == 0:
		r.fail(KindIntent, Missing, p.ID, "payment %s but no PaymentIntent took money", p.Status)
	case len(taking) > 1:
		r.fail(KindIntent, Duplicate, p.ID, "%d PaymentIntents took money: %s", len(taking), intentIDs(taking))
	default:
		intentDiffs(p, taking[0]).report(r, KindIntent, p.ID)
	}
}

func intentIDs(pis []StripeIntent) string {
	ids := make([]string, len(pis))
	for i, pi := range pis {
		ids[i] = pi.ID
	}
	return strings.Join(ids, ", ")
}

func intentDiffs(p *TenderPayment, pi StripeIntent) diffs {
	var d diffs
	if p.StripeIntent != nil {
		d.str("id", pi.ID, *p.StripeIntent)
	}
	d.str("account", pi.Account, intentAccount(p))
	d.int("amount", pi.Amount, p.Amount)
	if p.Status == "succeeded" {
		d.int("amount_received", pi.AmountReceived, p.AmountCaptured)
	}
	switch p.ChargeType {
	case chargeSeparate:
		d.int("application_fee_amount", pi.ApplicationFee, 0)
	default:
		d.int("application_fee_amount", pi.ApplicationFee, p.ApplicationFee)
	}
	if p.ChargeType == chargeDestination {
		d.str("transfer_data.destination", pi.Destination, p.StripeAccount)
	}
	return d
}

// checkStripeRefunds checks that each refund Tender made is exactly one
// refund at Stripe, on the charge's account, for its amount.
func checkStripeRefunds(r *Report, ix *index, p *TenderPayment) {
	for _, tr := range p.Refunds {
		if tr.Status != "succeeded" {
			continue
		}
		var live []StripeRefund
		for _, sr := range ix.stripeRefunds[tr.ID] {
			if sr.Status != "failed" && sr.Status != "canceled" {
				live = append(live, sr)
			}
		}
		switch {
		case len(live) == 0:
			r.fail(KindStripeRefund, Missing, tr.ID, "refund succeeded at Tender but has no refund at Stripe")
		case len(live) > 1:
			r.fail(KindStripeRefund, Duplicate, tr.ID, "%d refunds at Stripe for one refund", len(live))
		default:
			var d diffs
			if tr.StripeID != nil {
				d.str("id", live[0].ID, *tr.StripeID)
			}
			d.str("account", live[0].Account, intentAccount(p))
			d.int("amount", live[0].Amount, tr.Amount)
			d.report(r, KindStripeRefund, tr.ID)
		}
	}
}

// checkTransfers checks a succeeded separate charge's transfers: the
// amount captured less the platform's fee (and Stripe's, when the
// merchants bear it), shared out over the splits, each made once at
// Stripe for its amount.
func checkTransfers(r *Report, ix *index, p *TenderPayment) {
	if p.ChargeType != chargeSeparate || p.Status != "succeeded" {
		return
	}
	want, err := transferAmounts(p)
	if err != nil {
		r.fail(KindTransfer, Mismatch, p.ID, "%v", err)
		return
	}
	for i, t := range p.Transfers {
		checkTransfer(r, ix, p, t, want[i])
	}
}

func transferAmounts(p *TenderPayment) ([]int64, error) {
	if len(p.Transfers) == 0 {
		return nil, fmt.Errorf("separate charge without transfers")
	}
	left := p.AmountCaptured - p.ApplicationFee
	if p.StripeFeePayer == "merchant" {
		if p.StripeFee == nil {
			return nil, fmt.Errorf("the Stripe fee, which the merchants bear, is not known")
		}
		left -= *p.StripeFee
	}
	weights := make([]int64, len(p.Transfers))
	for i, t := range p.Transfers {
		weights[i] = t.SplitAmount
	}
	return money.Allocate(max(left, 0), weights)
}

func checkTransfer(r *Report, ix *index, p *TenderPayment, t TenderTransfer, want int64) {
	sts := ix.transfers[t.ID]
	switch {
	case t.Status != "paid":
		r.fail(KindTransfer, Mismatch, t.ID, "transfer %s, want paid", t.Status)
	case len(sts) == 0:
		r.fail(KindTransfer, Missing, t.ID, "transfer paid at Tender but none at Stripe")
	case len(sts) > 1:
		r.fail(KindTransfer, Duplicate, t.ID, "%d transfers at Stripe for one transfer", len(sts))
	default:
		var d diffs
		d.int("amount", t.Amount, want)
		d.int("stripe amount", sts[0].Amount, want)
		d.str("destination", sts[0].Destination, t.StripeAccount)
		if refundsFinal(p) {
			d.int("amount_reversed", sts[0].AmountReversed, t.AmountReversed)
		}
		if refundedInFull(p) {
			// Every unit went back to the customer, so every unit
			// transferred must have come back from the merchant.
			d.int("amount_reversed after a full refund", t.AmountReversed, t.Amount)
		}
		if t.StripeTransfer != nil {
			d.str("id", sts[0].ID, *t.StripeTransfer)
		}
		d.report(r, KindTransfer, t.ID)
	}
}

// checkFee checks the application fee Stripe collected on a direct or
// destination charge, and what refunds gave back of it.
func checkFee(r *Report, ix *index, p *TenderPayment) {
	if p.ChargeType == chargeSeparate || p.Status != "succeeded" || p.ApplicationFee == 0 {
		return
	}
	charge := ""
	for _, pi := range ix.intents[p.ID] {
		if pi.Status == "succeeded" && (p.StripeIntent == nil || pi.ID == *p.StripeIntent) {
			charge = pi.Charge
		}
	}
	fs := ix.fees[charge]
	switch {
	case charge == "" || len(fs) == 0:
		r.fail(KindApplicationFee, Missing, p.ID, "no application fee at Stripe for charge %q", charge)
	case len(fs) > 1:
		r.fail(KindApplicationFee, Duplicate, p.ID, "%d application fees on charge %s", len(fs), charge)
	default:
		var d diffs
		d.int("amount", fs[0].Amount, p.ApplicationFee)
		if refundsFinal(p) {
			d.int("amount_refunded", fs[0].AmountRefunded, feeRefunded(p))
		}
		if refundedInFull(p) {
			d.int("amount_refunded after a full refund", fs[0].AmountRefunded, fs[0].Amount)
		}
		d.report(r, KindApplicationFee, p.ID)
	}
}

// refundedInFull says whether succeeded refunds gave back all the payment
// took: the fee and transfers are then given back in full too.
// amount_refunded is not enough: it counts refunds when accepted.
func refundedInFull(p *TenderPayment) bool {
	var sum int64
	for _, tr := range p.Refunds {
		if tr.Status == "succeeded" {
			sum += tr.Amount
		}
	}
	return p.AmountCaptured > 0 && sum == p.AmountCaptured
}

// refundsFinal says whether Tender has finished every refund of p: until
// then the fee and transfers given back may be ahead of or behind what
// the refunds show, and checkFinal reports the refund instead.
func refundsFinal(p *TenderPayment) bool {
	for _, tr := range p.Refunds {
		if !finalRefund(tr.Status) {
			return false
		}
	}
	return true
}

// feeRefunded is what Tender's succeeded refunds gave back of the fee.
func feeRefunded(p *TenderPayment) int64 {
	var sum int64
	for _, tr := range p.Refunds {
		if tr.Status == "succeeded" && tr.FeeRefunded != nil {
			sum += *tr.FeeRefunded
		}
	}
	return sum
}

// checkFinal reports a payment, or a refund or transfer of it, that
// Tender has not finished with.
func checkFinal(r *Report, p *TenderPayment) {
	var open []string
	if !finalPayment(p.Status) {
		open = append(open, "payment "+p.Status)
	}
	for _, tr := range p.Refunds {
		if !finalRefund(tr.Status) {
			open = append(open, "refund "+tr.ID+" "+tr.Status)
		}
	}
	for _, t := range p.Transfers {
		if !finalTransfer(t.Status) {
			open = append(open, "transfer "+t.ID+" "+t.Status)
		}
	}
	if len(open) > 0 {
		r.fail(KindFinal, Mismatch, p.ID, "not final: %s", strings.Join(open, ", "))
		return
	}
	r.match(KindFinal)
}
