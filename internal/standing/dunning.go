package standing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
)

// Dunning: what a cycle's failed charge leads to, by the platform's
// policy (policy.go) and the decline table (decline.go).
//
//   - A soft decline is retried: the cycle is retrying until the next of
//     the policy's retry days after its first failure, then charged again
//     with the order's card as it is then (a new attempt, a new payment),
//     while it has tries left.
//   - A hard decline, or a soft one with no tries left, fails the cycle.
//     PauseAfter cycles failed in a row pause the order (failed_cycles).
//   - A cycle waiting for the customer to authenticate fails at its due
//     time: its payment is canceled (so a late authentication cannot
//     charge it) and the cycle fails, authentication_not_completed.
//   - A new card on the order retries its latest failed or retrying cycle
//     at once, with one try at least.

// ReasonFailedCycles pauses an order after PauseAfter failed cycles.
const ReasonFailedCycles = "failed_cycles"

// failed moves the cycle after its latest attempt failed: to retrying
// when the decline is soft and a try is left, else to failed.
func (s *Service) failed(ctx context.Context, tx *sql.Tx, c *Cycle) error {
	policy, err := policyOf(ctx, tx, c.PlatformID)
	if err != nil {
		return err
	}
	if c.FirstFailed.IsZero() {
		c.FirstFailed, c.TriesLeft = c.Updated, policy.MaxTries-1
	}
	if c.Decline == Soft && c.TriesLeft > 0 {
		if at, ok := policy.retryAt(c.Attempts+1, c.FirstFailed); ok {
			c.Status, c.NextRetry = CycleRetrying, at
			return s.saveCycle(ctx, tx, c, EventCycleRetrying)
		}
	}
	c.Status, c.NextRetry = CycleFailed, time.Time{}
	return s.settleCycle(ctx, tx, c, EventCycleFailed, policy.PauseAfter)
}

// settleCycle records a cycle's end, succeeded or failed: the order's
// failures in a row reset or counted, and the order paused once they
// reach pauseAfter (when positive).
func (s *Service) settleCycle(ctx context.Context, tx *sql.Tx, c *Cycle, typ event.Type, pauseAfter int) error {
	if err := s.saveCycle(ctx, tx, c, typ); err != nil {
		return err
	}
	if c.Status == CycleSucceeded {
		_, err := tx.ExecContext(ctx, `UPDATE standing_orders SET failed_in_row = 0 WHERE platform_id = $1 AND id = $2`, c.PlatformID, c.OrderID)
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE standing_orders SET failed_in_row = failed_in_row + 1, status = CASE WHEN status = 'active'
		AND failed_in_row + 1 >= $3 THEN 'paused' ELSE status END, status_reason = CASE WHEN status = 'active' AND failed_in_row + 1 >= $3
		THEN $4 ELSE status_reason END, updated_at = $5 WHERE platform_id = $1 AND id = $2 AND status = 'active' AND failed_in_row + 1 >= $3`,
		c.PlatformID, c.OrderID, pauseAfter, ReasonFailedCycles, store.TimeOf(c.Updated))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		if err != nil {
			return err
		}
		return s.recordOrder(ctx, tx, c.PlatformID, c.OrderID, EventPaused)
	}
	_, err = tx.ExecContext(ctx, `UPDATE standing_orders SET failed_in_row = failed_in_row + 1 WHERE platform_id = $1 AND id = $2`,
		c.PlatformID, c.OrderID)
	return err
}

// recordOrder records an event with the order as it now is in tx.
func (s *Service) recordOrder(ctx context.Context, tx *sql.Tx, platformID, orderID string, typ event.Type) error {
	o, err := get(ctx, tx, platformID, orderID)
	if err != nil {
		return err
	}
	if err := withLatest(ctx, tx, o); err != nil {
		return err
	}
	_, err = event.Record(ctx, tx, s.now(), platformID, typ, orderID, o.View())
	return err
}

// runRetries charges again each retrying cycle whose retry time has come,
// of an active order. It returns how many it charged.
func (s *Service) runRetries(ctx context.Context) (int, error) {
	due, err := store.All(ctx, s.db, scanCycle, `SELECT `+prefixed("c.", cycleCols)+` FROM standing_cycles c
		JOIN standing_orders o ON o.platform_id = c.platform_id AND o.id = c.standing_order_id
		WHERE c.status = 'retrying' AND c.next_retry_at <= $1 AND o.status = 'active' ORDER BY c.next_retry_at LIMIT $2`,
		store.TimeOf(s.now()), schedulerBatch)
	if err != nil {
		return 0, err
	}
	made := 0
	var first error
	for _, c := range due {
		ok, err := s.retry(ctx, c)
		if err != nil {
			s.log.ErrorContext(ctx, "standing order retry", "standing_order", c.OrderID, "cycle", c.Seq, "error", err)
			first = errors.Join(first, fmt.Errorf("standing order %s cycle %d: %w", c.OrderID, c.Seq, err))
		}
		if ok {
			made++
		}
	}
	return made, first
}

// retry makes the cycle's next attempt: a payment of the cycle's amount
// with the order's card as it is now, written with the attempt in one
// transaction guarded by the cycle's attempt count and the order being
// active, so a retry is made once and never after a pause or cancel. A
// payment the order's terms no longer allow fails the cycle and pauses
// the order, as a cycle not charged does.
func (s *Service) retry(ctx context.Context, c *Cycle) (bool, error) {
	o, err := get(ctx, s.db, c.PlatformID, c.OrderID)
	if err != nil {
		return false, err
	}
	params := o.paymentParams()
	params.Amount = c.Amount
	_, err = s.payments.CreateFrom(ctx, c.PlatformID, params, payment.SourceStandingOrder, func(tx *sql.Tx, pay *payment.Payment) error {
		return s.recordAttempt(ctx, tx, c, pay)
	})
	if e := errs.As(err); e != nil && (e.Code == errs.Invalid || e.Code == errs.Forbidden) {
		return s.retryRefused(ctx, o, c, e)
	}
	switch {
	case errors.Is(err, errMoved), store.IsUniqueViolation(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// recordAttempt moves the cycle to its new attempt, in the payment's
// transaction, if it is still retrying at the attempt read and its order
// active.
func (s *Service) recordAttempt(ctx context.Context, tx *sql.Tx, c *Cycle, pay *payment.Payment) error {
	now := store.TimeOf(pay.Created)
	res, err := tx.ExecContext(ctx, `UPDATE standing_orders SET updated_at = updated_at WHERE platform_id = $1 AND id = $2 AND status = 'active'`,
		c.PlatformID, c.OrderID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(err, errMoved)
	}
	res, err = tx.ExecContext(ctx, `UPDATE standing_cycles SET attempts = attempts + 1, tries_left = tries_left - 1, status = 'charging',
		payment_id = $4, next_retry_at = NULL, updated_at = $5
		WHERE platform_id = $1 AND standing_order_id = $2 AND seq = $3 AND status = 'retrying' AND attempts = $6`,
		c.PlatformID, c.OrderID, c.Seq, pay.ID, now, c.Attempts)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(err, errMoved)
	}
	next := *c
	next.Attempts, next.PaymentID, next.Status, next.Updated = c.Attempts+1, pay.ID, CycleCharging, now.Time
	next.FailureCode, next.DeclineCode, next.FailureMessage = "", "", ""
	return insertAttempt(ctx, tx, &next)
}

// retryRefused fails a retry whose payment was refused before it was made
// and pauses the order with why.
func (s *Service) retryRefused(ctx context.Context, o *Order, c *Cycle, refusal *errs.Error) (bool, error) {
	now := s.now()
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := lockOrder(ctx, tx, c.PlatformID, c.OrderID); err != nil {
			return err
		}
		cur, err := getCycle(ctx, tx, c.PlatformID, c.OrderID, c.Seq)
		if err != nil || cur.Status != CycleRetrying || cur.Attempts != c.Attempts {
			return errors.Join(err, errMoved)
		}
		cur.Status, cur.FailureCode, cur.DeclineCode, cur.FailureMessage, cur.Decline = CycleFailed, refusal.Reason, "", refusal.Message, Hard
		cur.NextRetry, cur.Updated = time.Time{}, now
		if cur.FailureCode == "" {
			cur.FailureCode = "invalid_" + refusal.Param
		}
		if err := s.saveCycle(ctx, tx, cur, EventCycleFailed); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE standing_orders SET status = 'paused', status_reason = $3, failed_in_row = failed_in_row + 1,
			updated_at = $4 WHERE platform_id = $1 AND id = $2 AND status = 'active'`, o.PlatformID, o.ID, pauseReason(refusal), store.TimeOf(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.recordOrder(ctx, tx, o.PlatformID, o.ID, EventPaused)
	})
	if errors.Is(err, errMoved) {
		return false, nil
	}
	return err == nil, err
}

// runDeadlines cancels the payment of each cycle still waiting for its
// customer to authenticate at its due time; the cycle then fails (see
// follow). It returns how many it ended.
func (s *Service) runDeadlines(ctx context.Context) (int, error) {
	due, err := store.All(ctx, s.db, scanCycle, `SELECT `+cycleCols+` FROM standing_cycles WHERE status = 'requires_action' AND due_at <= $1
		ORDER BY due_at LIMIT $2`, store.TimeOf(s.now()), schedulerBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, c := range due {
		p, err := s.payments.Cancel(ctx, c.PlatformID, c.PaymentID)
		if err != nil {
			first = errors.Join(first, fmt.Errorf("standing order %s cycle %d: canceling its payment at its deadline: %w", c.OrderID, c.Seq, err))
			continue
		}
		if p.Status == payment.StatusCanceled {
			n++
		}
	}
	return n, first
}

// reviveOnNewCard, in the transaction that gives the order a new card,
// makes its latest cycle, if it failed or waits for a retry, due for a
// retry at once, with one try at least. A failed cycle revived no longer
// counts among the failures in a row. A cycle that failed for want of
// authentication is past its due time and stays failed.
func (s *Service) reviveOnNewCard(ctx context.Context, tx *sql.Tx, o *Order) error {
	c, err := scanCycle(tx.QueryRowContext(ctx, `SELECT `+cycleCols+` FROM standing_cycles WHERE platform_id = $1 AND standing_order_id = $2
		ORDER BY seq DESC LIMIT 1`, o.PlatformID, o.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil || (c.Status != CycleRetrying && c.Status != CycleFailed) || c.FailureCode == FailureNotAuthenticated {
		return err
	}
	if c.Status == CycleFailed {
		if _, err := tx.ExecContext(ctx, `UPDATE standing_orders SET failed_in_row = failed_in_row - 1 WHERE platform_id = $1 AND id = $2
			AND failed_in_row > 0`, o.PlatformID, o.ID); err != nil {
			return err
		}
	}
	c.Status, c.NextRetry, c.TriesLeft, c.Updated = CycleRetrying, s.now(), max(c.TriesLeft, 1), s.now()
	return s.saveCycle(ctx, tx, c, EventCycleRetrying)
}

// prefixed qualifies each of a column list's names with p.
func prefixed(p, cols string) string {
	out := ""
	for i, c := range splitCols(cols) {
		if i > 0 {
			out += ", "
		}
		out += p + c
	}
	return out
}
