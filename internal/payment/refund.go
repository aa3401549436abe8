package payment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/metadata"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/nullable"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeop"
)

// RefundPrefix is the prefix of a refund's id.
const RefundPrefix = "rfd"

// RefundStatus is where a refund stands.
type RefundStatus string

// Refund statuses.
const (
	// RefundPending: accepted; its job has not reached Stripe yet.
	RefundPending RefundStatus = "pending"
	// RefundProcessing: being made at Stripe, or to be looked up there.
	RefundProcessing RefundStatus = "processing"
	// RefundSucceeded: the customer's money is on its way back, and the
	// fee and transfers have been reversed in proportion.
	RefundSucceeded RefundStatus = "succeeded"
	// RefundFailed: Stripe refused it (FailureCode says why); its amount
	// can be refunded again.
	RefundFailed RefundStatus = "failed"
)

// RefundSource is who made a refund.
type RefundSource string

// Refund sources.
const (
	RefundByTender RefundSource = "tender"
	RefundAtStripe RefundSource = "stripe"
)

// Refund events.
const (
	EventRefundCreated   event.Type = "refund.created"
	EventRefundSucceeded event.Type = "refund.succeeded"
	EventRefundFailed    event.Type = "refund.failed"
)

// Refund returns part or all of a captured payment to the customer, with
// the platform's fee and the merchants' transfers given back in
// proportion (see refundParts).
type Refund struct {
	ID         string
	PlatformID string
	PaymentID  string
	Amount     int64
	Currency   money.Currency
	Reason     string
	Metadata   map[string]string
	Status     RefundStatus
	// FeeRefunded is the part of the platform's fee given back to the
	// merchant (direct and destination charges); FeeFixed says the parts
	// have been fixed (before Stripe is first called).
	FeeRefunded       int64
	FeeFixed          bool
	StripeRefundID    string
	StripeFeeRefundID string
	// Source is who made it: Tender (through the API), or someone at
	// Stripe, learnt from Stripe's events (see ObserveRefund).
	Source RefundSource
	// TransferReversed is what a destination charge's refund made at
	// Stripe took back from the merchant; nil for Tender's own, which
	// reverse exactly the refund.
	TransferReversed *int64
	FailureCode      string
	FailureDetail    string // Stripe's words, for the operator
	// Reversals are a separate charge's transfers reversed, one per paid
	// transfer.
	Reversals []*Reversal
	Created   time.Time
	Updated   time.Time
}

// Reversal is the part of one transfer a refund takes back.
type Reversal struct {
	TransferID       string
	Amount           int64
	StripeReversalID string
}

// RefundParams ask for a refund.
type RefundParams struct {
	// Amount is in minor units; nil refunds all that is left.
	Amount   *int64            `json:"amount"`
	Reason   string            `json:"reason" text:"32"`
	Metadata map[string]string `json:"metadata" text:"500,multiline,keys=40"`
}

func (rp *RefundParams) validate() error {
	switch rp.Reason {
	case "", "duplicate", "fraudulent", "requested_by_customer":
	default:
		return errs.Invalidf("reason", "reason must be duplicate, fraudulent or requested_by_customer, not %q.", rp.Reason)
	}
	if rp.Amount != nil && *rp.Amount <= 0 {
		return errs.Invalidf("amount", "amount must be a positive number of minor units, not %d.", *rp.Amount)
	}
	updates := make(map[string]*string, len(rp.Metadata))
	for k, v := range rp.Metadata {
		if k == "tender_refund" || k == "tender_payment" {
			return errs.Invalidf("metadata", "metadata key %q is Tender's own.", k)
		}
		updates[k] = &v
	}
	md, err := metadata.Apply(nil, updates)
	if err != nil {
		return err
	}
	if len(md) > metadata.MaxKeys-2 {
		return errs.Invalidf("metadata", "metadata may have at most %d keys.", metadata.MaxKeys-2)
	}
	rp.Metadata = md
	return nil
}

// CreateRefund accepts a refund of a succeeded payment and writes it with
// its job, in one transaction, with the request's answer (the refund's
// view) when it has an Idempotency-Key; the job makes it at Stripe exactly
// once.
// Its amount is reserved on the payment in the same statement that checks
// it fits, so refunds racing cannot together return more than was
// captured. Returns errs.Invalid (amount, reason, metadata), errs.NotFound
// and errs.Conflict (payment_not_refundable: not succeeded;
// payment_refunded: nothing left).
func (s *Service) CreateRefund(ctx context.Context, platformID, paymentID string, rp RefundParams) (*Refund, error) {
	return s.createRefund(ctx, platformID, paymentID, rp, func(tx *sql.Tx, r *Refund) error {
		return idempotency.Commit(ctx, tx, r.View())
	})
}

// createRefund accepts a refund; also, if not nil, runs in the transaction
// that writes it.
func (s *Service) createRefund(ctx context.Context, platformID, paymentID string, rp RefundParams, also func(*sql.Tx, *Refund) error) (*Refund, error) {
	if err := rp.validate(); err != nil {
		return nil, err
	}
	p, err := getPayment(ctx, s.db, platformID, paymentID)
	if err != nil {
		return nil, err
	}
	if err := refundable(p, rp.Amount); err != nil {
		return nil, err
	}
	amount := p.AmountCaptured - p.AmountRefunded
	if rp.Amount != nil {
		amount = *rp.Amount
	}
	md, err := json.Marshal(rp.Metadata)
	if err != nil {
		return nil, err
	}
	now := store.TimeOf(s.now())
	r := &Refund{ID: id.For(ctx, RefundPrefix), PlatformID: platformID, PaymentID: p.ID, Amount: amount, Currency: p.Currency, Reason: rp.Reason,
		Metadata: rp.Metadata, Status: RefundPending, Source: RefundByTender, Created: now.Time, Updated: now.Time}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE payments SET amount_refunded = amount_refunded + $3, updated_at = $4
			WHERE platform_id = $1 AND id = $2 AND status = $5 AND amount_refunded + $3 <= amount_captured`,
			platformID, p.ID, amount, now, string(StatusSucceeded))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			// Another refund took part of it since it was read.
			if p, err = getPayment(ctx, tx, platformID, p.ID); err != nil {
				return err
			}
			if err := refundable(p, &amount); err != nil {
				return err
			}
			return errs.E(errs.Conflict, "Payment %s changed while the refund was accepted; try again.", p.ID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO refunds (platform_id, id, payment_id, amount, currency, reason, metadata, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`, platformID, r.ID, p.ID, amount, p.Currency.Lower(), r.Reason, string(md),
			string(r.Status), now); err != nil {
			return fmt.Errorf("insert refund: %w", err)
		}
		if _, err := s.jobs().InsertTx(ctx, tx, RefundArgs{PlatformID: platformID, RefundID: r.ID}, refundOpts); err != nil {
			return fmt.Errorf("enqueue refund: %w", err)
		}
		if _, err := event.Record(ctx, tx, now.Time, platformID, EventRefundCreated, r.ID, r.View()); err != nil {
			return err
		}
		if also != nil {
			return also(tx, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// refundable says why a payment cannot be refunded amount (nil: all that
// is left), or nil if it can.
func refundable(p *Payment, amount *int64) error {
	left := p.AmountCaptured - p.AmountRefunded
	switch {
	case p.Status == StatusRequiresCapture:
		return errs.E(errs.Conflict, "Payment %s has not been captured; cancel it to release the authorization.", p.ID).WithReason("payment_not_refundable")
	case p.Status != StatusSucceeded:
		return errs.E(errs.Conflict, "Payment %s is %s; only a succeeded payment can be refunded.", p.ID, p.Status).WithReason("payment_not_refundable")
	case left == 0:
		return errs.E(errs.Conflict, "Payment %s has been refunded in full.", p.ID).WithReason("payment_refunded")
	case amount != nil && *amount > left:
		return errs.Invalidf("amount", "amount must be at most %d, what is left to refund of payment %s.", left, p.ID)
	}
	return nil
}

// RefundArgs is the job that makes a refund at Stripe.
type RefundArgs struct {
	PlatformID string `json:"platform_id"`
	RefundID   string `json:"refund_id"`
}

// Kind implements river.JobArgs.
func (RefundArgs) Kind() string { return "payment.refund" }

var refundOpts = &river.InsertOpts{MaxAttempts: MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}

// RefundWorker runs RefundArgs jobs; running one twice refunds once (see
// Service.ProcessRefund).
type RefundWorker struct {
	river.WorkerDefaults[RefundArgs]
	Payments *Service
}

// Work implements river.Worker.
func (w *RefundWorker) Work(ctx context.Context, job *river.Job[RefundArgs]) error {
	return w.Payments.ProcessRefund(ctx, job.Args.PlatformID, job.Args.RefundID)
}

// ProcessRefund makes the refund at Stripe, with its parts, exactly once,
// whatever happened to an earlier run. A payment's refunds are made in the
// order they were accepted (an earlier one still open is made first),
// because each one's parts follow from those made before it. Each Stripe
// object (the refund, the fee refund, each transfer reversal) is first
// looked for by Tender's metadata in a list of its parent's (lists show
// what was just written), then created under a key derived from the
// refund and the part, moved on after a 5xx. It returns an error, for
// River to retry, while an outcome is unknown.
func (s *Service) ProcessRefund(ctx context.Context, platformID, refundID string) error {
	r, err := getRefund(ctx, s.db, platformID, refundID)
	if err != nil {
		return err
	}
	if r.Status == RefundSucceeded || r.Status == RefundFailed {
		return nil
	}
	p, err := getPayment(ctx, s.db, platformID, r.PaymentID)
	if err != nil {
		return err
	}
	open, err := store.All(ctx, s.db, scanRefund, `SELECT `+refundCols+` FROM refunds WHERE platform_id = $1 AND payment_id = $2
		AND status IN ($3, $4) AND (created_at < $5 OR (created_at = $5 AND id <= $6)) ORDER BY created_at, id`,
		platformID, p.ID, string(RefundPending), string(RefundProcessing), store.TimeOf(r.Created), r.ID)
	if err != nil {
		return err
	}
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return err
	}
	for i, o := range open {
		if i > 0 {
			// The refund before this one changed the payment (what its
			// transfers have had reversed), from which this one's parts
			// follow: read it again.
			if p, err = getPayment(ctx, s.db, platformID, r.PaymentID); err != nil {
				return err
			}
		}
		if err := withReversals(ctx, s.db, o); err != nil {
			return err
		}
		if err := s.refundOne(ctx, sc, p, o); err != nil {
			return err
		}
		if o.Status != RefundSucceeded && o.Status != RefundFailed {
			// The next refund's parts follow from this one's: never go on
			// before it is final.
			return s.waitFor(fmt.Sprintf("refund %s: %s still open after its run", r.ID, o.ID))
		}
	}
	return nil
}

func (s *Service) refundOne(ctx context.Context, sc *stripe.Client, p *Payment, r *Refund) error {
	pi, err := sc.V1PaymentIntents.Retrieve(ctx, p.StripePaymentIntentID, stripeapi.OnAccount(&stripe.PaymentIntentRetrieveParams{}, p.intentAccount()))
	if err != nil {
		return s.chargeUnreadable(ctx, p, r, stripeapi.Classify(err))
	}
	if pi.LatestCharge == nil {
		return river.JobCancel(fmt.Errorf("refund %s: PaymentIntent %s has no charge", r.ID, pi.ID))
	}
	if r.Status == RefundPending {
		if err := s.settleRefund(ctx, p, r, RefundProcessing, nil); err != nil {
			return err
		}
	}
	if !r.FeeFixed {
		if err := s.fixRefundParts(ctx, p, r); err != nil {
			return err
		}
	}
	if r.StripeRefundID == "" {
		if settled, err := s.makeRefund(ctx, sc, p, r, pi.LatestCharge.ID); err != nil || settled {
			return err
		}
	}
	if r.FeeRefunded > 0 && r.StripeFeeRefundID == "" {
		if err := s.refundFee(ctx, sc, p, r, pi.LatestCharge.ID); err != nil {
			return err
		}
	}
	for _, rv := range r.Reversals {
		if rv.StripeReversalID == "" && rv.Amount > 0 {
			if err := s.reverseTransfer(ctx, sc, p, r, rv); err != nil {
				return err
			}
		}
	}
	return s.completeRefund(ctx, p, r)
}

// chargeUnreadable handles a failure to read the payment's PaymentIntent
// before refunding. A merchant's account out of reach (access revoked,
// account deleted) fails a refund that never reached Stripe, releasing its
// amount; one that may have (processing) is left for the operator, since
// calling it failed could refund twice. Anything else is retried.
func (s *Service) chargeUnreadable(ctx context.Context, p *Payment, r *Refund, o stripeapi.Outcome) error {
	if o.Kind != stripeapi.KindAccountInvalid {
		return fmt.Errorf("refund %s: reading its payment's PaymentIntent: %s, will retry: %w", r.ID, o.Kind, errors.Join(o.Cause, o.Err()))
	}
	if _, err := s.connect.Refresh(ctx, p.PlatformID, p.MerchantID); err != nil {
		s.logger.WarnContext(ctx, "refreshing a merchant whose account was refused", "merchant", p.MerchantID, "err", err)
	}
	if r.Status == RefundPending {
		return s.failRefund(ctx, p, r, "account_invalid", o.Message)
	}
	s.logger.ErrorContext(ctx, "refund's outcome unknown: the merchant's account is out of reach", "refund", r.ID, "payment", p.ID,
		"merchant", p.MerchantID)
	return river.JobCancel(fmt.Errorf("refund %s: the merchant's account is out of reach; outcome unknown", r.ID))
}

// WaitFor is how long a refund's job waits for work it follows (its
// payment's transfers, its Stripe-fee cover, an earlier refund another run
// is making): those are seconds away, and an error would have River back
// off by attempt⁴ seconds, leaving a refund minutes behind what it waits
// for.
const WaitFor = 5 * time.Second

// waitFor puts the refund's job off by WaitFor, logging why.
func (s *Service) waitFor(why string) error {
	s.logger.Debug(why + "; waiting")
	return river.JobSnooze(WaitFor)
}

// refundParts is the rule that shares a refund out, written so that no
// minor unit is lost or invented however a payment is refunded in parts.
// Each share is computed on the total refunded so far, this refund
// included (C of the amount captured A), and this refund's part is that
// share less what the refunds before it gave back:
//
//   - direct and destination charges: the platform gives back ⌈fee × C /
//     A⌉ of its application fee to the merchant, where fee is what it kept
//     (less what it gave back to cover Stripe's fee, see stripefee.go);
//   - separate charges: each paid transfer t is reversed by ⌊t × C / A⌋,
//     and the platform bears the rest of the refund (its fee, in
//     proportion, and any transfer that failed).
//
// Rounding always favours the merchant, by less than one minor unit per
// share; both are monotone in C, so no part is ever negative, and at a
// full refund (C = A) they are the whole fee and the whole transfers
// exactly. A destination charge's transfer is the whole amount, so
// reverse_transfer takes back exactly the refund with no rounding.
func refundParts(p *Payment, priorRefunded, priorFee int64, amount int64, transfers []*Transfer) (fee int64, reversals []int64) {
	a, c := p.AmountCaptured, priorRefunded+amount
	if p.ChargeType == ChargeSeparate {
		reversals = make([]int64, len(transfers))
		for i, t := range transfers {
			if t.Status == TransferPaid {
				reversals[i] = max(0, min(t.Amount*c/a-t.AmountReversed, t.Amount-t.AmountReversed))
			}
		}
		return 0, reversals
	}
	kept := p.ApplicationFee - p.StripeFeeCovered // what the platform kept of its fee
	share := (kept*c + a - 1) / a
	return max(0, min(share-priorFee, kept-priorFee)), nil
}

// fixRefundParts computes the refund's parts from the refunds that
// succeeded before it and records them, once, before Stripe is called.
func (s *Service) fixRefundParts(ctx context.Context, p *Payment, r *Refund) error {
	for _, t := range p.Transfers {
		if t.Status == TransferPending || t.Status == TransferProcessing {
			return s.waitFor(fmt.Sprintf("refund %s: payment %s's transfers are not made yet", r.ID, p.ID))
		}
	}
	if !p.stripeFeeCovered() {
		return s.waitFor(fmt.Sprintf("refund %s: payment %s's Stripe fee is not covered yet", r.ID, p.ID))
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var priorRefunded, priorFee int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(fee_refunded), 0) FROM refunds
			WHERE platform_id = $1 AND payment_id = $2 AND status = $3`, p.PlatformID, p.ID, string(RefundSucceeded)).Scan(&priorRefunded, &priorFee); err != nil {
			return err
		}
		fee, reversals := refundParts(p, priorRefunded, priorFee, r.Amount, p.Transfers)
		res, err := tx.ExecContext(ctx, `UPDATE refunds SET fee_refunded = $3 WHERE platform_id = $1 AND id = $2 AND fee_refunded IS NULL`,
			p.PlatformID, r.ID, fee)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, fmt.Errorf("refund %s: another run fixed its parts; will retry", r.ID))
		}
		for i, t := range p.Transfers {
			if t.Status != TransferPaid {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO refund_reversals (platform_id, refund_id, transfer_id, amount) VALUES ($1, $2, $3, $4)`,
				p.PlatformID, r.ID, t.ID, reversals[i]); err != nil {
				return err
			}
			r.Reversals = append(r.Reversals, &Reversal{TransferID: t.ID, Amount: reversals[i]})
		}
		r.FeeRefunded, r.FeeFixed = fee, true
		return nil
	})
}

// makeRefund makes the refund at Stripe as an operation (stripeop),
// found among the charge's refunds by Tender's metadata if an earlier run
// made it, and saves its id. It reports settled when Stripe refused it
// and the refund was recorded failed.
func (s *Service) makeRefund(ctx context.Context, sc *stripe.Client, p *Payment, r *Refund, chargeID string) (settled bool, err error) {
	res, err := s.ops.Run(ctx, stripeop.Op{
		PlatformID: p.PlatformID, Kind: stripeop.CreateRefund, Object: r.ID, Key: []string{"refund", r.ID, "create"}, Step: "refund",
		Find: func(ctx context.Context) (string, error) {
			list := stripeapi.OnAccount(&stripe.RefundListParams{Charge: stripe.String(chargeID)}, p.intentAccount())
			done, err := first(sc.V1Refunds.List(ctx, list).All(ctx), func(re *stripe.Refund) bool { return re.Metadata["tender_refund"] == r.ID })
			if done == nil {
				return "", err
			}
			return done.ID, nil
		},
		Call: func(ctx context.Context, key string) (string, error) {
			md := make(map[string]string, len(r.Metadata)+2)
			for k, v := range r.Metadata {
				md[k] = v
			}
			md["tender_refund"], md["tender_payment"] = r.ID, p.ID
			params := &stripe.RefundCreateParams{Charge: stripe.String(chargeID), Amount: stripe.Int64(r.Amount), Metadata: md}
			if r.Reason != "" {
				params.Reason = stripe.String(r.Reason)
			}
			if p.ChargeType == ChargeDestination {
				// The transfer was the whole amount, so Stripe's
				// proportional reversal is exactly the refund.
				params.ReverseTransfer = stripe.Bool(true)
			}
			stripeapi.OnAccount(params, p.intentAccount())
			params.SetIdempotencyKey(key)
			re, err := sc.V1Refunds.Create(ctx, params)
			if err != nil {
				return "", err
			}
			return re.ID, nil
		},
		OnSave: func(ctx context.Context, tx *sql.Tx, id string) error {
			return saveRefundPart(ctx, tx, r, "stripe_refund_id", id, s.now())
		},
	})
	if f := stripeop.AsFailed(err); f != nil {
		if o := f.Outcome; o.Kind == stripeapi.KindInvalidRequest || o.Kind == stripeapi.KindAccountInvalid {
			return true, s.failRefund(ctx, p, r, orDefault(o.Code, string(o.Kind)), o.Message)
		}
		return false, s.partFailed(r, "refund", f)
	}
	if err != nil {
		return false, fmt.Errorf("refund %s: %w", r.ID, err)
	}
	r.StripeRefundID = res.StripeID
	return false, nil
}

// refundFee gives the merchant back the refund's part of the platform's
// application fee, as an operation found among the fee's refunds.
func (s *Service) refundFee(ctx context.Context, sc *stripe.Client, p *Payment, r *Refund, chargeID string) error {
	fee, err := applicationFeeOn(ctx, sc, chargeID)
	if err != nil {
		return fmt.Errorf("refund %s: %w", r.ID, err)
	}
	if fee == nil {
		return s.partRefused(ctx, r, "fee_refund_failed", "no application fee on charge "+chargeID, func() { r.FeeRefunded = 0 },
			`UPDATE refunds SET fee_refunded = 0 WHERE platform_id = $1 AND id = $2`, p.PlatformID, r.ID)
	}
	res, err := s.ops.Run(ctx, stripeop.Op{
		PlatformID: p.PlatformID, Kind: stripeop.CreateFeeRefund, Object: r.ID, Key: []string{"refund", r.ID, "application_fee"}, Step: "fee_refund",
		Find: func(ctx context.Context) (string, error) {
			done, err := first(sc.V1FeeRefunds.List(ctx, &stripe.FeeRefundListParams{ID: stripe.String(fee.ID)}).All(ctx),
				func(fr *stripe.FeeRefund) bool { return fr.Metadata["tender_refund"] == r.ID })
			if done == nil {
				return "", err
			}
			return done.ID, nil
		},
		Call: func(ctx context.Context, key string) (string, error) {
			params := &stripe.FeeRefundCreateParams{ID: stripe.String(fee.ID), Amount: stripe.Int64(r.FeeRefunded),
				Metadata: map[string]string{"tender_refund": r.ID, "tender_payment": p.ID}}
			params.SetIdempotencyKey(key)
			fr, err := sc.V1FeeRefunds.Create(ctx, params)
			if err != nil {
				return "", err
			}
			return fr.ID, nil
		},
		OnSave: func(ctx context.Context, tx *sql.Tx, id string) error {
			return saveRefundPart(ctx, tx, r, "stripe_fee_refund_id", id, s.now())
		},
	})
	if f := stripeop.AsFailed(err); f != nil {
		if f.Outcome.Kind == stripeapi.KindInvalidRequest {
			return s.partRefused(ctx, r, "fee_refund_failed", f.Outcome.Message, func() { r.FeeRefunded = 0 },
				`UPDATE refunds SET fee_refunded = 0 WHERE platform_id = $1 AND id = $2`, p.PlatformID, r.ID)
		}
		return s.partFailed(r, "fee refund", f)
	}
	if err != nil {
		return fmt.Errorf("refund %s: fee refund: %w", r.ID, err)
	}
	r.StripeFeeRefundID = res.StripeID
	return nil
}

// reverseTransfer takes the refund's part of one transfer back from the
// merchant, as an operation found among the transfer's reversals.
func (s *Service) reverseTransfer(ctx context.Context, sc *stripe.Client, p *Payment, r *Refund, rv *Reversal) error {
	var tr *Transfer
	for _, t := range p.Transfers {
		if t.ID == rv.TransferID {
			tr = t
		}
	}
	if tr == nil || tr.StripeTransferID == "" {
		return river.JobCancel(fmt.Errorf("refund %s: transfer %s has no Stripe transfer to reverse", r.ID, rv.TransferID))
	}
	res, err := s.ops.Run(ctx, stripeop.Op{
		PlatformID: p.PlatformID, Kind: stripeop.CreateTransferReversal, Object: r.ID + ":" + tr.ID,
		Key: []string{"refund", r.ID, "reversal", tr.ID}, Step: "reversal",
		Find: func(ctx context.Context) (string, error) {
			done, err := first(sc.V1TransferReversals.List(ctx, &stripe.TransferReversalListParams{ID: stripe.String(tr.StripeTransferID)}).All(ctx),
				func(x *stripe.TransferReversal) bool { return x.Metadata["tender_refund"] == r.ID })
			if done == nil {
				return "", err
			}
			return done.ID, nil
		},
		Call: func(ctx context.Context, key string) (string, error) {
			params := &stripe.TransferReversalCreateParams{ID: stripe.String(tr.StripeTransferID), Amount: stripe.Int64(rv.Amount),
				Metadata: map[string]string{"tender_refund": r.ID, "tender_payment": p.ID, "tender_transfer": tr.ID}}
			params.SetIdempotencyKey(key)
			x, err := sc.V1TransferReversals.Create(ctx, params)
			if err != nil {
				return "", err
			}
			return x.ID, nil
		},
		OnSave: func(ctx context.Context, tx *sql.Tx, id string) error {
			_, err := tx.ExecContext(ctx, `UPDATE refund_reversals SET stripe_reversal_id = $4 WHERE platform_id = $1 AND refund_id = $2
				AND transfer_id = $3 AND stripe_reversal_id IS NULL`, p.PlatformID, r.ID, rv.TransferID, id)
			return err
		},
	})
	if f := stripeop.AsFailed(err); f != nil {
		if o := f.Outcome; o.Kind == stripeapi.KindInvalidRequest || o.Kind == stripeapi.KindAccountInvalid {
			return s.partRefused(ctx, r, "reversal_failed", tr.ID+": "+o.Message, func() { rv.Amount = 0 },
				`UPDATE refund_reversals SET amount = 0 WHERE platform_id = $1 AND refund_id = $2 AND transfer_id = $3`, p.PlatformID, r.ID, tr.ID)
		}
		return s.partFailed(r, "reversal", f)
	}
	if err != nil {
		return fmt.Errorf("refund %s: reversal of %s: %w", r.ID, tr.ID, err)
	}
	rv.StripeReversalID = res.StripeID
	return nil
}

// saveRefundPart saves the Stripe id of a refund's part, in the
// transaction that saves it on its operation.
func saveRefundPart(ctx context.Context, tx *sql.Tx, r *Refund, col, stripeID string, now time.Time) error {
	// col is one of two constant column names, never input.
	_, err := tx.ExecContext(ctx, `UPDATE refunds SET `+col+` = $3, updated_at = $4 WHERE platform_id = $1 AND id = $2 AND `+col+` IS NULL`,
		r.PlatformID, r.ID, stripeID, store.TimeOf(now))
	return err
}

// partFailed is a Stripe failure whose outcome is unknown: River retries
// (after a stored 5xx on a new key, once the part's list has been
// searched: see stripeop).
func (s *Service) partFailed(r *Refund, part string, f *stripeop.Failed) error {
	o := f.Outcome
	return fmt.Errorf("refund %s: %s: %s at Stripe, will retry: %w", r.ID, part, o.Kind, errors.Join(o.Cause, o.Err()))
}

// partRefused records that Stripe refused a fee refund or a reversal
// after the customer's refund was made: the refund still succeeds (the
// customer has their money), the part is recorded as 0 with Stripe's
// words for the operator, and a later refund's parts, computed on what
// was given back, make up for it.
func (s *Service) partRefused(ctx context.Context, r *Refund, code, detail string, zero func(), query string, args ...any) error {
	s.logger.ErrorContext(ctx, "refund part refused by Stripe", "refund", r.ID, "code", code, "detail", detail)
	if _, err := s.db.ExecContext(ctx, query, args...); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE refunds SET failure_code = $3, failure_detail = $4 WHERE platform_id = $1 AND id = $2`,
		r.PlatformID, r.ID, code, detail); err != nil {
		return err
	}
	zero()
	r.FailureCode, r.FailureDetail = code, detail
	return nil
}

// failRefund records a refund Stripe refused, releasing its amount on the
// payment, with its event, in one transaction.
func (s *Service) failRefund(ctx context.Context, p *Payment, r *Refund, code, detail string) error {
	s.logger.WarnContext(ctx, "refund refused by Stripe", "refund", r.ID, "payment", p.ID, "code", code, "detail", detail)
	return s.settleRefund(ctx, p, r, RefundFailed, func(tx *sql.Tx, now store.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE refunds SET failure_code = $3, failure_detail = $4 WHERE platform_id = $1 AND id = $2`,
			p.PlatformID, r.ID, code, detail)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE payments SET amount_refunded = amount_refunded - $3, updated_at = $4 WHERE platform_id = $1 AND id = $2`,
			p.PlatformID, p.ID, r.Amount, now)
		return err
	})
}

// completeRefund records a refund made with all its parts: the transfers'
// reversed amounts and the events, in one transaction.
func (s *Service) completeRefund(ctx context.Context, p *Payment, r *Refund) error {
	return s.settleRefund(ctx, p, r, RefundSucceeded, func(tx *sql.Tx, now store.Time) error {
		if err := s.postRefund(ctx, tx, p, r); err != nil {
			return err
		}
		for _, rv := range r.Reversals {
			if rv.Amount == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE transfers SET amount_reversed = amount_reversed + $3, updated_at = $4 WHERE platform_id = $1 AND id = $2`,
				p.PlatformID, rv.TransferID, rv.Amount, now); err != nil {
				return err
			}
			t, err := scanTransfer(tx.QueryRowContext(ctx, `SELECT `+transferCols+` FROM transfers WHERE platform_id = $1 AND id = $2`, p.PlatformID, rv.TransferID))
			if err != nil {
				return err
			}
			if _, err := event.Record(ctx, tx, now.Time, p.PlatformID, EventTransferReversed, t.ID, t.View()); err != nil {
				return err
			}
		}
		return nil
	})
}

// settleRefund moves the refund to status in one transaction, running
// also (when not nil) in it, through moveRefund.
func (s *Service) settleRefund(ctx context.Context, p *Payment, r *Refund, status RefundStatus, also func(*sql.Tx, store.Time) error) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		moved, err := s.moveRefund(ctx, tx, r, status)
		if err != nil || !moved {
			return err
		}
		if also != nil {
			if err := also(tx, store.TimeOf(s.now())); err != nil {
				return err
			}
		}
		return s.refundEvent(ctx, tx, r, status)
	})
}

const refundCols = `platform_id, id, payment_id, amount, currency, reason, metadata, status, fee_refunded, stripe_refund_id,
	stripe_fee_refund_id, source, transfer_reversed, failure_code, failure_detail, created_at, updated_at`

func scanRefund(row store.Scanner) (*Refund, error) {
	var r Refund
	var cur, md, status string
	var fee sql.NullInt64
	var refundID, feeRefundID sql.NullString
	var reversed sql.NullInt64
	var created, updated store.Time
	if err := row.Scan(&r.PlatformID, &r.ID, &r.PaymentID, &r.Amount, &cur, &r.Reason, &md, &status, &fee, &refundID, &feeRefundID,
		&r.Source, &reversed, &r.FailureCode, &r.FailureDetail, &created, &updated); err != nil {
		return nil, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return nil, fmt.Errorf("refund %s: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(md), &r.Metadata); err != nil {
		return nil, fmt.Errorf("refund %s metadata: %w", r.ID, err)
	}
	r.Currency, r.Status, r.FeeRefunded, r.FeeFixed = c, RefundStatus(status), fee.Int64, fee.Valid
	if reversed.Valid {
		r.TransferReversed = &reversed.Int64
	}
	r.StripeRefundID, r.StripeFeeRefundID, r.Created, r.Updated = refundID.String, feeRefundID.String, created.Time, updated.Time
	return &r, nil
}

func getRefund(ctx context.Context, q store.Querier, platformID, refundID string) (*Refund, error) {
	r, err := scanRefund(q.QueryRowContext(ctx, `SELECT `+refundCols+` FROM refunds WHERE platform_id = $1 AND id = $2`, platformID, refundID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("id", "No such refund: '%s'.", refundID)
	}
	if err != nil {
		return nil, err
	}
	return r, withReversals(ctx, q, r)
}

func withReversals(ctx context.Context, q store.Querier, r *Refund) error {
	rv, err := store.All(ctx, q, func(row store.Scanner) (*Reversal, error) {
		var v Reversal
		var sid sql.NullString
		err := row.Scan(&v.TransferID, &v.Amount, &sid)
		v.StripeReversalID = sid.String
		return &v, err
	}, `SELECT rr.transfer_id, rr.amount, rr.stripe_reversal_id FROM refund_reversals rr JOIN transfers t
		ON t.platform_id = rr.platform_id AND t.id = rr.transfer_id WHERE rr.platform_id = $1 AND rr.refund_id = $2 ORDER BY t.position`,
		r.PlatformID, r.ID)
	r.Reversals = rv
	return err
}

// Refund returns one of the platform's refunds. Returns errs.NotFound.
func (s *Service) Refund(ctx context.Context, platformID, refundID string) (*Refund, error) {
	return getRefund(ctx, s.db, platformID, refundID)
}

// Refunds returns a page of a payment's refunds, newest first. Returns
// errs.NotFound for an unknown payment.
func (s *Service) Refunds(ctx context.Context, platformID, paymentID string, page store.Page) ([]*Refund, bool, error) {
	if _, err := getPayment(ctx, s.db, platformID, paymentID); err != nil {
		return nil, false, err
	}
	rs, more, err := store.List(ctx, s.db, page, scanRefund, `SELECT `+refundCols+` FROM refunds WHERE platform_id = $1 AND payment_id = $2`,
		platformID, paymentID)
	if err != nil {
		return nil, false, err
	}
	for _, r := range rs {
		if err := withReversals(ctx, s.db, r); err != nil {
			return nil, false, err
		}
	}
	return rs, more, nil
}

// RefundView is a refund as the API shows it.
type RefundView struct {
	ID                     string            `json:"id"`
	Object                 string            `json:"object"`
	Payment                string            `json:"payment"`
	Amount                 int64             `json:"amount"`
	Currency               string            `json:"currency"`
	Reason                 *string           `json:"reason"`
	Metadata               map[string]string `json:"metadata"`
	Status                 RefundStatus      `json:"status"`
	Source                 RefundSource      `json:"source"`
	ApplicationFeeRefunded *int64            `json:"application_fee_refunded"`
	TransferReversals      []ReversalView    `json:"transfer_reversals"`
	StripeRefund           *string           `json:"stripe_refund"`
	FailureCode            *string           `json:"failure_code"`
	CreatedAt              time.Time         `json:"created_at"`
	UpdatedAt              time.Time         `json:"updated_at"`
}

// ReversalView is a transfer reversal as the API shows it.
type ReversalView struct {
	Transfer       string  `json:"transfer"`
	Amount         int64   `json:"amount"`
	StripeReversal *string `json:"stripe_reversal"`
}

// View returns r as the API shows it.
func (r *Refund) View() RefundView {
	md := r.Metadata
	if md == nil {
		md = map[string]string{}
	}
	v := RefundView{ID: r.ID, Object: "refund", Payment: r.PaymentID, Amount: r.Amount, Currency: r.Currency.Lower(),
		Reason: nullable.String(r.Reason), Metadata: md, Status: r.Status, Source: r.Source, TransferReversals: []ReversalView{},
		StripeRefund: nullable.String(r.StripeRefundID), FailureCode: nullable.String(r.FailureCode), CreatedAt: r.Created, UpdatedAt: r.Updated}
	if r.FeeFixed {
		v.ApplicationFeeRefunded = &r.FeeRefunded
	}
	for _, rv := range r.Reversals {
		v.TransferReversals = append(v.TransferReversals, ReversalView{Transfer: rv.TransferID, Amount: rv.Amount,
			StripeReversal: nullable.String(rv.StripeReversalID)})
	}
	return v
}
