package standing

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
)

// CycleStatus is where one cycle stands: its payment's, in short.
type CycleStatus string

// Cycle statuses.
const (
	// CycleCharging: the payment is made and being charged.
	CycleCharging CycleStatus = "charging"
	// CycleRequiresAction: the customer's bank asks them to authenticate,
	// through the payment's hosted link, before the cycle is due.
	CycleRequiresAction CycleStatus = "requires_action"
	CycleSucceeded      CycleStatus = "succeeded"
	CycleFailed         CycleStatus = "failed"
	// CycleCanceled: its payment was canceled before it was charged.
	CycleCanceled CycleStatus = "canceled"
	// CycleNotCharged: no payment could be made (the consent withdrawn,
	// the card removed, the merchant not enabled): the order is paused.
	CycleNotCharged CycleStatus = "not_charged"
)

// Cycle is one period of a standing order.
type Cycle struct {
	PlatformID, OrderID string
	Seq                 int
	Date                time.Time // the local date it falls on
	Due, Charge         time.Time
	Amount              int64
	PaymentID           string
	Status              CycleStatus
	FailureCode         string
	DeclineCode         string
	FailureMessage      string // fit to show the customer
	Created, Updated    time.Time
}

const cycleCols = `platform_id, standing_order_id, seq, cycle_date, due_at, charge_at, amount, payment_id, status, failure_code,
	decline_code, failure_message, created_at, updated_at`

func scanCycle(sc store.Scanner) (*Cycle, error) {
	c := &Cycle{}
	var day, status string
	var pay sql.NullString
	var due, charge, created, updated store.Time
	if err := sc.Scan(&c.PlatformID, &c.OrderID, &c.Seq, &day, &due, &charge, &c.Amount, &pay, &status, &c.FailureCode,
		&c.DeclineCode, &c.FailureMessage, &created, &updated); err != nil {
		return nil, err
	}
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, fmt.Errorf("standing order %s cycle %d: %w", c.OrderID, c.Seq, err)
	}
	c.Date, c.Due, c.Charge, c.PaymentID, c.Status = d, due.Time, charge.Time, pay.String, CycleStatus(status)
	c.Created, c.Updated = created.Time, updated.Time
	return c, nil
}

func insertCycle(ctx context.Context, tx *sql.Tx, c *Cycle) error {
	var pay sql.NullString
	if c.PaymentID != "" {
		pay = sql.NullString{String: c.PaymentID, Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO standing_cycles (platform_id, standing_order_id, seq, cycle_date, due_at, charge_at, amount,
		payment_id, status, failure_code, decline_code, failure_message, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
		c.PlatformID, c.OrderID, c.Seq, c.Date.Format(time.DateOnly), store.TimeOf(c.Due), store.TimeOf(c.Charge), c.Amount, pay,
		string(c.Status), c.FailureCode, c.DeclineCode, c.FailureMessage, store.TimeOf(c.Created))
	return err
}

// Cycles returns up to limit of the order's cycles, newest first, those
// before cycle startingAfter when it is positive, and whether there are
// more. Returns errs.NotFound for an unknown order.
func (s *Service) Cycles(ctx context.Context, platformID, orderID string, startingAfter, limit int) ([]*Cycle, bool, error) {
	if _, err := get(ctx, s.db, platformID, orderID); err != nil {
		return nil, false, err
	}
	if startingAfter <= 0 {
		startingAfter = math.MaxInt32
	}
	cs, err := store.All(ctx, s.db, scanCycle, `SELECT `+cycleCols+` FROM standing_cycles WHERE platform_id = $1 AND standing_order_id = $2
		AND seq < $3 ORDER BY seq DESC LIMIT $4`, platformID, orderID, startingAfter, limit+1)
	if err != nil || len(cs) <= limit {
		return cs, false, err
	}
	return cs[:limit], true, nil
}

// cycleOf maps a payment's status to its cycle's.
func cycleOf(st payment.Status) CycleStatus {
	switch st {
	case payment.StatusSucceeded:
		return CycleSucceeded
	case payment.StatusFailed:
		return CycleFailed
	case payment.StatusRequiresAction:
		return CycleRequiresAction
	case payment.StatusCanceled:
		return CycleCanceled
	}
	return CycleCharging
}

var cycleEvents = map[CycleStatus]event.Type{CycleSucceeded: EventCycleSucceeded, CycleFailed: EventCycleFailed,
	CycleRequiresAction: EventCycleRequiresAction}

// follow moves a cycle as its payment moved, in the payment's
// transaction: the cycle's status and failure, the order's count of
// failures in a row, and the platform's event. A payment of no cycle, or
// a move the cycle already shows, changes nothing.
func (s *Service) follow(ctx context.Context, tx *sql.Tx, p *payment.Payment) error {
	if p.Source != payment.SourceStandingOrder {
		return nil
	}
	to := cycleOf(p.Status)
	now := store.TimeOf(s.now())
	res, err := tx.ExecContext(ctx, `UPDATE standing_cycles SET status = $3, failure_code = $4, decline_code = $5, failure_message = $6,
		updated_at = $7 WHERE platform_id = $1 AND payment_id = $2 AND status <> $3`,
		p.PlatformID, p.ID, string(to), p.FailureCode, p.DeclineCode, p.FailureMessage, now)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	c, err := scanCycle(tx.QueryRowContext(ctx, `SELECT `+cycleCols+` FROM standing_cycles WHERE platform_id = $1 AND payment_id = $2`,
		p.PlatformID, p.ID))
	if err != nil {
		return err
	}
	switch to {
	case CycleSucceeded:
		_, err = tx.ExecContext(ctx, `UPDATE standing_orders SET failed_in_row = 0 WHERE platform_id = $1 AND id = $2`, c.PlatformID, c.OrderID)
	case CycleFailed:
		_, err = tx.ExecContext(ctx, `UPDATE standing_orders SET failed_in_row = failed_in_row + 1 WHERE platform_id = $1 AND id = $2`,
			c.PlatformID, c.OrderID)
	}
	if err != nil {
		return err
	}
	typ, ok := cycleEvents[to]
	if !ok {
		return nil
	}
	// The payment's own event (payment.requires_action) carries the
	// customer's authentication link.
	_, err = event.Record(ctx, tx, now.Time, c.PlatformID, typ, c.OrderID, c.View())
	return err
}
