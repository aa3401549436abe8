package chaos

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

// scenario is one order's consistent record, Tender view and Stripe data:
// a destination charge of 10,000 with a fee of 500, refunded 2,500, and a
// separate charge of 9,001 with a fee of 1,000 shared 6,001:3,000.
type scenario struct {
	orders   []Order
	payments []TenderPayment
	stripe   StripeData
}

func ptr[T any](v T) *T { return &v }

func newScenario() *scenario {
	return &scenario{
		orders: []Order{
			{Key: "k1", ChargeType: chargeDestination, Amount: 10_000, Fee: 500, Answer: AnswerOK, PaymentID: "pay_1",
				Refunds: []RefundOrder{{Key: "k1-r1", Amount: 2_500, Expected: 2_500, Answer: AnswerOK, RefundID: "ref_1"}}},
			{Key: "k2", ChargeType: chargeSeparate, Amount: 9_001, Fee: 1_000, Answer: AnswerOK, PaymentID: "pay_2",
				Splits: []Split{{"mer_a", 6_001}, {"mer_b", 3_000}}},
		},
		payments: []TenderPayment{
			{ID: "pay_1", Status: "succeeded", ChargeType: chargeDestination, Amount: 10_000, AmountCaptured: 10_000, AmountRefunded: 2_500,
				ApplicationFee: 500, StripeFeePayer: "platform", StripeAccount: "acct_a", StripeIntent: ptr("pi_1"), Metadata: map[string]string{"chaos_key": "k1"},
				Refunds: []TenderRefund{{ID: "ref_1", Payment: "pay_1", Amount: 2_500, Status: "succeeded", FeeRefunded: ptr[int64](125),
					StripeID: ptr("re_1"), Metadata: map[string]string{"chaos_key": "k1-r1"}}}},
			{ID: "pay_2", Status: "succeeded", ChargeType: chargeSeparate, Amount: 9_001, AmountCaptured: 9_001, ApplicationFee: 1_000,
				StripeFeePayer: "merchant", StripeFee: ptr[int64](291), StripeAccount: "acct_a", StripeIntent: ptr("pi_2"), Metadata: map[string]string{"chaos_key": "k2"},
				// 9,001 − 1,000 − 291 = 7,710 shared 6,001:3,000 is 5,140.29 and
				// 2,569.71: the unit left over goes to the larger remainder.
				Transfers: []TenderTransfer{
					{ID: "tr_1", Merchant: "mer_a", StripeAccount: "acct_a", SplitAmount: 6_001, Amount: 5_140, Status: "paid", StripeTransfer: ptr("st_1")},
					{ID: "tr_2", Merchant: "mer_b", StripeAccount: "acct_b", SplitAmount: 3_000, Amount: 2_570, Status: "paid", StripeTransfer: ptr("st_2")},
				}},
		},
		stripe: StripeData{
			Intents: []StripeIntent{
				{ID: "pi_1", TenderPayment: "pay_1", Key: "k1", Status: "succeeded", Amount: 10_000, AmountReceived: 10_000, ApplicationFee: 500,
					Destination: "acct_a", Charge: "ch_1"},
				{ID: "pi_2", TenderPayment: "pay_2", Key: "k2", Status: "succeeded", Amount: 9_001, AmountReceived: 9_001, Charge: "ch_2"},
			},
			Refunds: []StripeRefund{{ID: "re_1", TenderRefund: "ref_1", Key: "k1-r1", Intent: "pi_1", Amount: 2_500, Status: "succeeded"}},
			Transfers: []StripeTransfer{
				{ID: "st_1", TenderTransfer: "tr_1", TenderPayment: "pay_2", Destination: "acct_a", Amount: 5_140},
				{ID: "st_2", TenderTransfer: "tr_2", TenderPayment: "pay_2", Destination: "acct_b", Amount: 2_570},
			},
			Fees: []StripeFee{{ID: "fee_1", Account: "acct_a", Charge: "py_1", Originating: "ch_1", Amount: 500, AmountRefunded: 125}},
		},
	}
}

func (s *scenario) reconcile() *Report { return Reconcile(s.orders, s.payments, s.stripe) }

func TestReconcileMatches(t *testing.T) {
	r := newScenario().reconcile()
	if !r.OK() {
		t.Fatalf("a consistent run has offenders: %+v", r.Offenders)
	}
	for kind, want := range map[string]int{KindPayment: 2, KindCharge: 2, KindIntent: 2, KindRefund: 1, KindStripeRefund: 1,
		KindTransfer: 2, KindApplicationFee: 1, KindFinal: 2} {
		if got := r.Count(kind, Match); got != want {
			t.Errorf("%s matches = %d, want %d", kind, got, want)
		}
	}
}

// TestReconcileFindsDefects: each defect a crash can cause, made in an
// otherwise consistent run, is reported in its kind and class, naming the
// offender, so the checker is shown able to fail.
func TestReconcileFindsDefects(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(s *scenario)
		kind  string
		class Class
		id    string
	}{
		{"two payments for one key", func(s *scenario) {
			dup := s.payments[0]
			dup.ID, dup.Refunds = "pay_1b", nil
			dup.AmountRefunded = 0
			s.payments = append(s.payments, dup)
		}, KindPayment, Duplicate, "k1"},
		{"customer charged twice for one key", func(s *scenario) {
			s.stripe.Intents = append(s.stripe.Intents, StripeIntent{ID: "pi_1b", TenderPayment: "pay_1b", Key: "k1", Status: "succeeded",
				Amount: 10_000, AmountReceived: 10_000})
		}, KindCharge, Duplicate, "k1"},
		{"two PaymentIntents took money for one payment", func(s *scenario) {
			s.stripe.Intents = append(s.stripe.Intents, StripeIntent{ID: "pi_1c", TenderPayment: "pay_1", Key: "k1", Status: "requires_capture", Amount: 10_000})
		}, KindIntent, Duplicate, "pay_1"},
		{"accepted payment missing", func(s *scenario) { s.payments[1].Metadata["chaos_key"] = "other" }, KindPayment, Missing, "k2"},
		{"refund missing at Stripe", func(s *scenario) { s.stripe.Refunds = nil }, KindStripeRefund, Missing, "ref_1"},
		{"refund made twice at Stripe", func(s *scenario) {
			s.stripe.Refunds = append(s.stripe.Refunds, StripeRefund{ID: "re_1b", TenderRefund: "ref_1", Amount: 2_500, Status: "succeeded"})
		}, KindStripeRefund, Duplicate, "ref_1"},
		{"two refunds for one key", func(s *scenario) {
			extra := s.payments[0].Refunds[0]
			extra.ID = "ref_1b"
			s.payments[0].Refunds = append(s.payments[0].Refunds, extra)
		}, KindRefund, Duplicate, "k1-r1"},
		{"accepted refund missing", func(s *scenario) { s.payments[0].Refunds = nil }, KindRefund, Missing, "k1-r1"},
		{"intent amount off by one", func(s *scenario) { s.stripe.Intents[0].Amount = 10_001 }, KindIntent, Mismatch, "pay_1"},
		{"refund amount off by one", func(s *scenario) { s.stripe.Refunds[0].Amount = 2_499 }, KindStripeRefund, Mismatch, "ref_1"},
		{"transfer amount off by one", func(s *scenario) { s.stripe.Transfers[1].Amount = 2_571 }, KindTransfer, Mismatch, "tr_2"},
		{"transfers not sharing out what is left", func(s *scenario) {
			s.payments[1].Transfers[0].Amount, s.stripe.Transfers[0].Amount = 5_141, 5_141
		}, KindTransfer, Mismatch, "tr_1"},
		{"transfer made twice", func(s *scenario) {
			s.stripe.Transfers = append(s.stripe.Transfers, StripeTransfer{ID: "st_1b", TenderTransfer: "tr_1", Destination: "acct_a", Amount: 5_140})
		}, KindTransfer, Duplicate, "tr_1"},
		{"application fee off by one", func(s *scenario) { s.stripe.Fees[0].Amount = 499 }, KindApplicationFee, Mismatch, "pay_1"},
		{"fee refund off by one", func(s *scenario) { s.stripe.Fees[0].AmountRefunded = 126 }, KindApplicationFee, Mismatch, "pay_1"},
		{"payment amount off by one", func(s *scenario) { s.orders[0].Amount = 9_999 }, KindPayment, Mismatch, "k1"},
		{"request never answered", func(s *scenario) { s.orders[1].Answer = AnswerNone }, KindPayment, Mismatch, "k2"},
		{"payment not final", func(s *scenario) { s.payments[1].Status = "processing" }, KindFinal, Mismatch, "pay_2"},
		{"refund not final", func(s *scenario) { s.payments[0].Refunds[0].Status = "processing" }, KindFinal, Mismatch, "pay_1"},
		{"payment failed but charged", func(s *scenario) { s.payments[1].Status = "failed" }, KindIntent, Duplicate, "pay_2"},
		{"stray payment", func(s *scenario) {
			s.payments = append(s.payments, TenderPayment{ID: "pay_x", Status: "failed", Metadata: map[string]string{"chaos_key": "nobody"}})
		}, KindPayment, Duplicate, "pay_x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScenario()
			tt.spoil(s)
			r := s.reconcile()
			if r.OK() {
				t.Fatal("reported no offender")
			}
			for _, o := range r.Offenders {
				if o.Kind == tt.kind && o.Class == tt.class && strings.Contains(o.ID, tt.id) {
					return
				}
			}
			t.Fatalf("want a %s %s naming %s; got %+v", tt.kind, tt.class, tt.id, r.Offenders)
		})
	}
}

func TestKillPointsAreWithinTheLoad(t *testing.T) {
	pts := killPoints(newRand(3), 20, 21)
	if len(pts) != 20 || pts[0] != 1 || pts[19] != 20 {
		t.Fatalf("20 kills over 21 payments: %v", pts)
	}
}

func TestPlanIsSeededAndValid(t *testing.T) {
	w := &world{merchants: []merchant{{id: "mer_a"}, {id: "mer_b"}, {id: "mer_c"}}, customers: []string{"cst_a"}}
	a, b := plan(9, 200, w), plan(9, 200, w)
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Amount != b[i].Amount || a[i].Fee != b[i].Fee || len(a[i].Refunds) != len(b[i].Refunds) {
			t.Fatalf("order %d differs between two plans of one seed: %+v %+v", i, a[i], b[i])
		}
		checkPlanned(t, a[i])
	}
}

// checkPlanned checks what Tender would refuse: splits that do not add up,
// refunds beyond what is captured.
func checkPlanned(t *testing.T, o Order) {
	t.Helper()
	if o.ChargeType == chargeSeparate {
		var sum int64
		for _, s := range o.Splits {
			if s.Amount < 1 {
				t.Fatalf("order %d: split %+v", o.N, s)
			}
			sum += s.Amount
		}
		if sum != o.Amount {
			t.Fatalf("order %d: splits add up to %d, not %d", o.N, sum, o.Amount)
		}
	}
	var refunded int64
	for _, r := range o.Refunds {
		refunded += r.Expected
	}
	if refunded > o.planned() || o.Fee > o.Amount {
		t.Fatalf("order %d: refunds %d or fee %d beyond %d", o.N, refunded, o.Fee, o.planned())
	}
}

// TestReconcileFullRefund: after a refund of everything, the merchants'
// transfers must be reversed in full and the fee refunded in full.
func TestReconcileFullRefund(t *testing.T) {
	s := newScenario()
	p := &s.payments[1]
	p.AmountRefunded = p.AmountCaptured
	p.Refunds = []TenderRefund{{ID: "ref_2", Payment: "pay_2", Amount: 9_001, Status: "succeeded", StripeID: ptr("re_2")}}
	s.orders[1].Refunds = []RefundOrder{{Key: "k2-r1", Expected: 9_001, Answer: AnswerOK, RefundID: "ref_2"}}
	p.Metadata["chaos_key"] = "k2"
	p.Refunds[0].Metadata = map[string]string{"chaos_key": "k2-r1"}
	s.stripe.Refunds = append(s.stripe.Refunds, StripeRefund{ID: "re_2", TenderRefund: "ref_2", Amount: 9_001, Status: "succeeded"})
	p.Transfers[0].AmountReversed, s.stripe.Transfers[0].AmountReversed = 5_140, 5_140
	p.Transfers[1].AmountReversed, s.stripe.Transfers[1].AmountReversed = 1_285, 1_285 // half: the merchant keeps the rest
	r := s.reconcile()
	if r.Count(KindTransfer, Mismatch) != 1 || r.Count(KindTransfer, Match) != 1 || r.Offenders[0].ID != "tr_2" {
		t.Fatalf("want tr_2 reported, not reversed in full: %+v", r.Offenders)
	}
}
