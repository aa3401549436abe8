// Package ledger keeps each platform's books in double entry: where the
// money of every charge, fee, transfer and refund went, and so what the
// platform and each merchant hold, earned and paid. Feature packages post
// entries in the transactions that record what happened (Post); this
// package never calls Stripe and knows nothing of payments beyond the ids
// an entry refers to. docs/ARCHITECTURE.md ("The books") has the chart, the conventions and
// worked examples.
//
// # The chart
//
// An account belongs to an owner and has a kind and a currency; it is
// made on its first use, one per (platform, owner, owner id, kind,
// currency):
//
//	owner      owner id     kind             what it holds
//	platform   -            balance          funds on the platform's Stripe account
//	merchant   merchant id  balance          funds on the merchant's connected account
//	customers  -            payments         what customers paid, net of refunds (all customers, one account)
//	stripe     -            processing_fees  the fees Stripe took
//	bank       -            payouts          money paid out to a bank
//
// # Postings
//
// An entry is one movement of money with a cause, the one name of what
// made it ("payment:pay_…:charge"); posting a cause again changes nothing.
// Its postings are amounts in minor units on accounts, positive a debit
// (money arriving on a balance) and negative a credit, that add up to zero
// in each currency. So a charge of 10.00 debits the merchant's balance
// 1000 and credits customers/payments 1000; the customers' account runs
// negative by what customers paid. Each posting has a role saying what the
// money is for; a posting to a balance carries the time its funds become
// available (Stripe's available_on).
//
// Entries and postings are never changed or deleted; nothing in this
// package updates or deletes them. A mistake is corrected by Reverse,
// which posts the negation as a new entry of kind reversal.
//
// Every entry belongs to at most one merchant: all postings to merchants'
// balances in one entry are to the merchant the entry names (MerchantID).
// A merchant's entries are exactly those that name it.
//
// # Balances
//
// For one owner (the platform or a merchant) and currency, from the
// postings to its balance account:
//
//	pending    = Σ amount, available_on > now
//	available  = Σ amount, available_on ≤ now
//	gross      = Σ amount, role in {gross, transfer, refund, transfer_reversal, dispute}
//	fees       = −Σ amount, role in {stripe_fee, application_fee, application_fee_refund, stripe_fee_cover, dispute_fee}
//	paid_out   = −Σ amount, role payout
//	net        = Σ amount = pending + available = gross − fees − paid_out
//
// Gross is the money that came in for sales (a direct charge's gross, or
// the transfer that brings a destination or separate charge to a merchant)
// less what left for refunds (a refund, a transfer reversal) and disputes
// (the amount withdrawn, less what was reinstated). Fees are
// what the owner paid in fees (Stripe's fee, an application fee, a dispute
// fee) less what
// it was given back (an application fee refund, a Stripe fee cover); an
// application fee the platform receives is a fee paid negatively, so the
// platform's fees are usually below zero: it earned more in fees than it
// paid. Paid out is what left for the bank in payouts, less what came
// back from payouts that failed or were canceled. Every role is in exactly
// one of the three sets, so net = gross − fees − paid_out always.
//
// # The transactions report
//
// One line per entry and currency, for a merchant (the entries naming it)
// or the platform (all its entries):
//
//	gross           = −Σ postings to customers/payments
//	stripe_fee      = Σ postings to stripe/processing_fees
//	application_fee = Σ postings to the platform's balance with role application_fee or application_fee_refund
//	net_merchant    = Σ postings to merchants' balances (the entry's merchant's)
//	net_platform    = Σ postings to the platform's balance
//
// For an entry that touches no bank account, gross − stripe_fee =
// net_merchant + net_platform.
package ledger

import (
	"fmt"
	"slices"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/text"
)

// EntryPrefix and AccountPrefix are the id prefixes of entries and
// accounts.
const (
	EntryPrefix   = "len"
	AccountPrefix = "lac"
)

// Owner is whose money an account holds.
type Owner string

// Owners of accounts.
const (
	OwnerPlatform  Owner = "platform"
	OwnerMerchant  Owner = "merchant"
	OwnerCustomers Owner = "customers"
	OwnerStripe    Owner = "stripe"
	OwnerBank      Owner = "bank"
)

// AccountKind is what an account holds.
type AccountKind string

// Kinds of account.
const (
	// AccountBalance is funds on a Stripe account: the platform's own, or
	// a merchant's connected account.
	AccountBalance AccountKind = "balance"
	// AccountPayments is what customers paid, net of refunds.
	AccountPayments AccountKind = "payments"
	// AccountProcessingFees is the fees Stripe took.
	AccountProcessingFees AccountKind = "processing_fees"
	// AccountPayouts is money paid out to a bank account.
	AccountPayouts AccountKind = "payouts"
)

// chart is the kind of account each owner has. An owner has one kind
// today; another would join its owner's here.
var chart = map[Owner]AccountKind{
	OwnerPlatform:  AccountBalance,
	OwnerMerchant:  AccountBalance,
	OwnerCustomers: AccountPayments,
	OwnerStripe:    AccountProcessingFees,
	OwnerBank:      AccountPayouts,
}

// EntryKind is what an entry records.
type EntryKind string

// Kinds of entry.
const (
	EntryCharge               EntryKind = "charge"
	EntryStripeFee            EntryKind = "stripe_fee"
	EntryApplicationFee       EntryKind = "application_fee"
	EntryTransfer             EntryKind = "transfer"
	EntryTransferReversal     EntryKind = "transfer_reversal"
	EntryRefund               EntryKind = "refund"
	EntryApplicationFeeRefund EntryKind = "application_fee_refund"
	EntryStripeFeeCover       EntryKind = "stripe_fee_cover"
	// EntryDispute is one of a dispute's balance transactions at Stripe:
	// the disputed amount and Stripe's dispute fee withdrawn, or the
	// amount reinstated when it is won.
	EntryDispute EntryKind = "dispute"
	// EntryDisputeRecovery is a dispute's money passed between the
	// platform, which Stripe took it from, and a merchant its policy
	// makes bear it: recovered by a reversal, or returned when won.
	EntryDisputeRecovery EntryKind = "dispute_recovery"
	// EntryPayout is a payout's money leaving a balance for the bank, or
	// coming back when the payout failed or was canceled.
	EntryPayout EntryKind = "payout"
	// EntryReversal corrects another entry by its negation; only Reverse
	// posts one.
	EntryReversal EntryKind = "reversal"
)

var entryKinds = []EntryKind{EntryCharge, EntryStripeFee, EntryApplicationFee, EntryTransfer, EntryTransferReversal,
	EntryRefund, EntryApplicationFeeRefund, EntryStripeFeeCover, EntryDispute, EntryDisputeRecovery, EntryPayout, EntryReversal}

// Role is what the money of one posting is for.
type Role string

// Roles of postings.
const (
	RoleGross                Role = "gross"
	RoleStripeFee            Role = "stripe_fee"
	RoleApplicationFee       Role = "application_fee"
	RoleTransfer             Role = "transfer"
	RoleTransferReversal     Role = "transfer_reversal"
	RoleRefund               Role = "refund"
	RoleApplicationFeeRefund Role = "application_fee_refund"
	RoleStripeFeeCover       Role = "stripe_fee_cover"
	RoleDispute              Role = "dispute"
	RoleDisputeFee           Role = "dispute_fee"
	RolePayout               Role = "payout"
)

// GrossRoles, FeeRoles and PayoutRoles divide the roles between a
// balance's gross, its fees and what it paid out (see the package
// comment). Each role is in exactly one.
var (
	GrossRoles  = []Role{RoleGross, RoleTransfer, RoleRefund, RoleTransferReversal, RoleDispute}
	FeeRoles    = []Role{RoleStripeFee, RoleApplicationFee, RoleApplicationFeeRefund, RoleStripeFeeCover, RoleDisputeFee}
	PayoutRoles = []Role{RolePayout}
)

// AccountRef names an account without its currency, which is the
// posting's.
type AccountRef struct {
	Owner Owner
	// OwnerID is the merchant's id for a merchant's account, else empty.
	OwnerID string
	Kind    AccountKind
}

// PlatformBalance is the platform's balance account.
func PlatformBalance() AccountRef { return AccountRef{Owner: OwnerPlatform, Kind: AccountBalance} }

// MerchantBalance is the balance account of merchant merchantID.
func MerchantBalance(merchantID string) AccountRef {
	return AccountRef{Owner: OwnerMerchant, OwnerID: merchantID, Kind: AccountBalance}
}

// CustomerPayments is the customers' account.
func CustomerPayments() AccountRef { return AccountRef{Owner: OwnerCustomers, Kind: AccountPayments} }

// StripeFees is Stripe's account of the fees it took.
func StripeFees() AccountRef { return AccountRef{Owner: OwnerStripe, Kind: AccountProcessingFees} }

// BankPayouts is the account of money paid out to a bank.
func BankPayouts() AccountRef { return AccountRef{Owner: OwnerBank, Kind: AccountPayouts} }

func (a AccountRef) String() string {
	if a.OwnerID != "" {
		return fmt.Sprintf("%s %s/%s", a.Owner, a.OwnerID, a.Kind)
	}
	return fmt.Sprintf("%s/%s", a.Owner, a.Kind)
}

// Entry is one movement of money.
type Entry struct {
	// ID is the ledger's; Post sets it.
	ID         string
	PlatformID string
	// Cause names what made the entry, once per platform: posting the
	// same cause again is a no-op, and must carry the same postings.
	Cause string
	Kind  EntryKind
	// At is when the money moved (the charge, the transfer, the refund at
	// Stripe); entries are listed and reported by it.
	At time.Time
	// What the entry is about; any may be empty.
	MerchantID, PaymentID, RefundID, TransferID string
	// Reverses is the id of the entry a reversal reverses (set by
	// Reverse; empty otherwise).
	Reverses string
	Postings []Posting
	// Posted is when the entry was written; the ledger sets it.
	Posted time.Time
}

// Posting is one amount on one account. A positive amount is a debit.
type Posting struct {
	Account AccountRef
	Amount  money.Amount
	Role    Role
	// AvailableOn is when the funds of a posting to a balance become
	// available (required there); the zero time elsewhere.
	AvailableOn time.Time
}

// causeRule is what a cause may be: one line, like an id or a reference.
var causeRule = text.Rule{Max: 255}

// validate checks an entry as Post would write it. Errors are
// errs.Invalid naming the field at fault, in the Entry's terms.
func validate(e *Entry) error {
	if e.PlatformID == "" {
		return errs.Missing("platform_id")
	}
	if e.Cause == "" {
		return errs.Invalidf("cause", "An entry needs a cause: the one name of what made it.")
	}
	if err := text.Check("cause", e.Cause, causeRule); err != nil {
		return err
	}
	if !slices.Contains(entryKinds, e.Kind) {
		return errs.Invalidf("kind", "%q is not a kind of ledger entry.", e.Kind)
	}
	if e.At.IsZero() {
		return errs.Invalidf("at", "An entry needs the time the money moved.")
	}
	for _, ref := range []struct{ name, value string }{{"merchant_id", e.MerchantID}, {"payment_id", e.PaymentID},
		{"refund_id", e.RefundID}, {"transfer_id", e.TransferID}, {"reverses", e.Reverses}} {
		if err := text.Check(ref.name, ref.value, causeRule); err != nil {
			return err
		}
	}
	if len(e.Postings) == 0 {
		return errs.Invalidf("postings", "An entry needs postings.")
	}
	amounts := make([]money.Amount, len(e.Postings))
	for i, p := range e.Postings {
		if err := validatePosting(e, i, p); err != nil {
			return err
		}
		amounts[i] = p.Amount
	}
	totals, err := money.SumByCurrency(amounts...)
	if err != nil {
		return errs.Invalidf("postings", "The postings cannot be added up: %v.", err)
	}
	for _, cur := range sortedCurrencies(totals) {
		if t := totals[cur]; !t.IsZero() {
			return errs.Invalidf("postings", "The postings in %s add up to %d, not zero: every entry balances in each currency.",
				cur.Code(), t.Value).WithReason("entry_unbalanced")
		}
	}
	return nil
}

func validatePosting(e *Entry, i int, p Posting) error {
	field := func(name string) string { return fmt.Sprintf("postings[%d][%s]", i, name) }
	a := p.Account
	kind, ok := chart[a.Owner]
	switch {
	case !ok:
		return errs.Invalidf(field("account"), "%q is not an owner of accounts.", a.Owner)
	case a.Kind != kind:
		return errs.Invalidf(field("account"), "The %s have no %q account.", a.Owner, a.Kind)
	case a.Owner == OwnerMerchant && a.OwnerID == "":
		return errs.Invalidf(field("account"), "A merchant's account needs the merchant's id.")
	case a.Owner != OwnerMerchant && a.OwnerID != "":
		return errs.Invalidf(field("account"), "Only a merchant's account has an owner id.")
	case a.Owner == OwnerMerchant && a.OwnerID != e.MerchantID:
		return errs.Invalidf("merchant_id", "The entry posts to merchant %s's balance but names merchant %q: an entry belongs to at most one merchant, which it names.",
			a.OwnerID, e.MerchantID)
	}
	if err := text.Check(field("account"), a.OwnerID, causeRule); err != nil {
		return err
	}
	switch {
	case p.Amount.Currency.IsZero():
		return errs.Invalidf(field("amount"), "A posting needs a currency.")
	case p.Amount.IsZero():
		return errs.Invalidf(field("amount"), "A posting of zero moves nothing; leave it out.")
	case !slices.Contains(GrossRoles, p.Role) && !slices.Contains(FeeRoles, p.Role) && !slices.Contains(PayoutRoles, p.Role):
		return errs.Invalidf(field("role"), "%q is not a role of postings.", p.Role)
	case a.Kind == AccountBalance && p.AvailableOn.IsZero():
		return errs.Invalidf(field("available_on"), "A posting to a balance needs the time its funds become available.")
	}
	return nil
}
