package payment

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeop"
)

// MaxAttempts is how many runs River gives a payment's, transfer's,
// refund's or Stripe fee's job before it gives up on it. With its backoff
// that is about four and a half hours of retries (jobs.GiveUpWithin).
const MaxAttempts = 10

// StuckAfter is how long a payment, transfer, refund or Stripe-fee
// settlement may stay unsettled and untouched before the janitor gives it a
// new job. It exceeds jobs.GiveUpWithin(MaxAttempts) (4h57m: every backoff
// at its longest, every run ended by its timeout or by the rescue of a dead
// process), so the janitor only acts once River has given up: a job
// discarded after its last try, or cancelled (an outcome left for the
// operator). Sooner, the requeue would be a no-op while River still holds
// the job (jobs are unique by their arguments), or would undo River's
// backoff; work in flight at a crash is not the janitor's: River rescues it
// within minutes (docs/ARCHITECTURE.md, "Jobs").
const StuckAfter = 5*time.Hour + 30*time.Minute

// JanitorArgs is the periodic job that requeues stuck payments, transfers
// and refunds.
type JanitorArgs struct{}

// Kind implements river.JobArgs.
func (JanitorArgs) Kind() string { return "payment.janitor" }

// JanitorWorker runs JanitorArgs jobs. Running twice is harmless.
type JanitorWorker struct {
	river.WorkerDefaults[JanitorArgs]
	Payments *Service
}

// Work implements river.Worker.
func (w *JanitorWorker) Work(ctx context.Context, _ *river.Job[JanitorArgs]) error {
	n, err := w.Payments.Requeue(ctx)
	if n > 0 {
		w.Payments.logger.WarnContext(ctx, "requeued payments, transfers and refunds left unsettled", "jobs", n)
	}
	return err
}

// stuck is one kind of work the janitor looks for: the rows left unsettled
// since before a time, the job that settles one, and how to mark it
// requeued.
type stuck struct {
	query string // selects platform_id and an id, given the statuses and the time
	args  []any
	job   func(platformID, id string) (river.JobArgs, *river.InsertOpts)
	touch string // sets updated_at ($3) of the row(s) of platform_id ($1) and id ($2)
}

// Requeue gives every payment left pending or processing, every captured
// separate charge with transfers not made, every direct charge whose
// Stripe fee the platform has not paid back, every refund not made, and
// every capture or cancel begun and not finished, for
// longer than StuckAfter, across platforms, a new job, unless it still has
// one (jobs are unique by their arguments while waiting, retrying or
// running). Each job resumes from what is saved, as any rerun does, so a
// requeue can never charge, transfer or refund twice. It returns how many
// jobs it inserted.
func (s *Service) Requeue(ctx context.Context) (int, error) {
	before := store.TimeOf(s.now().Add(-StuckAfter))
	kinds := []stuck{{
		query: `SELECT platform_id, id FROM payments WHERE status IN ($1, $2) AND updated_at < $3 ORDER BY updated_at LIMIT 1000`,
		args:  []any{string(StatusPending), string(StatusProcessing), before},
		job: func(platformID, id string) (river.JobArgs, *river.InsertOpts) {
			return ProcessArgs{PlatformID: platformID, PaymentID: id}, processOpts
		},
		touch: `UPDATE payments SET updated_at = $3 WHERE platform_id = $1 AND id = $2`,
	}, {
		query: `SELECT DISTINCT t.platform_id, t.payment_id FROM transfers t JOIN payments p ON p.platform_id = t.platform_id AND p.id = t.payment_id
			WHERE t.status IN ($1, $2) AND t.updated_at < $3 AND p.status = $4 LIMIT 1000`,
		args: []any{string(TransferPending), string(TransferProcessing), before, string(StatusSucceeded)},
		job: func(platformID, id string) (river.JobArgs, *river.InsertOpts) {
			return TransferArgs{PlatformID: platformID, PaymentID: id}, transferOpts
		},
		touch: `UPDATE transfers SET updated_at = $3 WHERE platform_id = $1 AND payment_id = $2 AND status IN ('pending', 'processing')`,
	}, {
		query: `SELECT platform_id, id FROM payments WHERE status = $1 AND charge_type = $2 AND stripe_fee_payer = $3
			AND stripe_fee_refund_id IS NULL AND (stripe_fee IS NULL OR (stripe_fee > 0 AND application_fee > 0)) AND updated_at < $4 ORDER BY updated_at LIMIT 1000`,
		args: []any{string(StatusSucceeded), string(ChargeDirect), string(StripeFeePlatform), before},
		job: func(platformID, id string) (river.JobArgs, *river.InsertOpts) {
			return StripeFeeArgs{PlatformID: platformID, PaymentID: id}, stripeFeeOpts
		},
		touch: `UPDATE payments SET updated_at = $3 WHERE platform_id = $1 AND id = $2`,
	}, {
		query: `SELECT platform_id, id FROM refunds WHERE status IN ($1, $2) AND updated_at < $3 ORDER BY updated_at LIMIT 1000`,
		args:  []any{string(RefundPending), string(RefundProcessing), before},
		job: func(platformID, id string) (river.JobArgs, *river.InsertOpts) {
			return RefundArgs{PlatformID: platformID, RefundID: id}, refundOpts
		},
		touch: `UPDATE refunds SET updated_at = $3 WHERE platform_id = $1 AND id = $2`,
	}, {
		// Captures and cancels begun and not finished (their job ran out of
		// tries) of a payment still waiting for them, at the attempt they
		// were for: one Stripe keeps refusing is logged again for the
		// operator until its authorization ends, and one whose payment
		// moved on is left alone, rather than given a job that does
		// nothing every StuckAfter for ever. Object ids are
		// "payment:attempt" or "payment:attempt:amount".
		query: `SELECT o.platform_id, o.kind || '|' || o.object_id FROM stripe_operations o
			JOIN payments p ON p.platform_id = o.platform_id AND p.status IN ($4, $5)
				AND (o.object_id = p.id || ':' || CAST(p.attempt AS TEXT)
					OR substr(o.object_id, 1, length(p.id) + length(CAST(p.attempt AS TEXT)) + 2) = p.id || ':' || CAST(p.attempt AS TEXT) || ':')
			WHERE o.kind IN ($1, $2) AND o.stripe_id IS NULL AND o.runs > 0 AND o.updated_at < $3 AND o.object_id NOT LIKE '%:checkout'
			ORDER BY o.updated_at LIMIT 1000`,
		args: []any{string(stripeop.CapturePaymentIntent), string(stripeop.CancelPaymentIntent), before,
			string(StatusRequiresCapture), string(StatusRequiresAction)},
		job:   intentOpJob,
		touch: `UPDATE stripe_operations SET updated_at = $3 WHERE platform_id = $1 AND kind || '|' || object_id = $2`,
	}}
	total := 0
	for _, k := range kinds {
		n, err := s.requeue(ctx, k)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (s *Service) requeue(ctx context.Context, k stuck) (int, error) {
	type key struct{ platformID, id string }
	keys, err := store.All(ctx, s.db, func(row store.Scanner) (key, error) {
		var k key
		return k, row.Scan(&k.platformID, &k.id)
	}, k.query, k.args...)
	if err != nil {
		return 0, err
	}
	now := store.TimeOf(s.now())
	n := 0
	for _, key := range keys {
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			args, opts := k.job(key.platformID, key.id)
			res, err := s.jobs().InsertTx(ctx, tx, args, opts)
			if err != nil || res.UniqueSkippedAsDuplicate {
				return err
			}
			n++
			// Not stuck again until StuckAfter from now.
			_, err = tx.ExecContext(ctx, k.touch, key.platformID, key.id, now)
			return err
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// intentOpJob is the job that finishes a capture or cancel operation,
// named kind|object, its object "payment:attempt[:amount]".
func intentOpJob(platformID, name string) (river.JobArgs, *river.InsertOpts) {
	kind, object, _ := strings.Cut(name, "|")
	parts := strings.Split(object, ":")
	var attempt, amount int64
	if len(parts) > 1 {
		attempt, _ = strconv.ParseInt(parts[1], 10, 64)
	}
	if len(parts) > 2 {
		amount, _ = strconv.ParseInt(parts[2], 10, 64)
	}
	opts := intentOpOpts
	if stripeop.Kind(kind) == stripeop.CapturePaymentIntent {
		return CaptureArgs{PlatformID: platformID, PaymentID: parts[0], Attempt: attempt, Amount: amount}, &opts
	}
	return CancelArgs{PlatformID: platformID, PaymentID: parts[0], Attempt: attempt}, &opts
}
