package payment

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/store"
)

// Moved is money Stripe moved between the platform and a merchant without
// Tender asking, as the books record it: an application fee refunded or a
// transfer reversed in the platform's Dashboard.
type Moved struct {
	MerchantID string
	PaymentID  string // the payment it is of, when Tender made it
	Posted     int    // entries posted now; 0 when all were already
}

// ObserveFeeRefunds books the refunds of an application fee made at Stripe
// without Tender (read from Stripe by the caller, with the fee): the
// platform gave the merchant, whose account the fee came from, part of its
// fee back. Tender's own fee refunds (a refund's share of the fee, a
// Stripe-fee cover: their metadata names them) are booked when Tender
// makes them and are left alone. Each is posted once, by its id. Returns
// errs.NotFound when no merchant of the platform is connected to the
// fee's account.
func (s *Service) ObserveFeeRefunds(ctx context.Context, platformID string, fee *stripe.ApplicationFee, refunds []*stripe.FeeRefund) (*Moved, error) {
	if fee.Account == nil {
		return nil, errs.NotFoundf("", "Application fee %s names no account.", fee.ID)
	}
	mv, err := s.movedOn(ctx, platformID, fee.Account.ID, chargeIntent(fee.Charge))
	if err != nil {
		return nil, err
	}
	cur, err := money.ParseCurrency(string(fee.Currency))
	if err != nil {
		return nil, fmt.Errorf("application fee %s: %w", fee.ID, err)
	}
	var entries []ledger.Entry
	for _, fr := range refunds {
		if fr.Metadata["tender_refund"] != "" || fr.Metadata["tender_stripe_fee"] != "" || fr.Amount == 0 {
			continue
		}
		entries = append(entries, s.between(platformID, mv, ledger.EntryApplicationFeeRefund, "application_fee_refund:"+fr.ID,
			ledger.PlatformBalance(), fr.Amount, cur, ledger.RoleApplicationFeeRefund, time.Unix(fr.Created, 0)))
	}
	return mv, s.postMoved(ctx, mv, entries, nil)
}

// ObserveReversals books the reversals of a transfer to a merchant made at
// Stripe without Tender (read from Stripe by the caller, with its
// reversals): the merchant gave the platform part of a transfer back.
// Reversals that pay for a refund (Tender's own, with its metadata, or a
// destination charge's reverse_transfer, which names its refund) are
// booked with their refund, and those recovering a dispute with their
// dispute; they are left alone. A reversal of one of
// Tender's transfers (a separate charge's) is also counted on it, with
// transfer.reversed. Each is posted once, by its id. Returns errs.NotFound
// when no merchant of the platform is connected to the destination.
func (s *Service) ObserveReversals(ctx context.Context, platformID string, tr *stripe.Transfer) (*Moved, error) {
	if tr.Destination == nil {
		return nil, errs.NotFoundf("", "Transfer %s has no destination.", tr.ID)
	}
	piID := ""
	if tr.SourceTransaction != nil && tr.SourceTransaction.PaymentIntent != nil {
		piID = tr.SourceTransaction.PaymentIntent.ID
	}
	mv, err := s.movedOn(ctx, platformID, tr.Destination.ID, piID)
	if err != nil {
		return nil, err
	}
	if id := tr.Metadata["tender_payment"]; id != "" && mv.PaymentID == "" {
		mv.PaymentID = id
	}
	cur, err := money.ParseCurrency(string(tr.Currency))
	if err != nil {
		return nil, fmt.Errorf("transfer %s: %w", tr.ID, err)
	}
	var entries []ledger.Entry
	var reversed int64
	if tr.Reversals != nil {
		for _, rv := range tr.Reversals.Data {
			if rv.Metadata["tender_refund"] != "" || rv.Metadata["tender_dispute"] != "" || rv.SourceRefund != nil || rv.Amount == 0 {
				continue
			}
			e := s.between(platformID, mv, ledger.EntryTransferReversal, "transfer_reversal:"+rv.ID, ledger.MerchantBalance(mv.MerchantID),
				rv.Amount, cur, ledger.RoleTransferReversal, time.Unix(rv.Created, 0))
			e.TransferID = tr.Metadata["tender_transfer"]
			entries = append(entries, e)
			reversed += rv.Amount
		}
	}
	return mv, s.postMoved(ctx, mv, entries, func(ctx context.Context, tx *sql.Tx, posted []int64) error {
		return s.countReversed(ctx, tx, platformID, tr.Metadata["tender_transfer"], posted)
	})
}

// chargeIntent is the id of a charge's PaymentIntent, if the charge was
// expanded and has one.
func chargeIntent(ch *stripe.Charge) string {
	if ch == nil || ch.PaymentIntent == nil {
		return ""
	}
	return ch.PaymentIntent.ID
}

// movedOn finds the merchant connected to account (the first connected,
// if several share it) and the payment of PaymentIntent piID, if Tender
// made it.
func (s *Service) movedOn(ctx context.Context, platformID, account, piID string) (*Moved, error) {
	var mv Moved
	var err error
	if mv.MerchantID, err = s.connect.FirstMerchantOf(ctx, platformID, account); err != nil {
		return nil, err
	}
	if piID != "" {
		if p, err := paymentOfIntent(ctx, s.db, platformID, piID); err == nil {
			mv.PaymentID = p.ID
		} else if !errs.Is(err, errs.NotFound) {
			return nil, err
		}
	}
	return &mv, nil
}

// between is an entry moving amount from one balance to the other (the
// platform's and the merchant's), available at once.
func (s *Service) between(platformID string, mv *Moved, kind ledger.EntryKind, cause string, from ledger.AccountRef, amount int64,
	cur money.Currency, role ledger.Role, at time.Time) ledger.Entry {
	to := ledger.MerchantBalance(mv.MerchantID)
	if from.Owner == ledger.OwnerMerchant {
		to = ledger.PlatformBalance()
	}
	at = at.UTC()
	return ledger.Entry{PlatformID: platformID, Cause: cause, Kind: kind, At: at, MerchantID: mv.MerchantID, PaymentID: mv.PaymentID,
		Postings: []ledger.Posting{
			{Account: from, Amount: money.New(-amount, cur), Role: role, AvailableOn: at},
			{Account: to, Amount: money.New(amount, cur), Role: role, AvailableOn: at},
		}}
}

// postMoved posts the entries in one transaction, counting those posted
// now, and runs also (when not nil) with the amounts of those.
func (s *Service) postMoved(ctx context.Context, mv *Moved, entries []ledger.Entry,
	also func(context.Context, *sql.Tx, []int64) error) error {
	if len(entries) == 0 {
		return nil
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		mv.Posted = 0
		var posted []int64
		for _, e := range entries {
			ok, err := s.ledger.Post(ctx, tx, e)
			if err != nil {
				return fmt.Errorf("posting %s: %w", e.Cause, err)
			}
			if ok {
				mv.Posted++
				posted = append(posted, e.Postings[1].Amount.Value)
			}
		}
		if also == nil || len(posted) == 0 {
			return nil
		}
		return also(ctx, tx, posted)
	})
}

// CountReversal counts a reversal of one of Tender's transfers made for
// something other than a refund (a dispute's recovery), in its
// transaction, with transfer.reversed. A transferID of "" (a destination
// charge's transfer, Stripe's own) counts nothing.
func (s *Service) CountReversal(ctx context.Context, tx *sql.Tx, platformID, transferID string, amount int64) error {
	return s.countReversed(ctx, tx, platformID, transferID, []int64{amount})
}

// countReversed counts reversals made at Stripe on one of Tender's
// transfers, with transfer.reversed.
func (s *Service) countReversed(ctx context.Context, tx *sql.Tx, platformID, transferID string, amounts []int64) error {
	if transferID == "" {
		return nil // a destination charge's transfer: Stripe's, not one of Tender's rows
	}
	var sum int64
	for _, a := range amounts {
		sum += a
	}
	now := store.TimeOf(s.now())
	res, err := tx.ExecContext(ctx, `UPDATE transfers SET amount_reversed = amount_reversed + $3, updated_at = $4
		WHERE platform_id = $1 AND id = $2`, platformID, transferID, sum, now)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	t, err := scanTransfer(tx.QueryRowContext(ctx, `SELECT `+transferCols+` FROM transfers WHERE platform_id = $1 AND id = $2`,
		platformID, transferID))
	if err != nil {
		return err
	}
	_, err = event.Record(ctx, tx, now.Time, platformID, EventTransferReversed, t.ID, t.View())
	return err
}
