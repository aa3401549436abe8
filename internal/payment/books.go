package payment

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// The books: each move that takes or gives back money posts its entries
// to the ledger in the transaction of the move, keyed by its cause, so a
// rerun posts nothing twice. The entries follow the money on Stripe's
// accounts (the platform's and each merchant's connected account), so the
// ledger's balance of each equals Stripe's; docs/ARCHITECTURE.md ("The
// books") has the chart and a worked example per charge type.

// entries collects the postings of one entry.
type entries struct {
	cur money.Currency
	e   ledger.Entry
}

func newEntry(p *Payment, kind ledger.EntryKind, cause string, at time.Time) *entries {
	return &entries{cur: p.Currency, e: ledger.Entry{PlatformID: p.PlatformID, Cause: cause, Kind: kind, At: at,
		MerchantID: p.MerchantID, PaymentID: p.ID}}
}

// move adds amount going from one account to another (a credit to from,
// a debit to to), with its role and when the funds are available; a zero
// amount adds nothing.
func (b *entries) move(from, to ledger.AccountRef, amount int64, role ledger.Role, available time.Time) *entries {
	if amount == 0 {
		return b
	}
	at := func(a ledger.AccountRef) time.Time {
		if a.Kind == ledger.AccountBalance {
			return available
		}
		return time.Time{}
	}
	b.e.Postings = append(b.e.Postings,
		ledger.Posting{Account: from, Amount: money.New(-amount, b.cur), Role: role, AvailableOn: at(from)},
		ledger.Posting{Account: to, Amount: money.New(amount, b.cur), Role: role, AvailableOn: at(to)})
	return b
}

func (s *Service) post(ctx context.Context, tx *sql.Tx, b *entries) error {
	if len(b.e.Postings) == 0 {
		return nil
	}
	if _, err := s.ledger.Post(ctx, tx, b.e); err != nil {
		return fmt.Errorf("%s: posting %s: %w", b.e.PaymentID, b.e.Cause, err)
	}
	return nil
}

// funds is what the books need of a charge: Stripe's fee on it and when
// its funds become available, from its balance transaction.
type funds struct {
	stripeFee   int64
	availableOn time.Time
}

// fundsOf reads a charge's funds from its expanded balance transaction, or
// reports that it is not there.
func fundsOf(ch *stripe.Charge) (funds, bool) {
	if ch == nil || ch.BalanceTransaction == nil || ch.BalanceTransaction.AvailableOn == 0 {
		return funds{}, false
	}
	f := funds{availableOn: time.Unix(ch.BalanceTransaction.AvailableOn, 0).UTC()}
	for _, d := range ch.BalanceTransaction.FeeDetails {
		if d.Type == "stripe_fee" {
			f.stripeFee += d.Amount
		}
	}
	return f, true
}

// chargeFunds returns the funds of the charge of p's PaymentIntent pi,
// reading it back from Stripe with its balance transaction when pi came
// without it. An error (Stripe out of reach, no balance transaction yet)
// is for the caller to retry: nothing was recorded.
func (s *Service) chargeFunds(ctx context.Context, p *Payment, pi *stripe.PaymentIntent) (*funds, error) {
	if pi != nil {
		if f, ok := fundsOf(pi.LatestCharge); ok {
			return &f, nil
		}
	}
	piID := p.StripePaymentIntentID
	if piID == "" && pi != nil {
		piID = pi.ID
	}
	sc, err := s.client(ctx, p.PlatformID)
	if err != nil {
		return nil, err
	}
	params := stripeapi.OnAccount(&stripe.PaymentIntentRetrieveParams{}, p.intentAccount())
	params.AddExpand(chargeFunds)
	got, err := sc.V1PaymentIntents.Retrieve(ctx, piID, params)
	if err != nil {
		return nil, fmt.Errorf("payment %s: reading its charge's balance transaction, will retry: %w", p.ID, err)
	}
	f, ok := fundsOf(got.LatestCharge)
	if !ok {
		return nil, fmt.Errorf("payment %s: its charge has no balance transaction yet; will retry", p.ID)
	}
	return &f, nil
}

// postCharge posts a captured charge as one entry (see
// docs/ARCHITECTURE.md, "The books"): the customer's money onto the
// account the charge is made on, a destination charge's transfer of it to
// the merchant, the platform's application fee, and Stripe's fee from the
// account that pays it, each a movement with its role, so the charge is
// one line of the report with its fees. A separate charge's entry names
// no merchant: the charge is the platform's, and each merchant's share is
// a transfer of its own.
func (s *Service) postCharge(ctx context.Context, tx *sql.Tx, p *Payment, f funds) error {
	at := f.availableOn
	platform, merchant := ledger.PlatformBalance(), ledger.MerchantBalance(p.MerchantID)
	on := merchant // the account the charge is made on
	if p.ChargeType != ChargeDirect {
		on = platform
	}
	b := newEntry(p, ledger.EntryCharge, "payment:"+p.ID+":charge", s.now())
	b.move(ledger.CustomerPayments(), on, p.AmountCaptured, ledger.RoleGross, at)
	switch p.ChargeType {
	case ChargeDirect:
		b.move(merchant, platform, p.ApplicationFee, ledger.RoleApplicationFee, at)
	case ChargeDestination:
		b.move(platform, merchant, p.AmountCaptured, ledger.RoleTransfer, at).
			move(merchant, platform, p.ApplicationFee, ledger.RoleApplicationFee, at)
	case ChargeSeparate:
		b.e.MerchantID = ""
	}
	b.move(on, ledger.StripeFees(), f.stripeFee, ledger.RoleStripeFee, at)
	return s.post(ctx, tx, b)
}

func (s *Service) postAll(ctx context.Context, tx *sql.Tx, parts []*entries) error {
	for _, b := range parts {
		if err := s.post(ctx, tx, b); err != nil {
			return err
		}
	}
	return nil
}

// postTransfer posts a separate charge's transfer paid to its merchant,
// available when the charge's funds are (it is made from the charge).
func (s *Service) postTransfer(ctx context.Context, tx *sql.Tx, p *Payment, t *Transfer, availableOn time.Time) error {
	b := newEntry(p, ledger.EntryTransfer, "transfer:"+t.ID, s.now())
	b.e.MerchantID, b.e.TransferID = t.MerchantID, t.ID
	b.move(ledger.PlatformBalance(), ledger.MerchantBalance(t.MerchantID), t.Amount, ledger.RoleTransfer, availableOn)
	return s.post(ctx, tx, b)
}

// postStripeFeeCover posts the platform giving a direct charge's Stripe
// fee back to the merchant out of its application fee.
func (s *Service) postStripeFeeCover(ctx context.Context, tx *sql.Tx, p *Payment, amount int64) error {
	now := s.now()
	b := newEntry(p, ledger.EntryStripeFeeCover, "payment:"+p.ID+":stripe_fee_cover", now)
	b.move(ledger.PlatformBalance(), ledger.MerchantBalance(p.MerchantID), amount, ledger.RoleStripeFeeCover, now)
	return s.post(ctx, tx, b)
}

// postRefund posts a refund made with its parts: the customer's money
// back from the account the charge was made on, the platform's fee given
// back, and the transfers reversed. Funds refunded leave at once.
func (s *Service) postRefund(ctx context.Context, tx *sql.Tx, p *Payment, r *Refund) error {
	now := s.now()
	platform, merchant := ledger.PlatformBalance(), ledger.MerchantBalance(p.MerchantID)
	entry := func(kind ledger.EntryKind, suffix string) *entries {
		b := newEntry(p, kind, "refund:"+r.ID+":"+string(kind)+suffix, now)
		b.e.RefundID = r.ID
		if p.ChargeType == ChargeSeparate {
			b.e.MerchantID = ""
		}
		return b
	}
	from := platform
	if p.ChargeType == ChargeDirect {
		from = merchant
	}
	parts := []*entries{entry(ledger.EntryRefund, "").move(from, ledger.CustomerPayments(), r.Amount, ledger.RoleRefund, now)}
	if r.FeeRefunded > 0 && r.StripeFeeRefundID != "" {
		parts = append(parts, entry(ledger.EntryApplicationFeeRefund, "").move(platform, merchant, r.FeeRefunded, ledger.RoleApplicationFeeRefund, now))
	}
	if p.ChargeType == ChargeDestination {
		reversed := r.Amount // Tender's reverse_transfer: exactly the refund
		if r.TransferReversed != nil {
			reversed = *r.TransferReversed // as made at Stripe
		}
		if reversed > 0 {
			parts = append(parts, entry(ledger.EntryTransferReversal, "").move(merchant, platform, reversed, ledger.RoleTransferReversal, now))
		}
	}
	for _, v := range r.Reversals {
		if v.Amount == 0 || v.StripeReversalID == "" {
			continue
		}
		rv := entry(ledger.EntryTransferReversal, ":"+v.TransferID)
		rv.e.TransferID, rv.e.MerchantID = v.TransferID, transferMerchant(p, v.TransferID)
		parts = append(parts, rv.move(ledger.MerchantBalance(rv.e.MerchantID), platform, v.Amount, ledger.RoleTransferReversal, now))
	}
	return s.postAll(ctx, tx, parts)
}

func transferMerchant(p *Payment, transferID string) string {
	for _, t := range p.Transfers {
		if t.ID == transferID {
			return t.MerchantID
		}
	}
	return p.MerchantID
}
