package standing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
)

// schedulerBatch is how many due orders one pass reads at a time.
const schedulerBatch = 200

// errMoved says the order moved after it was read: another run made the
// cycle, or the order was paused or canceled. Nothing is made.
var errMoved = errors.New("the standing order moved since it was read")

// RunDue checks the cycles whose charge comes within the precheck days
// (precheck.go), makes every cycle whose charge time has come, each once, charges
// again the cycles whose retry time has come, and ends those whose
// customer did not authenticate by the due time. It returns how many
// cycles it made (charged or not). One order's failure is logged and
// never stops the others; the errors are returned once all were tried,
// for River to run the pass again.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	_, perr := s.runPrechecks(ctx)
	made, err := s.runCycles(ctx)
	_, rerr := s.runRetries(ctx)
	_, derr := s.runDeadlines(ctx)
	return made, errors.Join(perr, err, rerr, derr)
}

// runCycles makes every cycle whose charge time has come, each once.
func (s *Service) runCycles(ctx context.Context) (int, error) {
	made := 0
	var first error
	now := store.TimeOf(s.now())
	// Pages by (next_charge_at, id) from where the last ended; an order
	// whose cycle was made moves past now, so it is not read again.
	after, lastID := store.TimeOf(time.Unix(0, 0)), ""
	for {
		due, err := store.All(ctx, s.db, scan, `SELECT `+cols+` FROM standing_orders
			WHERE status = 'active' AND next_charge_at <= $1 AND (next_charge_at > $2 OR (next_charge_at = $2 AND id > $3))
			ORDER BY next_charge_at, id LIMIT $4`, now, after, lastID, schedulerBatch)
		if err != nil {
			return made, err
		}
		for _, o := range due {
			ok, err := s.makeCycle(ctx, o)
			if err != nil {
				s.log.ErrorContext(ctx, "standing order cycle", "standing_order", o.ID, "cycle", o.NextSeq, "error", err)
				first = errors.Join(first, fmt.Errorf("standing order %s: %w", o.ID, err))
			}
			if ok {
				made++
			}
		}
		if len(due) < schedulerBatch {
			return made, first
		}
		last := due[len(due)-1]
		after, lastID = store.TimeOf(last.NextCharge), last.ID
	}
}

// makeCycle makes the order's next cycle, as read: its payment and the
// cycle in one transaction that moves the order on only if it is still
// active at that cycle. A payment the order's terms no longer allow (the
// consent withdrawn, the card removed, the merchant not enabled) is not
// made: the cycle is recorded not charged, with why, and the order
// paused. It reports whether it made the cycle; false with no error when
// another run made it first or the order moved.
func (s *Service) makeCycle(ctx context.Context, o *Order) (bool, error) {
	c := &Cycle{PlatformID: o.PlatformID, OrderID: o.ID, Seq: o.NextSeq, Date: o.NextDate, Due: o.NextDue, Charge: o.NextCharge,
		Amount: o.Amount, Status: CycleCharging}
	next := *o
	next.planFrom(o.NextSeq+1, o.NextDate, time.Time{}) // the next in the schedule, due or not: none is skipped
	_, err := s.payments.CreateFrom(ctx, o.PlatformID, o.paymentParams(), payment.SourceStandingOrder, func(tx *sql.Tx, pay *payment.Payment) error {
		c.PaymentID, c.Created, c.Updated = pay.ID, pay.Created, pay.Created
		return s.recordCycle(ctx, tx, o, &next, c, EventCycleCreated, "")
	})
	if e := errs.As(err); e != nil && (e.Code == errs.Invalid || e.Code == errs.Forbidden) {
		return s.notCharged(ctx, o, &next, c, e)
	}
	switch {
	case errors.Is(err, errMoved), store.IsUniqueViolation(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// notCharged records a cycle whose payment was refused before it was
// made, and pauses the order with the refusal's reason, in one
// transaction with the same guard as a cycle made.
func (s *Service) notCharged(ctx context.Context, o, next *Order, c *Cycle, refusal *errs.Error) (bool, error) {
	now := s.now()
	c.Status, c.FailureCode, c.FailureMessage, c.Created, c.Updated = CycleNotCharged, refusal.Reason, refusal.Message, now, now
	if c.FailureCode == "" {
		c.FailureCode = "invalid_" + refusal.Param
	}
	next.Status, next.StatusReason = StatusPaused, pauseReason(refusal)
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		return s.recordCycle(ctx, tx, o, next, c, EventCycleNotCharged, EventPaused)
	})
	switch {
	case errors.Is(err, errMoved), store.IsUniqueViolation(err):
		return false, nil
	case err != nil:
		return false, err
	}
	s.log.WarnContext(ctx, "standing order paused: its cycle could not be charged", "standing_order", o.ID, "cycle", c.Seq,
		"reason", next.StatusReason, "detail", refusal.Message)
	return true, nil
}

// pauseReason is why a refused cycle pauses its order.
func pauseReason(refusal *errs.Error) string {
	switch refusal.Reason {
	case "consent_missing":
		return ReasonConsentWithdrawn
	case "payment_method_detached", "payment_method_missing":
		return ReasonCardRemoved
	}
	if refusal.Param == "merchant" {
		return ReasonMerchant
	}
	return ReasonNotCharged
}

// recordCycle writes the cycle and moves the order from o (as read) to
// next, in tx, with the cycle's event and, when the order's status
// changed, statusEvent (or standing_order.completed when its schedule
// ended). It returns errMoved when the order is no longer active at o's
// cycle.
func (s *Service) recordCycle(ctx context.Context, tx *sql.Tx, o, next *Order, c *Cycle, cycleEvent, statusEvent event.Type) error {
	if next.NextDate.IsZero() && next.Status == StatusActive {
		next.Status, next.StatusReason, statusEvent = StatusCompleted, "", EventCompleted
	}
	now := store.TimeOf(s.now())
	res, err := tx.ExecContext(ctx, `UPDATE standing_orders SET next_seq = $3, next_date = $4, next_due_at = $5, next_charge_at = $6,
		status = $7, status_reason = $8, updated_at = $9
		WHERE platform_id = $1 AND id = $2 AND status = 'active' AND next_seq = $10`,
		o.PlatformID, o.ID, next.NextSeq, nullDate(next.NextDate), nullTime(next.NextDue), nullTime(next.NextCharge),
		string(next.Status), next.StatusReason, now, o.NextSeq)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(err, errMoved)
	}
	if err := insertCycle(ctx, tx, c); err != nil {
		return err
	}
	if err := withAttempts(ctx, tx, c.PlatformID, c.OrderID, []*Cycle{c}); err != nil {
		return err
	}
	if _, err := event.Record(ctx, tx, now.Time, o.PlatformID, cycleEvent, o.ID, c.View()); err != nil {
		return err
	}
	if statusEvent == "" {
		return nil
	}
	next.Updated = now.Time
	_, err = event.Record(ctx, tx, now.Time, o.PlatformID, statusEvent, o.ID, next.View())
	return err
}

// SchedulerArgs is the periodic job that makes due cycles.
type SchedulerArgs struct{}

// Kind implements river.JobArgs.
func (SchedulerArgs) Kind() string { return "standing.scheduler" }

// SchedulerWorker runs SchedulerArgs jobs.
type SchedulerWorker struct {
	river.WorkerDefaults[SchedulerArgs]
	Standing *Service
}

// Work implements river.Worker.
func (w *SchedulerWorker) Work(ctx context.Context, _ *river.Job[SchedulerArgs]) error {
	_, err := w.Standing.RunDue(ctx)
	return err
}
