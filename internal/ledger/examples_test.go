package ledger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// The worked examples of docs/ARCHITECTURE.md ("The books"), posted by
// hand as the payment package posts them (one entry per charge, with its
// fees and a destination charge's transfer in it): a charge of 10.00 with an application fee of
// 1.00 and Stripe's fee of 0.59, made at t0 with its funds available a
// week later, then refunded in part (5.00) two days later, the refund's
// movements available at once.

var refunded = t0.Add(48 * time.Hour)

const (
	merchantDirect      = "mer_direct"
	merchantDestination = "mer_destination"
	merchantA           = "mer_a"
	merchantB           = "mer_b"
)

// entry is an entry of the examples; its references are its cause's.
func entry(kind ledger.EntryKind, cause, merchant, payment, refund, transfer string, at time.Time, postings ...ledger.Posting) ledger.Entry {
	return ledger.Entry{Cause: cause, Kind: kind, At: at, MerchantID: merchant, PaymentID: payment, RefundID: refund, TransferID: transfer,
		Postings: postings}
}

var (
	customers = ledger.CustomerPayments()
	plat      = ledger.PlatformBalance()
	stripe    = ledger.StripeFees()
)

// A direct charge: made on the merchant's account, which pays Stripe's fee
// and the platform's application fee. The refund of half gives the
// merchant back half of the application fee (⌈100 × 500/1000⌉).
var direct = []ledger.Entry{
	entry(ledger.EntryCharge, "payment:pay_direct:charge", merchantDirect, "pay_direct", "", "", t0,
		p(customers, -1000, ledger.RoleGross, time.Time{}), p(ledger.MerchantBalance(merchantDirect), 1000, ledger.RoleGross, week),
		p(ledger.MerchantBalance(merchantDirect), -100, ledger.RoleApplicationFee, week), p(plat, 100, ledger.RoleApplicationFee, week),
		p(ledger.MerchantBalance(merchantDirect), -59, ledger.RoleStripeFee, week), p(stripe, 59, ledger.RoleStripeFee, time.Time{})),
	entry(ledger.EntryRefund, "refund:ref_direct:refund", merchantDirect, "pay_direct", "ref_direct", "", refunded,
		p(customers, 500, ledger.RoleRefund, time.Time{}), p(ledger.MerchantBalance(merchantDirect), -500, ledger.RoleRefund, refunded)),
	entry(ledger.EntryApplicationFeeRefund, "refund:ref_direct:application_fee_refund", merchantDirect, "pay_direct", "ref_direct", "", refunded,
		p(plat, -50, ledger.RoleApplicationFeeRefund, refunded), p(ledger.MerchantBalance(merchantDirect), 50, ledger.RoleApplicationFeeRefund, refunded)),
}

// A destination charge: made on the platform's account, which pays
// Stripe's fee; the whole amount is transferred to the merchant, and the
// application fee comes back from it. The refund reverses the transfer
// by the amount refunded and gives back half of the fee.
var destination = []ledger.Entry{
	entry(ledger.EntryCharge, "payment:pay_destination:charge", merchantDestination, "pay_destination", "", "", t0,
		p(customers, -1000, ledger.RoleGross, time.Time{}), p(plat, 1000, ledger.RoleGross, week),
		p(plat, -1000, ledger.RoleTransfer, week), p(ledger.MerchantBalance(merchantDestination), 1000, ledger.RoleTransfer, week),
		p(ledger.MerchantBalance(merchantDestination), -100, ledger.RoleApplicationFee, week), p(plat, 100, ledger.RoleApplicationFee, week),
		p(plat, -59, ledger.RoleStripeFee, week), p(stripe, 59, ledger.RoleStripeFee, time.Time{})),
	entry(ledger.EntryRefund, "refund:ref_destination:refund", merchantDestination, "pay_destination", "ref_destination", "", refunded,
		p(customers, 500, ledger.RoleRefund, time.Time{}), p(plat, -500, ledger.RoleRefund, refunded)),
	entry(ledger.EntryTransferReversal, "refund:ref_destination:transfer_reversal", merchantDestination, "pay_destination", "ref_destination", "tr_destination", refunded,
		p(ledger.MerchantBalance(merchantDestination), -500, ledger.RoleTransferReversal, refunded), p(plat, 500, ledger.RoleTransferReversal, refunded)),
	entry(ledger.EntryApplicationFeeRefund, "refund:ref_destination:application_fee_refund", merchantDestination, "pay_destination", "ref_destination", "", refunded,
		p(plat, -50, ledger.RoleApplicationFeeRefund, refunded), p(ledger.MerchantBalance(merchantDestination), 50, ledger.RoleApplicationFeeRefund, refunded)),
}

// A separate charge with two transfers: made on the platform's account,
// which pays Stripe's fee; splits of 700 and 300 share out 1000 − 100 as
// 630 and 270, and what they leave (100) is the platform's. The refund of
// half reverses each transfer by ⌊t × 500/1000⌋ (315, 135) and the
// platform bears the rest (50). The charge belongs to no merchant.
var separate = []ledger.Entry{
	entry(ledger.EntryCharge, "payment:pay_separate:charge", "", "pay_separate", "", "", t0,
		p(customers, -1000, ledger.RoleGross, time.Time{}), p(plat, 1000, ledger.RoleGross, week),
		p(plat, -59, ledger.RoleStripeFee, week), p(stripe, 59, ledger.RoleStripeFee, time.Time{})),
	entry(ledger.EntryTransfer, "transfer:trf_a", merchantA, "pay_separate", "", "trf_a", t0,
		p(plat, -630, ledger.RoleTransfer, week), p(ledger.MerchantBalance(merchantA), 630, ledger.RoleTransfer, week)),
	entry(ledger.EntryTransfer, "transfer:trf_b", merchantB, "pay_separate", "", "trf_b", t0,
		p(plat, -270, ledger.RoleTransfer, week), p(ledger.MerchantBalance(merchantB), 270, ledger.RoleTransfer, week)),
	entry(ledger.EntryRefund, "refund:ref_separate:refund", "", "pay_separate", "ref_separate", "", refunded,
		p(customers, 500, ledger.RoleRefund, time.Time{}), p(plat, -500, ledger.RoleRefund, refunded)),
	entry(ledger.EntryTransferReversal, "refund:ref_separate:transfer_reversal:trf_a", merchantA, "pay_separate", "ref_separate", "trf_a", refunded,
		p(ledger.MerchantBalance(merchantA), -315, ledger.RoleTransferReversal, refunded), p(plat, 315, ledger.RoleTransferReversal, refunded)),
	entry(ledger.EntryTransferReversal, "refund:ref_separate:transfer_reversal:trf_b", merchantB, "pay_separate", "ref_separate", "trf_b", refunded,
		p(ledger.MerchantBalance(merchantB), -135, ledger.RoleTransferReversal, refunded), p(plat, 135, ledger.RoleTransferReversal, refunded)),
}

// balance is a Balance in cents of USD.
type balance struct {
	owner                                string
	pending, available, gross, fees, net int64
}

// line is a report line in cents of USD.
type line struct {
	cause                                                      string
	gross, stripeFee, applicationFee, netMerchant, netPlatform int64
}

var examples = []struct {
	name    string
	entries []ledger.Entry
	// balances between the refund and the week's end, when the charge's
	// funds are still pending and the refund's are not.
	balances []balance
	// report is the platform's; reports the merchants'.
	report  []line
	reports map[string][]line
}{
	{
		name: "direct", entries: direct,
		balances: []balance{
			{"platform", 100, -50, 0, -50, 50},
			{merchantDirect, 841, -450, 500, 109, 391},
		},
		report: []line{
			{"payment:pay_direct:charge", 1000, 59, 100, 841, 100},
			{"refund:ref_direct:refund", -500, 0, 0, -500, 0},
			{"refund:ref_direct:application_fee_refund", 0, 0, -50, 50, -50},
		},
	},
	{
		name: "destination", entries: destination,
		balances: []balance{
			{"platform", 41, -50, 0, 9, -9},
			{merchantDestination, 900, -450, 500, 50, 450},
		},
		report: []line{
			{"payment:pay_destination:charge", 1000, 59, 100, 900, 41},
			{"refund:ref_destination:refund", -500, 0, 0, 0, -500},
			{"refund:ref_destination:transfer_reversal", 0, 0, 0, -500, 500},
			{"refund:ref_destination:application_fee_refund", 0, 0, -50, 50, -50},
		},
	},
	{
		name: "separate", entries: separate,
		balances: []balance{
			{"platform", 41, -50, 50, 59, -9},
			{merchantA, 630, -315, 315, 0, 315},
			{merchantB, 270, -135, 135, 0, 135},
		},
		report: []line{
			{"payment:pay_separate:charge", 1000, 59, 0, 0, 941},
			{"transfer:trf_a", 0, 0, 0, 630, -630},
			{"transfer:trf_b", 0, 0, 0, 270, -270},
			{"refund:ref_separate:refund", -500, 0, 0, 0, -500},
			{"refund:ref_separate:transfer_reversal:trf_a", 0, 0, 0, -315, 315},
			{"refund:ref_separate:transfer_reversal:trf_b", 0, 0, 0, -135, 135},
		},
		reports: map[string][]line{
			merchantA: {
				{"transfer:trf_a", 0, 0, 0, 630, -630},
				{"refund:ref_separate:transfer_reversal:trf_a", 0, 0, 0, -315, 315},
			},
		},
	},
}

// TestWorkedExamples posts each example on a platform of its own and
// checks its balances and reports against the figures docs/ARCHITECTURE.md ("The books")
// gives.
func TestWorkedExamples(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bk := newBooks(t, db)
		for _, ex := range examples {
			t.Run(ex.name, func(t *testing.T) {
				plt, err := platform.NewService(db, time.Now).Create(context.Background(), ex.name)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ex.entries {
					e.PlatformID = plt.ID
					bk.mustPost(e)
				}
				between := refunded.Add(time.Hour)
				checkBalances(t, "between the refund and the funds' week", bk.balances(plt.ID, ledger.BalanceFilter{}, between), ex.balances)
				// A week on, everything is available.
				var later []balance
				for _, b := range ex.balances {
					later = append(later, balance{b.owner, 0, b.net, b.gross, b.fees, b.net})
				}
				checkBalances(t, "a week on", bk.balances(plt.ID, ledger.BalanceFilter{}, week), later)
				checkBalances(t, "the platform's", bk.balances(plt.ID, ledger.BalanceFilter{Owner: ledger.OwnerPlatform}, between), ex.balances[:1])
				checkBalances(t, "the merchants'", bk.balances(plt.ID, ledger.BalanceFilter{Owner: ledger.OwnerMerchant}, between), ex.balances[1:])
				checkBalances(t, "one merchant's", bk.balances(plt.ID, ledger.BalanceFilter{Owner: ledger.OwnerMerchant, MerchantID: ex.balances[1].owner}, between),
					ex.balances[1:2])

				checkReport(t, "the platform's report", bk.report(plt.ID, ledger.ReportQuery{}), ex.report)
				for m, want := range ex.reports {
					checkReport(t, m+"'s report", bk.report(plt.ID, ledger.ReportQuery{MerchantID: m}), want)
				}
				if len(ex.reports) == 0 {
					// Every line of the example is its one merchant's.
					m := ex.balances[1].owner
					checkReport(t, m+"'s report", bk.report(plt.ID, ledger.ReportQuery{MerchantID: m}), ex.report)
				}
				// The refund's period alone.
				var refundLines []line
				for _, l := range ex.report {
					if strings.HasPrefix(l.cause, "refund:") {
						refundLines = append(refundLines, l)
					}
				}
				checkReport(t, "the refund's day", bk.report(plt.ID, ledger.ReportQuery{From: refunded, Until: refunded.Add(24 * time.Hour)}), refundLines)
			})
		}
	})
}

func checkBalances(t *testing.T, when string, got []ledger.Balance, want []balance) {
	t.Helper()
	var out []balance
	for _, b := range got {
		owner := string(b.Owner)
		if b.Owner == ledger.OwnerMerchant {
			owner = b.OwnerID
		}
		if b.Currency != usd {
			t.Errorf("%s: balance in %s", when, b.Currency)
		}
		// The definitions hold together.
		if b.Net.Value != b.Pending.Value+b.Available.Value || b.Net.Value != b.Gross.Value-b.Fees.Value-b.PaidOut.Value {
			t.Errorf("%s: %s's net %d ≠ pending + available or gross − fees − paid out: %+v", when, owner, b.Net.Value, b)
		}
		out = append(out, balance{owner, b.Pending.Value, b.Available.Value, b.Gross.Value, b.Fees.Value, b.Net.Value})
	}
	if len(out) != len(want) {
		t.Fatalf("%s: balances %+v, want %+v", when, out, want)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("%s: balance %+v, want %+v", when, out[i], want[i])
		}
	}
}

func checkReport(t *testing.T, name string, got []ledger.ReportLine, want []line) {
	t.Helper()
	var out []line
	for _, l := range got {
		if l.Gross.Value-l.StripeFee.Value != l.NetMerchant.Value+l.NetPlatform.Value {
			t.Errorf("%s: %s: gross − stripe_fee ≠ net_merchant + net_platform", name, l.Cause)
		}
		out = append(out, line{l.Cause, l.Gross.Value, l.StripeFee.Value, l.ApplicationFee.Value, l.NetMerchant.Value, l.NetPlatform.Value})
	}
	if len(out) != len(want) {
		t.Fatalf("%s: %+v, want %+v", name, out, want)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("%s: line %d %+v, want %+v", name, i, out[i], want[i])
		}
	}
}
