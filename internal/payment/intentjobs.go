package payment

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
)

// Captures and cancels are asked for by the platform and answered in the
// request, but a caller that gives up after a 503, or a process that dies
// mid-request, must not leave an authorization to expire unnoticed. So
// before Stripe is called each one gets a job, committed, that runs
// LookAfter later and finishes the same operation (same key, same row)
// unless the request did; a payment already past requires_capture (or
// requires_action) makes it a no-op.

// LookAfter is how long after a capture or cancel is asked for its job
// first looks: long enough that a request which is answered is finished
// by then, so the job usually only reads the payment.
const LookAfter = time.Minute

// CaptureArgs is the job that finishes a capture of Amount of a payment's
// attempt.
type CaptureArgs struct {
	PlatformID string `json:"platform_id"`
	PaymentID  string `json:"payment_id"`
	Attempt    int64  `json:"attempt"`
	Amount     int64  `json:"amount"`
}

// Kind implements river.JobArgs.
func (CaptureArgs) Kind() string { return "payment.capture" }

// CancelArgs is the job that finishes a cancel of a payment's attempt.
type CancelArgs struct {
	PlatformID string `json:"platform_id"`
	PaymentID  string `json:"payment_id"`
	Attempt    int64  `json:"attempt"`
}

// Kind implements river.JobArgs.
func (CancelArgs) Kind() string { return "payment.cancel" }

var intentOpOpts = river.InsertOpts{MaxAttempts: MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}

// lookAfter commits the job that finishes a capture or cancel if its
// request does not.
func (s *Service) lookAfter(ctx context.Context, args river.JobArgs) error {
	opts := intentOpOpts
	opts.ScheduledAt = s.now().Add(LookAfter)
	if _, err := s.jobs().Insert(ctx, args, &opts); err != nil {
		return fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// CaptureWorker runs CaptureArgs jobs; running one twice captures once.
type CaptureWorker struct {
	river.WorkerDefaults[CaptureArgs]
	Payments *Service
}

// Work implements river.Worker.
func (w *CaptureWorker) Work(ctx context.Context, job *river.Job[CaptureArgs]) error {
	a := job.Args
	return w.Payments.finishIntentOp(ctx, a.PlatformID, a.PaymentID, a.Attempt, "capture", func(p *Payment) (*stripe.PaymentIntent, error) {
		fee, err := w.Payments.captureFee(ctx, p, a.Amount)
		if err != nil {
			return nil, err
		}
		return w.Payments.captureIntent(ctx, p, a.Amount, fee)
	})
}

// CancelWorker runs CancelArgs jobs; running one twice cancels once.
type CancelWorker struct {
	river.WorkerDefaults[CancelArgs]
	Payments *Service
}

// Work implements river.Worker.
func (w *CancelWorker) Work(ctx context.Context, job *river.Job[CancelArgs]) error {
	a := job.Args
	return w.Payments.finishIntentOp(ctx, a.PlatformID, a.PaymentID, a.Attempt, "cancel", func(p *Payment) (*stripe.PaymentIntent, error) {
		return w.Payments.cancelAtStripe(ctx, p)
	})
}

// finishIntentOp carries out a capture or cancel its request left
// unfinished and records where it left the payment. An outcome not known
// yet goes back to River; a refusal is logged for the operator (the
// caller was told, if it was still there).
func (s *Service) finishIntentOp(ctx context.Context, platformID, paymentID string, attempt int64, name string,
	op func(*Payment) (*stripe.PaymentIntent, error)) error {
	p, err := getPayment(ctx, s.db, platformID, paymentID)
	if err != nil {
		return err
	}
	if p.Attempt != attempt || (p.Status != StatusRequiresCapture && p.Status != StatusRequiresAction) || p.StripePaymentIntentID == "" {
		return nil // finished by its request, or moved on
	}
	if p.Status == StatusRequiresAction && name == "capture" {
		return nil
	}
	pi, err := op(p)
	if errs.Is(err, errs.Conflict) {
		s.logger.ErrorContext(ctx, "a "+name+" asked for earlier was refused by Stripe", "payment", p.ID, "err", err)
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if _, err := s.recordOp(ctx, p, pi); err != nil && !errs.Is(err, errs.Conflict) {
		return err
	}
	return nil
}
