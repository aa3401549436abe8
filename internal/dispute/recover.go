package dispute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeop"
)

// Recovering a dispute the platform bears.
//
// When the fee policy that priced a destination or separate charge says
// dispute_payer: merchant, the merchants the charge was transferred to
// bear its disputes, though Stripe takes the money from the platform. The
// rule, kept by Recover:
//
//   - When Stripe withdraws the disputed amount and its dispute fee from
//     the platform, Tender reverses the charge's transfers by the same
//     sum, shared over them in proportion to what is left of each (a
//     destination charge has one). No merchant gives back more than was
//     left of its transfer; what cannot be recovered stays the
//     platform's.
//   - When the dispute is won, Stripe gives the amount back (not the fee),
//     and Tender transfers each merchant's share of the amount back to it.
//     A lost dispute keeps what was recovered.
//   - Each share is planned once, with its amounts fixed, and made by one
//     exactly-once operation (stripeop) whose deterministic key names the
//     dispute and the transfer; its ledger entry and the platform's event
//     commit with Stripe's id.
//   - A reversal Stripe refuses is recorded as recovering 0 with Stripe's
//     words, and dispute.recovery_failed: the platform bears that share.
//     A return waits (hourly, up to ReturnWithin) for the platform's
//     available balance to hold the reinstated funds, then fails the same
//     way.
//
// Ledger: a recovery moves the disputed amount (role dispute) and the fee
// (role dispute_fee) from the merchant's balance to the platform's; a
// return moves the amount back.

// ReturnWithin is how long after a dispute is won Tender keeps trying to
// return a merchant's share while the platform's available balance is
// short.
const ReturnWithin = 14 * 24 * time.Hour

// Recovery is one transfer's share of a dispute recovered from its
// merchant.
type Recovery struct {
	PlatformID, DisputeID string
	StripeTransferID      string
	TransferID            string // Tender's, for a separate charge; "" for a destination charge's
	MerchantID, Account   string
	Currency              money.Currency
	Amount, Fee           int64 // taken back by one reversal
	StripeReversalID      string
	Returned              int64 // given back when won, by one transfer
	StripeReturnID        string
	FailureDetail         string
	Created, Updated      time.Time
}

// recovers reports whether the platform's policy passes d on to its
// merchants.
func (d *Dispute) recovers() bool { return d.Bearer == BearerPlatform && d.Payer == BearerMerchant }

// Recovered and Returned are what was taken back and given back so far.
func (d *Dispute) recovered() (recovered, returned int64) {
	for _, r := range d.Recoveries {
		if r.StripeReversalID != "" {
			recovered += r.Amount + r.Fee
		}
		if r.StripeReturnID != "" {
			returned += r.Returned
		}
	}
	return recovered, returned
}

// RecoverArgs is the job that brings a dispute's recovery up to date.
type RecoverArgs struct {
	PlatformID string `json:"platform_id"`
	DisputeID  string `json:"dispute_id"`
}

// Kind implements river.JobArgs.
func (RecoverArgs) Kind() string { return "dispute.recover" }

var recoverOpts = &river.InsertOpts{MaxAttempts: payment.MaxAttempts}

// RecoverWorker runs RecoverArgs jobs; running one twice recovers once.
type RecoverWorker struct {
	river.WorkerDefaults[RecoverArgs]
	Disputes *Service
}

// Work implements river.Worker.
func (w *RecoverWorker) Work(ctx context.Context, job *river.Job[RecoverArgs]) error {
	err := w.Disputes.Recover(ctx, job.Args.PlatformID, job.Args.DisputeID)
	if errors.Is(err, errShort) {
		return river.JobSnooze(time.Hour)
	}
	return err
}

// errShort says a return waits for the platform's available balance.
var errShort = errors.New("the platform's available balance is short")

// Recover brings a dispute's recovery up to date with what Stripe has
// taken from the platform: it plans the merchants' shares once funds are
// withdrawn, reverses their transfers, and returns the amount once the
// dispute is won (see the rule above). Safe to run any number of times,
// concurrently included. It returns errShort while a return waits for
// the platform's balance, and an error for River to retry while an
// outcome at Stripe is unknown.
func (s *Service) Recover(ctx context.Context, platformID, disputeID string) error {
	d, err := get(ctx, s.db, platformID, disputeID)
	if err != nil || !d.recovers() {
		return err
	}
	if err := withRecoveries(ctx, s.db, d); err != nil {
		return err
	}
	if len(d.Recoveries) == 0 && d.Withdrawn+d.Fees == 0 {
		return nil // nothing withdrawn yet: an inquiry, or the event before the money
	}
	p, err := s.payments.Payment(ctx, platformID, d.PaymentID)
	if err != nil {
		return err
	}
	c, err := s.client(ctx, platformID)
	if err != nil {
		return err
	}
	sc := c.Stripe()
	if len(d.Recoveries) == 0 {
		if err := s.plan(ctx, sc, d, p); err != nil {
			return err
		}
	}
	for _, r := range d.Recoveries {
		if r.Amount+r.Fee > 0 && r.StripeReversalID == "" {
			if err := s.takeBack(ctx, sc, d, r); err != nil {
				return err
			}
		}
	}
	if d.Status != StatusWon || d.Withdrawn != 0 {
		return nil // the amount comes back only when Stripe has reinstated it
	}
	if err := s.planReturns(ctx, d); err != nil {
		return err
	}
	for _, r := range d.Recoveries {
		if r.Returned > 0 && r.StripeReturnID == "" {
			if err := s.giveBack(ctx, sc, d, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// plan fixes the dispute's shares: the amount and fee Stripe withdrew,
// over the charge's transfers in proportion to what is left of each at
// Stripe, none beyond it. Every transfer gets a row, so two runs planning
// at once collide on the first and the loser reads the winner's plan.
func (s *Service) plan(ctx context.Context, sc *stripe.Client, d *Dispute, p *payment.Payment) error {
	shares, err := s.transfersOf(ctx, sc, d, p)
	if err != nil {
		return err
	}
	left := make([]int64, len(shares))
	var total int64
	for i, r := range shares {
		total += r.Amount // what is left of the transfer, for now
		left[i] = r.Amount
	}
	take := min(d.Withdrawn+d.Fees, total)
	fee := min(d.Fees, take)
	amounts, fees := make([]int64, len(shares)), make([]int64, len(shares))
	if take > 0 {
		if amounts, err = money.Allocate(take-fee, left); err != nil {
			return err
		}
		for i := range left {
			left[i] -= amounts[i]
		}
		if fee > 0 {
			if fees, err = money.Allocate(fee, left); err != nil {
				return err
			}
		}
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		for i, r := range shares {
			r.Amount, r.Fee, r.Created, r.Updated = amounts[i], fees[i], now, now
			if r.Amount+r.Fee == 0 {
				r.FailureDetail = "nothing was left of the transfer to recover"
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO dispute_recoveries (platform_id, dispute_id, stripe_transfer_id, transfer_id,
				merchant_id, account, currency, recover_amount, recover_fee, return_amount, failure_detail, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $11)`,
				d.PlatformID, d.ID, r.StripeTransferID, r.TransferID, r.MerchantID, r.Account, r.Currency.Lower(), r.Amount, r.Fee,
				r.FailureDetail, store.TimeOf(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !store.IsUniqueViolation(err) {
		return fmt.Errorf("dispute %s: planning its recovery: %w", d.ID, err)
	}
	return withRecoveries(ctx, s.db, d) // ours, or the plan of the run that won
}

// transfersOf reads the charge's transfers from Stripe, as shares whose
// Amount is what is left of each.
func (s *Service) transfersOf(ctx context.Context, sc *stripe.Client, d *Dispute, p *payment.Payment) ([]*Recovery, error) {
	share := func(tr *stripe.Transfer, transferID, merchantID string) *Recovery {
		return &Recovery{PlatformID: d.PlatformID, DisputeID: d.ID, StripeTransferID: tr.ID, TransferID: transferID,
			MerchantID: merchantID, Account: tr.Destination.ID, Currency: d.Currency, Amount: tr.Amount - tr.AmountReversed}
	}
	if p.ChargeType == payment.ChargeDestination {
		params := &stripe.ChargeRetrieveParams{}
		params.AddExpand("transfer")
		ch, err := sc.V1Charges.Retrieve(ctx, d.ChargeID, params)
		if err != nil {
			return nil, fmt.Errorf("dispute %s: reading charge %s: %w", d.ID, d.ChargeID, err)
		}
		if ch.Transfer == nil || ch.Transfer.Destination == nil {
			return nil, river.JobCancel(fmt.Errorf("dispute %s: charge %s has no transfer to recover from", d.ID, ch.ID))
		}
		return []*Recovery{share(ch.Transfer, "", p.MerchantID)}, nil
	}
	var shares []*Recovery
	for _, t := range p.Transfers {
		if t.Status == payment.TransferPending || t.Status == payment.TransferProcessing {
			// A dispute can open before the transfers are made; the plan
			// is made once, so it waits for them (River retries).
			return nil, fmt.Errorf("dispute %s: transfer %s is %s; planning its recovery when it is made", d.ID, t.ID, t.Status)
		}
		if t.StripeTransferID == "" {
			continue // failed or canceled: nothing of the charge went to that merchant
		}
		tr, err := sc.V1Transfers.Retrieve(ctx, t.StripeTransferID, nil)
		if err != nil {
			return nil, fmt.Errorf("dispute %s: reading transfer %s: %w", d.ID, t.StripeTransferID, err)
		}
		if tr.Destination == nil {
			tr.Destination = &stripe.Account{ID: t.AccountID}
		}
		shares = append(shares, share(tr, t.ID, t.MerchantID))
	}
	if len(shares) == 0 {
		return nil, river.JobCancel(fmt.Errorf("dispute %s: payment %s made no transfers to recover from", d.ID, p.ID))
	}
	return shares, nil
}

// takeBack reverses one transfer by its share, as an operation found
// among the transfer's reversals by the dispute's metadata.
func (s *Service) takeBack(ctx context.Context, sc *stripe.Client, d *Dispute, r *Recovery) error {
	res, err := s.ops.Run(ctx, stripeop.Op{
		PlatformID: d.PlatformID, Kind: stripeop.CreateTransferReversal, Object: d.ID + ":" + r.StripeTransferID,
		Key: []string{"dispute", d.ID, "recover", r.StripeTransferID}, Step: "dispute_recovery",
		Find: func(ctx context.Context) (string, error) {
			for x, err := range sc.V1TransferReversals.List(ctx, &stripe.TransferReversalListParams{ID: stripe.String(r.StripeTransferID)}).All(ctx) {
				if err != nil {
					return "", err
				}
				if x.Metadata["tender_dispute"] == d.ID {
					return x.ID, nil
				}
			}
			return "", nil
		},
		Call: func(ctx context.Context, key string) (string, error) {
			params := &stripe.TransferReversalCreateParams{ID: stripe.String(r.StripeTransferID), Amount: stripe.Int64(r.Amount + r.Fee),
				Description: stripe.String("Recovery of dispute " + d.StripeID),
				Metadata:    map[string]string{"tender_dispute": d.ID, "tender_payment": d.PaymentID}}
			params.SetIdempotencyKey(key)
			x, err := sc.V1TransferReversals.Create(ctx, params)
			if err != nil {
				return "", err
			}
			return x.ID, nil
		},
		OnSave: func(ctx context.Context, tx *sql.Tx, id string) error {
			return s.recovered(ctx, tx, d, r, id)
		},
	})
	if f := stripeop.AsFailed(err); f != nil {
		if o := f.Outcome; o.Kind == stripeapi.KindInvalidRequest || o.Kind == stripeapi.KindAccountInvalid {
			return s.refused(ctx, d, r, "recover_amount = 0, recover_fee = 0", "recovery: "+o.Message)
		}
		return fmt.Errorf("dispute %s: recovery from %s: %s at Stripe, will retry: %w", d.ID, r.StripeTransferID, f.Outcome.Kind, err)
	}
	if err != nil {
		return fmt.Errorf("dispute %s: recovery from %s: %w", d.ID, r.StripeTransferID, err)
	}
	r.StripeReversalID = res.StripeID
	return nil
}

// recovered saves a reversal's id with its ledger entry, its count on
// Tender's transfer, and dispute.funds_recovered, in the transaction of
// its operation.
func (s *Service) recovered(ctx context.Context, tx *sql.Tx, d *Dispute, r *Recovery, reversalID string) error {
	now := s.now()
	res, err := tx.ExecContext(ctx, `UPDATE dispute_recoveries SET stripe_reversal_id = $4, updated_at = $5
		WHERE platform_id = $1 AND dispute_id = $2 AND stripe_transfer_id = $3 AND stripe_reversal_id IS NULL`,
		d.PlatformID, d.ID, r.StripeTransferID, reversalID, store.TimeOf(now))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	r.StripeReversalID = reversalID
	e := s.between(d, r, "dispute_recovery:", ledger.MerchantBalance(r.MerchantID), ledger.PlatformBalance(), r.Amount, r.Fee, now)
	if _, err := s.ledger.Post(ctx, tx, e); err != nil {
		return err
	}
	if err := s.payments.CountReversal(ctx, tx, d.PlatformID, r.TransferID, r.Amount+r.Fee); err != nil {
		return err
	}
	return s.recordRecovery(ctx, tx, d, EventFundsRecovered, now)
}

// planReturns fixes what each share gives back of a won dispute: the
// amount it recovered (Stripe keeps its fee from the platform, so the
// merchant's share of it stays recovered).
func (s *Service) planReturns(ctx context.Context, d *Dispute) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE dispute_recoveries SET return_amount = recover_amount, updated_at = $3
		WHERE platform_id = $1 AND dispute_id = $2 AND stripe_reversal_id IS NOT NULL AND return_amount = 0 AND stripe_return_id IS NULL
		AND failure_detail = ''`, d.PlatformID, d.ID, store.TimeOf(s.now())); err != nil {
		return err
	}
	return withRecoveries(ctx, s.db, d)
}

// giveBack transfers a share's amount back to its merchant, as an
// operation found among the account's transfers by the dispute's
// metadata.
func (s *Service) giveBack(ctx context.Context, sc *stripe.Client, d *Dispute, r *Recovery) error {
	op := stripeop.Op{
		PlatformID: d.PlatformID, Kind: stripeop.CreateTransfer, Object: d.ID + ":return:" + r.StripeTransferID,
		Key: []string{"dispute", d.ID, "return", r.StripeTransferID}, Step: "dispute_return",
		Find: func(ctx context.Context) (string, error) {
			for x, err := range sc.V1Transfers.List(ctx, &stripe.TransferListParams{Destination: stripe.String(r.Account)}).All(ctx) {
				if err != nil {
					return "", err
				}
				if x.Metadata["tender_dispute"] == d.ID && x.Metadata["tender_recovered_from"] == r.StripeTransferID {
					return x.ID, nil
				}
			}
			return "", nil
		},
		Call: func(ctx context.Context, key string) (string, error) {
			params := &stripe.TransferCreateParams{Amount: stripe.Int64(r.Returned), Currency: stripe.String(r.Currency.Lower()),
				Destination: stripe.String(r.Account), Description: stripe.String("Dispute " + d.StripeID + " won"),
				Metadata: map[string]string{"tender_dispute": d.ID, "tender_payment": d.PaymentID, "tender_recovered_from": r.StripeTransferID}}
			params.SetIdempotencyKey(key)
			x, err := sc.V1Transfers.Create(ctx, params)
			if err != nil {
				return "", err
			}
			return x.ID, nil
		},
		OnSave: func(ctx context.Context, tx *sql.Tx, id string) error {
			return s.returned(ctx, tx, d, r, id)
		},
	}
	res, err := s.ops.Run(ctx, op)
	if f := stripeop.AsFailed(err); f != nil {
		o := f.Outcome
		if o.Code == "balance_insufficient" && s.now().Before(d.Updated.Add(ReturnWithin)) {
			s.log.InfoContext(ctx, "dispute return waits for the platform's balance", "dispute", d.ID, "transfer", r.StripeTransferID)
			if err := s.ops.Again(ctx, op); err != nil {
				return err
			}
			return fmt.Errorf("dispute %s: return to %s: %w", d.ID, r.MerchantID, errShort)
		}
		if o.Kind == stripeapi.KindInvalidRequest || o.Kind == stripeapi.KindAccountInvalid {
			return s.refused(ctx, d, r, "return_amount = 0", "return: "+o.Message)
		}
		return fmt.Errorf("dispute %s: return to %s: %s at Stripe, will retry: %w", d.ID, r.MerchantID, o.Kind, err)
	}
	if err != nil {
		return fmt.Errorf("dispute %s: return to %s: %w", d.ID, r.MerchantID, err)
	}
	r.StripeReturnID = res.StripeID
	return nil
}

// returned saves a return's id with its ledger entry and
// dispute.funds_returned, in the transaction of its operation.
func (s *Service) returned(ctx context.Context, tx *sql.Tx, d *Dispute, r *Recovery, transferID string) error {
	now := s.now()
	res, err := tx.ExecContext(ctx, `UPDATE dispute_recoveries SET stripe_return_id = $4, updated_at = $5
		WHERE platform_id = $1 AND dispute_id = $2 AND stripe_transfer_id = $3 AND stripe_return_id IS NULL`,
		d.PlatformID, d.ID, r.StripeTransferID, transferID, store.TimeOf(now))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	r.StripeReturnID = transferID
	e := s.between(d, r, "dispute_return:", ledger.PlatformBalance(), ledger.MerchantBalance(r.MerchantID), r.Returned, 0, now)
	if _, err := s.ledger.Post(ctx, tx, e); err != nil {
		return err
	}
	return s.recordRecovery(ctx, tx, d, EventFundsReturned, now)
}

// refused records that Stripe refused a share's reversal or return: set
// (constant SQL, never input) zeroes its amounts, Stripe's words are
// kept, and the platform is told; the platform bears that share.
func (s *Service) refused(ctx context.Context, d *Dispute, r *Recovery, set, detail string) error {
	s.log.ErrorContext(ctx, "dispute recovery refused by Stripe", "dispute", d.ID, "transfer", r.StripeTransferID, "detail", detail)
	now := s.now()
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE dispute_recoveries SET `+set+`, failure_detail = $4, updated_at = $5
			WHERE platform_id = $1 AND dispute_id = $2 AND stripe_transfer_id = $3`,
			d.PlatformID, d.ID, r.StripeTransferID, detail, store.TimeOf(now)); err != nil {
			return err
		}
		return s.recordRecovery(ctx, tx, d, EventRecoveryFailed, now)
	})
}

// recordRecovery records a recovery event with the dispute as it now is.
func (s *Service) recordRecovery(ctx context.Context, tx *sql.Tx, d *Dispute, typ event.Type, now time.Time) error {
	cur, err := get(ctx, tx, d.PlatformID, d.ID)
	if err != nil {
		return err
	}
	if err := withRecoveries(ctx, tx, cur); err != nil {
		return err
	}
	_, err = event.Record(ctx, tx, now, d.PlatformID, typ, d.ID, cur.View())
	return err
}

// between is a recovery's entry: amount (role dispute) and fee (role
// dispute_fee) from one balance to the other, available at once, as a
// reversal's and a transfer's money is at Stripe.
func (s *Service) between(d *Dispute, r *Recovery, cause string, from, to ledger.AccountRef, amount, fee int64, now time.Time) ledger.Entry {
	at := now.UTC()
	e := ledger.Entry{PlatformID: d.PlatformID, Cause: cause + d.ID + ":" + r.StripeTransferID, Kind: ledger.EntryDisputeRecovery,
		At: at, MerchantID: r.MerchantID, PaymentID: d.PaymentID, TransferID: r.TransferID}
	for _, part := range []struct {
		amount int64
		role   ledger.Role
	}{{amount, ledger.RoleDispute}, {fee, ledger.RoleDisputeFee}} {
		if part.amount != 0 {
			e.Postings = append(e.Postings,
				ledger.Posting{Account: from, Amount: money.New(-part.amount, r.Currency), Role: part.role, AvailableOn: at},
				ledger.Posting{Account: to, Amount: money.New(part.amount, r.Currency), Role: part.role, AvailableOn: at})
		}
	}
	return e
}

const recoveryCols = `platform_id, dispute_id, stripe_transfer_id, transfer_id, merchant_id, account, currency, recover_amount,
	recover_fee, stripe_reversal_id, return_amount, stripe_return_id, failure_detail, created_at, updated_at`

func scanRecovery(sc store.Scanner) (*Recovery, error) {
	r := &Recovery{}
	var cur string
	var reversal, ret sql.NullString
	var created, updated store.Time
	if err := sc.Scan(&r.PlatformID, &r.DisputeID, &r.StripeTransferID, &r.TransferID, &r.MerchantID, &r.Account, &cur, &r.Amount,
		&r.Fee, &reversal, &r.Returned, &ret, &r.FailureDetail, &created, &updated); err != nil {
		return nil, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return nil, fmt.Errorf("dispute %s recovery: %w", r.DisputeID, err)
	}
	r.Currency, r.StripeReversalID, r.StripeReturnID, r.Created, r.Updated = c, reversal.String, ret.String, created.Time, updated.Time
	return r, nil
}

// withRecoveries loads the recoveries of those of ds the platform
// recovers.
func withRecoveries(ctx context.Context, q store.Querier, ds ...*Dispute) error {
	for _, d := range ds {
		if !d.recovers() {
			continue
		}
		rs, err := store.All(ctx, q, scanRecovery, `SELECT `+recoveryCols+` FROM dispute_recoveries
			WHERE platform_id = $1 AND dispute_id = $2 ORDER BY stripe_transfer_id`, d.PlatformID, d.ID)
		if err != nil {
			return err
		}
		d.Recoveries = rs
	}
	return nil
}
