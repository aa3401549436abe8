package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeop"
)

// Who bears Stripe's processing fee (the fee policy's stripe_fee_payer)
// is settled after a payment succeeds, because Stripe's fee is known only
// from the charge's balance transaction:
//
//   - direct charge, platform bears it: Stripe took it from the merchant's
//     account, so the platform gives that much of its application fee back
//     (a fee refund, which unlike a transfer does not wait for the
//     platform's available balance), at most the whole fee
//     (StripeFeeArgs); refunds then share out only what the platform kept;
//   - separate charge, merchant bears it: the transfers share out the
//     amount captured less the platform's fee and Stripe's (see amounts);
//   - direct charge, merchant bears it, and separate charge, platform
//     bears it: Stripe already took it from the one who bears it;
//   - destination charge: the platform's, always (see migration 00016).
//
// Stripe keeps its fee when a charge is refunded; what the merchant gives
// back follows the refund rule (refundParts) on what it received.

// StripeFeeArgs is the job that gives a direct charge's Stripe fee back to
// the merchant when the platform bears it.
type StripeFeeArgs struct {
	PlatformID string `json:"platform_id"`
	PaymentID  string `json:"payment_id"`
}

// Kind implements river.JobArgs.
func (StripeFeeArgs) Kind() string { return "payment.stripe_fee" }

var stripeFeeOpts = &river.InsertOpts{MaxAttempts: MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}

// StripeFeeWorker runs StripeFeeArgs jobs; running one twice gives back
// once.
type StripeFeeWorker struct {
	river.WorkerDefaults[StripeFeeArgs]
	Payments *Service
}

// Work implements river.Worker.
func (w *StripeFeeWorker) Work(ctx context.Context, job *river.Job[StripeFeeArgs]) error {
	return w.Payments.CoverStripeFee(ctx, job.Args.PlatformID, job.Args.PaymentID)
}

// stripeFeeBearer is who bears the payment's Stripe fee: the policy's
// choice, except for a destination charge (the platform's, always; a
// checkout payment can become one when the payer saves the card).
func (p *Payment) stripeFeeBearer() StripeFeePayer {
	if p.ChargeType == ChargeDestination {
		return StripeFeePlatform
	}
	return p.StripeFeePayer
}

// coversStripeFee reports whether the platform gives a payment's Stripe
// fee back to the merchant out of its application fee.
func (p *Payment) coversStripeFee() bool {
	return p.ChargeType == ChargeDirect && p.StripeFeePayer == StripeFeePlatform
}

// stripeFeeCovered reports whether nothing is left to do to cover the
// payment's Stripe fee.
func (p *Payment) stripeFeeCovered() bool {
	return !p.coversStripeFee() || p.StripeFeeRefundID != "" || (p.StripeFeeKnown && min(p.StripeFee, p.ApplicationFee) == 0)
}

// CoverStripeFee gives the Stripe fee of a succeeded direct charge whose
// platform bears it back to the merchant, once: min(Stripe's fee, the
// application fee) is refunded from the application fee with
// metadata.tender_stripe_fee, as an operation (stripeop) found among the
// fee's refunds when an earlier run may have made it.
func (s *Service) CoverStripeFee(ctx context.Context, platformID, paymentID string) error {
	p, err := getPayment(ctx, s.db, platformID, paymentID)
	if err != nil {
		return err
	}
	if p.Status != StatusSucceeded || p.stripeFeeCovered() {
		return nil
	}
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return err
	}
	pi, err := s.chargedIntent(ctx, sc, p, !p.StripeFeeKnown)
	if err != nil {
		return err
	}
	fee, err := s.recordStripeFee(ctx, p, pi)
	if err != nil {
		return err
	}
	amount := min(fee, p.ApplicationFee)
	if amount == 0 {
		return nil
	}
	if fee > p.ApplicationFee {
		s.logger.WarnContext(ctx, "Stripe's fee is more than the platform's: the platform gives back all of its fee", "payment", p.ID,
			"stripe_fee", fee, "application_fee", p.ApplicationFee)
	}
	appFee, err := applicationFeeOn(ctx, sc, pi.LatestCharge.ID)
	if err != nil {
		return fmt.Errorf("payment %s: %w", p.ID, err)
	}
	if appFee == nil {
		return river.JobCancel(fmt.Errorf("payment %s: no application fee on charge %s", p.ID, pi.LatestCharge.ID))
	}
	res, err := s.ops.Run(ctx, stripeop.Op{
		PlatformID: p.PlatformID, Kind: stripeop.CreateFeeRefund, Object: p.ID + ":stripe_fee", Key: []string{"payment", p.ID, "stripe_fee"},
		Step: "stripe_fee",
		Find: func(ctx context.Context) (string, error) {
			done, err := first(sc.V1FeeRefunds.List(ctx, &stripe.FeeRefundListParams{ID: stripe.String(appFee.ID)}).All(ctx),
				func(fr *stripe.FeeRefund) bool { return fr.Metadata["tender_stripe_fee"] == p.ID })
			if done == nil {
				return "", err
			}
			return done.ID, nil
		},
		Call: func(ctx context.Context, key string) (string, error) {
			params := &stripe.FeeRefundCreateParams{ID: stripe.String(appFee.ID), Amount: stripe.Int64(amount),
				Metadata: map[string]string{"tender_payment": p.ID, "tender_stripe_fee": p.ID}}
			params.SetIdempotencyKey(key)
			fr, err := sc.V1FeeRefunds.Create(ctx, params)
			if err != nil {
				return "", err
			}
			return fr.ID, nil
		},
	})
	if f := stripeop.AsFailed(err); f != nil {
		o := f.Outcome
		if o.Kind == stripeapi.KindInvalidRequest || o.Kind == stripeapi.KindAccountInvalid {
			// Left for the operator: the platform owes the merchant the fee.
			s.logger.ErrorContext(ctx, "giving Stripe's fee back to the merchant was refused", "payment", p.ID, "merchant", p.MerchantID,
				"amount", amount, "code", o.Code, "detail", o.Message)
			return river.JobCancel(fmt.Errorf("payment %s: Stripe fee refund refused: %s", p.ID, o.Message))
		}
		return fmt.Errorf("payment %s: Stripe fee refund: %s at Stripe, will retry: %w", p.ID, o.Kind, errors.Join(o.Cause, o.Err()))
	}
	if err != nil {
		return fmt.Errorf("payment %s: Stripe fee refund: %w", p.ID, err)
	}
	return s.saveStripeFeeCovered(ctx, p, amount, res.StripeID)
}

// stripeFeePayerOf returns who bears Stripe's fee under a fee policy
// version: the merchant when there is none.
func (s *Service) stripeFeePayerOf(ctx context.Context, platformID, policyID string) (StripeFeePayer, error) {
	if policyID == "" {
		return StripeFeeMerchant, nil
	}
	var payer string
	err := s.db.QueryRowContext(ctx, `SELECT stripe_fee_payer FROM fee_policies WHERE platform_id = $1 AND id = $2`, platformID, policyID).Scan(&payer)
	return StripeFeePayer(payer), err
}

// recordStripeFee returns Stripe's processing fee on the payment's charge,
// read from pi's balance transaction (expanded) the first time and saved.
func (s *Service) recordStripeFee(ctx context.Context, p *Payment, pi *stripe.PaymentIntent) (int64, error) {
	if p.StripeFeeKnown {
		return p.StripeFee, nil
	}
	if pi.LatestCharge.BalanceTransaction == nil {
		return 0, fmt.Errorf("payment %s: its charge has no balance transaction yet; will retry", p.ID)
	}
	var fee int64
	for _, d := range pi.LatestCharge.BalanceTransaction.FeeDetails {
		if d.Type == "stripe_fee" {
			fee += d.Amount
		}
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE payments SET stripe_fee = $3 WHERE platform_id = $1 AND id = $2 AND stripe_fee IS NULL`,
		p.PlatformID, p.ID, fee); err != nil {
		return 0, err
	}
	p.StripeFee, p.StripeFeeKnown = fee, true
	return fee, nil
}

// saveStripeFeeCovered records the fee refund that covered p's Stripe fee,
// and posts it, once.
func (s *Service) saveStripeFeeCovered(ctx context.Context, p *Payment, amount int64, refundID string) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE payments SET stripe_fee_refund_id = $3, stripe_fee_covered = $4, updated_at = $5
			WHERE platform_id = $1 AND id = $2 AND stripe_fee_refund_id IS NULL`, p.PlatformID, p.ID, refundID, amount, store.TimeOf(s.now()))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.postStripeFeeCover(ctx, tx, p, amount)
	})
	if err == nil {
		p.StripeFeeRefundID, p.StripeFeeCovered = refundID, amount
	}
	return err
}
